"""`kt redaction reveal`: the value behind one pseudonym of an export, for a reviewer holding
the pseudonym key. Every look-up is recorded in the custody ledger, with who asked."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError

app = typer.Typer(
    help="Look up what a redacted export's pseudonyms stand for.", no_args_is_help=True
)


@app.command("reveal")
def reveal_command(
    alias: Annotated[str, typer.Option("--alias", help="The alias, as in [EMAIL:kqzmtbwd].")],
    export_id: Annotated[str, typer.Option("--id", help="The export the alias appears in.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Find the value an alias stands for, by redacting the export's window again under
    KEEPTRUSTS_PSEUDONYM_KEY; recorded in the custody ledger."""
    from keeptrusts_pipelines.custody.ledger import CustodyLedger, LedgerError
    from keeptrusts_pipelines.exports.folder import BrokenRecord, ExportFolder, check_export_id
    from keeptrusts_pipelines.exports.lifecycle import record_of
    from keeptrusts_pipelines.exports.pseudonyms import parse_marker
    from keeptrusts_pipelines.exports.reveal import RevealError, reveal
    from keeptrusts_pipelines.lake.location import open_lake
    from keeptrusts_pipelines.settings import (
        custody_url,
        exports_root,
        lake_url,
        pseudonym_key,
        redaction_rules_path,
    )

    alias = alias.strip()
    if parse_marker(alias) is None:
        shown = escape(repr(alias[:60]))
        fail(f"--alias: {shown} is not an alias; aliases look like \\[EMAIL:kqzmtbwd]", code=2)
    try:
        check_export_id(export_id, "--id")
        key = pseudonym_key()
        rules = redaction_rules_path()
    except (ExportRequestError, ConfigurationError) as error:
        fail(escape(str(error)), code=2)
    if key is None:
        fail("KEEPTRUSTS_PSEUDONYM_KEY is not set: set it to the export's pseudonym key", code=2)
    try:
        record = record_of(ExportFolder(exports_root(), export_id))
    except BrokenRecord as error:
        fail(escape(f"{export_id}: {error}"))
    if record is None or record.status != "completed":
        fail(f"{export_id}: no completed export has this id (kt export list)")
    try:
        found = reveal(alias, record, open_lake(lake_url()), key, rules)
    except RevealError as error:
        fail(escape(f"{export_id}: {error}"))
    except Exception as error:  # one line, never a traceback; the message may quote data
        fail(f"{export_id}: the look-up stopped with {type(error).__name__}")
    try:
        CustodyLedger(custody_url()).append(
            "revealed",
            export_id,
            actor=f"kt:{getpass.getuser()}",
            detail={"alias": alias, "found": found is not None},
        )
    except (ConfigurationError, LedgerError) as error:
        fail(escape(f"the look-up is not shown: the custody ledger did not record it ({error})"))
    if found is None:
        fail(escape(f"{alias}: no value of {export_id}'s window has this alias under this key"))
    if as_json:
        emit_json(
            {
                "export_id": export_id,
                "alias": alias,
                "kind": found.kind,
                "value": found.value,
                "table": found.table,
            }
        )
    else:
        say(escape(f"{alias} is {found.value} ({found.kind.lower()}, in {found.table})"))
