"""`kt export schedule`: recurring deliveries in deliveries.yaml (add, list, delete).

The code location reads the file when it loads: reload it in the UI (or restart `kt ui`)
after a change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, fail, say
from keeptrusts_pipelines.delivery.target import CLI_HELP, chosen_target, location_of
from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError

if TYPE_CHECKING:
    from keeptrusts_pipelines.exports.deliveries import Delivery

app = typer.Typer(
    help="Recurring evidence deliveries (deliveries.yaml): add one, list or delete them.",
    invoke_without_command=True,
)
Many = list[str] | None


def _api_client():
    """The API's client when KEEPTRUSTS_API_URL and KEEPTRUSTS_API_TOKEN are set, else None."""
    from keeptrusts_pipelines.cli.api_client import configured_client

    return configured_client()


def next_run(delivery: Delivery, now: datetime | None = None) -> datetime:
    from keeptrusts_pipelines.exports.deliveries import next_run as next_tick

    return next_tick(delivery, now or datetime.now(UTC))


@app.callback()
def add(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="Name, e.g. weekly-compliance.")
    ] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="When, e.g. '0 2 * * MON'.")] = None,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            help="weekly, monthly or quarterly: the previous calendar period, on its next "
            "first day at 02:00 (instead of --cron and --window).",
        ),
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="With --cron: 24h, 7d, 30d or 90d.")
    ] = None,
    file_format: Annotated[
        Many, typer.Option("--format", help="Format(s), repeatable (json, csv, pdf, …).")
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone of the cron.")] = "UTC",
    deliver_to: Annotated[
        str | None, typer.Option("--deliver-to", help=CLI_HELP, metavar="URL")
    ] = None,
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
    # Loaded here: the other kt commands start without the request model and cron libraries.
    from keeptrusts_pipelines.exports.deliveries import (
        INTERVAL_CRONS,
        add_delivery,
        check_cron,
        parse_entry,
    )
    from keeptrusts_pipelines.settings import deliveries_file

    if not name or not (cron or interval):
        fail(
            "give --name and --interval or --cron (or: kt export schedule list | delete --name N)",
            code=2,
        )
    if interval is not None and interval not in INTERVAL_CRONS:
        fail(f"--interval {interval!r}: use one of {', '.join(INTERVAL_CRONS)}", code=2)
    if cron is not None:
        try:
            check_cron(cron)
        except ValueError as error:
            fail(f"--cron {cron!r}: {error}", code=2)
    if interval and window:
        fail("--window: an --interval covers its own calendar period; give one of them", code=2)
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
        "cron": cron or INTERVAL_CRONS[str(interval)],
        "interval": interval,
        "timezone": timezone,
        "window": window or interval or "7d",
        "formats": file_format or ["json"],
        "filters": filters,
        "notify": notify,
    }
    client = _api_client()
    try:
        target = chosen_target(deliver_to, s3_bucket, s3_prefix, s3_region)
        if target is not None:
            raw["target"] = target.url
        path = deliveries_file()
        delivery = parse_entry(0, raw, path)
        if client is None:
            where = str(add_delivery(delivery, path))
        else:
            body = {key: raw[key] for key in ("name", "timezone", "filters", "notify")}
            body.update(formats=raw["formats"], cron=cron, interval=interval, window=window)
            if target is not None:
                body["deliver_to"] = target.url
            client.add_schedule(body)
            where = client.url
    except ConfigurationError as error:
        fail(f"--name {name}: {error}", code=2)
    except KeeptrustsError as error:
        fail(f"--name {name}: {error}")
    if as_json:
        emit_json({**delivery.as_yaml(), "file": where, "next_run": next_run(delivery)})
        return
    say("[green]✓[/green] Recurring export scheduled")
    say(f"Name: {delivery.name}")
    upcoming = next_run(delivery)
    say(f"Schedule: {delivery.describe_schedule()}")
    say(f"Window: {delivery.describe_window().capitalize()}")
    if delivery.target:
        say(f"Delivery: {location_of(delivery.target)}")
    say(f"Next run: {upcoming:%Y-%m-%d %H:%M %Z}")
    say(f"Saved in {where}; reload the code location (kt ui) to start it.")


@app.command("list")
def list_deliveries(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """The recurring deliveries with their next run, and any entry set aside, with its error."""
    from keeptrusts_pipelines.exports.deliveries import Problem, parse_entry, read_deliveries
    from keeptrusts_pipelines.settings import deliveries_file

    client = _api_client()
    if client is None:
        entries, problems = read_deliveries(deliveries_file())
    else:
        try:
            answer = client.schedules()
        except KeeptrustsError as error:
            fail(str(error))
        entries = [parse_entry(n, item, client.url) for n, item in enumerate(answer["items"])]
        problems = [Problem(p["name"], p["error"]) for p in answer["set_aside"]]
    if as_json:
        emit_json(
            [
                *(
                    {**e.as_yaml(), "schedule": e.describe_schedule(), "next_run": next_run(e)}
                    for e in entries
                ),
                *({"name": p.name, "error": p.error} for p in problems),
            ]
        )
    else:
        table = Table(box=None)
        table.add_column("Name", overflow="fold")  # names are what `delete --name` takes
        for heading in ("Schedule", "Window", "Formats", "Delivery", "Next run"):
            table.add_column(heading, overflow="fold")
        for entry in entries:
            table.add_row(
                entry.name,
                entry.describe_schedule(),
                entry.describe_window(),
                ", ".join(entry.formats),
                location_of(entry.target) if entry.target else "local",
                f"{next_run(entry):%Y-%m-%d %H:%M %Z}",
            )
        console.print(table)
        for problem in problems:
            say(f"[red]✗[/red] {problem.name} is set aside: {problem.error}")
    if problems:
        raise typer.Exit(1)


@app.command("delete")
def delete(name: Annotated[str, typer.Option("--name", help="The delivery to remove.")]) -> None:
    """Remove a recurring delivery."""
    from keeptrusts_pipelines.exports.deliveries import remove_delivery
    from keeptrusts_pipelines.settings import deliveries_file

    client = _api_client()
    if client is not None:
        try:
            client.remove_schedule(name)
        except KeeptrustsError as error:
            fail(f"--name {name}: {error}", code=2)
        say(f"[green]✓[/green] Removed {name}; reload the code location (kt ui) to stop it.")
        return
    try:
        removed = remove_delivery(name, deliveries_file())
    except ConfigurationError as error:
        fail(str(error), code=2)
    if not removed:
        fail(f"--name {name}: no such delivery; see kt export schedule list", code=2)
    say(f"[green]✓[/green] Removed {name}; reload the code location (kt ui) to stop it.")
