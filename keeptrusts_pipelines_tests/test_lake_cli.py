"""`kt lake` as a user types it, with no DAGSTER_HOME in the environment."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app


def test_a_rebuild_sets_up_its_own_dagster_home(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "demo://?seed=3&events_per_day=50")
    flags = ["lake", "ingest", "--from", "2026-03-01", "--to", "2026-03-01", "--json"]
    assert "DAGSTER_HOME" not in os.environ
    rebuilt = CliRunner().invoke(app, [*flags, "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (keeptrusts_home / "dagster" / "dagster.yaml").exists()
    assert (keeptrusts_home / "lake" / "decision_events" / "date=2026-03-01").is_dir()
