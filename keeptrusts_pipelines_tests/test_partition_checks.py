"""Each partition check fails on crafted bad data and passes on good data."""

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from keeptrusts_pipelines.lake.checks import check_partition
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC, ESCALATIONS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day

DAY = date(2026, 5, 4)


@pytest.fixture(scope="module")
def good() -> pa.Table:
    return generate_day(5, DAY, 300)["decision_events"]


def outcomes(table: pa.Table, path: Path, rejected: int = 0) -> dict[str, bool]:
    pq.write_table(table, path)
    results = check_partition(DECISION_EVENTS_SPEC, DAY, path, rejected, 0.01)
    return {outcome.name: outcome.passed for outcome in results}


def test_good_partition_passes_every_check(good: pa.Table, tmp_path: Path) -> None:
    assert all(outcomes(good, tmp_path / "p.parquet").values())


def test_schema_check_fails_on_a_missing_column(good: pa.Table, tmp_path: Path) -> None:
    result = outcomes(good.drop_columns(["latency_ms"]), tmp_path / "p.parquet")
    assert result["schema_matches"] is False


def test_unique_check_fails_on_a_repeated_event_id(good: pa.Table, tmp_path: Path) -> None:
    doubled = pa.concat_tables([good, good.slice(0, 1)])
    assert outcomes(doubled, tmp_path / "p.parquet")["event_ids_unique"] is False


def test_inside_partition_check_fails_on_a_foreign_timestamp(
    good: pa.Table, tmp_path: Path
) -> None:
    moved = good.set_column(
        good.schema.get_field_index("timestamp"),
        good.schema.field("timestamp"),
        pa.array(
            [datetime(2026, 5, 5, 0, 0, 1, tzinfo=UTC)] * good.num_rows, good["timestamp"].type
        ),
    )
    assert outcomes(moved, tmp_path / "p.parquet")["timestamps_inside_partition"] is False


def test_required_fields_check_fails_on_an_empty_gateway(good: pa.Table, tmp_path: Path) -> None:
    index = good.schema.get_field_index("gateway")
    blanked = good.set_column(
        index,
        good.schema.field(index),
        pc.if_else(pa.array([True] + [False] * (good.num_rows - 1)), "", good["gateway"]),
    )
    assert outcomes(blanked, tmp_path / "p.parquet")["required_fields_present"] is False


def test_quarantine_share_check_fails_on_many_rejects(good: pa.Table, tmp_path: Path) -> None:
    result = outcomes(good, tmp_path / "p.parquet", rejected=good.num_rows // 10)
    assert result["quarantine_share_below_threshold"] is False


def test_escalations_have_their_own_check_names(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(generate_day(5, DAY, 300)["escalations"], path)
    names = [o.name for o in check_partition(ESCALATIONS_SPEC, DAY, path, 0, 0.01)]
    assert names == [
        "schema_matches",
        "escalation_ids_unique",
        "opened_at_inside_partition",
        "required_fields_present",
        "quarantine_share_below_threshold",
    ]
