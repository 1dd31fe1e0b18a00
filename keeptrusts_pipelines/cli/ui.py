"""`kt ui`: the Dagster UI and daemon on the instance under KEEPTRUSTS_HOME."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

LOOPBACK = ("127.0.0.1", "localhost", "0.0.0.0")
UP_WITHIN_SECONDS = 600


def _record_when_up(record: Path, url: str, process: subprocess.Popen) -> None:
    """Once the webserver answers, say so in the Dagster home: while it runs, `kt` on this home
    submits exports to its run queue, and its daemon runs them (the UI shows them as any run)."""
    deadline = time.monotonic() + UP_WITHIN_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url.removesuffix("/graphql") + "/server_info", timeout=5):
                record.write_text(json.dumps({"url": url, "pid": process.pid}))
                return
        except OSError:
            time.sleep(1)


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start `dagster dev` (web UI + daemon) with this project's workspace and instance."""
    from keeptrusts_pipelines.defs.instance import PROJECT_ROOT, prepare_dagster_home
    from keeptrusts_pipelines.settings import webserver_record_path

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
    process = subprocess.Popen(command, cwd=home, env=os.environ.copy())
    record = webserver_record_path()
    if host in LOOPBACK:
        url = f"http://127.0.0.1:{port}/graphql"
        threading.Thread(target=_record_when_up, args=(record, url, process), daemon=True).start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = process.wait()
    finally:
        record.unlink(missing_ok=True)
    raise typer.Exit(code)
