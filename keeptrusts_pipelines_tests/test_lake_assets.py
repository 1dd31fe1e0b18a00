"""The lake assets, run through Dagster: metadata, data versions, checks, late events, on
either kind of lake."""

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from keeptrusts_pipelines.defs.assets.lake import decision_events, lake_assets
from keeptrusts_pipelines.defs.resources import EventSourceResource, LakeResource
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines.sources.records import record_json
from keeptrusts_pipelines_tests.lakes import read_partition, stored_names

DAY = "2026-05-04"


def resources(url: str, lake: Lake, max_share: float = 0.01) -> dict:
    return {
        "source": EventSourceResource(url=url),
        "lake": LakeResource(root=lake.describe(), max_reject_share=max_share),
    }


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dg.AssetMaterialization:
    return next(m for m in result.asset_materializations_for_node(asset) if m.partition == DAY)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_key.to_user_string()}.{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def test_a_day_materializes_with_metadata_data_version_and_passing_checks(lake: Lake) -> None:
    result = dg.materialize(
        lake_assets,
        partition_key=DAY,
        resources=resources("demo://?seed=3&events_per_day=500", lake),
    )
    assert result.success
    event = materialization(result, "decision_events")
    day = date.fromisoformat(DAY)
    location = event.metadata["path"].value
    assert location == str(lake.partition("decision_events", day))
    assert location.endswith(f"/decision_events/date={DAY}/part-0.parquet")
    assert event.metadata["dagster/row_count"].value == read_partition(lake, location).num_rows
    assert event.metadata["bytes"].value == lake.partition_bytes("decision_events", day)
    assert event.tags["dagster/data_version"] == event.metadata["sha256"].value
    assert event.metadata["sha256"].value == lake.partition_sha256(
        "decision_events", day, reread=True
    )
    checks = check_results(result)
    assert len(checks) == 15 and all(checks.values())


def write_landing(landing: Path, name: str, records: list[dict]) -> None:
    folder = landing / "decision_events" / f"date={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(record_json(r) + "\n" for r in records))


def test_late_events_replace_the_day_and_change_its_data_version(
    tmp_path: Path, lake: Lake
) -> None:
    landing = tmp_path / "landing"
    records = generate_day(3, date.fromisoformat(DAY), 500)["decision_events"].to_pylist()
    write_landing(landing, "early.jsonl", records[:200])
    first = dg.materialize(
        [decision_events], partition_key=DAY, resources=resources(landing.as_uri(), lake)
    )
    write_landing(landing, "late.jsonl", records[200:])
    second = dg.materialize(
        [decision_events], partition_key=DAY, resources=resources(landing.as_uri(), lake)
    )

    before, after = (
        materialization(first, "decision_events"),
        materialization(second, "decision_events"),
    )
    assert before.metadata["dagster/row_count"].value == 200
    assert after.metadata["dagster/row_count"].value == len(records)
    assert before.tags["dagster/data_version"] != after.tags["dagster/data_version"]
    day = date.fromisoformat(DAY)
    assert (
        lake.partition_sha256("decision_events", day, reread=True)
        == (after.tags["dagster/data_version"])
    )
    # No temporary left behind.
    assert stored_names(lake, "decision_events", day) == ["part-0.parquet"]


def test_quarantine_check_fails_through_dagster_and_counts_rejects(
    tmp_path: Path, lake: Lake
) -> None:
    landing = tmp_path / "landing"
    records = generate_day(3, date.fromisoformat(DAY), 500)["decision_events"].to_pylist()[:30]
    write_landing(
        landing, "day.jsonl", [*records, dict(records[0], event_id="evt_x", action="maybe")]
    )
    (landing / "decision_events" / f"date={DAY}" / "broken.jsonl").write_text("{oops\n")

    result = dg.materialize(
        [decision_events],
        partition_key=DAY,
        resources=resources(landing.as_uri(), lake),
        raise_on_error=False,
    )
    event = materialization(result, "decision_events")
    assert event.metadata["quarantined"].value == 2
    assert event.metadata["reject_reasons"].value == {
        "unknown action": 1,
        "invalid JSON: Expecting property name enclosed in double quotes at column 2": 1,
    }
    checks = check_results(result)
    assert checks["decision_events.quarantine_share_below_threshold"] is False
    assert checks["decision_events.event_ids_unique"] is True
    assert lake.quarantined_records("decision_events") == 2


def test_definitions_hold_every_asset_check_job_and_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keeptrusts_pipelines.definitions import build_definitions

    monkeypatch.setenv("KEEPTRUSTS_EVIDENCE_S3_URL", "s3://evidence/keeptrusts")
    definitions = build_definitions()
    graph = definitions.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == {
        "decision_events",
        "escalations",
        "config_versions",
        *(
            f"{p}_evidence_{k}"
            for p in ("weekly", "monthly", "quarterly")
            for k in ("bundle", "delivery")
        ),
    }
    check_names = {key.name for key in graph.asset_check_keys}
    assert {"event_ids_unique", "timestamps_inside_partition", "schema_matches"} <= check_names
    assert definitions.resolve_job_def("lake_job").partitions_def is not None
    assert definitions.resolve_schedule_def("lake_daily_schedule") is not None
    assert definitions.resolve_job_def("export_job") is not None
    assert definitions.resolve_job_def("export_expiry_job") is not None
    assert definitions.resolve_schedule_def("export_expiry_schedule") is not None
    for sensor in (
        "export_inbox_sensor",
        "export_completed_sensor",
        "export_failed_sensor",
        "evidence_catch_up_sensor",
    ):
        assert definitions.resolve_sensor_def(sensor) is not None
    for period in ("weekly", "monthly", "quarterly"):
        assert definitions.resolve_job_def(f"{period}_evidence_job") is not None
        assert definitions.resolve_schedule_def(f"{period}_evidence_schedule") is not None
    assert definitions.resolve_job_def("lake_retention_job") is not None
    assert definitions.resolve_schedule_def("lake_retention_schedule") is not None


def tick_requests(tick: datetime, present: list[str]) -> list[str]:
    from keeptrusts_pipelines.definitions import build_definitions

    with dg.instance_for_test() as instance:
        definitions = build_definitions()
        schedule = definitions.resolve_schedule_def("lake_daily_schedule")
        for day in present:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key="decision_events", partition=day)
            )
        # Closed before the instance: the tick enters an instance of its own.
        with dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            repository_def=definitions.get_repository_def(),
        ) as context:
            return [r.partition_key for r in schedule.evaluate_tick(context).run_requests]


def test_daily_schedule_requests_the_day_just_closed() -> None:
    week = [f"2026-04-{day:02d}" for day in range(23, 31)]
    assert tick_requests(datetime(2026, 5, 2, 0, 30, tzinfo=UTC), [*week, "2026-04-30"]) == [
        "2026-05-01"
    ]
    assert tick_requests(
        datetime(2026, 1, 1, 0, 30, tzinfo=UTC), [f"2025-12-{d}" for d in range(20, 31)]
    ) == ["2025-12-31"]


def test_daily_schedule_catches_up_days_missed_during_downtime() -> None:
    present = ["2026-04-24", "2026-04-25", "2026-04-26"]  # the daemon was down after the 26th
    assert tick_requests(datetime(2026, 5, 2, 0, 30, tzinfo=UTC), present) == [
        "2026-04-27",
        "2026-04-28",
        "2026-04-29",
        "2026-04-30",
        "2026-05-01",
    ]
