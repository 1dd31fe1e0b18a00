"""`kt serve`: the API and the Exports page (FastAPI under uvicorn), with the Dagster daemon
(run queue, schedules, sensors, run monitoring) and webserver, all on the instance under
KEEPTRUSTS_HOME.

The webserver listens on loopback only and is recorded in the Dagster home as `kt ui` records
its own, so the API's exports go through its GraphQL API into the instance's run queue and the
daemon launches them, at most as many at once as dagster.yaml allows. `--with-ui` announces it
(on --ui-port); otherwise it takes a free port. With `--no-daemon` neither is started: exports
go to KEEPTRUSTS_DAGSTER_URL when set (a deployment's webserver), else to detached workers on
the local instance. The Dagster UI has no authentication: keep it internal, behind the
deployment's auth proxy.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.output import fail, say


class QuietAccessLog(logging.Filter):
    """Access log lines without query strings (and uvicorn logs no bodies)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            arguments = list(record.args)
            arguments[2] = str(arguments[2]).split("?", 1)[0]
            record.args = tuple(arguments)
        return True


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _console_script(name: str) -> str:
    """Dagster's command `name`, installed beside this Python (its public entry point)."""
    return str(Path(sys.executable).with_name(name))


def _start_dagster(ui_port: int) -> tuple[subprocess.Popen, subprocess.Popen]:
    """The daemon and the webserver (loopback, `ui_port`) on the instance: (daemon, webserver)."""
    from keeptrusts_pipelines.defs.instance import home_with_storage
    from keeptrusts_pipelines.defs.instance_templates import PROJECT_ROOT

    home = home_with_storage()
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    commands = [
        [_console_script("dagster-daemon"), "run", "-w", workspace],
        [_console_script("dagster-webserver"), "-w", workspace,
         "-h", "127.0.0.1", "-p", str(ui_port)],
    ]  # fmt: skip
    # From the Dagster home, so the project's template dagster.yaml is not mistaken for it.
    daemon, webserver = (
        subprocess.Popen(command, cwd=home, env=os.environ.copy()) for command in commands
    )
    return daemon, webserver


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and the Exports page.")] = 8080,
    with_ui: Annotated[
        bool,
        typer.Option("--with-ui", help="Announce the Dagster webserver (internal) on --ui-port."),
    ] = False,
    ui_port: Annotated[
        int, typer.Option(help="Port of the Dagster webserver with --with-ui (loopback).")
    ] = 3000,
    daemon: Annotated[
        bool,
        typer.Option(
            help="Start the Dagster daemon and webserver (run queue, schedules, sensors, "
            "monitoring); without them exports go to KEEPTRUSTS_DAGSTER_URL or local workers."
        ),
    ] = True,
    workers: Annotated[int, typer.Option(help="Threads for blocking work.", min=4)] = 40,
) -> None:
    """Serve the API (/v1, OpenAPI at /docs) and the Exports page at /."""
    import anyio.to_thread
    import uvicorn

    from keeptrusts_pipelines.api.app import create_app
    from keeptrusts_pipelines.cli.ui import forget_webserver, graphql_url, record_webserver_when_up
    from keeptrusts_pipelines.errors import KeeptrustsError
    from keeptrusts_pipelines.settings import recorded_webserver

    children: list[subprocess.Popen] = []
    if daemon:
        if recorded_webserver():
            fail(
                f"a Dagster webserver already runs on this home ({recorded_webserver()}, "
                "kt ui or kt serve); stop it, or start kt serve --no-daemon to use it"
            )
        webserver_port = ui_port if with_ui else _free_loopback_port()
        children = list(_start_dagster(webserver_port))
        # The API's runs are chosen once the webserver answers: its run queue, not workers.
        if not record_webserver_when_up(graphql_url(webserver_port), children[1]):
            _stop(children)
            fail(
                f"the Dagster webserver on 127.0.0.1:{webserver_port} did not start; see its "
                "log above (a port in use: pick another --ui-port)"
            )
    try:
        try:
            application = create_app()
        except KeeptrustsError as error:
            fail(str(error))
        logging.getLogger("uvicorn.access").addFilter(QuietAccessLog())
        say(f"Exports page and API: http://{host}:{port}/ (OpenAPI: /docs)")
        if daemon and with_ui:
            say(
                f"Dagster UI (internal; keep it behind your auth proxy): http://127.0.0.1:{ui_port}"
            )

        async def limit_threads() -> None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = workers

        config = uvicorn.Config(
            application, host=host, port=port, proxy_headers=False, server_header=False,
            log_level="info", timeout_graceful_shutdown=5,
        )  # fmt: skip
        server = uvicorn.Server(config)
        import asyncio

        async def main() -> None:
            await limit_threads()
            await server.serve()

        # uvicorn shuts down on SIGTERM, then raises it again: as an exit, so the webserver's
        # record and the children are cleaned up below rather than left behind.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        asyncio.run(main())
    finally:
        if children:
            forget_webserver()
            _stop(children)
