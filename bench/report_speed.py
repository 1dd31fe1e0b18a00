"""Report speed: a report's cost follows its aggregates, not the number of events; a
transcript's follows its conversations, rendered a volume per process.

Uses the quarter lakes of `bench.export_speed` (1M and 10M events, built once under
bench/.lakes/) and times `pdf` and `compliance-aesia` exports of the whole quarter, each in
its own process (so the peak RSS is its own), and `compliance-all` on the 1M lake. Then a
`transcript-pdf` of the blocked conversations of 3 weekdays of the default demo's traffic
(seed 42, 20,000 events a weekday, as `make demo` makes them).
Run: `python -m bench.report_speed` (part of `make bench`); the transcript alone, over other
days or decisions: `python -m bench.report_speed --transcript-days 3 --filter-decision block`.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.export_speed import BENCH, WINDOW, build_lake
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.lake.partition_writer import write_partition
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import DEFAULT_EVENTS_PER_DAY, DEFAULT_SEED, generate_day

RUNS = [
    (1_000_000, "pdf"),
    (1_000_000, "compliance-aesia"),
    (1_000_000, "compliance-all"),
    (10_000_000, "pdf"),
    (10_000_000, "compliance-aesia"),
]
# A Monday: the transcript's days are weekdays, the demo's busiest.
TRANSCRIPT_START = date(2026, 11, 30)
DECISIONS = ("allow", "block", "redact", "escalate")


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


def demo_days_lake(days: int) -> LakeLayout:
    """`days` days of the default demo's decision events from TRANSCRIPT_START, built once."""
    layout = LakeLayout(BENCH / ".lakes" / f"demo-{TRANSCRIPT_START}-days-{days}")
    for offset in range(days):
        day = TRANSCRIPT_START + timedelta(days=offset)
        if not layout.partition_file("decision_events", day).exists():
            table = generate_day.__wrapped__(DEFAULT_SEED, day, DEFAULT_EVENTS_PER_DAY)
            events = table["decision_events"].sort_by(DECISION_EVENTS_SPEC.sort_keys)
            write_partition(layout, DECISION_EVENTS_SPEC, day, events)
    return layout


def one_transcript(days: int, decision: str) -> None:
    """Time one transcript export; print seconds, peak RSS of this process and of the largest
    rendering process (MiB), turns, volumes and bytes."""
    layout = demo_days_lake(days)
    last = TRANSCRIPT_START + timedelta(days=days - 1)
    later = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    window = build_window(TRANSCRIPT_START.isoformat(), last.isoformat(), None, later)
    request = ExportRequest(
        window=window, format="transcript-pdf", filters=Filters(action=(decision,))
    )
    out = BENCH / ".out" / "report-transcript"
    started = time.perf_counter()
    result = run_export(request, layout, out, now=lambda: later)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(seconds, peak, worker_peak, result.records, result.parts, result.bytes)
    subprocess.run(["rm", "-rf", str(out)], check=True)


def transcript(days: int, decision: str) -> None:
    demo_days_lake(days)
    output = subprocess.run(
        [sys.executable, "-m", "bench.report_speed", "--one-transcript", str(days), decision],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak, worker_peak, records, volumes, size = output.stdout.split()
    print(
        f"transcript-pdf of {days} days, decision {decision}: {int(records):,} turns in "
        f"{int(volumes)} volumes, {int(size) / 2**20:.1f} MiB, {float(seconds):.1f} s; peak "
        f"{float(peak):,.0f} MiB exporting, {float(worker_peak):,.0f} MiB rendering a volume "
        f"({len(os.sched_getaffinity(0))} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=2, metavar=("EVENTS", "FORMAT"))
    parser.add_argument("--one-transcript", nargs=2, metavar=("DAYS", "DECISION"))
    parser.add_argument(
        "--transcript-days", type=int, help="only the transcript case, over this many days"
    )
    parser.add_argument(
        "--filter-decision", choices=DECISIONS, default="block", help="the transcript's decision"
    )
    arguments = parser.parse_args()
    if arguments.one:
        one(int(arguments.one[0]), arguments.one[1])
        return
    if arguments.one_transcript:
        one_transcript(int(arguments.one_transcript[0]), arguments.one_transcript[1])
        return
    if arguments.transcript_days:
        transcript(arguments.transcript_days, arguments.filter_decision)
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
    transcript(3, "block")


if __name__ == "__main__":
    main()
