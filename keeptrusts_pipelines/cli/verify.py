"""`kt verify PATH`: prove a bundle or an artifact complete and untouched."""

from pathlib import Path
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.evidence.provenance import public_key
from keeptrusts_pipelines.evidence.verify import verify as verify_evidence
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.settings import custody_url, lake_root


def verify(
    path: Annotated[Path, typer.Argument(help="A compliance-all .tar.gz, or an export artifact.")],
    public_key_path: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="Ed25519 public key (PEM) the provenance is signed with."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Check fixity, manifest, provenance and the lake's data versions; name every difference."""
    try:
        key = public_key(public_key_path) if public_key_path else None
    except (OSError, ValueError, ConfigurationError) as error:
        fail(f"--public-key {public_key_path}: {error}", code=2)
    result = verify_evidence(path, key, LakeLayout(lake_root()))
    if path.is_file():
        CustodyLedger(custody_url()).append(
            "verified",
            result.export_id or "",
            actor="kt verify",
            artifact_sha256=sha256_of(path),
            detail={"ok": result.ok, "findings": len(result.findings)},
        )
    if as_json:
        emit_json(
            {
                "path": result.path,
                "ok": result.ok,
                "findings": [finding.__dict__ for finding in result.findings],
                "checked": result.checked,
                "notes": result.notes,
            }
        )
    elif result.ok:
        say(f"[green]✓[/green] OK {path.name}: " + "; ".join(result.checked))
        for note in result.notes:
            say(f"  note: {note}")
    else:
        for finding in result.findings:
            say(f"[red]✗[/red] {finding}")
    if not result.ok:
        raise typer.Exit(1)
