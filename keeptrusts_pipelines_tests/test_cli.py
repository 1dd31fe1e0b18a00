"""`kt` as a user runs it: counts equal an independent count of the lake, errors are one line."""

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app

runner = CliRunner()


def independent_count(lake: Path, table: str) -> int:
    files = str(lake / table / "date=*" / "*.parquet")
    return duckdb.connect().sql(f"SELECT count(*) FROM read_parquet('{files}')").fetchall()[0][0]


def test_demo_builds_days_through_dagster_and_reports_true_counts(keeptrusts_home: Path) -> None:
    result = runner.invoke(app, ["demo", "--days", "2", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["materialized_days"] == 2 and report["failed"] == []
    lake = keeptrusts_home / "lake"
    for table in report["tables"]:
        assert table["rows"] == independent_count(lake, table["table"])
        assert table["days"] == 2
    assert (keeptrusts_home / "dagster" / "dagster.yaml").exists()

    again = json.loads(runner.invoke(app, ["demo", "--days", "2", "--json"]).output)
    assert again["materialized_days"] == 0 and again["already_present_days"] == 2

    status = runner.invoke(app, ["lake", "status"])
    assert status.exit_code == 0 and "decision_events" in status.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["lake", "ingest", "--from", "2026-05-03", "--to", "2026-05-01"],
            "--from 2026-05-03 is after --to",
        ),
        (
            ["lake", "ingest", "--from", "May 1", "--to", "2026-05-01"],
            "--from 'May 1' is not a date",
        ),
        (
            ["lake", "ingest", "--from", "2020-01-01", "--to", "2020-01-02"],
            "before the lake's first partition",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(
    keeptrusts_home: Path, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_demo_refuses_a_real_source(keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "postgresql+psycopg://gateway@db/events")
    result = runner.invoke(app, ["demo", "--days", "1"])
    assert result.exit_code == 2
    assert "kt demo only uses the demo generator" in result.output


def test_a_bad_source_url_names_the_variable_and_the_fix(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "ftp://gateway/events")
    result = runner.invoke(app, ["lake", "ingest", "--from", "2026-05-01", "--to", "2026-05-01"])
    assert result.exit_code == 1
    assert "KEEPTRUSTS_SOURCE_URL: unsupported scheme 'ftp'" in result.output
    assert "Traceback" not in result.output
    assert not (keeptrusts_home / "lake" / "decision_events").exists()
