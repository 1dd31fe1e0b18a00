"""Each partition check fails on crafted bad data and passes on good data, in either lake."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from keeptrusts_pipelines.lake.checks import check_partition
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC, ESCALATIONS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day

DAY = date(2026, 5, 4)


@pytest.fixture(scope="module")
def good() -> pa.Table:
    return generate_day(5, DAY, 300)["decision_events"]


def outcomes(table: pa.Table, lake: Lake, rejected: int = 0) -> dict[str, bool]:
    lake.write_partition("decision_events", DAY, lambda path: pq.write_table(table, path))
    results = check_partition(DECISION_EVENTS_SPEC, DAY, lake, rejected, 0.01)
    return {outcome.name: outcome.passed for outcome in results}


def test_good_partition_passes_every_check(good: pa.Table, lake: Lake) -> None:
    assert all(outcomes(good, lake).values())


def test_schema_check_fails_on_a_missing_column(good: pa.Table, lake: Lake) -> None:
    result = outcomes(good.drop_columns(["latency_ms"]), lake)
    assert result["schema_matches"] is False


def test_unique_check_fails_on_a_repeated_event_id(good: pa.Table, lake: Lake) -> None:
    doubled = pa.concat_tables([good, good.slice(0, 1)])
    assert outcomes(doubled, lake)["event_ids_unique"] is False


def test_inside_partition_check_fails_on_a_foreign_timestamp(good: pa.Table, lake: Lake) -> None:
    moved = good.set_column(
        good.schema.get_field_index("timestamp"),
        good.schema.field("timestamp"),
        pa.array(
            [datetime(2026, 5, 5, 0, 0, 1, tzinfo=UTC)] * good.num_rows, good["timestamp"].type
        ),
    )
    assert outcomes(moved, lake)["timestamps_inside_partition"] is False


def test_required_fields_check_fails_on_an_empty_gateway(good: pa.Table, lake: Lake) -> None:
    index = good.schema.get_field_index("gateway")
    blanked = good.set_column(
        index,
        good.schema.field(index),
        pc.if_else(pa.array([True] + [False] * (good.num_rows - 1)), "", good["gateway"]),
    )
    assert outcomes(blanked, lake)["required_fields_present"] is False


def test_quarantine_share_check_fails_on_many_rejects(good: pa.Table, lake: Lake) -> None:
    result = outcomes(good, lake, rejected=good.num_rows // 10)
    assert result["quarantine_share_below_threshold"] is False


def test_escalations_have_their_own_check_names(lake: Lake) -> None:
    rows = generate_day(5, DAY, 300)["escalations"]
    lake.write_partition("escalations", DAY, lambda path: pq.write_table(rows, path))
    names = [o.name for o in check_partition(ESCALATIONS_SPEC, DAY, lake, 0, 0.01)]
    assert names == [
        "schema_matches",
        "escalation_ids_unique",
        "opened_at_inside_partition",
        "required_fields_present",
        "quarantine_share_below_threshold",
    ]
