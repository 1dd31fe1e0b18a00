"""`kt s3`: the seeds' Test Connection for an S3-compatible bucket, and the destination every
export is delivered to, configured once."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.delivery.destination import (
    SavedDestination,
    destination_path,
    load_destination,
    remove_destination,
    save_destination,
)
from keeptrusts_pipelines.delivery.target import open_target, target_address
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.model.export_request import rfc3339
from keeptrusts_pipelines.settings import Settings, keeptrusts_home

app = typer.Typer(help="S3-compatible storage for evidence delivery.", no_args_is_help=True)


def _test_connection(bucket: str, prefix: str, region: str | None) -> tuple[list, bool]:
    """Test Connection's steps, and whether all three passed; a bad target exits 2."""
    try:
        address = target_address("s3", bucket, prefix, region, "--bucket")
        target = open_target(address, Settings.from_environment().s3_access())
    except ConfigurationError as error:
        fail(str(error), code=2)
    steps = target.check()
    return steps, len(steps) == 3 and all(step.ok for step in steps)


@app.command("check")
def check(
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket to test.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix to write under.")] = "",
    region: Annotated[str | None, typer.Option("--region", help="Region.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Write, read back and remove a probe object; say which step failed and why.

    Endpoint and credentials come from the AWS environment (AWS_ENDPOINT_URL for MinIO/R2)."""
    steps, ok = _test_connection(bucket, prefix, region)
    if as_json:
        emit_json({"ok": ok, "steps": [step.__dict__ for step in steps]})
    else:
        for step in steps:
            mark = "[green]✓[/green]" if step.ok else "[red]✗[/red]"
            say(f"{mark} {step.step}: {step.detail}")
        if ok:
            say(f"[green]✓[/green] s3://{bucket}/{prefix} can take evidence")
    if not ok:
        raise typer.Exit(1)


def _destination_file():
    return destination_path(keeptrusts_home())


@app.command("configure")
def configure(
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket every export goes to.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix in the bucket.")] = "",
    region: Annotated[str | None, typer.Option("--region", help="Region.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Save the destination every export is delivered to, once Test Connection passes.

    `kt export create --no-deliver` skips it; --s3-bucket/--s3-prefix/--s3-region override it."""
    steps, ok = _test_connection(bucket, prefix, region)
    if not ok:
        failed = next((step for step in steps if not step.ok), None)
        reason = f"{failed.step}: {failed.detail}" if failed else "no answer"
        fail(f"s3://{bucket}/{prefix} not saved: Test Connection failed at {reason}")
    destination = SavedDestination(bucket, prefix, region, rfc3339(datetime.now(UTC)))
    save_destination(_destination_file(), destination)
    if as_json:
        emit_json({**destination.__dict__, "file": str(_destination_file())})
    else:
        say(f"[green]✓[/green] Test Connection passed; exports go to {destination.uri}")
        say("Skip it for one export with kt export create --no-deliver")


@app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """The saved destination, if any."""
    try:
        destination = load_destination(_destination_file())
    except ConfigurationError as error:
        fail(str(error))
    if as_json:
        emit_json(destination.__dict__ if destination else None)
    elif destination is None:
        say("No S3 destination saved: exports stay local (kt s3 configure --bucket B)")
    else:
        say(f"Delivery: {destination.uri} (Test Connection passed {destination.tested_at})")


@app.command("remove")
def remove() -> None:
    """Forget the saved destination: exports stay local unless they name a bucket."""
    removed = remove_destination(_destination_file())
    say("[green]✓[/green] S3 destination removed" if removed else "No S3 destination was saved")
