"""Retention prunes only old days that delivered evidence covers and no legal hold keeps, in
either kind of lake."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines_tests.lakes import demo_lake

FIRST = date(2026, 3, 1)


def delivered_bundle(evidence: Path, name: str, start: str, end: str, sha: str = "a" * 64) -> None:
    """A period's evidence folder as the bundle and delivery assets leave it."""
    folder = evidence / name
    folder.mkdir(parents=True)
    window = {"from": f"{start}T00:00:00Z", "to": f"{end}T00:00:00Z"}
    (folder / "export.json").write_text(json.dumps({"sha256": sha, "request": {"window": window}}))
    (folder / "delivery.json").write_text(
        json.dumps({"sha256": sha, "uri": f"s3://evidence/kt/{name}.tar.gz", "key": name})
    )


def test_only_a_covered_unheld_old_day_is_pruned(
    keeptrusts_home: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", lake.describe())
    demo_lake(lake, FIRST, 4, per_day=100)  # 1 to 4 March
    evidence = keeptrusts_home / "evidence"
    delivered_bundle(evidence, "weekly-2026-02-23", "2026-02-23", "2026-03-02")  # to 1 March
    delivered_bundle(evidence, "weekly-2026-03-02", "2026-03-02", "2026-03-09")
    delivered_bundle(evidence, "monthly-2026-03-01", "2026-03-01", "2026-04-01")
    delivered_bundle(evidence, "quarterly-2026-01-01", "2026-01-01", "2026-03-03")
    (keeptrusts_home / "legal_holds.yaml").write_text(
        "holds:\n  - {from: 2026-03-02, to: 2026-03-02, team: legal, reason: case 42}\n"
    )
    monkeypatch.setenv("KEEPTRUSTS_EVENT_RETENTION_HOURS", "48")
    job = build_definitions().resolve_job_def("lake_retention_job")
    with (
        dg.instance_for_test() as instance,
        time_machine.travel(datetime(2026, 3, 6, 1, tzinfo=UTC)),
    ):
        result = job.execute_in_process(instance=instance)
    assert result.success
    outputs = [e for e in result.all_events if e.is_successful_output]
    metadata = {k: v.value for k, v in outputs[0].event_specific_data.metadata.items()}
    pruned = {entry["day"]: entry["why"] for entry in metadata["pruned"]}
    kept = {entry["day"]: entry["why"] for entry in metadata["kept"]}
    assert pruned == {
        "2026-03-01": "covered by s3://evidence/kt/weekly-2026-02-23.tar.gz, "
        "s3://evidence/kt/monthly-2026-03-01.tar.gz, s3://evidence/kt/quarterly-2026-01-01.tar.gz"
    }
    assert kept["2026-03-02"] == "legal hold (team legal): case 42"
    # Its week and month are delivered, its quarter's bundle not yet: the day is still owed.
    assert kept["2026-03-03"] == "no delivered quarterly evidence bundle covers it yet"
    assert "2026-03-04" not in kept and "2026-03-04" not in pruned  # within 48 hours
    first = date(2026, 3, 1)
    assert not lake.has_partition("decision_events", first)
    assert not lake.has_partition("escalations", first)
    assert lake.has_partition("config_versions", first)  # config history is kept
    assert lake.days("decision_events") == [date(2026, 3, d) for d in (2, 3, 4)]
