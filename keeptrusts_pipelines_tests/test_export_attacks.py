"""Export folders and runs under attack: names that collide with records, ids that walk out of
the exports folder, outputs that are links, broken records, workers killed mid-export, failures
that cannot succeed on retry, and user ids kept out of Dagster's run storage."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.export_monitor import export_worker_monitor_sensor
from keeptrusts_pipelines.defs.export_runs import resolved_export_job
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.resources import CustodyResource, ExportsResource
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
WINDOW = {"window_from": "2026-03-01", "window_to": "2026-03-02"}


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def run_job(export_id: str, **fields) -> dg.ExecuteInProcessResult:
    return (
        build_definitions()
        .resolve_job_def("export_job")
        .execute_in_process(
            run_config={"ops": {"export_artifact": {"config": {**WINDOW, **fields}}}},
            instance=local_instance(),
            tags={EXPORT_ID_TAG: export_id},
            raise_on_error=False,
        )
    )


def kt(*arguments: str):
    result = runner.invoke(app, list(arguments))
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert "Traceback" not in result.output
    return result


def status_of(export_id: str) -> dict:
    result = kt("export", "status", "--id", export_id, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(
    ("name", "file_format"),
    [("export", "json"), ("failure", "json"), ("request", "json"), ("export.json", "csv")],
)
def test_an_export_named_like_a_record_keeps_both(home: Path, name: str, file_format: str) -> None:
    export_id = "exp_named0000001"
    assert run_job(export_id, name=name, format=file_format).success
    view = status_of(export_id)
    assert view["status"] == "completed"
    artifact = Path(view["artifact"])
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == view["sha256"]
    record = json.loads((home / "exports" / export_id / "export.json").read_text())
    assert record["sha256"] == view["sha256"] and record["status"] == "completed"


@pytest.mark.parametrize("command", ["status", "delete", "download"])
@pytest.mark.parametrize("export_id", ["../../fake", "exp_../x", "/etc", "exp_A B", "", "exp_"])
def test_an_id_that_is_not_an_export_id_is_refused(
    home: Path, tmp_path: Path, command: str, export_id: str
) -> None:
    extra = ["--output", str(tmp_path / "out")] if command == "download" else []
    result = kt("export", command, "--id", export_id, *extra)
    assert result.exit_code == 2
    assert "is not an export id" in result.output
    assert not (tmp_path / "out").exists()


def plant_record(home: Path, export_id: str, artifact: Path) -> None:
    """An attacker's record naming a file outside the exports folder."""
    folder = home / "exports" / export_id
    folder.mkdir(parents=True)
    record = {
        "export_id": export_id,
        "status": "completed",
        "request": {"type": "events", "format": "csv", "window": {}},
        "records": 1,
        "bytes": artifact.stat().st_size,
        "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest(),
        "artifact": str(artifact),
        "warnings": [],
        "completed_at": "2026-03-03T00:00:00Z",
        "expires_at": "2099-01-01T00:00:00Z",
    }
    (folder / "export.json").write_text(json.dumps(record))


def test_a_planted_record_cannot_make_kt_touch_a_file_outside(home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    plant_record(home, "exp_planted00001", victim)
    copy = tmp_path / "copy.txt"
    assert kt("export", "download", "--id", "exp_planted00001", "--output", str(copy)).exit_code
    assert not copy.exists()
    assert kt("export", "delete", "--id", "exp_planted00001").exit_code == 1
    assert victim.read_text() == "keep me"
    assert status_of("exp_planted00001")["status"] == "broken"


def test_download_refuses_an_existing_output_unless_forced(home: Path, tmp_path: Path) -> None:
    assert run_job("exp_down00000001", format="csv").success
    output = tmp_path / "mine.csv"
    output.write_text("my own work")
    refused = kt("export", "download", "--id", "exp_down00000001", "--output", str(output))
    assert refused.exit_code == 2 and "already exists; add --force" in refused.output
    assert output.read_text() == "my own work"
    forced = kt(
        "export", "download", "--id", "exp_down00000001", "--output", str(output), "--force"
    )
    assert forced.exit_code == 0, forced.output
    assert (
        hashlib.sha256(output.read_bytes()).hexdigest() == status_of("exp_down00000001")["sha256"]
    )


def test_download_never_writes_through_a_symlink(home: Path, tmp_path: Path) -> None:
    assert run_job("exp_link00000001", format="csv").success
    target = tmp_path / "target.txt"
    target.write_text("not yours")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    for extra in ([], ["--force"]):
        result = kt("export", "download", "--id", "exp_link00000001", "--output", str(link), *extra)
        assert result.exit_code == 2 and "symbolic link" in result.output
    assert target.read_text() == "not yours" and link.is_symlink()


def test_one_broken_record_does_not_stop_status_or_list(home: Path) -> None:
    for export_id in ("exp_good00000001", "exp_bad000000001"):
        assert run_job(export_id, format="csv").success
    (home / "exports" / "exp_bad000000001" / "export.json").write_text('{"status": "compl')
    listed = kt("export", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["export_id"]: row for row in json.loads(listed.output)}
    assert rows["exp_good00000001"]["status"] == "completed"
    assert rows["exp_bad000000001"]["status"] == "broken"
    assert "cannot be read" in rows["exp_bad000000001"]["error"]
    assert status_of("exp_bad000000001")["status"] == "broken"
    assert kt("export", "list").exit_code == 0


def test_a_failure_that_cannot_succeed_is_not_retried(home: Path) -> None:
    result = run_job("exp_missing00001", format="csv", window_to="2026-03-09")
    assert not result.success
    failure = result.get_run_failure_event()
    assert failure is not None
    run = local_instance().get_run_by_id(result.run_id)
    # Dagster's retry daemon reads this: a failed step is not re-run, a dead worker is.
    assert run.tags["dagster/retry_on_asset_or_op_failure"] == "false"
    assert run.tags["dagster/failure_reason"] == "STEP_FAILURE"
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_missing00001")]
    assert actions == ["created", "failed"]


def test_user_ids_stay_out_of_the_run_storage(home: Path) -> None:
    person = "canary.person@example.org"
    created = kt(
        *("export", "create", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "csv"),
        *("--filter-user", person, "--wait", "--json"),
    )
    assert created.exit_code == 0, created.output
    view = json.loads(created.output)
    assert view["status"] == "completed"
    dagster_home = home / "dagster"
    for path in dagster_home.rglob("*"):
        if path.is_file():
            assert person.encode() not in path.read_bytes(), path
    request = json.loads((home / "exports" / view["export_id"] / "request.json").read_text())
    assert request["filters"]["user"] == [person]


def test_a_changed_request_file_is_refused(home: Path) -> None:
    created = kt(
        *("export", "create", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "csv"),
        *("--filter-team", "legal", "--json"),
    )
    export_id = json.loads(created.output)["export_id"]
    stored = home / "exports" / export_id / "request.json"
    # Whoever can write the folder cannot widen the request after it was submitted; the run
    # may already have read it, so the check is on the run it feeds, by its own digest.
    document = json.loads(stored.read_text())
    document["filters"] = {}
    from keeptrusts_pipelines.errors import KeeptrustsError
    from keeptrusts_pipelines.exports.folder import ExportFolder

    digest = hashlib.sha256(
        json.dumps(json.loads(stored.read_text()), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    stored.write_text(json.dumps(document))
    with pytest.raises(KeeptrustsError, match="changed since it was submitted"):
        ExportFolder(home / "exports", export_id).stored_request(digest)


KILL_AFTER_RECORD = """
import os, sys
from datetime import UTC, datetime
from pathlib import Path
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
home, export_id, run_id, stage = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
window = build_window("2026-03-01", "2026-03-02", None, datetime.now(UTC))
folder = ExportFolder(home / "exports", export_id)
with folder.working(run_id):
    if stage == "after-record":
        run_export(ExportRequest(window=window, format="csv"), LakeLayout(home / "lake"),
                   home / "exports", export_id=export_id, worker=run_id)
    else:
        folder.staging.mkdir(parents=True)
        (folder.staging / "part-0001").write_bytes(b"half an export")
    os.kill(os.getpid(), 9)
"""


def started_run(export_id: str) -> dg.DagsterRun:
    return local_instance().create_run_for_job(
        job_def=resolved_export_job(),
        run_config={"ops": {"export_artifact": {"config": {**WINDOW, "format": "csv"}}}},
        tags={EXPORT_ID_TAG: export_id},
        status=dg.DagsterRunStatus.STARTED,
    )


def killed_worker(home: Path, export_id: str, run_id: str, stage: str) -> None:
    worker = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_RECORD, str(home), export_id, run_id, stage],
        env=os.environ.copy(),
        capture_output=True,
    )
    assert worker.returncode == -9, worker.stderr.decode()[-2000:]


def test_a_worker_killed_after_the_record_leaves_a_completed_export(home: Path) -> None:
    run = started_run("exp_killed000001")
    killed_worker(home, "exp_killed000001", run.run_id, "after-record")
    view = status_of("exp_killed000001")
    assert view["status"] == "completed"
    assert hashlib.sha256(Path(view["artifact"]).read_bytes()).hexdigest() == view["sha256"]
    # kt looked, saw the worker gone, and failed the run so Dagster's retries can re-run it.
    assert local_instance().get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_worker_killed_mid_export_is_failed_recorded_and_cleaned(home: Path) -> None:
    run = started_run("exp_killed000002")
    killed_worker(home, "exp_killed000002", run.run_id, "mid-export")
    staging = home / "exports" / "exp_killed000002" / ".staging"
    assert staging.exists()
    # The daemon's monitor finds it (kt does the same when it looks, without a daemon).
    instance = local_instance()
    with dg.build_sensor_context(
        instance=instance,
        resources={
            "exports": ExportsResource(root=str(home / "exports")),
            "custody": CustodyResource(url=custody_url()),
        },
    ) as context:
        outcome = export_worker_monitor_sensor(context)
    assert "failed 1 abandoned run" in str(outcome.skip_message)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert not staging.exists()
    view = status_of("exp_killed000002")
    assert view["status"] == "failed" and "worker stopped" in view["error"]
    entries = list(CustodyLedger(custody_url()).entries("exp_killed000002"))
    assert [(e.action, e.run_id) for e in entries] == [("failed", run.run_id)]
    # Looking again records nothing twice.
    status_of("exp_killed000002")
    assert len(list(CustodyLedger(custody_url()).entries("exp_killed000002"))) == 1


def test_a_live_worker_is_left_alone(home: Path) -> None:
    run = started_run("exp_alive0000001")
    from keeptrusts_pipelines.exports.folder import ExportFolder

    with ExportFolder(home / "exports", "exp_alive0000001").working(run.run_id):
        assert status_of("exp_alive0000001")["status"] == "processing"
    assert local_instance().get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED


def test_an_inbox_request_keeps_its_user_ids_out_of_the_run_config(home: Path) -> None:
    from keeptrusts_pipelines.defs.sensors import export_inbox_sensor

    person = "inbox.canary@example.org"
    inbox = home / "requests"
    inbox.mkdir(parents=True)
    request = {"request_id": "req-user", "format": "csv", "from": "2026-03-01"}
    (inbox / "user.json").write_text(
        json.dumps(request | {"to": "2026-03-02", "filters": {"user": [person]}})
    )
    instance = local_instance()
    context = dg.build_sensor_context(instance=instance, sensor_name="export_inbox_sensor")
    [run] = export_inbox_sensor(context).run_requests
    assert person not in json.dumps(run.run_config) and person not in json.dumps(run.tags)
    job = build_definitions().resolve_job_def("export_job")
    result = job.execute_in_process(run_config=run.run_config, instance=instance, tags=run.tags)
    assert result.success
    export_id = run.tags[EXPORT_ID_TAG]
    record = json.loads((home / "exports" / export_id / "export.json").read_text())
    assert record["request"]["filters"]["user"] == [person]
    for path in (home / "dagster").rglob("*"):
        if path.is_file():
            assert person.encode() not in path.read_bytes(), path


def hold_and_end_repeatedly(folder_path: str, owner: str, stop: object) -> None:
    """A worker that takes the export's lock and ends, again and again, until told to stop;
    it exits with 1 if it was ever refused the lock."""
    from keeptrusts_pipelines.errors import KeeptrustsError
    from keeptrusts_pipelines.exports.folder import ExportFolder

    folder = ExportFolder(Path(folder_path).parent, Path(folder_path).name)
    while not stop.is_set():  # type: ignore[attr-defined]
        try:
            with folder.working(owner):
                pass
        except KeeptrustsError:
            os._exit(1)
    os._exit(0)


def test_a_worker_is_neither_refused_nor_taken_for_dead_by_a_look_at_its_lock(
    tmp_path: Path,
) -> None:
    """The monitor looks at an export's lock to find workers that died holding it. A look must
    not make a worker starting its export fail, and a worker ending during a look must not read
    as one that died (the lock file bearing its bare name, unheld)."""
    import multiprocessing

    from keeptrusts_pipelines.exports.folder import ExportFolder

    folder = ExportFolder(tmp_path, "exp_endsoften0001")
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    worker = context.Process(target=hold_and_end_repeatedly, args=(str(folder.path), "run-1", stop))
    worker.start()
    try:
        seen_dead = sum(folder.abandoned_by("run-1") for _ in range(20_000))
    finally:
        stop.set()
        worker.join(30)
    assert worker.exitcode == 0, "a worker was refused its lock while the monitor looked"
    assert seen_dead == 0
    assert folder.worker() == ("run-1 ended", False)
