"""How fast the demo generator fills the lake: events per second, straight to Parquet and
through the full ingest (conform, quarantine, atomic write, checks). Run: `make bench`."""

import argparse
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.lake.partition_writer import write_partition
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import DemoSource, generate_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--events-per-day", type=int, default=20_000)
    arguments = parser.parse_args()
    first = date(2026, 3, 2)
    days = [first + timedelta(days=offset) for offset in range(arguments.days)]
    generate_day(1, first - timedelta(days=1), arguments.events_per_day)  # warm caches/imports

    with tempfile.TemporaryDirectory() as scratch:
        events, generating, started = 0, 0.0, time.perf_counter()
        for day in days:
            generated = time.perf_counter()
            table = generate_day.__wrapped__(1, day, arguments.events_per_day)["decision_events"]
            generating += time.perf_counter() - generated
            write_partition(LakeLayout(Path(scratch) / "raw"), DECISION_EVENTS_SPEC, day, table)
            events += table.num_rows
        generate_seconds = time.perf_counter() - started

        source = DemoSource(seed=2, events_per_day=arguments.events_per_day)
        layout = LakeLayout(Path(scratch) / "lake")
        ingested, started = 0, time.perf_counter()
        for day in days:
            ingested += ingest_day(source, layout, DECISION_EVENTS_SPEC, day).partition.rows
        ingest_seconds = time.perf_counter() - started

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(days)} days x ~{arguments.events_per_day:,} events/day (weekends lighter)")
    print(f"{'stage':<40} {'events':>10} {'seconds':>8} {'events/s':>10}")
    for stage, count, seconds in [
        ("demo generator (in memory)", events, generating),
        ("demo generator -> lake Parquet writer", events, generate_seconds),
        ("full ingest (conform, write, checks)", ingested, ingest_seconds),
    ]:
        print(f"{stage:<40} {count:>10,} {seconds:>8.2f} {count / seconds:>10,.0f}")
    print(f"peak RSS: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
