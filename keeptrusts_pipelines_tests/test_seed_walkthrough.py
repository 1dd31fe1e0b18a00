"""Seed 003 ("Exporting compliance evidence"), steps 2 to 10, top to bottom, as a user types
them: the dates moved into a demo lake, the seed's policy names to the demo's (pii-redaction →
pii-filter, content-filter → toxicity-filter). Every count is compared with DuckDB."""

import csv
import hashlib
import json
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
SEVEN_DAYS = ("--from", "2026-04-16T00:00:00Z", "--to", "2026-04-23T23:59:59Z")
APRIL = ("--from", "2026-04-01T00:00:00Z", "--to", "2026-04-23T23:59:59Z")


def kt(*arguments: str):
    result = runner.invoke(app, list(arguments))
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code == 0, result.output
    return result.output


def job_id(output: str) -> str:
    return output.split("Job ID: ")[1].split()[0]


def lake_count(home: Path, where: str) -> int:
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    query = f"select count(*) from read_parquet('{files}') where {where}"
    return duckdb.sql(query).fetchall()[0][0]


def until_completed(export_id: str) -> str:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        output = kt("export", "status", "--id", export_id)
        if "Status: completed" in output or "Status: failed" in output:
            return output
        time.sleep(0.5)
    raise AssertionError(f"{export_id} did not complete: {output}")


@pytest.fixture
def home(keeptrusts_home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("COLUMNS", "160")
    s3_client.create_bucket(Bucket="compliance-artifacts")
    demo_lake(keeptrusts_home / "lake", date(2026, 4, 1), 23, per_day=200)
    return keeptrusts_home


def test_seed_003_steps_2_to_10(home: Path, tmp_path: Path, s3_client) -> None:
    april = "timestamp < '2026-04-24'"
    # Step 2: a one-time export (JSON).
    created = kt("export", "create", *SEVEN_DAYS, "--format", "json")
    assert created.splitlines()[:4] == [
        "✓ Export job created",
        f"Job ID: {job_id(created)}",
        "Format: json",
        "Status: queued",
    ]
    assert "Range: 2026-04-16 → 2026-04-23" in created
    json_id = job_id(created)

    # Step 3: check its status until it completes.
    status = until_completed(json_id)
    seven_days = lake_count(home, f"timestamp >= '2026-04-16' and {april}")
    lines = status.splitlines()
    assert lines[:4] == [
        f"Export: {json_id}",
        "Status: completed",
        "Format: json",
        f"Records: {seven_days:,}",
    ]
    for label in ("File size: ", "Created: ", "Completed: "):
        assert any(line.startswith(label) for line in lines)

    # Step 4: download it; jq '.events | length' and the first event's seed fields.
    report = tmp_path / "compliance-report.json"
    kt("export", "download", "--id", json_id, "--output", str(report))
    events = json.loads(report.read_text())["events"]
    assert len(events) == seven_days
    assert {"id", "timestamp", "model", "policy", "action", "result"} <= set(events[0])

    # Step 5: CSV filtered to one policy (the deciding one, as the seed reads it).
    created = kt("export", "create", *APRIL, "--format", "csv", "--filter-policy", "pii-filter")
    csv_id = job_id(created)
    until_completed(csv_id)
    audit = tmp_path / "pii-audit.csv"
    kt("export", "download", "--id", csv_id, "--output", str(audit))
    with audit.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:8] == [
        "id",
        "timestamp",
        "model",
        "policy",
        "action",
        "result",
        "tokens",
        "latency_ms",
    ]
    assert {row[3] for row in rows[1:]} == {"pii-filter"}
    assert len(rows) - 1 == lake_count(home, f"policy = 'pii-filter' and {april}")

    # Step 6: by team, and team with policy.
    team = job_id(
        kt("export", "create", *APRIL, "--format", "json", "--filter-team", "engineering")
    )
    both = job_id(
        kt(
            *("export", "create", *APRIL, "--format", "csv", "--filter-team", "engineering"),
            *("--filter-policy", "toxicity-filter"),
        )
    )
    for export_id, where in (
        (team, "team = 'engineering'"),
        (both, "team = 'engineering' and policy = 'toxicity-filter'"),
    ):
        assert f"Records: {lake_count(home, f'{where} and {april}'):,}" in until_completed(
            export_id
        )

    # Step 7: a PDF report with a title, downloaded.
    pdf_id = job_id(
        kt("export", "create", *APRIL, "--format", "pdf", "--title", "Q2 2026 AI Compliance Report")
    )
    until_completed(pdf_id)
    pdf = tmp_path / "q2-compliance.pdf"
    kt("export", "download", "--id", pdf_id, "--output", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")

    # Step 8: delivered to S3.
    created = kt(
        *("export", "create", *APRIL, "--format", "json", "--s3-bucket", "compliance-artifacts"),
        *("--s3-prefix", "keeptrusts/2026/q2/", "--s3-region", "us-east-1"),
    )
    assert created.splitlines()[:5] == [
        "✓ Export job created",
        f"Job ID: {job_id(created)}",
        "Format: json",
        "Delivery: s3://compliance-artifacts/keeptrusts/2026/q2/",
        "Status: queued",
    ]
    s3_id = job_id(created)
    delivered = until_completed(s3_id)
    key = f"keeptrusts/2026/q2/{s3_id}/kt_2026-04-01_to_2026-04-23.json"
    assert f"Delivered: s3://compliance-artifacts/{key}" in delivered
    body = s3_client.get_object(Bucket="compliance-artifacts", Key=key)["Body"].read()
    view = json.loads(kt("export", "status", "--id", s3_id, "--json"))
    assert hashlib.sha256(body).hexdigest() == view["sha256"]

    # Step 9: a recurring export, and its list.
    scheduled = kt(
        *("export", "schedule", "--name", "weekly-compliance", "--cron", "0 2 * * MON"),
        *("--window", "7d", "--format", "json", "--s3-bucket", "compliance-artifacts"),
        *("--s3-prefix", "keeptrusts/weekly/"),
    )
    assert scheduled.splitlines()[:5] == [
        "✓ Recurring export scheduled",
        "Name: weekly-compliance",
        "Schedule: Every Monday at 02:00 UTC",
        "Window: 7 days",
        "Delivery: s3://compliance-artifacts/keeptrusts/weekly/",
    ]
    assert "weekly-compliance" in kt("export", "schedule", "list")

    # Step 10: the list of jobs, and deleting an old artifact.
    listed = kt("export", "list", "--limit", "10")
    for export_id in (json_id, csv_id, team, both, pdf_id, s3_id):
        assert export_id in listed
    assert listed.count("completed") == 6
    assert "Deleted the artifact" in kt("export", "delete", "--id", json_id)
    assert "Status: deleted" in kt("export", "status", "--id", json_id)
