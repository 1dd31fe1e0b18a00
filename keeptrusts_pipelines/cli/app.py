"""`kt`: the command line of keeptrusts-pipelines."""

import typer

from keeptrusts_pipelines.cli import custody, demo, export, lake, s3, serve, token, ui, verify

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
# The seeds' other spelling of the same jobs: `kt export-jobs create|get|download`.
export_jobs = typer.Typer(help="Export jobs (same as kt export).", no_args_is_help=True)
export_jobs.command("create")(export.create)
export_jobs.command("get")(export.status)
export_jobs.command("download")(export.download)
export_jobs.command("list")(export.list_command)
app.add_typer(export_jobs, name="export-jobs")
app.add_typer(custody.app, name="custody")
app.command("verify")(verify.verify)
app.add_typer(s3.app, name="s3")
app.command("ui")(ui.ui)
app.command("serve")(serve.serve)
app.add_typer(token.app, name="token")


def main() -> None:
    app()
