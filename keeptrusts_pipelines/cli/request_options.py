"""kt's options of an export request, made once from the request's definition
(`ExportRequest`'s field metadata) for every command that takes a request.

`@request_options()` puts the request's options in front of a command's own and hands the
command the validated `ExportRequest` as its `request` argument.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from keeptrusts_pipelines.cli.output import fail
from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.model.export_request import (
    SPELLED,
    ExportRequest,
    nest,
    request_from_fields,
)
from keeptrusts_pipelines.model.request_spelling import Kind, Spelling


def _option_type(spelling: Spelling) -> Any:
    """The Python type typer reads for a field's option."""
    if spelling.kind is Kind.VALUES:
        return list[str] | None
    if spelling.kind is Kind.SWITCH:
        return bool
    return str if spelling.default is not None else str | None


def option_parameters(preview: bool = False) -> list[inspect.Parameter]:
    """The request's options as keyword parameters, in the definition's order; with `preview`,
    only those that decide which records there are."""
    return [
        inspect.Parameter(
            spelling.parameter,
            inspect.Parameter.KEYWORD_ONLY,
            default=spelling.default,
            annotation=Annotated[
                _option_type(spelling), typer.Option(*spelling.flags, help=spelling.help_text())
            ],
        )
        for spelling in SPELLED
        if spelling.in_preview or not preview
    ]


def request_from_options(options: dict[str, Any]) -> ExportRequest:
    """The validated request of kt's options (keyed by parameter name)."""
    given = {spelling.key: options.get(spelling.parameter) for spelling in SPELLED}
    start_field, end_field = "from", "to"
    # `--date-from/--date-to` stand for `--from/--to`: either pair, not both.
    seconds = [spelling for spelling in SPELLED if spelling.same_as]
    if any(given[second.key] for second in seconds):
        named = {second.same_as for second in seconds}
        firsts = [spelling for spelling in SPELLED if spelling.key in named]
        if any(given[first.key] for first in firsts):
            raise ExportRequestError(
                firsts[0].key,
                f"give {'/'.join(first.flags[0] for first in firsts)} or "
                f"{'/'.join(second.flags[0] for second in seconds)}, not both",
            )
        given.update((second.same_as, given[second.key]) for second in seconds)
        start_field, end_field = (second.flags[0].removeprefix("--") for second in seconds)
    # `--last` ends now, to the second: the window reads the same in every record.
    now = datetime.now(UTC).replace(microsecond=0)
    return request_from_fields(nest(given), now, start_field, end_field)


def request_options(preview: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command the request's options (see `option_parameters`) before its own; it is
    called with the validated request as `request` (a bad request: one line, exit code 2)."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = inspect.signature(command, eval_str=True)
        names = {spelling.parameter for spelling in SPELLED}

        @functools.wraps(command)
        def with_request(**options: Any) -> Any:
            request_values = {name: options.pop(name) for name in list(options) if name in names}
            try:
                request = request_from_options(request_values)
            except ExportRequestError as error:
                fail(str(error), code=2)
            return command(request=request, **options)

        parameters = option_parameters(preview) + [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for parameter in own.parameters.values()
            if parameter.name != "request"
        ]
        with_request.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        with_request.__annotations__ = {
            parameter.name: parameter.annotation for parameter in parameters
        } | {"return": own.return_annotation}
        del with_request.__wrapped__  # typer reads the signature above, not the command's
        return with_request

    return decorate
