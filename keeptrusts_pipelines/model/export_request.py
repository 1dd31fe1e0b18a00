"""An export request: what to export, over which window, filtered how, in which format.

Validated at the edge (the CLI, the Dagster run config, request files); the engine trusts it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.model.schema import ACTIONS, RESULTS, SEVERITIES

EXPORT_TYPES = ("events", "escalations", "config-history", "conversations")
TABULAR_FORMATS = ("csv", "json", "jsonl", "parquet")
# Reports over the events of a window; `compliance-<framework>` names a control catalog.
REPORT_FORMATS = (
    "pdf",
    "transcript-pdf",
    "compliance-aesia",
    "compliance-aepd",
    "compliance-ens",
    "compliance-all",
)
# How help texts list the formats.
FORMATS_HELP = (
    "csv, json, jsonl, parquet; pdf, transcript-pdf; compliance-aesia, compliance-aepd, "
    "compliance-ens (or another catalog's compliance-<name>), compliance-all."
)
_FRAMEWORK_FORMAT = re.compile(r"^compliance-[a-z0-9][a-z0-9-]*$")
QUICK_RANGES = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}

# Which filters make sense for each export type (a filter on a field the type lacks is an error).
EVENT_FILTERS = (
    "policy",
    "action",
    "result",
    "gateway",
    "consumer_group",
    "team",
    "user",
    "model",
    "min_severity",
)
FILTERS_BY_TYPE = {
    "events": EVENT_FILTERS,
    "conversations": EVENT_FILTERS,
    "escalations": ("min_severity",),
    "config-history": ("gateway",),
}


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last UTC day the window touches."""
        return (self.end - timedelta(microseconds=1)).date()

    def days(self) -> list[date]:
        return [
            self.first_day + timedelta(days=n)
            for n in range((self.last_day - self.first_day).days + 1)
        ]

    def as_dict(self) -> dict[str, str]:
        return {"from": rfc3339(self.start), "to": rfc3339(self.end)}

    def describe(self) -> str:
        """`2026-05-01 → 2026-05-31` for whole days, else RFC 3339 times, ends included."""
        start = rfc3339(self.start)
        whole_days = start.endswith("T00:00:00Z") and len(self.inclusive_end()) == 10
        return f"{start[:10] if whole_days else start} → {self.inclusive_end()}"

    def inclusive_end(self) -> str:
        """The end as `--to` takes it: the last whole day, or the last moment, inside."""
        if self.end == datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC):
            return (self.end - timedelta(days=1)).date().isoformat()
        step = timedelta(seconds=1) if self.end.microsecond == 0 else timedelta(microseconds=1)
        return rfc3339(self.end - step)


@dataclass(frozen=True)
class Filters:
    """Each filter is OR within its values, AND across filters; empty means no filter."""

    policy: tuple[str, ...] = ()
    action: tuple[str, ...] = ()
    result: tuple[str, ...] = ()
    gateway: tuple[str, ...] = ()
    consumer_group: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    min_severity: str | None = None

    def active(self) -> dict[str, object]:
        """The filters that restrict something, as plain values (for metadata and headers)."""
        return {
            name: list(v) if isinstance(v, tuple) else v for name, v in asdict(self).items() if v
        }


@dataclass(frozen=True)
class ExportRequest:
    window: Window
    format: str = "csv"
    export_type: str = "events"
    filters: Filters = field(default_factory=Filters)
    name: str | None = None
    title: str | None = None
    description: str | None = None
    raw_content: bool = False

    def describe(self) -> dict[str, object]:
        """The request as plain JSON-able values."""
        return {
            "type": self.export_type,
            "format": self.format,
            "window": self.window.as_dict(),
            "filters": self.filters.active(),
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "content": "raw" if self.raw_content else "redacted",
        }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_moment(text: str, field_name: str, is_end: bool) -> datetime:
    """A date or RFC 3339 time; as an end, a date covers its whole day, a time its whole second."""
    text = text.strip()
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if is_end else start
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExportRequestError(
            field_name,
            f"{text!r} is neither a date nor an RFC 3339 time; "
            "use 2026-05-01 or 2026-05-01T00:00:00Z",
        ) from None
    if moment.tzinfo is None:
        raise ExportRequestError(
            field_name, f"{text!r} has no time zone; add Z for UTC, e.g. {text}Z"
        )
    moment = moment.astimezone(UTC)
    if is_end:
        moment += timedelta(seconds=1) if moment.microsecond == 0 else timedelta(microseconds=1)
    return moment


def build_window(
    start: str | None,
    end: str | None,
    last: str | None,
    now: datetime,
    start_field: str = "from",
    end_field: str = "to",
) -> Window:
    """The window of `--from/--to` (inclusive ends) or of `--last 24h|7d|30d|90d` ending now."""
    if last is not None:
        if start is not None or end is not None:
            raise ExportRequestError(
                "last", f"give either --last or --{start_field}/--{end_field}, not both"
            )
        if last not in QUICK_RANGES:
            raise ExportRequestError(
                "last", f"{last!r} is not a quick range; use one of {', '.join(QUICK_RANGES)}"
            )
        return Window(now - QUICK_RANGES[last], now)
    if start is None or end is None:
        missing = start_field if start is None else end_field
        raise ExportRequestError(
            missing, f"missing; give --{start_field} and --{end_field}, or --last 7d"
        )
    window = Window(parse_moment(start, start_field, False), parse_moment(end, end_field, True))
    if window.start >= window.end:
        raise ExportRequestError(
            start_field,
            f"{start} is after --{end_field} {end}; "
            "the window must start before it ends (swap them)",
        )
    return window


def _check_values(field_name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise ExportRequestError(
                f"filter {field_name}", f"unknown value {value!r}; use one of {', '.join(allowed)}"
            )


def validate(request: ExportRequest) -> ExportRequest:
    """Check what can be checked without the lake; raise ExportRequestError naming the field."""
    if request.export_type not in EXPORT_TYPES:
        raise ExportRequestError(
            "type", f"unknown type {request.export_type!r}; use one of {', '.join(EXPORT_TYPES)}"
        )
    formats = TABULAR_FORMATS + REPORT_FORMATS
    if request.format not in formats and not _FRAMEWORK_FORMAT.match(request.format):
        raise ExportRequestError(
            "format", f"unknown format {request.format!r}; use one of {', '.join(formats)}"
        )
    if request.format not in TABULAR_FORMATS and request.export_type != "events":
        raise ExportRequestError(
            "type",
            f"{request.format} reports cover decision events; use --type events (the default)",
        )
    filters = request.filters
    _check_values("action", filters.action, ACTIONS)
    _check_values("result", filters.result, RESULTS)
    if filters.min_severity is not None:
        _check_values("min_severity", (filters.min_severity,), SEVERITIES)
    allowed = FILTERS_BY_TYPE[request.export_type]
    for name in filters.active():
        if name not in allowed:
            raise ExportRequestError(
                f"filter {name}",
                f"does not apply to {request.export_type} exports; "
                f"filters for {request.export_type}: {', '.join(allowed)}",
            )
    return request


# The fields of a request as run config and request files hold them (`from`/`to` inclusive).
REQUEST_FIELDS = (
    "type", "format", "from", "to", "last", "filters", "name", "title", "description",
    "raw_content",
)  # fmt: skip
LIST_FILTERS = tuple(name for name in EVENT_FILTERS if name != "min_severity")


def request_from_fields(fields: Mapping[str, Any], now: datetime) -> ExportRequest:
    """A validated request from plain fields (run config, request files); errors name the field."""
    unknown = sorted(set(fields) - set(REQUEST_FIELDS))
    if unknown:
        raise ExportRequestError(
            unknown[0], f"unknown field; a request has {', '.join(REQUEST_FIELDS)}"
        )
    raw_filters = fields.get("filters") or {}
    if not isinstance(raw_filters, Mapping):
        raise ExportRequestError("filters", 'must be an object such as {"team": ["legal"]}')
    for name in raw_filters:
        if name not in EVENT_FILTERS:
            raise ExportRequestError(
                f"filter {name}", f"unknown filter; use one of {', '.join(EVENT_FILTERS)}"
            )
    lists = {}
    for name in LIST_FILTERS:
        values = raw_filters.get(name) or []
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ExportRequestError(f"filter {name}", "must be a list of strings")
        lists[name] = tuple(values)
    window = build_window(fields.get("from"), fields.get("to"), fields.get("last"), now)
    return validate(
        ExportRequest(
            window=window,
            format=str(fields.get("format") or "csv").lower(),
            export_type=str(fields.get("type") or "events"),
            filters=Filters(**lists, min_severity=raw_filters.get("min_severity") or None),
            name=fields.get("name"),
            title=fields.get("title"),
            description=fields.get("description"),
            raw_content=bool(fields.get("raw_content", False)),
        )
    )


def request_to_fields(request: ExportRequest) -> dict[str, Any]:
    """The plain fields of a request, its window resolved: the same request when read back."""
    return {
        "type": request.export_type,
        "format": request.format,
        "from": rfc3339(request.window.start),
        "to": request.window.inclusive_end(),
        "filters": request.filters.active(),
        "name": request.name,
        "title": request.title,
        "description": request.description,
        "raw_content": request.raw_content,
    }
