"""`kt export`: create an export from the lake, preview its size, download it."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.exports.engine import METADATA_FILE, run_export
from keeptrusts_pipelines.exports.reader import preview
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window, validate
from keeptrusts_pipelines.settings import export_part_bytes, exports_root, lake_root

app = typer.Typer(help="Create, preview and download evidence exports.", no_args_is_help=True)

Many = list[str] | None
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object for machines.")]
# The flags of an export request, shared by `create` and `preview`.
TypeOption = Annotated[
    str, typer.Option("--type", help="events, escalations, config-history or conversations.")
]
FormatOption = Annotated[str, typer.Option("--format", help="csv, json, jsonl or parquet.")]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Start: a date or RFC 3339 time (UTC).")
]
ToOption = Annotated[
    str | None, typer.Option("--to", help="End, included: a date (whole day) or RFC 3339 time.")
]
DateFromOption = Annotated[str | None, typer.Option("--date-from", help="Same as --from.")]
DateToOption = Annotated[str | None, typer.Option("--date-to", help="Same as --to.")]
LastOption = Annotated[
    str | None, typer.Option("--last", help="Quick range ending now: 24h, 7d, 30d or 90d.")
]
PolicyOption = Annotated[
    Many, typer.Option("--filter-policy", "--policy", help="Deciding or evaluated policy.")
]
ActionOption = Annotated[
    Many,
    typer.Option("--filter-action", "--filter-decision", help="allow, block, redact, escalate."),
]
ResultOption = Annotated[
    Many,
    typer.Option(
        "--filter-result", "--filter-verdict", help="passed, blocked, modified, escalated."
    ),
]
GatewayOption = Annotated[Many, typer.Option("--filter-gateway", help="Gateway.")]
ConsumerGroupOption = Annotated[
    Many, typer.Option("--filter-consumer-group", help="Consumer group.")
]
TeamOption = Annotated[Many, typer.Option("--filter-team", "--team", help="Team.")]
UserOption = Annotated[Many, typer.Option("--filter-user", help="User.")]
ModelOption = Annotated[Many, typer.Option("--filter-model", help="Model.")]
SeverityOption = Annotated[
    str | None, typer.Option("--min-severity", help="info, low, medium, high or critical.")
]


def _request(
    export_type: str,
    file_format: str,
    from_: str | None,
    to: str | None,
    date_from: str | None,
    date_to: str | None,
    last: str | None,
    filters: Filters,
    name: str | None,
    title: str | None,
    description: str | None,
    raw_content: bool,
) -> ExportRequest:
    if (date_from or date_to) and (from_ or to):
        raise ExportRequestError("from", "give --from/--to or --date-from/--date-to, not both")
    if date_from or date_to:
        window = build_window(date_from, date_to, last, datetime.now(UTC), "date-from", "date-to")
    else:
        window = build_window(from_, to, last, datetime.now(UTC))
    return validate(
        ExportRequest(
            window=window,
            format=file_format.lower(),
            export_type=export_type,
            filters=filters,
            name=name,
            title=title,
            description=description,
            raw_content=raw_content,
        )
    )


def _request_from_options(options: dict) -> ExportRequest:
    filters = Filters(
        policy=tuple(options.pop("filter_policy") or ()),
        action=tuple(options.pop("filter_action") or ()),
        result=tuple(options.pop("filter_result") or ()),
        gateway=tuple(options.pop("filter_gateway") or ()),
        consumer_group=tuple(options.pop("filter_consumer_group") or ()),
        team=tuple(options.pop("filter_team") or ()),
        user=tuple(options.pop("filter_user") or ()),
        model=tuple(options.pop("filter_model") or ()),
        min_severity=options.pop("min_severity"),
    )
    return _request(filters=filters, **options)


def _run_guarded(action):
    """Turn the project's errors into one line: 2 for a bad request, 1 for anything else."""
    try:
        return action()
    except ExportRequestError as error:
        fail(str(error), code=2)
    except (ConfigurationError, OSError) as error:
        fail(str(error))


@app.command("create")
def create(
    export_type: TypeOption = "events",
    file_format: FormatOption = "csv",
    from_: FromOption = None,
    to: ToOption = None,
    date_from: DateFromOption = None,
    date_to: DateToOption = None,
    last: LastOption = None,
    filter_policy: PolicyOption = None,
    filter_action: ActionOption = None,
    filter_result: ResultOption = None,
    filter_gateway: GatewayOption = None,
    filter_consumer_group: ConsumerGroupOption = None,
    filter_team: TeamOption = None,
    filter_user: UserOption = None,
    filter_model: ModelOption = None,
    min_severity: SeverityOption = None,
    name: Annotated[str | None, typer.Option("--name", help="Label; also the file name.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title for reports.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Notes for auditors.")
    ] = None,
    raw_content: Annotated[
        bool,
        typer.Option("--raw-content", help="Export prompts and outputs unredacted (recorded)."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for completion (exports run to completion here).")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Export lake records over a window, filtered, in a format; redacted unless --raw-content.

    Every filter can be repeated: OR within a filter, AND across filters."""
    options = dict(locals())
    options.pop("wait")
    options.pop("as_json")
    request = _run_guarded(lambda: _request_from_options(options))
    result = _run_guarded(
        lambda: run_export(
            request, LakeLayout(lake_root()), exports_root(), part_bytes=export_part_bytes()
        )
    )
    payload = {
        **result.as_dict(),
        "format": request.format,
        "window": request.window.as_dict(),
        "filters": request.filters.active(),
    }
    if as_json:
        emit_json(payload)
        return
    say("[green]✓[/green] Export job created")
    say(f"Job ID: {result.export_id}")
    say(f"Format: {request.format}")
    say(f"Status: {result.status}")
    say(f"Range: {request.window.first_day} to {request.window.last_day}")
    say(f"Records: {result.records:,}")
    say(f"Artifact: {result.artifact}")
    say(f"SHA-256: {result.sha256}")
    for warning in result.warnings:
        say(f"[yellow]![/yellow] {warning}")


@app.command("preview")
def preview_command(
    export_type: TypeOption = "events",
    file_format: FormatOption = "csv",
    from_: FromOption = None,
    to: ToOption = None,
    date_from: DateFromOption = None,
    date_to: DateToOption = None,
    last: LastOption = None,
    filter_policy: PolicyOption = None,
    filter_action: ActionOption = None,
    filter_result: ResultOption = None,
    filter_gateway: GatewayOption = None,
    filter_consumer_group: ConsumerGroupOption = None,
    filter_team: TeamOption = None,
    filter_user: UserOption = None,
    filter_model: ModelOption = None,
    min_severity: SeverityOption = None,
    as_json: JsonFlag = False,
) -> None:
    """How many records an export with these flags would hold (same flags as create)."""
    options = dict(locals())
    options.pop("as_json")
    options.update(name=None, title=None, description=None, raw_content=False)
    request = _run_guarded(lambda: _request_from_options(options))
    count = _run_guarded(lambda: preview(request, LakeLayout(lake_root())))
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


def _metadata(export_id: str) -> dict:
    path = exports_root() / export_id / METADATA_FILE
    if not path.exists():
        fail(f"--id {export_id}: no such export under {exports_root()}; see kt export list", code=2)
    return json.loads(path.read_text())


@app.command("status")
def status(
    export_id: Annotated[str, typer.Option("--id", help="Export id, e.g. exp_abc123.")],
    as_json: JsonFlag = False,
) -> None:
    """Status, records and artifact of one export."""
    metadata = _metadata(export_id)
    if as_json:
        emit_json(metadata)
        return
    for label, key in [
        ("Job ID", "export_id"),
        ("Status", "status"),
        ("Records", "records"),
        ("Artifact", "artifact"),
        ("SHA-256", "sha256"),
    ]:
        say(f"{label}: {metadata[key]}")


@app.command("download")
def download(
    export_id: Annotated[str, typer.Option("--id", help="Export id, e.g. exp_abc123.")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the artifact.")],
    as_json: JsonFlag = False,
) -> None:
    """Copy a completed export's artifact to OUTPUT."""
    metadata = _metadata(export_id)
    if metadata["status"] != "completed":
        fail(f"--id {export_id} is {metadata['status']}, not completed; nothing to download")
    source = Path(metadata["artifact"])
    with atomic_path(output.resolve()) as path:
        shutil.copyfile(source, path)
    if as_json:
        emit_json(
            {
                "export_id": export_id,
                "output": str(output),
                "bytes": output.stat().st_size,
                "sha256": metadata["sha256"],
            }
        )
    else:
        say(
            f"[green]✓[/green] Downloaded {export_id} to {output} ({output.stat().st_size:,} bytes)"
        )
