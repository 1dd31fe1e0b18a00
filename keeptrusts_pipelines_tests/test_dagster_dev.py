"""The code location as a user opens it: `dagster dev` loads it and runs a partition via GraphQL."""

import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.defs.instance import prepare_dagster_home
from keeptrusts_pipelines.defs.instance_templates import PROJECT_ROOT
from keeptrusts_pipelines_tests.conftest import free_port
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.webhooks import Receiver, running_receiver

LOCATION = "keeptrusts_pipelines"
DAY = "2026-05-04"


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload
    return payload["data"]


@pytest.fixture
def dagster_dev(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """`dagster dev` (web server + daemon) on loopback, on a fresh KEEPTRUSTS_HOME."""
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "demo://?seed=5&events_per_day=300")
    prepare_dagster_home()
    port = free_port()
    log = keeptrusts_home / "dagster-dev.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 300  # a loaded machine starts the code server slowly
        while time.monotonic() < deadline:
            try:
                graphql(url, "{ version }")
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"dagster dev did not answer; its log:\n{log.read_text()}")
        loaded_location(url)  # the webserver refuses runs of a location still loading
        yield url, log
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # runs still finishing: stop them all
            process.wait(timeout=30)


LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } }
} } } }
"""
ASSETS = "{ assetNodes { assetKey { path } isPartitioned assetChecksOrError { ... on AssetChecks { checks { name } } } } }"
LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
} }
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


SENSOR_TICKS = """
query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
    __typename ... on Sensor { sensorState { ticks(limit: 1) { status } } }
} }
"""


def loaded_location(url: str) -> dict:
    """The workspace's location entry once it has loaded (a loaded machine takes minutes)."""
    deadline, entries = time.monotonic() + 300, []
    while time.monotonic() < deadline:
        entries = graphql(url, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            return entries[0]
        time.sleep(1)
    pytest.fail(f"the code location did not load in 300 s: {entries}")


def ticked_once(url: str, sensor: str) -> None:
    """Wait for the daemon's first tick of `sensor` (a run status sensor's first tick only sets
    its cursor: runs that ended before it are never seen)."""
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": "__repository__",
        "sensorName": sensor,
    }
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = graphql(url, SENSOR_TICKS, {"selector": selector})["sensorOrError"]
        if (found.get("sensorState") or {}).get("ticks"):
            return
        time.sleep(2)
    pytest.fail(f"the daemon did not tick {sensor} in 300 s")


def run_lake_day(url: str, day: str) -> tuple[str, str | None]:
    """Launch lake_job for `day` through GraphQL (queued, started by the daemon) and wait for
    it to end; its run id and final status."""
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "lake_job",
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
        "runConfigData": {},
    }
    launched = graphql(url, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline, status = time.monotonic() + 600, None
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    return run_id, status


def test_dagster_dev_loads_the_location_and_runs_a_lake_day(
    dagster_dev: tuple[str, Path], keeptrusts_home: Path
) -> None:
    url, log = dagster_dev
    entry = loaded_location(url)
    assert entry["name"] == LOCATION
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry

    nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(url, ASSETS)["assetNodes"]}
    lake = {("decision_events",), ("escalations",), ("config_versions",)}
    evidence = {(f"{period}_evidence_bundle",) for period in ("weekly", "monthly", "quarterly")}
    assert lake | evidence <= set(nodes)
    assert all(node["isPartitioned"] for node in nodes.values())
    checks = {c["name"] for c in nodes[("decision_events",)]["assetChecksOrError"]["checks"]}
    assert "event_ids_unique" in checks

    _, status = run_lake_day(url, DAY)
    assert status == "SUCCESS", log.read_text()[-3000:]
    partition = keeptrusts_home / "lake" / "decision_events" / f"date={DAY}" / "part-0.parquet"
    assert pq.read_metadata(partition).num_rows > 0
    assert "DeprecationWarning" not in log.read_text()


def test_definitions_validate(keeptrusts_home: Path) -> None:
    prepare_dagster_home()
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "All code locations passed validation" in result.stderr + result.stdout


TEAMS = ("legal", "hr", "engineering", "finance", "support")
FORMATS = ("csv", "json", "jsonl", "parquet")


def records_in(path: Path, file_format: str) -> int:
    if file_format == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.DictReader(handle))
    if file_format == "json":
        return len(json.loads(path.read_text())["events"])
    if file_format == "jsonl":
        return len(path.read_text().splitlines())
    return pq.read_metadata(path).num_rows


def test_kt_exports_through_graphql_and_twenty_at_once_all_complete(
    dagster_dev: tuple[str, Path], keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, log = dagster_dev
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    monkeypatch.setenv("KEEPTRUSTS_DAGSTER_URL", url.removesuffix("/graphql"))
    runner = CliRunner()
    files = str(keeptrusts_home / "lake" / "decision_events" / "*" / "*.parquet")

    def lake_count(where: str) -> int:
        return duckdb.sql(f"select count(*) from read_parquet('{files}') where {where}").fetchall()[
            0
        ][0]

    created = runner.invoke(
        app,
        [
            "export",
            "create",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--format",
            "csv",
            "--filter-team",
            "legal",
            "--wait",
            "--json",
        ],
    )
    assert created.exit_code == 0, created.output + log.read_text()[-3000:]
    view = json.loads(created.output)
    assert view["status"] == "completed" and view["run_id"]
    copy = keeptrusts_home / "downloaded.csv"
    assert (
        runner.invoke(
            app, ["export", "download", "--id", view["export_id"], "--output", str(copy)]
        ).exit_code
        == 0
    )
    assert records_in(copy, "csv") == lake_count("team = 'legal'") == view["records"]

    # Twenty requests at once: the run queue takes them four at a time, and each artifact holds
    # exactly its own request's records.
    submitted = {}
    for number in range(20):
        team, file_format = TEAMS[number % 5], FORMATS[number % 4]
        answer = runner.invoke(
            app,
            [
                "export",
                "create",
                "--date-from",
                "2026-03-01",
                "--date-to",
                "2026-03-02",
                "--filter-team",
                team,
                "--format",
                file_format,
                "--json",
            ],
        )
        assert answer.exit_code == 0, answer.output
        submitted[json.loads(answer.output)["export_id"]] = (team, file_format)
    deadline, busiest, views = time.monotonic() + 600, 0, []
    while time.monotonic() < deadline:
        views = json.loads(runner.invoke(app, ["export", "list", "--limit", "30", "--json"]).output)
        ours = [v for v in views if v["export_id"] in submitted]
        busiest = max(busiest, sum(v["status"] == "processing" for v in ours))
        if len(ours) == 20 and all(v["status"] in ("completed", "failed") for v in ours):
            break
        time.sleep(1)
    ours = {v["export_id"]: v for v in views if v["export_id"] in submitted}
    assert sorted(v["status"] for v in ours.values()) == ["completed"] * 20, log.read_text()[-3000:]
    assert busiest <= 4
    for export_id, (team, file_format) in submitted.items():
        artifact = Path(ours[export_id]["artifact"])
        assert records_in(artifact, file_format) == lake_count(f"team = '{team}'")


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A receiver on loopback, set as KEEPTRUSTS_WEBHOOK_URL before `dagster dev` starts."""
    with running_receiver() as url:
        monkeypatch.setenv("KEEPTRUSTS_WEBHOOK_URL", url)
        monkeypatch.setenv("KEEPTRUSTS_WEBHOOK_SECRET", "s3cret")
        yield url


def test_a_local_kt_export_is_notified_once_by_the_daemon(
    webhook: str, dagster_dev: tuple[str, Path], keeptrusts_home: Path
) -> None:
    """kt without KEEPTRUSTS_DAGSTER_URL runs on the local instance, with no code location on
    the run; the daemon's sensors must still post it, once."""
    url, log = dagster_dev
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    ticked_once(url, "export_completed_sensor")
    created = CliRunner().invoke(
        app,
        [
            *("export", "create", "--from", "2026-03-01", "--to", "2026-03-02"),
            *("--format", "csv", "--wait", "--json"),
        ],
    )
    assert created.exit_code == 0, created.output
    export_id = json.loads(created.output)["export_id"]

    def posted() -> list[dict]:
        bodies = [json.loads(body) for _, body in Receiver.bodies]
        return [b for b in bodies if b["export_id"] == export_id]

    deadline = time.monotonic() + 180
    while not posted() and time.monotonic() < deadline:
        time.sleep(2)
    assert [b["event"] for b in posted()] == ["export.completed"], log.read_text()[-3000:]
    time.sleep(35)  # another tick of the sensor: nothing more
    assert len(posted()) == 1
