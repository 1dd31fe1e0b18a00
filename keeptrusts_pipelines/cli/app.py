"""`kt`: the command line of keeptrusts-pipelines."""

import typer

from keeptrusts_pipelines.cli import demo, export, lake, ui

app = typer.Typer(
    name="kt",
    help="Turn AI gateway decision events into audit-ready compliance evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo.demo)
app.add_typer(lake.app, name="lake")
app.add_typer(export.app, name="export")
app.command("ui")(ui.ui)


def main() -> None:
    app()
