"""`kt` loads what a command uses: status and list read the run history without Dagster or the
engine's libraries, and `create --wait` runs the export in its own process, as a run of the
instance (in its history and the custody ledger)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.export_runs import LocalExportRuns, resolved_export_job
from keeptrusts_pipelines.defs.instance import local_instance, prepare_dagster_home
from keeptrusts_pipelines.defs.run_history import SqliteRunHistory, open_history
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.test_export_jobs import FIRST, config

runner = CliRunner()
HEAVY = ("dagster", "polars", "duckdb", "pyarrow", "sqlalchemy", "weasyprint", "boto3", "httpx")


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", FIRST, 3)
    return keeptrusts_home


def create(*flags: str) -> dict:
    created = runner.invoke(
        app,
        [
            *("export", "create", "--from", "2026-03-01", "--to", "2026-03-01"),
            *("--format", "csv", "--wait", "--json", *flags),
        ],
    )
    assert created.exit_code == 0, created.output
    return json.loads(created.output)


def heavy_modules_after(arguments: list[str]) -> tuple[list[str], str]:
    """The heavy libraries a fresh process has loaded once `kt <arguments>` ran, and its output."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from keeptrusts_pipelines.cli.app import app
        try:
            app({arguments!r})
        except SystemExit:
            pass
        loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps(loaded), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_status_and_list_load_neither_dagster_nor_the_engine(home: Path) -> None:
    view = create()
    loaded, shown = heavy_modules_after(["export", "status", "--id", view["export_id"]])
    assert loaded == [] and "Status: completed" in shown
    loaded, shown = heavy_modules_after(["export", "list"])
    assert loaded == [] and view["export_id"] in shown
    loaded, shown = heavy_modules_after(["--help"])
    assert loaded == [] and "export" in shown


def test_create_wait_runs_the_export_here_as_a_run_of_the_instance(home: Path) -> None:
    view = create("--raw-content", "--reason", "legal hold review")
    assert view["status"] == "completed" and view["records"] > 0
    run = local_instance().get_run_by_id(view["run_id"])
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags[EXPORT_ID_TAG] == view["export_id"] and run.job_name == "export_job"
    assert run.tags["keeptrusts/kind"] == "export"  # the job's tags, as on every run of it
    # No worker process was started for it.
    logs = prepare_dagster_home() / "worker-logs"
    assert not (logs / f"{view['run_id']}.log").exists()
    entries = list(CustodyLedger(custody_url()).entries(view["export_id"]))
    assert [e.action for e in entries] == ["created", "completed"]
    assert {e.run_id for e in entries} == {view["run_id"]}
    assert json.loads(entries[0].detail)["raw_content_reason"] == "legal hold review"


def test_a_failed_export_run_here_is_reported_failed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keeptrusts_pipelines.defs import ops

    def broken(*_, **__):
        raise OSError("disk full")

    monkeypatch.setattr(ops, "run_export", broken)
    created = runner.invoke(
        app,
        [
            *("export", "create", "--from", "2026-03-01", "--to", "2026-03-01"),
            *("--format", "csv", "--wait", "--json"),
        ],
    )
    assert created.exit_code == 1
    view = json.loads(created.output)
    assert view["status"] == "failed" and "OSError" in view["error"]
    assert local_instance().get_run_by_id(view["run_id"]).status == dg.DagsterRunStatus.FAILURE


def test_the_history_read_without_dagster_matches_dagsters(home: Path) -> None:
    job = resolved_export_job()
    instance = local_instance()
    for number in range(3):
        job.execute_in_process(
            run_config=config(window_to="2026-03-01"),
            instance=instance,
            tags={EXPORT_ID_TAG: f"exp_history{number:04d}", "team": "legal"},
            raise_on_error=False,
        )
    queued = instance.create_run_for_job(
        job_def=job, run_config=config(), tags={EXPORT_ID_TAG: "exp_history0009"}
    )
    instance.report_run_failed(queued)  # a status set after the run was made
    instance.add_run_tags(queued.run_id, {"keeptrusts/added": "later"})

    history = open_history()
    assert isinstance(history, SqliteRunHistory)
    through_dagster = LocalExportRuns()
    through_dagster.history = None
    assert history.recent(10) == through_dagster.recent(10)
    assert history.recent(2) == through_dagster.recent(2)
    for export_id in ("exp_history0001", "exp_history0009", "exp_nosuchexport"):
        assert history.find(export_id) == through_dagster.find(export_id)
    assert history.find("exp_history0009").tags["keeptrusts/added"] == "later"
    assert history.in_flight(("FAILURE",), 10) == [history.find("exp_history0009")]


def test_other_storage_is_read_through_dagster(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create()
    assert open_history() is not None
    monkeypatch.setenv("KEEPTRUSTS_DAGSTER_PG_URL", "postgresql://kt@localhost/dagster")
    assert open_history() is None
    monkeypatch.delenv("KEEPTRUSTS_DAGSTER_PG_URL")
    yaml_file = prepare_dagster_home() / "dagster.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("base_dir:", "base_dir:  # moved", 1))
    assert open_history() is not None  # the same storage, written differently
    yaml_file.write_text("storage:\n  sqlite:\n    base_dir: /somewhere/else\n")
    assert open_history() is None


def test_the_export_job_run_here_is_the_code_locations(home: Path) -> None:
    light = resolved_export_job()
    full = build_definitions().resolve_job_def("export_job")
    assert light.get_job_snapshot_id() == full.get_job_snapshot_id()
