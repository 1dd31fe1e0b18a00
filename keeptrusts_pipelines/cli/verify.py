"""`kt verify PATH`: prove a bundle or an artifact complete and untouched."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from keeptrusts_pipelines.cli.output import emit_json, fail, say
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.settings import Settings


def verify(
    path: Annotated[Path, typer.Argument(help="A compliance-all .tar.gz, or an export artifact.")],
    public_key_path: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Ed25519 public key (PEM) the provenance must be signed with: "
            "a missing, unsigned or otherwise signed statement then fails.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Check fixity, manifest, provenance and the lake's data versions; name every difference."""
    # Loaded here: the other kt commands start without the verifier's libraries.
    from keeptrusts_pipelines.custody.ledger import CustodyLedger
    from keeptrusts_pipelines.evidence.provenance import public_key
    from keeptrusts_pipelines.evidence.verify import UnpackLimits
    from keeptrusts_pipelines.evidence.verify import verify as verify_evidence
    from keeptrusts_pipelines.lake.location import open_lake

    try:
        key = public_key(public_key_path) if public_key_path else None
    except ConfigurationError as error:
        fail(escape(f"--public-key: {error}"), code=2)
    try:
        settings = Settings.from_environment()
    except ConfigurationError as error:
        fail(escape(str(error)), code=2)
    limits = UnpackLimits(total_bytes=settings.verify_max_bytes)
    try:
        result = verify_evidence(path, key, open_lake(settings.lake_url), limits=limits)
    except Exception as error:  # fail safe: whatever went wrong, the evidence is not proven
        fail(escape(f"{path.name}: could not be verified ({type(error).__name__}: {error})"))
    if result.sha256:
        CustodyLedger(settings.custody_url).append(
            "verified",
            result.export_id or "",
            actor="kt verify",
            artifact_sha256=result.sha256,
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
        say(f"[green]✓[/green] OK {escape(path.name)}: " + escape("; ".join(result.checked)))
        for note in result.notes:
            say(f"  note: {escape(note)}")
    else:
        for finding in result.findings:
            say(f"[red]✗[/red] {escape(str(finding))}")
    if not result.ok:
        raise typer.Exit(1)
