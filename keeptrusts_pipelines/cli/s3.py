"""`kt s3 check`: the seeds' Test Connection for an S3-compatible bucket."""

from typing import Annotated

import typer

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.delivery.s3 import check_connection, target_from_environment
from keeptrusts_pipelines.errors import ConfigurationError

app = typer.Typer(help="S3-compatible storage for evidence delivery.", no_args_is_help=True)


@app.command("check")
def check(
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket to test.")],
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix to write under.")] = "",
    region: Annotated[str | None, typer.Option("--region", help="Region.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Write, read back and remove a probe object; say which step failed and why.

    Endpoint and credentials come from the AWS environment (AWS_ENDPOINT_URL for MinIO/R2)."""
    try:
        target = target_from_environment(bucket, prefix, region)
    except ConfigurationError as error:
        fail(str(error), code=2)
    steps = check_connection(target)
    ok = len(steps) == 3 and all(step.ok for step in steps)
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
