"""`kt ui`: the Dagster UI and daemon on the instance under KEEPTRUSTS_HOME."""

import os
import subprocess
import sys
from typing import Annotated

import typer


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start `dagster dev` (web UI + daemon) with this project's workspace and instance."""
    from keeptrusts_pipelines.defs.instance import PROJECT_ROOT, prepare_dagster_home

    home = prepare_dagster_home()
    typer.echo(f"Dagster home: {home}\nOpen http://{host}:{port}")
    command = [
        sys.executable,
        # `dagster dev` with a workspace.yaml is this project's way in; `dg dev` is not set up.
        "-W", "ignore:Function `dev_command` is superseded",
        "-m", "dagster", "dev",
        "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port),
    ]  # fmt: skip
    # Run from the Dagster home, so the project's template dagster.yaml is not mistaken for it.
    raise typer.Exit(subprocess.call(command, cwd=home, env=os.environ.copy()))
