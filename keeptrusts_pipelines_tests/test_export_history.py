"""`kt export list` as the seeds' history: name, format, range, status, records, created,
expires, filtered by status and format."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def run_job(export_id: str, **fields) -> dg.ExecuteInProcessResult:
    config = {"window_from": "2026-03-01", "window_to": "2026-03-02", **fields}
    return (
        build_definitions()
        .resolve_job_def("export_job")
        .execute_in_process(
            run_config={"ops": {"export_artifact": {"config": config}}},
            instance=local_instance(),
            tags={EXPORT_ID_TAG: export_id},
            raise_on_error=False,
        )
    )


def listed(*flags: str) -> list[dict]:
    result = runner.invoke(app, ["export", "list", *flags, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_history_filters_by_status_and_format_and_shows_name_range_expiry(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a terminal as wide as the table
    assert run_job("exp_hist00000001", format="csv", name="Q1 legal review").success
    assert run_job("exp_hist00000002", format="json").success
    assert not run_job("exp_hist00000003", format="csv", window_to="2026-03-20").success
    assert {v["export_id"] for v in listed()} == {
        "exp_hist00000001",
        "exp_hist00000002",
        "exp_hist00000003",
    }
    assert [v["export_id"] for v in listed("--status", "failed")] == ["exp_hist00000003"]
    [csv_done] = listed("--status", "completed", "--format", "csv")
    assert csv_done["export_id"] == "exp_hist00000001" and csv_done["name"] == "Q1 legal review"
    assert csv_done["expires_at"] and csv_done["records"] > 0
    table = runner.invoke(app, ["export", "list", "--format", "csv"])
    assert table.exit_code == 0
    for heading in ("ID", "Name", "Format", "Range", "Status", "Records", "Created", "Expires"):
        assert heading in table.output
    assert "2026-03-01 → 2026-03-02" in table.output
    bad = runner.invoke(app, ["export", "list", "--status", "finished"])
    assert bad.exit_code == 2 and "status: finished: use one of" in bad.output
