"""`kt demo`: the demo lake, synthetic gateway traffic ending yesterday, built through Dagster."""

import os
from datetime import timedelta
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.lake import ingest_days, parse_day, yesterday
from keeptrusts_pipelines.cli.output import console, fail
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL

DEMO_DAYS = 120


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
        console.print(
            "Next: `make ui` (or `kt ui`), then Assets → decision_events → Partitions "
            "to see each day, its checks and its data version."
        )
