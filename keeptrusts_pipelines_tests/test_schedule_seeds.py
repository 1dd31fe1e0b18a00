"""`kt export schedule` as the seeds use it: cron in words, calendar intervals, and a bad entry
that never breaks the code location."""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.schedules import delivery_schedules

runner = CliRunner()
UTC = ZoneInfo("UTC")


def kt(*arguments: str):
    result = runner.invoke(app, list(arguments))
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result


def test_the_seed_schedule_prints_what_the_seed_shows(keeptrusts_home: Path) -> None:
    added = kt(
        *("export", "schedule", "--name", "weekly-compliance", "--cron", "0 2 * * MON"),
        *("--window", "7d", "--format", "json", "--s3-bucket", "compliance-artifacts"),
        *("--s3-prefix", "keeptrusts/weekly/"),
    )
    assert added.exit_code == 0, added.output
    assert added.output.splitlines()[:5] == [
        "✓ Recurring export scheduled",
        "Name: weekly-compliance",
        "Schedule: Every Monday at 02:00 UTC",
        "Window: 7 days",
        "Delivery: s3://compliance-artifacts/keeptrusts/weekly/",
    ]
    listed = kt("export", "schedule", "list")
    assert listed.exit_code == 0, listed.output
    assert "Every Monday" in listed.output
    as_json = kt("export", "schedule", "list", "--json")
    [entry] = json.loads(as_json.output)
    assert entry["name"] == "weekly-compliance"
    assert entry["schedule"] == "Every Monday at 02:00 UTC"


@pytest.mark.parametrize("cron", ["61 2 * * *", "0 2 * *", "0 25 * * *", "0 2 30 2 *", "x"])
def test_a_bad_cron_is_refused_at_entry(keeptrusts_home: Path, cron: str) -> None:
    refused = kt("export", "schedule", "--name", "bad", "--cron", cron, "--format", "json")
    assert refused.exit_code == 2 and "--cron" in refused.output
    assert not (keeptrusts_home / "deliveries.yaml").exists()


def test_a_bad_entry_by_hand_is_set_aside_and_the_rest_load(keeptrusts_home: Path) -> None:
    keeptrusts_home.mkdir(parents=True)
    path = keeptrusts_home / "deliveries.yaml"
    path.write_text(
        "deliveries:\n"
        "  - {name: broken, cron: '61 2 * * *', window: 7d, formats: [json]}\n"
        "  - {name: good, cron: '0 2 * * MON', window: 7d, formats: [csv]}\n"
    )
    names = sorted(schedule.name for schedule in delivery_schedules())
    assert names == ["delivery_good", "delivery_invalid_1"]
    definitions = build_definitions()
    set_aside = definitions.resolve_schedule_def("delivery_invalid_1")
    assert "broken" in set_aside.description and "cron" in set_aside.description
    assert set_aside.default_status == dg.DefaultScheduleStatus.STOPPED
    listed = kt("export", "schedule", "list")
    assert listed.exit_code == 1
    assert "good" in listed.output and "broken is set aside" in listed.output
    # Editing the file keeps the entry set aside: nothing written by hand is lost.
    assert kt("export", "schedule", "delete", "--name", "good").exit_code == 0
    kept = yaml.safe_load(path.read_text())["deliveries"]
    assert [entry["name"] for entry in kept] == ["broken"]


@pytest.mark.parametrize(
    ("interval", "tick", "window"),
    [
        ("monthly", datetime(2026, 1, 1, 2, tzinfo=UTC), ("2025-12-01", "2025-12-31")),
        ("quarterly", datetime(2026, 1, 1, 2, tzinfo=UTC), ("2025-10-01", "2025-12-31")),
        ("quarterly", datetime(2026, 7, 1, 2, tzinfo=UTC), ("2026-04-01", "2026-06-30")),
        ("weekly", datetime(2026, 3, 30, 2, tzinfo=UTC), ("2026-03-23", "2026-03-29")),
    ],
)
def test_a_calendar_interval_exports_the_previous_period(
    keeptrusts_home: Path, interval: str, tick: datetime, window: tuple[str, str]
) -> None:
    added = kt(
        *("export", "schedule", "--name", f"{interval}-evidence", "--interval", interval),
        *("--format", "csv"),
    )
    assert added.exit_code == 0, added.output
    [schedule] = delivery_schedules()
    assert tick.strftime("%d") == "01" or interval == "weekly"
    [run] = schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    config = run.run_config["ops"]["export_artifact"]["config"]
    assert (config["window_from"][:10], config["window_to"]) == window
    assert run.tags["keeptrusts/export_id"].startswith("exp_")


def test_interval_and_window_are_not_both_given(keeptrusts_home: Path) -> None:
    both = kt("export", "schedule", "--name", "x", "--interval", "monthly", "--window", "30d")
    assert both.exit_code == 2 and "--window" in both.output
    unknown = kt("export", "schedule", "--name", "x", "--interval", "fortnightly")
    assert unknown.exit_code == 2 and "--interval" in unknown.output
