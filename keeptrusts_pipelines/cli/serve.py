"""`kt serve`: the API and the Exports page (FastAPI under uvicorn), with the Dagster daemon
(schedules, sensors, run monitoring) and, with --with-ui, the Dagster webserver, all on the
instance under KEEPTRUSTS_HOME.

Export runs are started by the API through the local instance (one detached worker per run,
a fixed number at a time): they are in Dagster's run history like any other. The Dagster UI
has no authentication: keep it internal, behind the deployment's auth proxy.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
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


def _children(with_ui: bool, daemon: bool, ui_port: int) -> list[subprocess.Popen]:
    from keeptrusts_pipelines.defs.instance import PROJECT_ROOT, prepare_dagster_home

    home = prepare_dagster_home()
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    commands = []
    if daemon:
        commands.append([sys.executable, "-m", "dagster._daemon", "run", "-w", workspace])
    if with_ui:
        commands.append(
            [sys.executable, "-m", "dagster_webserver", "-w", workspace,
             "-h", "127.0.0.1", "-p", str(ui_port)]
        )  # fmt: skip
    # From the Dagster home, so the project's template dagster.yaml is not mistaken for it.
    return [subprocess.Popen(command, cwd=home, env=os.environ.copy()) for command in commands]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and the Exports page.")] = 8080,
    with_ui: Annotated[
        bool, typer.Option("--with-ui", help="Also start the Dagster webserver (internal).")
    ] = False,
    ui_port: Annotated[int, typer.Option(help="Port of the Dagster webserver.")] = 3000,
    daemon: Annotated[
        bool, typer.Option(help="Start the Dagster daemon (schedules, sensors, monitoring).")
    ] = True,
    workers: Annotated[int, typer.Option(help="Threads for blocking work.", min=4)] = 40,
) -> None:
    """Serve the API (/v1, OpenAPI at /docs) and the Exports page at /."""
    import anyio.to_thread
    import uvicorn

    from keeptrusts_pipelines.api.app import create_app
    from keeptrusts_pipelines.errors import KeeptrustsError

    try:
        application = create_app()
    except KeeptrustsError as error:
        fail(str(error))
    logging.getLogger("uvicorn.access").addFilter(QuietAccessLog())
    children = _children(with_ui, daemon, ui_port)
    say(f"Exports page and API: http://{host}:{port}/ (OpenAPI: /docs)")
    if with_ui:
        say(f"Dagster UI (internal; keep it behind your auth proxy): http://127.0.0.1:{ui_port}")

    async def limit_threads() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = workers

    config = uvicorn.Config(
        application, host=host, port=port, proxy_headers=False, server_header=False,
        log_level="info", timeout_graceful_shutdown=5,
    )  # fmt: skip
    server = uvicorn.Server(config)
    try:
        import asyncio

        async def main() -> None:
            await limit_threads()
            await server.serve()

        asyncio.run(main())
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
