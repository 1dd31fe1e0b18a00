"""A failed write never leaves a half-written partition visible, in either lake."""

from datetime import date
from pathlib import Path

import pytest

from keeptrusts_pipelines.lake import partition_writer
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.lakes import read_partition, stored_names

DAY = date(2026, 5, 4)


def test_a_write_that_dies_midway_keeps_the_previous_partition(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = generate_day(9, DAY, 300)["decision_events"]
    previous = partition_writer.write_partition(lake, DECISION_EVENTS_SPEC, DAY, rows)

    def dies_midway(table, path, **options):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(partition_writer.pq, "write_table", dies_midway)
    with pytest.raises(OSError, match="disk full"):
        partition_writer.write_partition(lake, DECISION_EVENTS_SPEC, DAY, rows.slice(0, 10))

    assert stored_names(lake, "decision_events", DAY) == ["part-0.parquet"]
    assert read_partition(lake, previous.path).num_rows == rows.num_rows
    assert lake.partition_sha256("decision_events", DAY, reread=True) == previous.sha256
