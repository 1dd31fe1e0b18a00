"""`kt custody`: the hash-chained ledger of export actions."""

from typing import Annotated

import typer
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, fail, say
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.settings import custody_url

app = typer.Typer(help="Check and read the custody ledger of export actions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object for machines.")]


@app.command("verify")
def verify(as_json: JsonFlag = False) -> None:
    """Walk the chain: every entry's hash and its link to the one before."""
    report = CustodyLedger(custody_url()).verify()
    if as_json:
        emit_json(
            {
                "intact": report.intact,
                "entries": report.entries,
                "head": report.head,
                "first_bad_sequence": report.first_bad_sequence,
                "problem": report.problem,
            }
        )
    elif report.intact:
        say(f"[green]✓[/green] Custody ledger intact: {report.entries} entries, head {report.head}")
    if not report.intact:
        if not as_json:
            fail(
                f"custody ledger broken at sequence {report.first_bad_sequence}: {report.problem} "
                f"({report.entries} entries before it verify)"
            )
        raise typer.Exit(1)


@app.command("log")
def log(
    export_id: Annotated[
        str | None, typer.Option("--id", help="Only the entries of this export.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The ledger's entries, oldest first."""
    entries = list(CustodyLedger(custody_url()).entries(export_id))
    if as_json:
        emit_json([entry.__dict__ for entry in entries])
        return
    table = Table("Seq", "Time", "Action", "Export", "Actor", "SHA-256", box=None)
    for entry in entries:
        table.add_row(
            str(entry.sequence),
            entry.recorded_at,
            entry.action,
            entry.export_id,
            entry.actor,
            entry.artifact_sha256[:16],
        )
    console.print(table)
