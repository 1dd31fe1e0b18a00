"""A KEEPTRUSTS_HOME with a recent demo lake and one token per role, served by `kt serve` on
loopback: what the API, browser and load tests run against."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx

from keeptrusts_pipelines.api.tokens import TokenStore
from keeptrusts_pipelines_tests.lakes import demo_lake

ROLES = ("admin", "compliance", "auditor")


def served_home(home: Path, days: int = 9, per_day: int = 200) -> dict[str, str]:
    """A lake of the last `days` closed days; tokens by name: admin, compliance, auditor, and
    `expired` and `revoked` (compliance) that the API must refuse."""
    today = datetime.now(UTC).date()
    demo_lake(home / "lake", today - timedelta(days=days), days, per_day=per_day)
    store = TokenStore(f"sqlite:///{home / 'custody.db'}")
    tokens = {role: store.create(role, role, timedelta(days=1))[1] for role in ROLES}
    past = datetime.now(UTC) - timedelta(days=2)
    tokens["expired"] = store.create("expired", "compliance", timedelta(days=1), past)[1]
    tokens["revoked"] = store.create("revoked", "compliance", None)[1]
    store.revoke("revoked")
    store.engine.dispose()
    return tokens


def server_environment(home: Path) -> dict[str, str]:
    environment = {**os.environ, "KEEPTRUSTS_HOME": str(home)}
    for name in ("DAGSTER_HOME", "KEEPTRUSTS_SOURCE_URL", "KEEPTRUSTS_API_URL"):
        environment.pop(name, None)
    environment.setdefault("KEEPTRUSTS_PSEUDONYM_KEY", "test-pseudonym-key-0123456789abcdef")
    return environment


@contextmanager
def serving(
    home: Path, port: int, *flags: str, within: float = 60
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`kt serve --port PORT FLAGS…` in its own process group, once it answers /healthz within
    `within` seconds; its process and URL until the block ends, when the group is stopped."""
    log = (home / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "kt"), "serve", "--port", str(port), *flags],
        stdout=log, stderr=subprocess.STDOUT, env=server_environment(home),
        start_new_session=True,  # its webserver and daemon stop with it
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + within
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                told = (home / "serve.log").read_text()[-3000:]
                raise RuntimeError(f"kt serve did not start within {within:.0f} s: {told}")
            time.sleep(0.2)
        yield process, url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


@contextmanager
def running_server(home: Path, port: int) -> Iterator[str]:
    """`kt serve` (no daemon: runs go to the local instance's workers) until the block ends."""
    with serving(home, port, "--no-daemon") as (_, url):
        yield url


def lake_count(
    home: Path, window: dict, where: str = "true", parameters: list | None = None
) -> int:
    """Events in the lake inside a view's window: an independent DuckDB count."""
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    query = (
        f"select count(*) from read_parquet('{files}') where timestamp >= ?::timestamptz "
        f"and timestamp < ?::timestamptz and ({where})"
    )
    bounds = [window["from"], window["to"]]
    return duckdb.execute(query, [*bounds, *(parameters or [])]).fetchall()[0][0]


def wait_until_final(client: httpx.Client, export_id: str, seconds: float = 600) -> dict:
    """The export's view once its run has ended (a worker process is slow on a busy machine)."""
    deadline = time.monotonic() + seconds
    while True:
        view = client.get(f"/v1/exports/jobs/{export_id}").json()
        if view["status"] not in ("queued", "processing"):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"{export_id} did not end in {seconds} s: {view}")
        time.sleep(0.3)
