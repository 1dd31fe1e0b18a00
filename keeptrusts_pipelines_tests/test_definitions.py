"""The code location as a whole: a snapshot of every asset spec (a change to the graph is a
visible diff), partitions that start where the lake does, and a deterministic failure that
fails once, recorded once, in the name of what launched it."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.model.export_runs import run_actor
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.webhooks import Receiver, notify_run, running_receiver

LAKE = {"domain": "lake", "personal_data": "true", "dagster/kind/parquet": ""}
LAKE_CHECKS = ["quarantine_share_below_threshold", "required_fields_present", "schema_matches"]
DAILY = "DailyPartitionsDefinition:0 0 * * *"


def _bundle(period: str, partitions: str) -> dict:
    return {
        "deps": ["config_versions", "decision_events", "escalations"],
        "partitions": partitions,
        "owners": ["team:compliance"],
        "tags": {
            "domain": "evidence",
            "period": period,
            "personal_data": "redacted",
            "dagster/kind/bagit": "",
        },
        "kinds": ["bagit"],
        "checks": ["bundle_verifies"],
    }


def _delivery(period: str, partitions: str) -> dict:
    return {
        "deps": [f"{period}_evidence_bundle"],
        "partitions": partitions,
        "owners": ["team:compliance"],
        "tags": {"domain": "evidence", "period": period, "dagster/kind/s3": ""},
        "kinds": ["s3"],
        "checks": [],
    }


PERIODS = {
    "weekly": "WeeklyPartitionsDefinition:0 0 * * 1",
    "monthly": "MonthlyPartitionsDefinition:0 0 1 * *",
    "quarterly": "TimeWindowPartitionsDefinition:0 0 1 */3 *",
}
SNAPSHOT = {
    "decision_events": {
        "deps": [],
        "partitions": DAILY,
        "owners": ["team:data-platform"],
        "tags": LAKE,
        "kinds": ["parquet"],
        "checks": sorted([*LAKE_CHECKS, "event_ids_unique", "timestamps_inside_partition"]),
    },
    "escalations": {
        "deps": [],
        "partitions": DAILY,
        "owners": ["team:data-platform"],
        "tags": LAKE,
        "kinds": ["parquet"],
        "checks": sorted([*LAKE_CHECKS, "escalation_ids_unique", "opened_at_inside_partition"]),
    },
    "config_versions": {
        "deps": [],
        "partitions": DAILY,
        "owners": ["team:data-platform"],
        "tags": {**LAKE, "personal_data": "false"},
        "kinds": ["parquet"],
        "checks": sorted([*LAKE_CHECKS, "config_versions_unique", "created_at_inside_partition"]),
    },
    **{f"{period}_evidence_bundle": _bundle(period, p) for period, p in PERIODS.items()},
}
DELIVERIES = {f"{period}_evidence_delivery": _delivery(period, p) for period, p in PERIODS.items()}


def snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    specs = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        specs[key.to_user_string()] = {
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "partitions": f"{type(node.partitions_def).__name__}:"
            f"{node.partitions_def.cron_schedule}",
            "owners": list(node.owners),
            "tags": dict(node.tags),
            "kinds": sorted(node.kinds),
            "checks": sorted(check.name for check in node.check_keys),
        }
    return specs


def test_every_asset_spec_is_as_snapshotted_without_a_destination(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPTRUSTS_EVIDENCE_S3_URL", raising=False)
    assert snapshot(build_definitions()) == SNAPSHOT


def test_deliveries_exist_in_the_period_jobs_only_with_a_destination(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_EVIDENCE_S3_URL", "s3://evidence/keeptrusts")
    definitions = build_definitions()
    assert snapshot(definitions) == {**SNAPSHOT, **DELIVERIES}
    for period in PERIODS:
        selected = definitions.resolve_job_def(f"{period}_evidence_job").asset_layer
        keys = {key.to_user_string() for key in selected.selected_asset_keys}
        assert keys == {f"{period}_evidence_bundle", f"{period}_evidence_delivery"}


def test_a_bundle_depends_on_all_config_history_up_to_its_last_day(keeptrusts_home: Path) -> None:
    graph = build_definitions().resolve_asset_graph()
    weekly = dg.AssetKey("weekly_evidence_bundle")
    upstream = graph.get_partition_mapping(weekly, dg.AssetKey("config_versions"))
    daily = graph.get(dg.AssetKey("config_versions")).partitions_def
    result = upstream.get_upstream_mapped_partitions_result_for_partitions(
        graph.get(weekly).partitions_def.subset_with_partition_keys(["2026-03-02"]),
        graph.get(weekly).partitions_def,
        daily,
    )
    keys = sorted(result.partitions_subset.get_partition_keys())
    # As reports/scope.py reads: every config_versions day from the lake's first to the 8th.
    assert keys[0] == daily.get_first_partition_key() and keys[-1] == "2026-03-08"
    assert len(keys) == (date(2026, 3, 8) - date.fromisoformat(keys[0])).days + 1
    events = graph.get_partition_mapping(weekly, dg.AssetKey("decision_events"))
    result = events.get_upstream_mapped_partitions_result_for_partitions(
        graph.get(weekly).partitions_def.subset_with_partition_keys(["2026-03-02"]),
        graph.get(weekly).partitions_def,
        daily,
    )
    assert sorted(result.partitions_subset.get_partition_keys()) == [
        f"2026-03-{day:02d}" for day in range(2, 9)
    ]


FIRST_KEYS = """
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS, daily_partitions
print(*(p.start.date() for p in (daily_partitions, *EVIDENCE_PARTITIONS.values())))
"""


def first_keys(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_KEYS], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_partitions_start_at_the_lake_start_kt_demo_recorded(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from keeptrusts_pipelines.cli.demo import record_lake_start

    monkeypatch.delenv("KEEPTRUSTS_LAKE_START_DATE", raising=False)
    record_lake_start(date(2026, 7, 2))
    assert json.loads((keeptrusts_home / "settings.json").read_text()) == {
        "lake_start_date": "2026-07-02"
    }
    # Days, then the first whole week, month and quarter.
    env = {**os.environ}
    assert first_keys(env) == ["2026-07-02", "2026-07-06", "2026-08-01", "2026-10-01"]
    record_lake_start(date(2026, 8, 1))  # a shorter demo later keeps the earlier first day
    assert first_keys(env)[0] == "2026-07-02"
    env["KEEPTRUSTS_LAKE_START_DATE"] = "2026-01-01"  # the deployment's setting wins
    assert first_keys(env) == ["2026-01-01", "2026-01-05", "2026-01-01", "2026-01-01"]


def test_a_bundle_that_cannot_succeed_fails_once_recorded_once_for_its_backfill(
    keeptrusts_home: Path,
) -> None:
    # The lake holds 2 to 5 March: the week of 2 March lacks two days, whatever the retries.
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 2), 4, per_day=50)
    definitions = build_definitions()
    instance = local_instance()
    result = definitions.resolve_job_def("weekly_evidence_job").execute_in_process(
        partition_key="2026-03-02",
        instance=instance,
        raise_on_error=False,
        tags={"dagster/backfill": "kzqwxyab"},
    )
    assert not result.success
    steps = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert steps == []  # a deterministic failure is not retried by the step's policy
    with running_receiver() as url:
        notify_run(result, url)
        notify_run(result, url)  # a second tick of the sensor posts nothing new
        posted = [json.loads(body) for _, body in Receiver.bodies]
    entries = CustodyLedger(custody_url()).entries("weekly-2026-03-02")
    assert [(e.action, e.actor) for e in entries] == [
        ("created", "dagster:backfill:kzqwxyab"),
        ("failed", "dagster:backfill:kzqwxyab"),
    ]
    assert [p["event"] for p in posted] == ["export.failed"]
    assert len(instance.get_run_records(dg.RunsFilter(job_name="weekly_evidence_job"))) == 1


def test_run_actors_name_the_backfill_schedule_or_sensor() -> None:
    assert run_actor({"dagster/schedule_name": "weekly_evidence_schedule"}) == (
        "dagster:schedule:weekly_evidence_schedule"
    )
    assert run_actor({"dagster/sensor_name": "evidence_catch_up_sensor"}) == (
        "dagster:sensor:evidence_catch_up_sensor"
    )
    assert run_actor({"keeptrusts/actor": "token:alice", "dagster/backfill": "b"}) == "token:alice"


@pytest.mark.parametrize(
    ("resource", "field", "value"),
    [
        ("custody", "url", "sqlite:////tmp/another-ledger.db"),
        ("exports", "root", "/tmp/elsewhere"),
        ("lake", "root", "/tmp/another-lake"),
        ("delivery", "bucket", "attacker-bucket"),
    ],
)
def test_run_config_cannot_point_a_run_at_another_ledger_lake_or_bucket(
    keeptrusts_home: Path, resource: str, field: str, value: str
) -> None:
    job = build_definitions().resolve_job_def("export_job")
    run_config = {
        "ops": {
            "export_artifact": {"config": {"window_from": "2026-05-01", "window_to": "2026-05-01"}}
        },
        "resources": {resource: {"config": {field: value}}},
    }

    with pytest.raises(dg.DagsterInvalidConfigError, match=f'unexpected config entry "{field}"'):
        dg.validate_run_config(job, run_config)
    del run_config["resources"]
    assert dg.validate_run_config(job, run_config)
