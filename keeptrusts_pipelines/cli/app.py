"""`kt`: the command line of keeptrusts-pipelines.

Each command's module is imported only when that command runs, so `kt --help` and a quick
`kt export status` do not pay for Dagster, Polars, DuckDB or weasyprint up front.
"""

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup
from typer.main import get_command


class Entry(NamedTuple):
    module: str  # under keeptrusts_pipelines.cli
    attribute: str  # a typer.Typer (a group of commands) or a command function
    help: str


COMMANDS = {
    "demo": Entry("demo", "demo", "Build the demo lake, a sample export and a quarter's bundle."),
    "lake": Entry("lake", "app", "Fill and inspect the daily-partitioned lake."),
    "export": Entry("export", "app", "Create, follow, download and delete evidence exports."),
    "export-jobs": Entry("export", "jobs_app", "Export jobs (same as kt export)."),
    "custody": Entry("custody", "app", "Check and read the custody ledger of export actions."),
    "redaction": Entry("redaction", "app", "Look up what a redacted export's aliases stand for."),
    "verify": Entry("verify", "verify", "Check a bundle or an artifact: fixity, provenance, lake."),
    "s3": Entry("s3", "app", "S3-compatible storage for evidence delivery."),
    "ui": Entry("ui", "ui", "The Dagster UI and daemon on this project's instance."),
    "serve": Entry("serve", "serve", "Serve the API (/v1) and the Exports page."),
    "token": Entry("token", "app", "API tokens and their roles (admin, compliance, auditor)."),
}


def _use_format_sources() -> None:
    """Hand the format registry the plug-ins and catalogs this environment names, before a
    command loads: its help lists the formats."""
    from keeptrusts_pipelines.errors import ConfigurationError
    from keeptrusts_pipelines.exports.formats import FormatSources, use_format_sources
    from keeptrusts_pipelines.settings import formats_modules, frameworks_dir

    try:
        use_format_sources(FormatSources(formats_modules(), frameworks_dir()))
    except ConfigurationError as error:
        from keeptrusts_pipelines.cli.output import fail

        fail(str(error), code=2)


def _load(name: str, entry: Entry) -> Any:
    """The click command of one entry, built by typer as if it were registered up front."""
    module = importlib.import_module(f"keeptrusts_pipelines.cli.{entry.module}")
    target = getattr(module, entry.attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
        holder.callback()(lambda: None)  # a group of one, so the command keeps its name
    return get_command(holder).commands[name]


class LazyCommands(TyperGroup):
    """The top level of kt: names and one-line help known up front, commands loaded on use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        _use_format_sources()
        return _load(cmd_name, entry)

    def invoke(self, ctx: Any) -> Any:
        # An error the project raises on purpose (a setting, a URL) is one line wherever it
        # surfaces, as each command's own handling makes it.
        from keeptrusts_pipelines.errors import KeeptrustsError

        try:
            return super().invoke(ctx)
        except KeeptrustsError as error:
            from keeptrusts_pipelines.cli.output import fail

            fail(str(error))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # Plain help: the rich one would load every command to ask for its help.
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_options(ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])


app = typer.Typer(
    cls=LazyCommands,
    name="kt",
    help="Turn AI gateway decision events into audit-ready compliance evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def kt() -> None:
    """Turn AI gateway decision events into audit-ready compliance evidence."""


def main() -> None:
    app()
