"""The code location as a user opens it: `dagster dev` loads it and runs a partition via GraphQL."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from keeptrusts_pipelines.defs.instance import PROJECT_ROOT, prepare_dagster_home
from keeptrusts_pipelines_tests.conftest import free_port

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
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                graphql(url, "{ version }")
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"dagster dev did not answer; its log:\n{log.read_text()}")
        yield url, log
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


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


def test_dagster_dev_loads_the_location_and_runs_a_lake_day(
    dagster_dev: tuple[str, Path], keeptrusts_home: Path
) -> None:
    url, log = dagster_dev
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entries = graphql(url, LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
        if entries and entries[0]["loadStatus"] == "LOADED":
            break
        time.sleep(1)
    assert entries[0]["name"] == LOCATION
    assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", entries

    nodes = {tuple(n["assetKey"]["path"]): n for n in graphql(url, ASSETS)["assetNodes"]}
    assert set(nodes) == {("decision_events",), ("escalations",), ("config_versions",)}
    assert all(node["isPartitioned"] for node in nodes.values())
    checks = {c["name"] for c in nodes[("decision_events",)]["assetChecksOrError"]["checks"]}
    assert "event_ids_unique" in checks

    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "jobName": "lake_job",
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
        "runConfigData": {},
    }
    launched = graphql(url, LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline, status = time.monotonic() + 180, None
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
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
