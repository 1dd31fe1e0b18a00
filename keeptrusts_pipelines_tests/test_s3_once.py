"""S3 delivery set up once and used by every export; download links regenerated on demand;
an export re-created from its record, byte for byte (against moto's S3 server on loopback)."""

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import time_machine
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
WINDOW = ("--from", "2026-03-01", "--to", "2026-03-02")


@pytest.fixture
def home(keeptrusts_home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    s3_client.create_bucket(Bucket="saved-evidence")
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def kt(*arguments: str):
    result = runner.invoke(app, list(arguments))
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result


def test_a_destination_is_saved_only_once_test_connection_passes(home: Path) -> None:
    refused = kt("s3", "configure", "--bucket", "no-such-bucket", "--prefix", "kt/")
    assert refused.exit_code == 1 and "not saved: Test Connection failed" in refused.output
    assert not (home / "s3-destination.json").exists()
    saved = kt("s3", "configure", "--bucket", "saved-evidence", "--prefix", "kt/")
    assert saved.exit_code == 0, saved.output
    assert "exports go to s3://saved-evidence/kt/" in saved.output
    shown = json.loads(kt("s3", "show", "--json").output)
    assert shown["bucket"] == "saved-evidence" and shown["tested_at"]


def test_every_export_goes_to_the_saved_destination_unless_it_says_not(
    home: Path, s3_client
) -> None:
    assert kt("s3", "configure", "--bucket", "saved-evidence", "--prefix", "kt/").exit_code == 0
    created = kt("export", "create", *WINDOW, "--format", "csv", "--wait")
    assert created.exit_code == 0, created.output
    lines = created.output.splitlines()
    # As the seed shows it: the delivery line comes before the status.
    assert lines.index("Delivery: s3://saved-evidence/kt/") < next(
        i for i, line in enumerate(lines) if line.startswith("Status:")
    )
    export_id = created.output.split("Job ID: ")[1].split()[0]
    key = f"kt/{export_id}/kt_2026-03-01_to_2026-03-02.csv"
    body = s3_client.get_object(Bucket="saved-evidence", Key=key)["Body"].read()
    view = json.loads(kt("export", "status", "--id", export_id, "--json").output)
    assert hashlib.sha256(body).hexdigest() == view["sha256"]

    local = kt("export", "create", *WINDOW, "--format", "json", "--no-deliver", "--wait")
    assert local.exit_code == 0 and "Delivery:" not in local.output
    local_id = local.output.split("Job ID: ")[1].split()[0]
    assert "delivery" not in json.loads(kt("export", "status", "--id", local_id, "--json").output)


def test_a_link_is_regenerated_after_the_local_copy_expired(home: Path, tmp_path: Path) -> None:
    assert kt("s3", "configure", "--bucket", "saved-evidence").exit_code == 0
    created = json.loads(
        kt("export", "create", *WINDOW, "--format", "jsonl", "--wait", "--json").output
    )
    export_id, sha256 = created["export_id"], created["sha256"]
    later = datetime.now(UTC) + timedelta(days=8)
    with time_machine.travel(later, tick=False):
        view = json.loads(kt("export", "status", "--id", export_id, "--json").output)
        assert view["status"] == "expired" and not Path(created["artifact"]).exists()
        answer = kt("export", "link", "--id", export_id, "--expires", "24h", "--json")
    assert answer.exit_code == 0, answer.output
    link = json.loads(answer.output)
    fetched = requests.get(link["url"], timeout=30)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == sha256
    with time_machine.travel(later, tick=False):
        copy = tmp_path / "copy.jsonl"
        downloaded = kt("export", "download", "--id", export_id, "--output", str(copy))
    assert downloaded.exit_code == 0, downloaded.output
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == sha256
    too_long = kt("export", "link", "--id", export_id, "--expires", "8d")
    assert too_long.exit_code == 2 and "at most 7d" in too_long.output
    entries = CustodyLedger(custody_url()).entries(export_id)
    assert [json.loads(e.detail).get("via") for e in entries if e.action == "downloaded"] == [
        "presigned link"
    ]


def test_recreate_runs_the_same_request_and_says_it_is_identical(home: Path) -> None:
    created = json.loads(
        kt(
            *("export", "create", *WINDOW, "--format", "csv", "--filter-team", "legal"),
            *("--no-deliver", "--wait", "--json"),
        ).output
    )
    again = kt("export", "recreate", "--id", created["export_id"], "--json")
    assert again.exit_code == 0, again.output
    view = json.loads(again.output)
    assert view["export_id"] != created["export_id"] and view["identical"] is True
    assert view["sha256"] == created["sha256"] and view["filters"] == {"team": ["legal"]}
