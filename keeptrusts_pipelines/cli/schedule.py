"""`kt export schedule`: recurring deliveries in deliveries.yaml (add, list, delete).

The code location reads the file when it loads: reload it in the UI (or restart `kt ui`)
after a change.
"""

from datetime import UTC, datetime
from typing import Annotated

import typer
from dagster._utils.schedules import cron_string_iterator  # the daemon's own cron arithmetic
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, fail, say
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.deliveries import (
    WINDOW_DAYS,
    Delivery,
    deliveries_path,
    load_deliveries,
    parse_entry,
    save_deliveries,
)

app = typer.Typer(
    help="Recurring evidence deliveries (deliveries.yaml): add one, list or delete them.",
    invoke_without_command=True,
)
Many = list[str] | None


def next_run(delivery: Delivery, now: datetime | None = None) -> datetime:
    ticks = cron_string_iterator(
        (now or datetime.now(UTC)).timestamp(), delivery.cron, delivery.timezone
    )
    return next(ticks)


def describe_window(delivery: Delivery) -> str:
    days = WINDOW_DAYS[delivery.window]
    return f"{days} day{'s' if days > 1 else ''}"


def _loaded() -> list[Delivery]:
    try:
        return load_deliveries()
    except ConfigurationError as error:
        fail(str(error), code=2)


@app.callback()
def add(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="Name, e.g. weekly-compliance.")
    ] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="When, e.g. '0 2 * * MON'.")] = None,
    window: Annotated[str, typer.Option("--window", help="24h, 7d, 30d or 90d.")] = "7d",
    file_format: Annotated[
        Many, typer.Option("--format", help="Format(s), repeatable (json, csv, pdf, …).")
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone of the cron.")] = "UTC",
    s3_bucket: Annotated[str | None, typer.Option("--s3-bucket", help="Bucket.")] = None,
    s3_prefix: Annotated[str, typer.Option("--s3-prefix", help="Key prefix.")] = "",
    s3_region: Annotated[str | None, typer.Option("--s3-region", help="Region.")] = None,
    filter_team: Annotated[Many, typer.Option("--filter-team", help="Team(s).")] = None,
    filter_policy: Annotated[Many, typer.Option("--filter-policy", help="Policy(ies).")] = None,
    filter_gateway: Annotated[Many, typer.Option("--filter-gateway", help="Gateway(s).")] = None,
    min_severity: Annotated[str | None, typer.Option("--min-severity", help="Severity.")] = None,
    notify: Annotated[bool, typer.Option(help="Post completions to the webhook.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Add a recurring delivery: kt export schedule --name N --cron C --window 7d --format json."""
    if ctx.invoked_subcommand is not None:
        return
    if not name or not cron:
        fail("give --name and --cron (or: kt export schedule list | delete --name N)", code=2)
    filters = {
        key: value
        for key, value in {
            "team": filter_team,
            "policy": filter_policy,
            "gateway": filter_gateway,
            "min_severity": min_severity,
        }.items()
        if value
    }
    raw = {
        "name": name,
        "cron": cron,
        "timezone": timezone,
        "window": window,
        "formats": file_format or ["json"],
        "filters": filters,
        "notify": notify,
    }
    if s3_bucket:
        raw["s3"] = {"bucket": s3_bucket, "prefix": s3_prefix, "region": s3_region}
    entries = _loaded()
    if any(entry.name == name for entry in entries):
        fail(f"--name {name}: a delivery of that name exists; delete it first", code=2)
    try:
        delivery = parse_entry(len(entries), raw, deliveries_path())
    except ConfigurationError as error:
        fail(str(error), code=2)
    path = save_deliveries([*entries, delivery])
    if as_json:
        emit_json({**delivery.as_yaml(), "file": str(path), "next_run": next_run(delivery)})
        return
    say("[green]✓[/green] Recurring export scheduled")
    say(f"Name: {delivery.name}")
    upcoming = next_run(delivery)
    say(f"Schedule: {delivery.cron} ({delivery.timezone}); next {upcoming:%Y-%m-%d %H:%M %Z}")
    say(f"Window: {describe_window(delivery)}")
    if delivery.s3:
        say(f"Delivery: s3://{delivery.s3.bucket}/{delivery.s3.prefix}")
    say(f"Saved in {path}; reload the code location (kt ui) to start it.")


@app.command("list")
def list_deliveries(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """The recurring deliveries with their next run."""
    entries = _loaded()
    if as_json:
        emit_json([{**e.as_yaml(), "next_run": next_run(e).isoformat()} for e in entries])
        return
    table = Table("Name", "Schedule", "Window", "Formats", "Delivery", "Next run", box=None)
    for entry in entries:
        table.add_row(
            entry.name,
            f"{entry.cron} {entry.timezone}",
            describe_window(entry),
            ", ".join(entry.formats),
            f"s3://{entry.s3.bucket}/{entry.s3.prefix}" if entry.s3 else "local",
            f"{next_run(entry):%Y-%m-%d %H:%M %Z}",
        )
    console.print(table)


@app.command("delete")
def delete(name: Annotated[str, typer.Option("--name", help="The delivery to remove.")]) -> None:
    """Remove a recurring delivery."""
    entries = _loaded()
    kept = [entry for entry in entries if entry.name != name]
    if len(kept) == len(entries):
        fail(f"--name {name}: no such delivery; see kt export schedule list", code=2)
    save_deliveries(kept)
    say(f"[green]✓[/green] Removed {name}; reload the code location (kt ui) to stop it.")
