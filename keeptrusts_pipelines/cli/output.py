"""How `kt` speaks: rich for people, one JSON object for machines, one line per error."""

import json
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
errors = Console(stderr=True)


def say(text: str) -> None:
    """One line for people; long paths stay whole so they can be copied."""
    console.print(text, soft_wrap=True, highlight=False)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line and exit: code 2 for usage, 1 for failures."""
    errors.print(f"[red]✗[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
