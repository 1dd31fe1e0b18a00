"""Period evidence through Dagster: bundles per week/month/quarter, their schedules, the
catch-up after an outage, delivery to S3 and a superseding bundle after late data."""

import json
import tarfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles, evidence_deliveries
from keeptrusts_pipelines.defs.assets.lake import decision_events
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.schedules import evidence_schedules
from keeptrusts_pipelines.defs.sensors import evidence_catch_up_sensor
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.lakes import demo_lake, replace_day_with_records

WEEK = "2026-03-02"  # Monday 2 March to Sunday 8 March 2026


def test_each_schedule_asks_for_the_period_just_closed() -> None:
    by_name = {schedule.name: schedule for schedule in evidence_schedules}
    ticks = {
        "weekly_evidence_schedule": (datetime(2026, 3, 9, 2, tzinfo=UTC), "2026-03-02"),
        "monthly_evidence_schedule": (datetime(2026, 4, 1, 2, tzinfo=UTC), "2026-03-01"),
        "quarterly_evidence_schedule": (datetime(2026, 10, 1, 2, tzinfo=UTC), "2026-07-01"),
    }
    for name, (tick, key) in ticks.items():
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        request = by_name[name](context)
        assert request.partition_key == key, name
    crons = {s.name: s.cron_schedule for s in evidence_schedules}
    assert crons == {
        "weekly_evidence_schedule": "0 2 * * 1",
        "monthly_evidence_schedule": "0 2 1 * *",
        "quarterly_evidence_schedule": "0 2 1 1,4,7,10 *",
    }


def record_lake_days(instance: dg.DagsterInstance, first: date, days: int) -> None:
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=decision_events.key, partition=day)
        )


def test_after_a_three_week_outage_each_missed_week_is_produced_once(
    keeptrusts_home: Path,
) -> None:
    instance = local_instance()
    record_lake_days(instance, date(2026, 2, 1), 36)  # February, and five weeks from the 2nd
    for week in ("2026-02-02", "2026-02-09"):  # evidence made before the daemon went down
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=evidence_bundles["weekly"].key, partition=week)
        )
    with time_machine.travel(datetime(2026, 3, 10, 3, tzinfo=UTC), tick=False):
        context = dg.build_sensor_context(instance=instance)
        requests = evidence_catch_up_sensor(context).run_requests
        weekly = [r.partition_key for r in requests if r.job_name == "weekly_evidence_job"]
        assert weekly == ["2026-02-16", "2026-02-23", "2026-03-02"]
        assert [r.partition_key for r in requests if r.job_name == "monthly_evidence_job"] == [
            "2026-02-01"
        ]
        for week in weekly:  # their runs happen
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=evidence_bundles["weekly"].key, partition=week)
            )
        again = evidence_catch_up_sensor(dg.build_sensor_context(instance=instance))
        assert [r.job_name for r in again.run_requests] == ["monthly_evidence_job"]


@pytest.fixture
def week_lake(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 2), 7, per_day=150)
    return keeptrusts_home


def materialize(partition: str, *assets, resources: dict | None = None):
    definitions = build_definitions()
    with dg.instance_for_test() as instance:
        return dg.materialize(
            list(assets),
            partition_key=partition,
            instance=instance,
            resources={**definitions.resources, **(resources or {})},
        )


def test_a_weekly_bundle_covers_its_seven_days(week_lake: Path) -> None:
    result = materialize(WEEK, evidence_bundles["weekly"])
    metadata = result.asset_materializations_for_node("weekly_evidence_bundle")[0].metadata
    archive = Path(metadata["path"].value)
    assert archive == (
        week_lake
        / "evidence"
        / f"weekly-{WEEK}"
        / "artifact"
        / "kt_2026-03-02_to_2026-03-08_compliance-all.tar.gz"
    )
    with tarfile.open(archive) as bundle:
        manifest = json.load(bundle.extractfile(f"{archive.name[:-7]}/manifest.json"))
    days = sorted(
        {p["day"] for p in manifest["lineage"]["partitions"] if p["table"] == "decision_events"}
    )
    assert days == [f"2026-03-{d:02d}" for d in range(2, 9)]
    assert manifest["window"] == {"from": "2026-03-02T00:00:00Z", "to": "2026-03-09T00:00:00Z"}


def test_delivery_is_once_and_late_data_supersedes_with_both_kept(
    week_lake: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keeptrusts_pipelines.defs.resources import DeliveryResource

    s3_client.create_bucket(Bucket="evidence")
    bucket = DeliveryResource(url="s3://evidence/kt", endpoint_url=s3_endpoint)
    weekly = [evidence_bundles["weekly"], evidence_deliveries["weekly"]]
    first = materialize(WEEK, *weekly, resources={"delivery": bucket})
    delivered = first.asset_materializations_for_node("weekly_evidence_delivery")[0].metadata
    assert delivered["created"].value is True
    again = materialize(WEEK, *weekly, resources={"delivery": bucket})
    assert (
        again.asset_materializations_for_node("weekly_evidence_delivery")[0]
        .metadata["created"]
        .value
        is False
    )  # the same bundle: no second object
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket="evidence")["Contents"])
    # The bundle, its provenance statement, and a checkpoint of the custody ledger's head.
    assert len(keys) == 3 and any("/custody-checkpoint-" in key for key in keys)

    # Late events arrive for Wednesday; the week's next bundle supersedes the delivered one.
    rows = generate_day(21, date(2026, 3, 4), 150)["decision_events"].to_pylist()
    rows.append(dict(rows[0], event_id="evt_late_arrival", request_id="req_late_arrival"))
    replace_day_with_records(
        LakeLayout(week_lake / "lake"), week_lake / "landing", date(2026, 3, 4), rows
    )
    late = materialize(WEEK, *weekly, resources={"delivery": bucket})
    bundle = late.asset_materializations_for_node("weekly_evidence_bundle")[0].metadata
    supersedes = bundle["supersedes"].value
    assert supersedes["sha256"] == delivered["sha256"].value
    assert supersedes["key"] == delivered["uri"].value.removeprefix("s3://evidence/")
    statement = json.loads(Path(bundle["provenance"].value).read_text())
    assert statement["predicate"]["supersedes"] == supersedes
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket="evidence")["Contents"])
    assert len(keys) == 6 and supersedes["key"] in keys  # both bundles stay
