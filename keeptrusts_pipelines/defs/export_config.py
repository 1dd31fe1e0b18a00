"""The Launchpad's form of an export request: export_artifact's run config.

Its request fields are made from the request's definition (`ExportRequest`'s field metadata):
their names, descriptions and pick-lists; delivery and the stored request's sha256 are the
run's own. Run config written by kt, the inbox and schedules (`export_run_config`) fills the
same fields.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field, create_model

from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.model.export_request import (
    PLAIN,
    ExportRequest,
    nest,
    request_from_fields,
)
from keeptrusts_pipelines.model.request_spelling import Kind, Spelling

# Days a Launchpad run covers when it names no window: the last full week of closed days.
DEFAULT_WINDOW_DAYS = 7


def _choices(name: str, values: Iterable[str]) -> type[enum.Enum]:
    """A Launchpad pick-list of `values`; request_from_fields still validates what is picked."""
    return enum.Enum(name, {value: value for value in values}, type=str)


def _value(choice: object) -> object:
    return choice.value if isinstance(choice, enum.Enum) else choice


def default_window(today: datetime) -> tuple[str, str]:
    """The last DEFAULT_WINDOW_DAYS closed UTC days, ends included."""
    day = today.astimezone(UTC).date()
    return (
        (day - timedelta(days=DEFAULT_WINDOW_DAYS)).isoformat(),
        (day - timedelta(days=1)).isoformat(),
    )


# The Launchpad shows these; they are the dates of the day the code location loaded.
LOADED_WINDOW = default_window(datetime.now(UTC))
PREFILLED = {"from": LOADED_WINDOW[0], "to": LOADED_WINDOW[1]}


def _config_field(spelling: Spelling) -> tuple[Any, Any]:
    """(type, pydantic Field) of a request field on the Launchpad: a pick-list where the
    definition has one (read when the code location loads: a catalog added to
    KEEPTRUSTS_FRAMEWORKS_DIR is a choice after the next reload), lists default to empty."""
    choices = _choices(spelling.choices[0], spelling.choice_values()) if spelling.choices else None
    description = spelling.launchpad_text()
    if spelling.kind is Kind.VALUES:
        return list[choices or str], Field(default=[], description=description)  # type: ignore[valid-type]
    if spelling.kind is Kind.SWITCH:
        return bool, Field(default=bool(spelling.default), description=description)
    default = PREFILLED.get(spelling.key, spelling.default)
    if choices is not None and default is not None:
        return choices, Field(default=choices(default), description=description)
    return (choices or str) | None, Field(default=default, description=description)


RequestConfig: Any = create_model(  # type: ignore[call-overload]
    "RequestConfig",
    __base__=dg.Config,
    **{spelling.field: _config_field(spelling) for spelling in PLAIN},
)


class ExportConfig(RequestConfig):
    """An export request. Windows are dates or RFC 3339 times, ends included."""

    deliver_to: str | None = Field(
        default=None,
        description="Deliver the artifact to this target: s3://bucket/prefix?region=REGION "
        "(AWS, MinIO, R2; the region is AWS_REGION's when the URL has none).",
    )
    deliver: bool = Field(
        default=True,
        description="Without deliver_to: deliver to the destination saved by kt s3 configure, "
        "if any. False keeps the export local.",
    )
    request_sha256: str | None = Field(
        default=None,
        description="Set by kt and the inbox: the request is the export's request.json with this "
        "sha256 (user ids stay there, out of the run storage); the fields above describe it.",
    )

    def request(self, now: datetime, folder: ExportFolder) -> ExportRequest:
        """The validated request; raises ExportRequestError naming the field."""
        if self.request_sha256:
            return request_from_fields(folder.stored_request(self.request_sha256), now)
        given = {spelling.key: getattr(self, spelling.field) for spelling in PLAIN}
        chosen = {
            key: [_value(v) for v in value] if isinstance(value, list) else _value(value)
            for key, value in given.items()
        }
        if chosen["last"] is not None and (chosen["from"], chosen["to"]) == LOADED_WINDOW:
            chosen["from"] = chosen["to"] = None  # the prefilled window yields to a quick range
        if chosen["from"] is None and chosen["to"] is None and chosen["last"] is None:
            chosen["from"], chosen["to"] = default_window(now)
        # An empty pick (no filter values) is no filter.
        chosen = {key: value for key, value in chosen.items() if value != []}
        return request_from_fields(nest(chosen), now)
