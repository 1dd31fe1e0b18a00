"""`kt demo`: the demo lake, synthetic gateway traffic ending yesterday, built through Dagster."""

import os
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.lake import ingest_days, parse_day, yesterday
from keeptrusts_pipelines.cli.output import console, fail, say
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
from keeptrusts_pipelines.settings import exports_root, lake_root
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL

DEMO_DAYS = 120


def now() -> datetime:
    return datetime.now(UTC)


def demo(
    days: Annotated[int, typer.Option(min=1, help="How many days of demo traffic.")] = DEMO_DAYS,
    end: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD, UTC); default yesterday.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Runs at a time.")] = min(
        4, os.cpu_count() or 1
    ),
    rebuild: Annotated[bool, typer.Option(help="Re-materialize days already recorded.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Build the demo lake: DAYS days of synthetic gateway traffic ending yesterday."""
    configured = os.environ.get("KEEPTRUSTS_SOURCE_URL")
    if configured and not configured.startswith("demo://"):
        fail(
            "KEEPTRUSTS_SOURCE_URL points at a real source; kt demo only uses the demo "
            "generator. Unset it, or use `kt lake ingest --from … --to …`",
            code=2,
        )
    os.environ.setdefault("KEEPTRUSTS_SOURCE_URL", DEFAULT_SOURCE_URL)
    last = parse_day(end, "--end") if end else yesterday()
    ingest_days(
        [last - timedelta(days=offset) for offset in reversed(range(days))],
        rebuild,
        workers,
        as_json,
        trigger="kt demo",
    )
    if not as_json:
        sample_export(last - timedelta(days=days - 1), last)
        console.print(
            "Next: `make ui` (or `kt ui`), then Assets → decision_events → Partitions "
            "to see each day, its checks and its data version."
        )


def sample_export(first: date, last: date) -> None:
    """Export the last full calendar month in [first, last] as redacted CSV, and say where."""
    month_end = last if (last + timedelta(days=1)).day == 1 else last.replace(day=1) - timedelta(1)
    month_start = month_end.replace(day=1)
    if month_start < first:
        return  # the lake holds no full month yet
    window = build_window(month_start.isoformat(), month_end.isoformat(), None, now())
    result = run_export(
        ExportRequest(window=window, format="csv"), LakeLayout(lake_root()), exports_root()
    )
    say(f"✓ Sample evidence: {result.records:,} events of {month_end:%B %Y}, redacted CSV")
    say(f"  {result.artifact}")
    say("  (more: kt export create --from … --to … --format csv|json|jsonl|parquet)")
