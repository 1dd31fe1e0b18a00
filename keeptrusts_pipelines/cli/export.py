"""`kt export`: export jobs as Dagster runs — create, status, list, download, delete, preview.

With KEEPTRUSTS_DAGSTER_URL set, runs go through that Dagster webserver; otherwise through the
local instance under KEEPTRUSTS_HOME. Either way they are one job history, shown in the UI.

Only what a command uses is imported: `status` and `list` read records and the run history
without Dagster, Polars, DuckDB, SQLAlchemy or a cloud client; `create --wait` runs the export
in this process (Dagster and the engine load then, once).
"""

import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from keeptrusts_pipelines.cli import schedule
from keeptrusts_pipelines.cli.output import console, emit_json, errors, fail, say
from keeptrusts_pipelines.cli.request_options import request_options
from keeptrusts_pipelines.delivery.target import CLI_HELP, chosen_target, location_of
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.service.jobs import (
    FINAL,
    STATUSES,
    ExportJobs,
    LedgerOnUse,
    NoSuchExport,
    size_in_words,
    window_in_words,
)
from keeptrusts_pipelines.settings import Settings, dagster_url

app = typer.Typer(
    help="Create, follow, download and delete evidence exports (Dagster runs of export_job).",
    no_args_is_help=True,
)
app.add_typer(schedule.app, name="schedule")

JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object for machines.")]


def _run_guarded(action):
    """Turn the project's errors into one line: 2 for a bad request, 1 for anything else."""
    try:
        return action()
    except ExportRequestError as error:
        fail(str(error), code=2)
    except (KeeptrustsError, ConfigurationError, OSError) as error:
        fail(str(error))


def _runs():
    """The job history: the Dagster webserver of KEEPTRUSTS_DAGSTER_URL, else the local instance."""
    url = dagster_url()
    if url:
        from keeptrusts_pipelines.cli.graphql_runs import GraphQLExportRuns

        return GraphQLExportRuns(url)
    from keeptrusts_pipelines.defs.export_runs import LocalExportRuns

    return LocalExportRuns()


def _actor() -> str:
    return f"kt:{getpass.getuser()}"


def _jobs() -> ExportJobs:
    """The export jobs: through the API with KEEPTRUSTS_API_URL and KEEPTRUSTS_API_TOKEN set,
    else on the local KEEPTRUSTS_HOME."""
    client = _api_client()
    if client is not None:
        return client
    settings = Settings.from_environment()
    return ExportJobs(
        settings.home,
        _runs(),
        LedgerOnUse(settings.custody_url),
        _actor(),
        _lake(settings),
        s3_access=settings.s3_access(),
    )


def _lake(settings: Settings | None = None):
    """The lake of KEEPTRUSTS_LAKE_URL (default: the folder under KEEPTRUSTS_HOME)."""
    from keeptrusts_pipelines.lake.location import open_lake

    return open_lake((settings or Settings.from_environment()).lake_url)


def _api_client():
    """The API's client when KEEPTRUSTS_API_URL and KEEPTRUSTS_API_TOKEN are set, else None."""
    from keeptrusts_pipelines.cli.api_client import configured_client

    return configured_client()


def _preview(request: ExportRequest) -> int:
    client = _api_client()
    if client is not None:
        return client.preview(request)
    from keeptrusts_pipelines.exports.reader import preview

    return preview(request, _lake())


def submit(request: ExportRequest, delivery: dict[str, object] | None = None) -> str:
    """Start an export job for a validated request (delivered to S3 with `delivery`); its id."""
    return _jobs().submit(request, delivery)


def _find(export_id: str) -> dict:
    try:
        return _jobs().find(export_id)
    except NoSuchExport:
        fail(f"--id {export_id}: no such export; see kt export list", code=2)
    except ExportRequestError as error:
        fail(str(error), code=2)
    except (KeeptrustsError, OSError) as error:
        fail(str(error))


def wait_for(export_id: str, quiet: bool = False) -> dict:
    """Poll until the export ends, with a spinner on stderr for people."""
    started = time.monotonic()
    view = _find(export_id)
    if view["status"] in FINAL:
        return view
    with errors.status(f"{export_id}: {view['status']}") as spinner:
        while view["status"] not in FINAL:
            time.sleep(0.5)
            view = _find(export_id)
            if not quiet:
                spinner.update(
                    f"{export_id}: {view['status']} ({time.monotonic() - started:.0f} s)"
                )
    return view


def _to_second(moment: str | None) -> str | None:
    """An RFC 3339 time without its fraction of a second, for people."""
    return moment.split(".")[0] + "Z" if moment and "." in moment else moment


def _show(view: dict) -> None:
    """The seeds' status block."""
    say(f"Export: {view['export_id']}")
    say(f"Status: {view['status']}")
    say(f"Format: {view['format']}")
    if view["records"] is not None:
        say(f"Records: {view['records']:,}")
        say(f"File size: {size_in_words(view['bytes'])}")
    say(f"Created: {_to_second(view['created_at'])}")
    if view["completed_at"]:
        say(f"Completed: {_to_second(view['completed_at'])}")
    if view["status"] == "completed":
        say(f"Expires: {_to_second(view['expires_at'])}")
        say(f"Artifact: {view['artifact']}")
        say(f"SHA-256: {view['sha256']}")
    if view.get("delivery"):
        say(f"Delivered: {view['delivery']['uri']}")
    for warning in view["warnings"]:
        say(f"[yellow]![/yellow] {warning}")
    if view.get("error"):
        say(f"[red]Error:[/red] {view['error']}")
    if view.get("message"):
        say(view["message"])


@app.command("create")
@request_options()
def create(
    request: ExportRequest,
    deliver_to: Annotated[
        str | None, typer.Option("--deliver-to", help=CLI_HELP, metavar="URL")
    ] = None,
    s3_bucket: Annotated[
        str | None, typer.Option("--s3-bucket", help="Deliver the artifact to this bucket.")
    ] = None,
    s3_prefix: Annotated[str, typer.Option("--s3-prefix", help="Key prefix in the bucket.")] = "",
    s3_region: Annotated[str | None, typer.Option("--s3-region", help="Bucket region.")] = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why raw content is needed (recorded; the API requires it)."),
    ] = None,
    no_deliver: Annotated[
        bool,
        typer.Option("--no-deliver", help="Keep it local, even with a saved S3 destination."),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the job until it completes or fails (a local job runs in this process).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start an export job over a window, filtered, in a format; redacted unless --raw-content.

    Every filter can be repeated: OR within a filter, AND across filters."""
    try:
        target = chosen_target(deliver_to, s3_bucket, s3_prefix, s3_region)
    except ConfigurationError as error:
        fail(str(error), code=2)
    if target is not None and no_deliver:
        fail("--no-deliver: give it or a target (--deliver-to, --s3-bucket), not both", code=2)
    delivery = _run_guarded(lambda: _jobs().delivery_for(target, no_deliver))
    if reason and not request.raw_content:
        fail("--reason: it explains --raw-content; give both or neither", code=2)
    export_id = _run_guarded(lambda: _jobs().submit(request, delivery, reason, wait=wait))
    view = wait_for(export_id, as_json) if wait else _find(export_id)
    if as_json:
        emit_json(view)
    else:
        say("[green]✓[/green] Export job created")
        say(f"Job ID: {export_id}")
        say(f"Format: {request.format}")
        if delivery.get("deliver_to"):
            say(f"Delivery: {location_of(str(delivery['deliver_to']))}")
        say(f"Status: {view['status']}")
        say(f"Range: {request.window.describe()}")
        if wait:
            say("")
            _show(view)
        else:
            say(f"Follow it: kt export status --id {export_id}")
    if view["status"] == "failed":
        raise typer.Exit(1)


@app.command("preview")
@request_options(preview=True)
def preview_command(
    request: ExportRequest,
    as_json: JsonFlag = False,
) -> None:
    """How many records an export with these flags would hold (same flags as create)."""
    count = _run_guarded(lambda: _preview(request))
    if as_json:
        emit_json(
            {
                "records": count,
                "window": request.window.as_dict(),
                "filters": request.filters.active(),
            }
        )
    else:
        say(f"Estimated records: {count:,}")


IdOption = Annotated[str, typer.Option("--id", help="Export id, e.g. exp_abc123.")]


@app.command("status")
def status(export_id: IdOption, as_json: JsonFlag = False) -> None:
    """Status, records, size and artifact of one export."""
    view = _run_guarded(lambda: _find(export_id))
    if as_json:
        emit_json(view)
    else:
        _show(view)


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    status_filter: Annotated[
        list[str] | None, typer.Option("--status", help=f"Only these: {', '.join(STATUSES)}.")
    ] = None,
    format_filter: Annotated[
        list[str] | None, typer.Option("--format", help="Only these formats (csv, pdf, …).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest export jobs: id, name, format, range, status, records, created, expires."""
    statuses = {value.lower() for value in status_filter or ()}
    formats = {value.lower() for value in format_filter or ()}

    def views() -> list[dict]:
        return _jobs().list(limit, statuses, formats)

    found = _run_guarded(views)
    if as_json:
        emit_json(found)
        return
    table = Table(box=None, header_style="bold")
    for heading in ("ID", "Name", "Format", "Range", "Status", "Records", "Created", "Expires"):
        table.add_column(heading, overflow="fold")
    for view in found:
        records = "" if view["records"] is None else f"{view['records']:,}"
        table.add_row(
            view["export_id"],
            view.get("name") or "",
            view["format"],
            window_in_words(view["window"]),
            view["status"],
            records,
            _to_second(view["created_at"]),
            _to_second(view["expires_at"]) or "",
        )
    console.print(table)


@app.command("download")
def download(
    export_id: IdOption,
    output: Annotated[Path, typer.Option("--output", help="Where to write the artifact.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUTPUT if it is an existing file.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy a completed export's artifact to OUTPUT (never through a symlink at OUTPUT).

    A delivered artifact comes through a fresh presigned link, checked against its sha256:
    also after its local copy expired."""
    view = _find(export_id)
    if view["status"] != "completed" and not (view["status"] == "expired" and view.get("delivery")):
        reason = view.get("message") or view.get("error") or "wait for it to complete"
        fail(f"--id {export_id} is {view['status']}, not completed: {reason}")
    if output.is_symlink():
        fail(f"--output {output}: a symbolic link; give the path of a file, not a link", code=2)
    if output.exists() and (not force or not output.is_file()):
        fix = "add --force to replace it" if output.is_file() else "give a file path"
        fail(f"--output {output}: already exists; {fix}", code=2)
    view = _run_guarded(lambda: _jobs().download(export_id, output))
    if as_json:
        emit_json(
            {
                "export_id": export_id,
                "output": str(output),
                "bytes": output.stat().st_size,
                "sha256": view["sha256"],
            }
        )
    else:
        say(
            f"[green]✓[/green] Downloaded {export_id} to {output} ({output.stat().st_size:,} bytes)"
        )


@app.command("link")
def link(
    export_id: IdOption,
    expires: Annotated[
        str, typer.Option("--expires", help="How long the link works: 90m, 24h or 7d (at most).")
    ] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """A presigned download link for a delivered artifact, regenerated on demand (also after
    the local copy expired, for as long as the object exists)."""
    seconds = _run_guarded(lambda: _expiry(expires))
    url, until = _run_guarded(lambda: _jobs().link(export_id, seconds))
    if as_json:
        emit_json({"export_id": export_id, "url": url, "expires_at": until})
    else:
        say(url)
        say(f"Expires: {until}")


def _expiry(text: str) -> int:
    from keeptrusts_pipelines.delivery.links import expiry_seconds

    try:
        return expiry_seconds(text)
    except ConfigurationError as error:
        raise ExportRequestError("expires", str(error)) from None


@app.command("recreate")
def recreate(
    export_id: IdOption,
    as_json: JsonFlag = False,
) -> None:
    """Run an export's request again and say whether the new artifact is byte-identical
    (it is, when the lake partitions it read are unchanged)."""
    original, new_id = _run_guarded(lambda: _jobs().recreate(export_id, wait=True))
    view = wait_for(new_id, as_json)
    same = view["sha256"] == original["sha256"]
    if as_json:
        emit_json({**view, "recreated_from": export_id, "identical": same})
    else:
        say(f"[green]✓[/green] Re-created {export_id} as {new_id}")
        _show(view)
        verdict = "identical to" if same else "different from"
        say(f"SHA-256 {verdict} the original ({original['sha256']})")
        if not same and view["status"] == "completed":
            say("The lake partitions it read changed since; kt verify on the original says which")
    if view["status"] != "completed":
        raise typer.Exit(1)


@app.command("delete")
def delete(export_id: IdOption, as_json: JsonFlag = False) -> None:
    """Remove an export's artifact; its record and history stay."""
    record = _run_guarded(lambda: _jobs().delete(export_id))
    if as_json:
        emit_json({"export_id": export_id, "status": record["status"]})
    else:
        say(f"[green]✓[/green] Deleted the artifact of {export_id}; its history is kept")


# The seeds' other spelling of the same jobs: `kt export-jobs create|get|download|list`.
jobs_app = typer.Typer(help="Export jobs (same as kt export).", no_args_is_help=True)
jobs_app.command("create")(create)
jobs_app.command("get")(status)
jobs_app.command("download")(download)
jobs_app.command("list")(list_command)
