"""`kt redaction reveal` reads the lake KEEPTRUSTS_LAKE_URL names: an alias in an export made
from an S3 lake is found by redacting that lake's window again."""

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines_tests.lakes import demo_lake

KEY = "reviewers-key-5b2e9f0c41d7a38e6c"
USER = "daniel.rossi@company.example"  # one of the demo's users
runner = CliRunner()


def test_an_alias_of_an_export_from_an_s3_lake_is_revealed_from_that_lake(
    keeptrusts_home: Path, s3_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_lake(s3_lake, date(2026, 3, 1), 2)
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", s3_lake.describe())
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    created = runner.invoke(
        app,
        ["export", "create", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "jsonl",
         "--filter-user", USER, "--no-deliver", "--wait", "--json"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    view = json.loads(created.output)
    assert view["status"] == "completed" and view["records"] > 0
    first = json.loads(Path(view["artifact"]).read_text().splitlines()[0])
    alias = first["user"]
    assert alias != USER

    shown = runner.invoke(
        app, ["redaction", "reveal", "--alias", alias, "--id", view["export_id"], "--json"]
    )
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert (found["value"], found["table"]) == (USER, "decision_events")
    assert not (keeptrusts_home / "lake").exists()  # nothing was read from a local folder
