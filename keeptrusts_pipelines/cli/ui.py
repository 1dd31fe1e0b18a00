"""`kt ui`: the Dagster UI and daemon on the instance under KEEPTRUSTS_HOME.

While a webserver `kt ui` or `kt serve` started answers, the Dagster home says so
(settings.webserver_record_path): `kt` and the API on this home then submit exports to its run
queue, and its daemon launches them (the UI shows them as any run).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Annotated

import typer

LOOPBACK = ("127.0.0.1", "localhost", "0.0.0.0")
UP_WITHIN_SECONDS = 600
LOCATIONS_LOADED = (
    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    "locationOrLoadError { __typename } } } } }"
)


def graphql_url(port: int) -> str:
    """The loopback GraphQL endpoint of a webserver listening on `port`."""
    return f"http://127.0.0.1:{port}/graphql"


def record_webserver_when_up(
    url: str, process: subprocess.Popen, within_seconds: float = UP_WITHIN_SECONDS
) -> bool:
    """Once the webserver at `url` answers, record it (and its process) in the Dagster home;
    False when the process ended or never answered in time. Whoever started it removes the
    record when it stops (a record whose process has gone is ignored anyway)."""
    from keeptrusts_pipelines.lake.files import atomic_path
    from keeptrusts_pipelines.settings import webserver_record_path

    deadline = time.monotonic() + within_seconds
    while process.poll() is None and time.monotonic() < deadline:
        if _workspace_loaded(url):
            # Whole or not at all, for a kt reading it meanwhile.
            with atomic_path(webserver_record_path()) as staging:
                staging.write_text(json.dumps({"url": url, "pid": process.pid}))
            return True
        time.sleep(1)
    return False


def _workspace_loaded(url: str) -> bool:
    """Whether the webserver answers with its code locations loaded, without error: it answers
    before they are, and refuses runs of a location still loading or failed to load."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": LOCATIONS_LOADED}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            workspace = json.load(answer)["data"]["workspaceOrError"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    entries = workspace.get("locationEntries") or []
    # A location that failed to load is LOADED too, with an error instead of its jobs.
    return bool(entries) and all(
        entry["loadStatus"] == "LOADED"
        and (entry.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
        for entry in entries
    )


def forget_webserver() -> None:
    from keeptrusts_pipelines.settings import webserver_record_path

    webserver_record_path().unlink(missing_ok=True)


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start `dagster dev` (web UI + daemon) with this project's workspace and instance."""
    from keeptrusts_pipelines.defs.instance import prepare_dagster_home
    from keeptrusts_pipelines.defs.instance_templates import PROJECT_ROOT

    home = prepare_dagster_home()
    # Ctrl-C (SIGINT) stops the UI even when kt was started from a script in the background,
    # where SIGINT arrives ignored: dagster dev inherits the default and shuts down cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
    if host in LOOPBACK:
        threading.Thread(
            target=record_webserver_when_up, args=(graphql_url(port), process), daemon=True
        ).start()
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = process.wait()
    finally:
        forget_webserver()
    raise typer.Exit(code)
