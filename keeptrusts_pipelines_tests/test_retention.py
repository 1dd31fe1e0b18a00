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
from keeptrusts_pipelines.lake.retention import plan_retention, prune
from keeptrusts_pipelines_tests.lakes import demo_lake

FIRST = date(2026, 3, 1)


def delivered_bundle(
    evidence: Path, name: str, start: str, end: str, lake: Lake, sha: str = "a" * 64
) -> None:
    """A period's evidence folder as the bundle and delivery assets leave it: its record names
    the version of each partition of its window it read (the lake's now)."""
    folder = evidence / name
    folder.mkdir(parents=True)
    window = {"from": f"{start}T00:00:00Z", "to": f"{end}T00:00:00Z"}
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    partitions = [
        {"table": table, "day": day.isoformat(), "sha256": lake.partition_sha256(table, day)}
        for table in ("decision_events", "escalations", "config_versions")
        for day in lake.days(table)
        if first <= day < last
    ]
    record = {"sha256": sha, "request": {"window": window}, "partitions": partitions}
    (folder / "export.json").write_text(json.dumps(record))
    (folder / "delivery.json").write_text(
        json.dumps({"sha256": sha, "uri": f"s3://evidence/kt/{name}.tar.gz", "key": name})
    )


def retention_run(keeptrusts_home: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch) -> dict:
    """lake_retention_job at 01:00 on 6 March, keeping 48 hours: what it pruned and kept."""
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", lake.describe())
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
    return {
        "pruned": {entry["day"]: entry["why"] for entry in metadata["pruned"]},
        "kept": {entry["day"]: entry["why"] for entry in metadata["kept"]},
    }


def test_only_a_covered_unheld_old_day_is_pruned(
    keeptrusts_home: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_lake(lake, FIRST, 4, per_day=100)  # 1 to 4 March
    evidence = keeptrusts_home / "evidence"
    delivered_bundle(evidence, "weekly-2026-02-23", "2026-02-23", "2026-03-02", lake)  # to 1 March
    delivered_bundle(evidence, "weekly-2026-03-02", "2026-03-02", "2026-03-09", lake)
    delivered_bundle(evidence, "monthly-2026-03-01", "2026-03-01", "2026-04-01", lake)
    delivered_bundle(evidence, "quarterly-2026-01-01", "2026-01-01", "2026-03-03", lake)
    (keeptrusts_home / "legal_holds.yaml").write_text(
        "holds:\n  - {from: 2026-03-02, to: 2026-03-02, team: legal, reason: case 42}\n"
    )
    seen = retention_run(keeptrusts_home, lake, monkeypatch)
    pruned, kept = seen["pruned"], seen["kept"]
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


def test_a_day_written_again_after_its_bundles_read_it_is_kept(
    keeptrusts_home: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Late events re-materialised 1 March after every period's bundle was delivered: those
    rows are in no delivered bundle, so the day stays until its periods are delivered again."""
    demo_lake(lake, FIRST, 4, per_day=100)
    evidence = keeptrusts_home / "evidence"
    delivered_bundle(evidence, "weekly-2026-02-23", "2026-02-23", "2026-03-02", lake)
    delivered_bundle(evidence, "weekly-2026-03-02", "2026-03-02", "2026-03-09", lake)
    delivered_bundle(evidence, "monthly-2026-03-01", "2026-03-01", "2026-04-01", lake)
    delivered_bundle(evidence, "quarterly-2026-01-01", "2026-01-01", "2026-04-01", lake)
    before = lake.partition_sha256("decision_events", FIRST)
    demo_lake(lake, FIRST, 1, seed=22, per_day=100)  # the day written again, other events
    assert lake.partition_sha256("decision_events", FIRST) != before

    seen = retention_run(keeptrusts_home, lake, monkeypatch)
    assert "2026-03-01" not in seen["pruned"]
    assert seen["kept"]["2026-03-01"] == (
        "written again since s3://evidence/kt/weekly-2026-02-23.tar.gz, "
        "s3://evidence/kt/monthly-2026-03-01.tar.gz, s3://evidence/kt/quarterly-2026-01-01.tar.gz "
        "read it: deliver those periods again"
    )
    assert lake.has_partition("decision_events", FIRST)
    assert seen["pruned"].keys() == {"2026-03-02", "2026-03-03"}  # as their bundles read them


def test_a_day_written_again_while_retention_runs_is_kept(lake: Lake, tmp_path: Path) -> None:
    """Between the plan and the delete a writer replaces the day: only the version the bundles
    read may be deleted, so the new one stays and the day is reported kept."""
    demo_lake(lake, FIRST, 1, per_day=100)
    evidence = tmp_path / "evidence"
    for period in ("weekly", "monthly", "quarterly"):
        delivered_bundle(evidence, f"{period}-2026-03-01", "2026-03-01", "2026-03-02", lake)
    decisions = plan_retention(lake, evidence, datetime(2026, 3, 6, tzinfo=UTC), 48, [])
    assert [d.pruned for d in decisions] == [True]
    demo_lake(lake, FIRST, 1, seed=22, per_day=100)  # written again after the plan
    written = lake.partition_sha256("decision_events", FIRST)

    removed, carried_out = prune(lake, decisions)
    assert removed == []
    assert (
        not carried_out[0].pruned and "written again while retention ran" in carried_out[0].reason
    )
    assert lake.partition_sha256("decision_events", FIRST) == written
