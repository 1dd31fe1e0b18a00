"""While `kt ui` runs on a home, `kt export create` on that home goes through its webserver's
run queue and daemon (as the UI's own launches do); when it stops, kt runs exports itself."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from keeptrusts_pipelines.settings import WEBSERVER_RECORD
from keeptrusts_pipelines_tests.conftest import free_port
from keeptrusts_pipelines_tests.lakes import demo_lake

KT = [str(Path(sys.executable).with_name("kt"))]
# `dagster dev` gives its webserver and then its daemon 60 s each to stop before it kills
# them; a loaded machine can use all of it.
STOPS_WITHIN_SECONDS = 300


def kt(*args: str) -> dict:
    done = subprocess.run([*KT, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def kt_ui(keeptrusts_home: Path):
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2, per_day=200)
    record = keeptrusts_home / "dagster" / WEBSERVER_RECORD
    process = subprocess.Popen(
        [*KT, "ui", "--port", str(free_port())],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300  # a loaded machine starts the code server slowly
        while not record.exists():
            assert process.poll() is None, "kt ui exited"
            assert time.monotonic() < deadline, "kt ui's webserver never answered"
            time.sleep(1)
        yield process, record
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=STOPS_WITHIN_SECONDS)


def test_exports_go_through_the_ui_run_queue_while_it_runs(
    keeptrusts_home: Path, kt_ui, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, record = kt_ui
    window = ["--from", "2026-03-01", "--to", "2026-03-02", "--format", "csv"]

    queued = kt("export", "create", *window, "--wait", "--json")

    assert queued["status"] == "completed", queued
    monkeypatch.setenv("DAGSTER_HOME", str(keeptrusts_home / "dagster"))
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(dg.RunsFilter(tags={"keeptrusts/export_id": queued["export_id"]}))
    # Launched through the webserver: the run knows its code location (the Overview timeline
    # groups runs by it) and the daemon's queue ran it.
    assert run.remote_job_origin is not None
    assert run.remote_job_origin.location_name == "keeptrusts_pipelines"
    assert run.tags.get("keeptrusts/actor")

    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=STOPS_WITHIN_SECONDS)
    assert not record.exists()
    local = kt("export", "create", *window, "--wait", "--json")
    assert local["status"] == "completed" and local["records"] == queued["records"]
    (run,) = instance.get_runs(dg.RunsFilter(tags={"keeptrusts/export_id": local["export_id"]}))
    assert run.remote_job_origin is None  # run in the kt process, on the same instance
