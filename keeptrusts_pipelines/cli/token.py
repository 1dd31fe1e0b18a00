"""`kt token`: API tokens for `kt serve` (create prints the token once; list; revoke)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from keeptrusts_pipelines.cli.output import console, emit_json, fail, say

app = typer.Typer(help="API tokens and their roles (admin, compliance, auditor).",
                  no_args_is_help=True)  # fmt: skip
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object for machines.")]


def _store():
    from keeptrusts_pipelines.api.tokens import TokenStore
    from keeptrusts_pipelines.settings import custody_url

    return TokenStore(custody_url())


def _ledger():
    from keeptrusts_pipelines.custody.ledger import CustodyLedger
    from keeptrusts_pipelines.settings import custody_url

    return CustodyLedger(custody_url())


def _actor() -> str:
    import getpass

    return f"kt:{getpass.getuser()}"


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who holds it; the ledger's actor.")],
    role: Annotated[str, typer.Option("--role", help="admin, compliance or auditor.")],
    expires: Annotated[
        str, typer.Option("--expires", help="Lifetime: 90d, 12h, … or never.")
    ] = "90d",
    as_json: JsonFlag = False,
) -> None:
    """Create a token and print it once: only its SHA-256 hash is kept."""
    from keeptrusts_pipelines.api.tokens import TokenError, parse_expiry

    try:
        token, plain = _store().create(name, role, parse_expiry(expires))
    except TokenError as error:
        fail(f"--{error.field} {str(error).split(': ', 1)[-1]}", code=2)
    _ledger().append("token_created", "", actor=_actor(), detail={"name": name, "role": role})
    if as_json:
        emit_json({**token.as_dict(datetime.now(UTC)), "token": plain})
        return
    say(f"[green]✓[/green] Token {name} ({role}) created; expires {token.expires_at or 'never'}")
    say("Shown once; keep it secret:")
    say(plain)


@app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """Every token: name, role, created, expires, state (never the token itself)."""
    now = datetime.now(UTC)
    tokens = [token.as_dict(now) for token in _store().list()]
    if as_json:
        emit_json(tokens)
        return
    table = Table(box=None, header_style="bold")
    for heading in ("Name", "Role", "Created", "Expires", "State"):
        table.add_column(heading)
    for token in tokens:
        table.add_row(token["name"], token["role"], token["created_at"],
                      token["expires_at"] or "never", token["state"])  # fmt: skip
    console.print(table)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Option("--name", help="The token's name.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: the API refuses it from now on."""
    from keeptrusts_pipelines.api.tokens import TokenError

    try:
        token = _store().revoke(name)
    except TokenError as error:
        fail(f"--name {str(error).split(': ', 1)[-1]}", code=2)
    _ledger().append("token_revoked", "", actor=_actor(), detail={"name": name})
    if as_json:
        emit_json(token.as_dict(datetime.now(UTC)))
    else:
        say(f"[green]✓[/green] Token {name} revoked")
