"""`kt lake`: fill the lake through Dagster (one recorded run per day) and see what it holds."""

import os
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, fail
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.lake.summary import TableSummary, summarize
from keeptrusts_pipelines.settings import lake_start_date, lake_url

app = typer.Typer(help="Fill and inspect the daily-partitioned lake.", no_args_is_help=True)


def render_summary(summaries: list[TableSummary]) -> Table:
    table = Table(
        title=f"Lake at {open_lake(lake_url()).describe()}", show_edge=False, pad_edge=False
    )
    table.add_column("Table", no_wrap=True)
    for column in ("Rows", "Days", "From", "To", "MiB", "Rejected"):
        table.add_column(
            column, justify="left" if column in ("From", "To") else "right", no_wrap=True
        )
    for summary in summaries:
        table.add_row(
            summary.table,
            f"{summary.rows:,}",
            f"{summary.days:,}",
            str(summary.first_day or "-"),
            str(summary.last_day or "-"),
            f"{summary.bytes / 1_048_576:,.1f}",
            f"{summary.quarantined:,}",
        )
    return table


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Rows, days, span, size and quarantined records of each lake table."""
    lake = open_lake(lake_url())
    summaries = summarize(lake)
    if as_json:
        emit_json({"lake": lake.describe(), "tables": [s.__dict__ for s in summaries]})
    else:
        console.print(render_summary(summaries))


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def ingest_days(days: list[date], rebuild: bool, workers: int, as_json: bool, trigger: str) -> None:
    """Materialize `days` (skipping recorded ones unless `rebuild`), then show the lake."""
    # Dagster is imported here, not at the top: the other kt commands start without it.
    from keeptrusts_pipelines.defs.instance import local_instance, prepare_dagster_home
    from keeptrusts_pipelines.defs.lake_runs import materialize_days, missing_days

    prepare_dagster_home()  # every path below, --rebuild too, runs on this project's instance
    from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL, open_source

    first_allowed = lake_start_date()  # read now: this home's, not the process's first
    if days and days[0] < first_allowed:
        fail(
            f"--from {days[0]} is before the lake's first partition {first_allowed}; "
            "set KEEPTRUSTS_LAKE_START_DATE (or lake_start_date in KEEPTRUSTS_HOME/settings.json) "
            "earlier, or ask for later days",
            code=2,
        )
    if days and days[-1] > yesterday():
        fail(f"--to {days[-1]} is not a closed UTC day yet; the latest is {yesterday()}", code=2)
    try:
        open_source(os.environ.get("KEEPTRUSTS_SOURCE_URL") or DEFAULT_SOURCE_URL)
    except ConfigurationError as error:
        fail(str(error))
    pending = days if rebuild else missing_days(local_instance(), days)
    runs = []
    if pending:
        with Progress(
            TextColumn("[bold]Materializing lake days"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("days", total=len(pending))
            runs = materialize_days(
                pending,
                workers=workers,
                on_day=lambda run: progress.advance(task),
                tags={"keeptrusts/trigger": trigger},
            )
    failed = [run for run in runs if not run.success or run.failed_checks]
    lake = open_lake(lake_url())
    summaries = summarize(lake)
    if as_json:
        emit_json(
            {
                "lake": lake.describe(),
                "requested_days": len(days),
                "materialized_days": len(runs),
                "already_present_days": len(days) - len(pending),
                "failed": [run.__dict__ for run in failed],
                "tables": [summary.__dict__ for summary in summaries],
            }
        )
    else:
        console.print(
            f"✓ {len(runs)} day(s) materialized through Dagster, "
            f"{len(days) - len(pending)} already present"
        )
        console.print(render_summary(summaries))
        for run in failed:
            console.print(
                f"[red]✗ {run.day}[/red] run {run.run_id}: "
                + (", ".join(run.failed_checks) or "run failed; open it in the Dagster UI")
            )
    if failed:
        raise typer.Exit(1)


@app.command("ingest")
def ingest(
    from_day: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    to_day: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    workers: Annotated[int, typer.Option(min=1, help="Runs at a time.")] = 1,
    rebuild: Annotated[
        bool, typer.Option(help="Re-read days already recorded (late events).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Bring days from KEEPTRUSTS_SOURCE_URL into the lake, one Dagster run per day."""
    first, last = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    if first > last:
        fail(f"--from {first} is after --to {last}; swap them", code=2)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    ingest_days(days, rebuild, workers, as_json, trigger="kt lake ingest")


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-05-01", code=2)
