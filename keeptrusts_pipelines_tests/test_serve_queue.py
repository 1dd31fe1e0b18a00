"""`kt serve` runs the Dagster daemon and webserver beside the API: the API's exports go through
the instance's run queue and the daemon launches them (as the UI's own launches), and the
webserver's record goes when kt serve stops."""

import os
import signal
from pathlib import Path

import dagster as dg
import httpx
import pytest

from keeptrusts_pipelines.settings import WEBSERVER_RECORD
from keeptrusts_pipelines_tests.conftest import free_port
from keeptrusts_pipelines_tests.served import (
    lake_count,
    served_home,
    serving,
    wait_until_final,
)

LEGAL_7D = {"format": "csv", "time_window": {"last": "7d"}, "filters": {"team": ["legal"]}}
# The code location loads in the webserver and in the daemon: slow on two busy cores.
STARTS_WITHIN_SECONDS = 600


@pytest.fixture
def kt_serve(keeptrusts_home: Path):
    tokens = served_home(keeptrusts_home, days=8, per_day=100)
    with serving(keeptrusts_home, free_port(), within=STARTS_WITHIN_SECONDS) as (process, url):
        yield process, url, tokens


def test_kt_serve_queues_the_apis_exports_for_its_daemon(
    keeptrusts_home: Path, kt_serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, url, tokens = kt_serve
    record = keeptrusts_home / "dagster" / WEBSERVER_RECORD
    assert record.exists()  # the webserver was up before the API took its first request
    headers = {"Authorization": f"Bearer {tokens['compliance']}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as api:
        answer = api.post("/v1/exports/jobs", json=LEGAL_7D)
        assert answer.status_code == 201, answer.text
        view = wait_until_final(api, answer.json()["export_id"], seconds=600)
    serve_log = (keeptrusts_home / "serve.log").read_text()[-3000:]
    assert view["status"] == "completed", serve_log
    assert view["records"] == lake_count(keeptrusts_home, view["window"], "team = ?", ["legal"])

    monkeypatch.setenv("DAGSTER_HOME", str(keeptrusts_home / "dagster"))
    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(view["run_id"])
    # Submitted through the webserver: the run knows its code location, and the queue's
    # daemon launched it (enqueued, then starting), no worker of kt's own.
    assert run is not None and run.remote_job_origin is not None
    assert run.remote_job_origin.location_name == "keeptrusts_pipelines"
    kinds = {
        record.event_log_entry.dagster_event_type
        for record in instance.get_records_for_run(view["run_id"]).records
    }
    assert {
        dg.DagsterEventType.RUN_ENQUEUED,
        dg.DagsterEventType.RUN_STARTING,
        dg.DagsterEventType.RUN_SUCCESS,
    } <= kinds
    assert not (keeptrusts_home / "dagster" / "worker-logs").exists()

    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    assert not record.exists()


def test_the_storage_exists_before_dagsters_processes_start(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon and the webserver start together; on a new home each would create the
    storage, and two stamping SQLite's schema version at once leave it unreadable to all."""
    from keeptrusts_pipelines.cli import serve

    seen = []

    class Started:
        def __init__(self, command: list[str], **_: object) -> None:
            home = Path(os.environ["DAGSTER_HOME"])
            databases = [home / "history" / "runs.db", home / "schedules" / "schedules.db"]
            seen.append((Path(command[0]).name, all(db.is_file() for db in databases)))

    monkeypatch.setattr(serve.subprocess, "Popen", Started)
    serve._start_dagster(free_port())
    assert seen == [("dagster-daemon", True), ("dagster-webserver", True)]
