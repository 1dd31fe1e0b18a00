"""Delivery to a real S3 endpoint on loopback (moto's server): create-once keys, checksums,
multipart, Object Lock, an outage and its recovery, and the Test Connection probe."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from keeptrusts_pipelines.delivery.s3 import (
    DeliveryError,
    S3Target,
    check_connection,
    client_for,
    deliver,
    presigned_url,
)
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines_tests.conftest import free_port, start_moto


@pytest.fixture
def own_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list]]:
    """A moto server of this test's own, which the test may stop and start again."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    port = free_port()
    servers = [start_moto(port)]
    yield port, servers
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


def target(port: int, bucket: str = "evidence", **options) -> S3Target:
    return S3Target(bucket, "keeptrusts", endpoint_url=f"http://127.0.0.1:{port}", **options)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "kt_2026-07-01_to_2026-09-30_compliance-all.tar.gz"
    path.write_bytes(bytes(range(256)) * 40_000)  # 10 MB
    return path


def objects(client, bucket: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_upload_sends_sha256_only_and_redelivery_creates_nothing(
    own_s3: tuple[int, list], artifact: Path
) -> None:
    port, _ = own_s3
    where = target(port)
    client = client_for(where)
    client.create_bucket(Bucket="evidence")
    # moto does not check checksums: what is proven here is the request sent, captured
    # through botocore's event hooks.
    sent: list[dict] = []
    client.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers))
    )
    first = deliver(artifact, where, client=client)
    again = deliver(artifact, where, client=client)
    assert first.created and not again.created and first.key == again.key
    assert objects(client, "evidence") == [f"keeptrusts/{artifact.name}"]
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent[0].items()}
    assert headers["x-amz-checksum-sha256"] == first.checksum
    assert headers["if-none-match"] == "*"
    assert not any(k.startswith("x-amz-checksum-crc") for k in headers)
    body = client.get_object(Bucket="evidence", Key=first.key)["Body"].read()
    assert body == artifact.read_bytes()


def test_a_different_artifact_never_overwrites_one(
    own_s3: tuple[int, list], artifact: Path
) -> None:
    port, _ = own_s3
    where = target(port)
    client = client_for(where)
    client.create_bucket(Bucket="evidence")
    deliver(artifact, where, client=client)
    artifact.write_bytes(b"other bytes")
    with pytest.raises(DeliveryError, match="already holds other bytes"):
        deliver(artifact, where, client=client)


def test_large_artifacts_go_in_parts_with_checksums(
    own_s3: tuple[int, list], artifact: Path
) -> None:
    port, _ = own_s3
    where = target(port)
    client = client_for(where)
    client.create_bucket(Bucket="evidence")
    parts: list[dict] = []
    client.meta.events.register(
        "before-send.s3.UploadPart", lambda request, **_: parts.append(dict(request.headers))
    )
    sent = deliver(artifact, where, client=client, multipart_threshold=1 << 20, part_size=5 << 20)
    assert sent.created and len(parts) == 2
    assert all("x-amz-checksum-sha256" in {k.lower() for k in p} for p in parts)
    assert client.get_object(Bucket="evidence", Key=sent.key)["Body"].read() == (
        artifact.read_bytes()
    )
    assert not deliver(
        artifact, where, client=client, multipart_threshold=1 << 20, part_size=5 << 20
    ).created


def test_object_lock_keeps_a_delivery_and_says_when_a_bucket_has_none(
    own_s3: tuple[int, list], artifact: Path
) -> None:
    port, _ = own_s3
    locked = target(port, "worm", lock_mode="COMPLIANCE", lock_days=30)
    client = client_for(locked)
    client.create_bucket(Bucket="worm", ObjectLockEnabledForBucket=True)
    sent = deliver(artifact, locked, client=client)
    with pytest.raises(ClientError, match="AccessDenied"):
        client.delete_object(Bucket="worm", Key=sent.key, VersionId=sent.version_id)
    client.create_bucket(Bucket="plain")
    with pytest.raises(DeliveryError, match="has no Object Lock"):
        deliver(artifact, target(port, "plain", lock_mode="COMPLIANCE", lock_days=30))


def test_an_outage_fails_clearly_and_a_rerun_after_it_delivers_once(
    own_s3: tuple[int, list], artifact: Path
) -> None:
    port, servers = own_s3
    where = target(port)
    client_for(where).create_bucket(Bucket="evidence")
    servers[0].terminate()
    servers[0].wait(timeout=10)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="upload to s3://evidence"):
        deliver(artifact, where)
    assert time.monotonic() - started < 120  # retried, then gave up with a clear error
    servers.append(start_moto(port))  # back, empty: as a store restored from nothing
    client = client_for(where)
    client.create_bucket(Bucket="evidence")
    assert deliver(artifact, where, client=client).created
    assert deliver(artifact, where, client=client).created is False
    assert objects(client, "evidence") == [f"keeptrusts/{artifact.name}"]


def test_the_connection_probe_names_the_step_that_fails(own_s3: tuple[int, list]) -> None:
    port, _ = own_s3
    where = target(port)
    client_for(where).create_bucket(Bucket="evidence")
    steps = check_connection(where)
    assert [(s.step, s.ok) for s in steps] == [
        ("write", True),
        ("read back", True),
        ("remove", True),
    ]
    assert objects(client_for(where), "evidence") == []
    missing = check_connection(target(port, "no-such-bucket"))
    assert [(s.step, s.ok) for s in missing] == [("write", False)]
    assert "NoSuchBucket" in missing[0].detail


def test_presigned_urls_are_limited_to_seven_days(own_s3: tuple[int, list]) -> None:
    port, _ = own_s3
    url = presigned_url(target(port), "keeptrusts/x.tar.gz", 3600)
    assert "X-Amz-Expires=3600" in url
    with pytest.raises(ConfigurationError, match="7 days"):
        presigned_url(target(port), "keeptrusts/x.tar.gz", 8 * 24 * 3600)


def test_kt_s3_check_reports_each_step(
    own_s3: tuple[int, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from keeptrusts_pipelines.cli.app import app

    port, _ = own_s3
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    client_for(target(port)).create_bucket(Bucket="evidence")
    ok = CliRunner().invoke(app, ["s3", "check", "--bucket", "evidence", "--prefix", "kt/"])
    assert ok.exit_code == 0, ok.output
    assert "✓ write" in ok.output and "✓ read back" in ok.output and "✓ remove" in ok.output
    bad = CliRunner().invoke(app, ["s3", "check", "--bucket", "missing-bucket"])
    assert bad.exit_code == 1 and "✗ write" in bad.output and "NoSuchBucket" in bad.output
