"""A failed write never leaves a half-written partition visible."""

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from keeptrusts_pipelines.lake import partition_writer
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day

DAY = date(2026, 5, 4)


def test_a_write_that_dies_midway_keeps_the_previous_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = LakeLayout(tmp_path)
    rows = generate_day(9, DAY, 300)["decision_events"]
    previous = partition_writer.write_partition(layout, DECISION_EVENTS_SPEC, DAY, rows)

    def dies_midway(table, path, **options):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(partition_writer.pq, "write_table", dies_midway)
    with pytest.raises(OSError, match="disk full"):
        partition_writer.write_partition(layout, DECISION_EVENTS_SPEC, DAY, rows.slice(0, 10))

    folder = layout.partition_dir("decision_events", DAY)
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]
    assert pq.read_metadata(previous.path).num_rows == rows.num_rows
