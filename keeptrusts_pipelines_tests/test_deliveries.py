"""Recurring deliveries from deliveries.yaml: validation, kt export schedule, and time zones."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.defs.schedules import delivery_schedules
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.deliveries import load_deliveries
from keeptrusts_pipelines.settings import deliveries_file

runner = CliRunner()
MADRID = ZoneInfo("Europe/Madrid")


def test_kt_export_schedule_adds_lists_and_deletes(keeptrusts_home: Path) -> None:
    added = runner.invoke(
        app,
        [
            *("export", "schedule", "--name", "weekly-compliance", "--cron", "0 2 * * MON"),
            *("--window", "7d", "--format", "json", "--s3-bucket", "compliance-artifacts"),
            *("--s3-prefix", "keeptrusts/weekly/"),
        ],
    )
    assert added.exit_code == 0, added.output
    lines = added.output.splitlines()
    assert lines[:2] == ["✓ Recurring export scheduled", "Name: weekly-compliance"]
    assert (
        "Window: 7 days" in lines
        and "Delivery: s3://compliance-artifacts/keeptrusts/weekly/" in lines
    )
    listed = runner.invoke(app, ["export", "schedule", "list", "--json"])
    assert '"name": "weekly-compliance"' in listed.output and '"next_run"' in listed.output
    [schedule] = delivery_schedules()
    assert schedule.cron_schedule == "0 2 * * MON"
    again = runner.invoke(
        app, ["export", "schedule", "--name", "weekly-compliance", "--cron", "0 3 * * *"]
    )
    assert again.exit_code == 2 and "exists" in again.output
    assert (
        runner.invoke(
            app, ["export", "schedule", "delete", "--name", "weekly-compliance"]
        ).exit_code
        == 0
    )
    assert load_deliveries(deliveries_file()) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: weekly, cron: '0 2 * *', window: 7d, formats: [json]}", "delivery weekly: cron"),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 8d, formats: [json]}",
            "delivery weekly: window '8d'",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [xls]}",
            "delivery weekly: formats",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json], timezone: Mars/Base}",
            "timezone 'Mars/Base'",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json], filters: {colour: [red]}}",
            "filter 'colour'",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json], s3: {prefix: x}}",
            "s3 needs a bucket",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json], filters: [team]}",
            "delivery weekly: filters must be a mapping",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json], filters: {team: [7]}}",
            "delivery weekly: filters.team: values must be strings",
        ),
        (
            "{name: weekly, cron: '0 2 * * 1', window: 7d, formats: [json],"
            " filters: {action: [deny]}}",
            "delivery weekly: filter action: unknown value 'deny'",
        ),
    ],
)
def test_a_bad_entry_names_itself_and_the_field(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "deliveries.yaml"
    path.write_text(f"deliveries:\n  - {entry}\n")
    with pytest.raises(ConfigurationError, match=message):
        load_deliveries(path)


def test_a_madrid_week_crossing_summer_time_is_delivered_once(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = keeptrusts_home / "deliveries.yaml"
    keeptrusts_home.mkdir(parents=True)
    path.write_text(
        "deliveries:\n"
        "  - {name: madrid-weekly, cron: '0 2 * * MON', timezone: Europe/Madrid, window: 7d,"
        " formats: [json, csv]}\n"
    )
    [schedule] = delivery_schedules()
    assert schedule.execution_timezone == "Europe/Madrid"
    windows, keys = [], set()
    # Summer time starts on Sunday 29 March 2026 at 02:00 in Madrid.
    for day in (23, 30):
        tick = datetime(2026, 3, day, 2, tzinfo=MADRID)
        requests = schedule(dg.build_schedule_context(scheduled_execution_time=tick))
        assert len(requests) == 2  # one run per format
        keys.update(r.run_key for r in requests)
        config = requests[0].run_config["ops"]["export_artifact"]["config"]
        windows.append((config["window_from"], config["window_to"]))
    assert windows == [
        ("2026-03-15T23:00:00Z", "2026-03-22T22:59:59Z"),  # Monday 16 to Sunday 22, CET
        ("2026-03-22T23:00:00Z", "2026-03-29T21:59:59Z"),  # Monday 23 to Sunday 29, into CEST
    ]
    assert len(keys) == 4
