"""`kt custody`: the hash-chained ledger of export actions.

The ledger's libraries load inside each command, so other kt commands start without them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, errors, fail, say
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.settings import Settings, custody_url

if TYPE_CHECKING:
    from keeptrusts_pipelines.custody.ledger import ChainReport, CustodyLedger

app = typer.Typer(help="Check and read the custody ledger of export actions.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object for machines.")]
PublicKey = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="Ed25519 public key (PEM): every checkpoint must be signed with it.",
    ),
]


def _open(create: bool) -> CustodyLedger:
    from keeptrusts_pipelines.custody.ledger import CustodyLedger, LedgerError

    try:
        return CustodyLedger(custody_url(), create=create)
    except ConfigurationError as error:
        fail(str(error), code=2)
    except LedgerError as error:
        fail(str(error))


@app.command("verify")
def verify(public_key_path: PublicKey = None, as_json: JsonFlag = False) -> None:
    """Walk the chain, and check it still holds every head a checkpoint or statement records."""
    from keeptrusts_pipelines.custody.checkpoints import check_anchors, find_anchors
    from keeptrusts_pipelines.custody.ledger import LedgerError
    from keeptrusts_pipelines.evidence.provenance import public_key

    try:
        key = public_key(public_key_path) if public_key_path else None
    except (OSError, ValueError, ConfigurationError) as error:
        fail(f"--public-key {public_key_path}: {error}", code=2)
    # Nothing is created: a missing database or table is reported, not made anew and empty.
    ledger = _open(create=False)
    report: ChainReport | None = None
    findings: list[str] = []
    try:
        report = ledger.verify()
    except LedgerError as error:
        findings.append(str(error))
    if report is not None and not report.intact:
        findings.append(
            f"custody ledger broken at sequence {report.first_bad_sequence}: {report.problem} "
            f"({report.entries} entries before it verify)"
        )
    home = Settings.from_environment().home
    anchors = check_anchors(ledger if report is not None else None, find_anchors(home, key=key))
    findings.extend(anchors.findings)
    ledger.close()
    if as_json:
        emit_json(
            {
                "intact": not findings,
                "ledger": ledger.url,
                "entries": report.entries if report else None,
                "head": report.head if report else None,
                "first_bad_sequence": report.first_bad_sequence if report else None,
                "problem": report.problem if report else None,
                **anchors.as_dict(),
                "findings": findings,
            }
        )
    elif not findings and report is not None:
        checked = len(anchors.anchors)
        newest = f" (newest: sequence {anchors.newest.sequence})" if anchors.newest else ""
        say(
            f"[green]✓[/green] Custody ledger intact: {report.entries} entries, head "
            f"{report.head}, {checked} anchor{'' if checked == 1 else 's'} checked{newest}"
        )
        for note in anchors.notes:
            say(f"  note: {escape(note)}")
    else:
        for finding in findings:
            errors.print(f"[red]✗[/red] {escape(finding)}", highlight=False, soft_wrap=True)
        for note in anchors.notes:
            errors.print(f"  note: {escape(note)}", highlight=False, soft_wrap=True)
    if findings:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint(as_json: JsonFlag = False) -> None:
    """Record the ledger's head now in a checkpoint file (signed with KEEPTRUSTS_SIGNING_KEY)."""
    from keeptrusts_pipelines.custody.checkpoints import CheckpointError, write_checkpoint
    from keeptrusts_pipelines.custody.ledger import LedgerError

    ledger = _open(create=False)
    try:
        settings = Settings.from_environment()
        written = write_checkpoint(ledger, settings.home, settings.signing_key)
    except ConfigurationError as error:
        fail(str(error), code=2)
    except (LedgerError, CheckpointError) as error:
        fail(str(error))
    finally:
        ledger.close()
    if as_json:
        emit_json(
            None
            if written is None
            else {
                "path": str(written.path),
                "sequence": written.sequence,
                "entry_hash": written.entry_hash,
                "recorded_at": written.recorded_at,
            }
        )
    elif written is None:
        say("The custody ledger is empty: there is no head to anchor yet.")
    else:
        where = escape(str(written.path))
        say(f"[green]✓[/green] Checkpoint of sequence {written.sequence}: {where}")


@app.command("log")
def log(
    export_id: Annotated[
        str | None, typer.Option("--id", help="Only the entries of this export.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The ledger's entries, oldest first."""
    from keeptrusts_pipelines.custody.ledger import LedgerError

    try:
        entries = list(_open(create=False).entries(export_id))
    except LedgerError as error:
        fail(str(error))
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
