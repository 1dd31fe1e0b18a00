"""Small crafted lakes whose answers are known, built through the real ingest path, and ways
to look inside a lake of either kind."""

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import Lake, LakeLayout, Location
from keeptrusts_pipelines.lake.object_store import S3Lake
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import DemoSource
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore
from keeptrusts_pipelines.sources.records import record_json


def demo_lake(
    root: Path | Lake, first: date, days: int, seed: int = 21, per_day: int = 400
) -> Lake:
    """`days` demo days from `first` in the lake at `root` (a folder, or a lake of any kind)."""
    layout = LakeLayout(root) if isinstance(root, Path) else root
    source = DemoSource(seed=seed, events_per_day=per_day)
    for offset in range(days):
        for spec in TABLES.values():
            ingest_day(source, layout, spec, first + timedelta(days=offset))
    return layout


def replace_day_with_records(layout: Lake, landing: Path, day: date, records: list[dict]) -> None:
    """Make `day`'s decision events exactly `records` (through the landing-folder source)."""
    folder = landing / "decision_events" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crafted.jsonl").write_text("".join(record_json(r) + "\n" for r in records))
    report = ingest_day(
        LandingSource(LocalLandingStore(landing)), layout, TABLES["decision_events"], day
    )
    assert report.quarantined == 0, report.reject_reasons


def read_partition(lake: Lake, location: Location) -> pa.Table:
    path, filesystem = lake.arrow_source(location)
    return pq.read_table(path, filesystem=filesystem)


def stored_names(lake: Lake, table: str, day: date) -> list[str]:
    """Every file or object stored in the day's partition folder, temporary ones included."""
    if isinstance(lake, S3Lake):
        folder = lake.key(table, f"date={day.isoformat()}", "")
        return sorted(key.removeprefix(folder) for key in lake.keys(folder))
    assert isinstance(lake, LakeLayout)
    return sorted(path.name for path in lake.partition_dir(table, day).iterdir())
