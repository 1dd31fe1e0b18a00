"""Small crafted lakes whose answers are known, built through the real ingest path."""

from datetime import date, timedelta
from pathlib import Path

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import DemoSource
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore
from keeptrusts_pipelines.sources.records import record_json


def demo_lake(root: Path, first: date, days: int, seed: int = 21, per_day: int = 400) -> LakeLayout:
    layout = LakeLayout(root)
    source = DemoSource(seed=seed, events_per_day=per_day)
    for offset in range(days):
        for spec in TABLES.values():
            ingest_day(source, layout, spec, first + timedelta(days=offset))
    return layout


def replace_day_with_records(
    layout: LakeLayout, landing: Path, day: date, records: list[dict]
) -> None:
    """Make `day`'s decision events exactly `records` (through the landing-folder source)."""
    folder = landing / "decision_events" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crafted.jsonl").write_text("".join(record_json(r) + "\n" for r in records))
    report = ingest_day(
        LandingSource(LocalLandingStore(landing)), layout, TABLES["decision_events"], day
    )
    assert report.quarantined == 0, report.reject_reasons
