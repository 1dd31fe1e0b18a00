"""Exports submitted without a daemon: each is a run its own worker executes on the instance,
visible as queued from the moment `kt export create` returns, and Dagster's `exports` pool (not
the workers) bounds how many write at once."""

import json
import os
import signal
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.defs.export_job import export_job
from keeptrusts_pipelines.defs.export_runs import Submission, resolved_export_job
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.instance_templates import SQLITE_TEMPLATE
from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
POOL = "exports"
WINDOW = ["--from", "2026-03-01", "--to", "2026-03-02"]


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def kt(*arguments: str) -> dict | list:
    answer = runner.invoke(app, [*arguments, "--json"])
    assert answer.exit_code == 0, answer.output
    return json.loads(answer.output)


def most_at_once(instance: dg.DagsterInstance, run_ids: list[str]) -> int:
    """The most export steps any moment saw running, from their runs' step events."""
    moments = []
    for run_id in run_ids:
        records = instance.get_records_for_run(
            run_id,
            of_type={
                dg.DagsterEventType.STEP_START,
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            },
        ).records
        for record in records:
            started = record.event_log_entry.dagster_event_type == dg.DagsterEventType.STEP_START
            moments.append((record.timestamp, 1 if started else -1))
    running = busiest = 0
    for _, change in sorted(moments):  # at a tie an end sorts before a start
        running += change
        busiest = max(busiest, running)
    return busiest


def blocked_runs(instance: dg.DagsterInstance, run_ids: list[str]) -> int:
    """Runs whose step waited for a slot of the pool (Dagster logs it as an engine event)."""
    waited = 0
    for run_id in run_ids:
        events = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
        ).records
        waited += any(
            f"blocked by limit for pool {POOL}" in (r.event_log_entry.user_message or "")
            for r in events
        )
    return waited


def wait_for(export_ids: set[str], seconds: float) -> dict[str, dict]:
    deadline, views = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        listed = kt("export", "list", "--limit", "50")
        views = {view["export_id"]: view for view in listed if view["export_id"] in export_ids}
        done = ("completed", "failed", "broken")
        if len(views) == len(export_ids) and all(v["status"] in done for v in views.values()):
            break
        time.sleep(1)
    return views


def test_the_exports_pool_limit_is_dagsters_and_four() -> None:
    concurrency = yaml.safe_load(SQLITE_TEMPLATE.read_text())["concurrency"]
    assert concurrency["pools"] == {"granularity": "op", "default_limit": 4}
    assert export_job.graph.node_named("export_artifact").definition.pool == POOL


def test_eight_exports_at_once_all_complete_and_never_exceed_the_pool(home: Path) -> None:
    instance = local_instance()
    # As `dagster instance concurrency set exports 2` would: below the eight submitted, so the
    # pool must hold some back on a machine of any speed.
    instance.event_log_storage.set_concurrency_slots(POOL, 2)
    submitted: dict[str, str] = {}
    for number in range(8):
        view = kt("export", "create", *WINDOW, "--format", ("csv", "jsonl")[number % 2])
        submitted[view["export_id"]] = view["format"]
        # Known at once, before its worker has even created the run.
        shown = kt("export", "status", "--id", view["export_id"])
        assert shown["status"] in ("queued", "processing"), shown

    views = wait_for(set(submitted), seconds=900)
    assert sorted(v["status"] for v in views.values()) == ["completed"] * 8, [
        v.get("error") for v in views.values()
    ]
    assert len({v["records"] for v in views.values()}) == 1
    run_ids = [view["run_id"] for view in views.values()]
    runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
    assert all(run is not None and run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert 1 <= most_at_once(instance, run_ids) <= 2
    assert blocked_runs(instance, run_ids) >= 1  # the pool, not luck, kept them apart
    # Every slot went back, and no submission is left behind.
    assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
    # A worker removes its submission just after its run ends: give the last one time.
    deadline = time.monotonic() + 60
    while list(Submission.folder().glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list(Submission.folder().glob("*.json"))


def test_exports_at_once_on_the_shipped_limit_stay_within_four(home: Path) -> None:
    instance = local_instance()
    submitted = {kt("export", "create", *WINDOW, "--format", "csv")["export_id"] for _ in range(8)}
    views = wait_for(submitted, seconds=900)
    assert sorted(v["status"] for v in views.values()) == ["completed"] * 8
    run_ids = [view["run_id"] for view in views.values()]
    # The pool's four slots were allocated once, though eight workers started together.
    assert instance.event_log_storage.get_concurrency_info(POOL).slot_count == 4
    # Claimed under the storage's lock (defs/sqlite_storage.py): never one more than the limit,
    # though eight workers claim in the same instant.
    assert 1 <= most_at_once(instance, run_ids) <= 4
    (pool,) = [p for p in instance.event_log_storage.get_pool_limits() if p.name == POOL]
    assert pool.limit == 4 and pool.from_default


def test_a_worker_that_dies_before_its_run_fails_the_export_once(home: Path) -> None:
    local_instance()
    view = kt("export", "create", *WINDOW, "--format", "csv")
    (submission,) = Submission.pending()
    assert submission.pid is not None and submission.export_id == view["export_id"]
    os.kill(submission.pid, signal.SIGKILL)  # long before Dagster is even imported
    deadline = time.monotonic() + 30
    while submission.worker_alive() and time.monotonic() < deadline:
        time.sleep(0.1)

    shown = kt("export", "status", "--id", view["export_id"])
    assert shown["status"] == "failed"
    assert "worker stopped before its run started" in shown["error"]
    assert local_instance().get_run_by_id(submission.run_id) is None
    kt("export", "status", "--id", view["export_id"])  # looking again records nothing twice
    entries = list(CustodyLedger(custody_url()).entries(view["export_id"]))
    assert [(e.action, e.run_id) for e in entries] == [
        ("created", submission.run_id),
        ("failed", submission.run_id),
    ]


def test_a_started_run_waiting_for_its_slot_reads_as_queued(home: Path) -> None:
    export_id = "exp_waiting000001"
    run = local_instance().create_run_for_job(
        job_def=resolved_export_job(),
        run_config={"ops": {"export_artifact": {"config": {"window_from": "2026-03-01"}}}},
        tags={EXPORT_ID_TAG: export_id},
        status=dg.DagsterRunStatus.STARTED,
    )
    assert kt("export", "status", "--id", export_id)["status"] == "queued"
    with ExportFolder(home / "exports", export_id).working(run.run_id):
        assert kt("export", "status", "--id", export_id)["status"] == "processing"


def test_a_worker_killed_while_waiting_for_a_slot_fails_the_export_once(home: Path) -> None:
    instance = local_instance()
    instance.event_log_storage.set_concurrency_slots(POOL, 0)  # every export waits
    view = kt("export", "create", *WINDOW, "--format", "csv")
    (submission,) = Submission.pending()
    deadline = time.monotonic() + 120
    while not blocked_runs(instance, [submission.run_id]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert blocked_runs(instance, [submission.run_id]) == 1, "the worker never waited"
    assert submission.pid is not None
    os.kill(submission.pid, signal.SIGKILL)  # its run is started, its export not begun
    while submission.worker_alive() and time.monotonic() < deadline:
        time.sleep(0.1)

    shown = kt("export", "status", "--id", view["export_id"])
    assert shown["status"] == "failed", shown
    assert "worker stopped before the export began" in shown["error"]
    assert instance.get_run_by_id(submission.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info(POOL).pending_step_count == 0
    kt("export", "status", "--id", view["export_id"])  # looking again records nothing twice
    entries = list(CustodyLedger(custody_url()).entries(view["export_id"]))
    assert [(e.action, e.run_id) for e in entries] == [
        ("created", submission.run_id),
        ("failed", submission.run_id),
    ]
    assert not list(Submission.folder().glob("*.json"))
