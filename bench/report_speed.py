"""Report speed: a report's cost follows its aggregates, not the number of events.

Uses the quarter lakes of `bench.export_speed` (1M and 10M events, built once under
bench/.lakes/) and times `pdf` and `compliance-aesia` exports of the whole quarter, each in
its own process (so the peak RSS is its own), and `compliance-all` on the 1M lake.
Run: `python -m bench.report_speed` (part of `make bench`).
"""

import argparse
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.export_speed import BENCH, WINDOW, build_lake
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.model.export_request import ExportRequest

RUNS = [
    (1_000_000, "pdf"),
    (1_000_000, "compliance-aesia"),
    (1_000_000, "compliance-all"),
    (10_000_000, "pdf"),
    (10_000_000, "compliance-aesia"),
]


def one(events: int, file_format: str) -> None:
    layout = build_lake(events)
    out = BENCH / ".out" / f"report-{file_format}"
    later = datetime(2026, 11, 1, tzinfo=UTC)
    started = time.perf_counter()
    result = run_export(
        ExportRequest(window=WINDOW, format=file_format), layout, out, now=lambda: later
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(seconds, peak, result.records, Path(result.artifact).stat().st_size)
    subprocess.run(["rm", "-rf", str(out)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=2, metavar=("EVENTS", "FORMAT"))
    arguments = parser.parse_args()
    if arguments.one:
        one(int(arguments.one[0]), arguments.one[1])
        return
    print(f"{'events':>10} {'format':<18} {'seconds':>8} {'peak MiB':>9} {'MiB out':>8}")
    for events, file_format in RUNS:
        build_lake(events)
        output = subprocess.run(
            [sys.executable, "-m", "bench.report_speed", "--one", str(events), file_format],
            cwd=BENCH.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds, peak, records, size = output.stdout.split()
        print(
            f"{int(records):>10,} {file_format:<18} {float(seconds):>8.2f} "
            f"{float(peak):>9,.0f} {int(size) / 2**20:>8.1f}"
        )


if __name__ == "__main__":
    main()
