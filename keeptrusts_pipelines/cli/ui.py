"""`kt ui`: the Dagster UI and daemon on the instance under KEEPTRUSTS_HOME."""

import os
import subprocess
import sys
from typing import Annotated

import typer

from keeptrusts_pipelines.defs.instance import PROJECT_ROOT, prepare_dagster_home


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start `dagster dev` (web UI + daemon) with this project's workspace and instance."""
    home = prepare_dagster_home()
    typer.echo(f"Dagster home: {home}\nOpen http://{host}:{port}")
    command = [
        sys.executable, "-m", "dagster", "dev",
        "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", host, "-p", str(port),
    ]  # fmt: skip
    raise typer.Exit(subprocess.call(command, cwd=PROJECT_ROOT, env=os.environ.copy()))
