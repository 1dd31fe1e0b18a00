"""Shared fixtures: a private KEEPTRUSTS_HOME, and real PostgreSQL and S3 servers on loopback."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa

from keeptrusts_pipelines.lake.layout import Lake, LakeLayout
from keeptrusts_pipelines.lake.location import open_lake

POSTGRES_ADMIN_URL = os.environ.get(
    "KEEPTRUSTS_TEST_POSTGRES_URL",
    "postgresql+psycopg://keeptrusts:keeptrusts@127.0.0.1:5432/postgres",
)


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured pseudonym key, as a deployment has: only under one is a redacted export
    byte-reproducible (without it each export draws its own key)."""
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", "test-pseudonym-key-0123456789abcdef")


@pytest.fixture(autouse=True)
def packaged_formats_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the packaged formats: plug-ins and catalogs a door handed the
    registry in an earlier test (from that test's environment) are not this one's."""
    from keeptrusts_pipelines.exports import formats

    monkeypatch.setattr(formats, "_sources", formats.FormatSources())


@pytest.fixture
def keeptrusts_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh KEEPTRUSTS_HOME (lake, Dagster home) for one test; demo source unless changed."""
    home = tmp_path / "home"
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("KEEPTRUSTS_SOURCE_URL", raising=False)
    return home


@contextmanager
def fresh_database(prefix: str) -> Iterator[sa.URL]:
    """A new, empty database `<prefix>_<random>` on the local PostgreSQL server (its URL),
    dropped afterwards; the test is skipped, saying how to start the server, when it is down."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as error:
        pytest.skip(
            f"PostgreSQL is not reachable at {admin.url.render_as_string(hide_password=True)} "
            f"({error.orig}); start it with `pg_ctlcluster 15 main start` as .ci/run does"
        )
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty database on the local PostgreSQL server, dropped afterwards."""
    with fresh_database("kt_test") as url:
        yield url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    """moto's S3 server as a separate process on loopback: a real HTTP endpoint, not a mock."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"moto's S3 server did not start on port {port}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """One loopback S3 server for the session."""
    port = free_port()
    process = start_moto(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_client(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """A client of the loopback S3 server with throwaway credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def s3_lake(s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """An empty lake under a fresh bucket of the loopback S3 server, reached as in production
    through AWS_ENDPOINT_URL and the AWS credentials of the environment."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket)
    return open_lake(f"s3://{bucket}/keeptrusts")


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    """A fresh, empty lake of each kind: a local folder, and an S3 prefix (`s3_lake`)."""
    if request.param == "local":
        return LakeLayout(tmp_path / "lake")
    return request.getfixturevalue("s3_lake")
