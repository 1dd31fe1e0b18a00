"""An export request: what to export, over which window, filtered how, in which format.

`ExportRequest` and `Filters` are the one definition of a request's fields: their metadata
spells each field for every door (kt's options, request files, run config and the Launchpad,
run tags, deliveries.yaml, the re-create command), which derive their shapes from it.
Validated at the edge (the CLI, the Dagster run config, request files); the engine trusts it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import Field as Field_
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, create_model
from pydantic import ValidationError as PydanticValidationError

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.formats import (
    FormatKind,
    format_named,
    format_names,
    formats_help,
)
from keeptrusts_pipelines.model.request_spelling import SPELLINGS, Kind, Spelling
from keeptrusts_pipelines.model.vocabulary import ACTIONS, RESULTS, SEVERITIES, VERDICTS

EXPORT_TYPES = ("events", "escalations", "config-history", "conversations")
QUICK_RANGES = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
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


# Which export types a filter applies to, in each filter's field metadata (default: these).
APPLIES_TO = "applies_to"
ROW_TYPES = ("events", "conversations")


def _filter(
    help: str,
    launchpad: str,
    *flags: str,
    choices: tuple[str, tuple[str, ...]] | None = None,
    applies_to: tuple[str, ...] = ROW_TYPES,
) -> dict[str, object]:
    """The metadata of a filter of any number of values: its kt flags (the first is the one kt
    writes), help, Launchpad description and pick-list, and the export types it applies to."""
    spelling = Spelling(Kind.VALUES, flags, help, launchpad, choices=choices, group="filters")
    return {SPELLINGS: (spelling,), APPLIES_TO: applies_to}


@dataclass(frozen=True)
class Filters:
    """Each filter is OR within its values, AND across filters; empty means no filter.

    A field here is a filter at every door: its metadata gives kt's flags and help, the
    Launchpad's description and pick-list, and the export types it applies to."""

    policy: tuple[str, ...] = field(
        default=(),
        metadata=_filter(  # the deciding policy
            "The deciding policy.", "Deciding policy (any of).", "--filter-policy", "--policy"
        ),
    )
    evaluated_policy: tuple[str, ...] = field(
        default=(),
        metadata=_filter(  # any evaluated policy: `name` or `name:verdict`
            "Any evaluated policy: NAME, or NAME:VERDICT (pass, block, modified, escalate).",
            "Any evaluated policy: name, or name:verdict (any of).",
            "--filter-evaluated-policy",
        ),
    )
    action: tuple[str, ...] = field(
        default=(),
        metadata=_filter(
            "allow, block, redact, escalate.",
            "allow, block, redact, escalate (any of).",
            "--filter-action",
            "--filter-decision",
            choices=("Action", ACTIONS),
        ),
    )
    result: tuple[str, ...] = field(
        default=(),
        metadata=_filter(
            "passed, blocked, modified, escalated.",
            "passed, blocked, modified, escalated (any of).",
            "--filter-result",
            "--filter-verdict",
            choices=("Result", RESULTS),
        ),
    )
    environment: tuple[str, ...] = field(
        default=(),
        metadata=_filter("Environment.", "Environments (any of).", "--filter-environment"),
    )
    gateway: tuple[str, ...] = field(
        default=(),
        metadata=_filter(
            "Gateway.",
            "Gateways (any of).",
            "--filter-gateway",
            applies_to=(*ROW_TYPES, "config-history"),
        ),
    )
    consumer_group: tuple[str, ...] = field(
        default=(),
        metadata=_filter("Consumer group.", "Consumer groups (any of).", "--filter-consumer-group"),
    )
    team: tuple[str, ...] = field(
        default=(), metadata=_filter("Team.", "Teams (any of).", "--filter-team", "--team")
    )
    user: tuple[str, ...] = field(
        default=(), metadata=_filter("User.", "Users (any of).", "--filter-user")
    )
    model: tuple[str, ...] = field(
        default=(), metadata=_filter("Model.", "Models (any of).", "--filter-model")
    )
    provider: tuple[str, ...] = field(
        default=(),
        metadata=_filter("Model provider.", "Model providers (any of).", "--filter-provider"),
    )
    min_severity: str | None = field(
        default=None,
        metadata={
            SPELLINGS: (
                Spelling(
                    Kind.WORD,
                    ("--min-severity",),
                    "info, low, medium, high or critical.",
                    "info, low, medium, high or critical: this or above.",
                    choices=("Severity", SEVERITIES),
                    group="filters",
                ),
            ),
            APPLIES_TO: (*ROW_TYPES, "escalations"),
        },
    )

    def active(self) -> dict[str, object]:
        """The filters that restrict something, as plain values (for metadata and headers)."""
        return {
            name: list(v) if isinstance(v, tuple) else v for name, v in asdict(self).items() if v
        }


def _spelled(*spellings: Spelling) -> dict[str, object]:
    """The metadata of a request's field: how the doors spell it."""
    return {SPELLINGS: spellings}


def _label(flag: str, help: str, launchpad: str, max_length: int) -> dict[str, object]:
    """The metadata of a text that labels an export (it selects no records: not in preview)."""
    return _spelled(
        Spelling(Kind.TEXT, (flag,), help, launchpad, max_length=max_length, in_preview=False)
    )


# Bounds of the plain fields: a label, a title and auditors' notes, not documents; they reach
# run config, artifact names and report headers.
MAX_NAME, MAX_TITLE, MAX_DESCRIPTION = 120, 200, 4_000
MAX_FILTER_VALUE, MAX_FILTER_VALUES = 200, 100
MAX_WORD = 64  # type, format, from, to, last, min_severity


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    """An export request: the one definition of its fields. Each field's metadata spells it for
    every door (kt's options, request files, run config, the Launchpad, the re-create command);
    the order of the fields is the order in which the doors list them."""

    export_type: str = field(
        default="events",
        metadata=_spelled(
            Spelling(
                Kind.WORD,
                ("--type",),
                "events, escalations, config-history or conversations.",
                "events, escalations, config-history or conversations.",
                key="type",
                default="events",
                choices=("ExportType", EXPORT_TYPES),
                config_key="export_type",
            ),
        ),
    )
    format: str = field(
        default="csv",
        metadata=_spelled(
            Spelling(
                Kind.WORD,
                ("--format",),
                formats_help,
                formats_help,
                default="csv",
                choices=("ExportFormat", format_names),
            ),
        ),
    )
    # A window is given as from/to (ends included) or as a quick range ending now.
    window: Window = field(
        metadata=_spelled(
            Spelling(
                Kind.WORD,
                ("--from",),
                "Start: a date or RFC 3339 time (UTC).",
                "Start (2026-05-01 or 2026-05-01T00:00:00Z). Prefilled with the first of the last "
                "7 closed days as of the code location's load; null: 7 days before the run.",
                key="from",
                config_key="window_from",
            ),
            Spelling(
                Kind.WORD,
                ("--to",),
                "End, included: a date (whole day) or RFC 3339 time.",
                "End, included (a date covers its whole day). Prefilled with the last closed day "
                "as of the code location's load; null: the day before the run.",
                key="to",
                config_key="window_to",
            ),
            Spelling(
                Kind.WORD, ("--date-from",), "Same as --from.", "", key="date_from", same_as="from"
            ),
            Spelling(Kind.WORD, ("--date-to",), "Same as --to.", "", key="date_to", same_as="to"),
            Spelling(
                Kind.WORD,
                ("--last",),
                "Quick range ending now: 24h, 7d, 30d or 90d.",
                "Instead of from/to: 24h, 7d, 30d or 90d ending when it runs (replaces the "
                "prefilled window).",
                key="last",
                choices=("QuickRange", tuple(QUICK_RANGES)),
            ),
        ),
    )
    filters: Filters = field(default_factory=Filters)  # spelled by Filters' own fields
    name: str | None = field(
        default=None,
        metadata=_label(
            "--name",
            "Label; also the file name.",
            "Label; also the artifact's file name.",
            MAX_NAME,
        ),
    )
    title: str | None = field(
        default=None,
        metadata=_label("--title", "Title for reports.", "Title for reports.", MAX_TITLE),
    )
    description: str | None = field(
        default=None,
        metadata=_label(
            "--description", "Notes for auditors.", "Notes for auditors.", MAX_DESCRIPTION
        ),
    )
    raw_content: bool = field(
        default=False,
        metadata=_spelled(
            Spelling(
                Kind.SWITCH,
                ("--raw-content",),
                "Export prompts and outputs unredacted (recorded).",
                "Export prompts and outputs unredacted (recorded).",
                default=False,
                in_preview=False,
            ),
        ),
    )

    def describe(self) -> dict[str, object]:
        """The request as plain JSON-able values, as an export's record holds it: the window
        with its end excluded, and raw_content as `content`, raw or redacted."""
        described: dict[str, object] = {}
        for item in fields(self):
            if item.name == "window":
                described["window"] = self.window.as_dict()
            elif item.name == "filters":
                described["filters"] = self.filters.active()
            elif item.name == "raw_content":
                described["content"] = "raw" if self.raw_content else "redacted"
            else:
                described.update((s.key, getattr(self, item.name)) for s in _spellings(item))
        return described


def _spellings(item: Field_) -> tuple[Spelling, ...]:
    """A dataclass field's spellings, each keyed by the field's name unless it names its own."""
    return tuple(
        spelling if spelling.key else replace(spelling, key=item.name)
        for spelling in item.metadata.get(SPELLINGS, ())
    )


FILTERS = tuple(spelling for item in fields(Filters) for spelling in _spellings(item))
# Every field as kt spells it, in the doors' order: the filters where the request holds them.
SPELLED = tuple(
    spelling
    for item in fields(ExportRequest)
    for spelling in (FILTERS if item.name == "filters" else _spellings(item))
)
# The plain fields of request files, run config and the Launchpad (kt's second spellings aside).
PLAIN = tuple(spelling for spelling in SPELLED if not spelling.same_as)
EVENT_FILTERS = tuple(spelling.key for spelling in FILTERS)
LIST_FILTERS = tuple(spelling.key for spelling in FILTERS if spelling.kind is Kind.VALUES)
# Which filters make sense for each export type (a filter on a field the type lacks is an error).
FILTERS_BY_TYPE = {
    export_type: tuple(
        item.name for item in fields(Filters) if export_type in item.metadata[APPLIES_TO]
    )
    for export_type in EXPORT_TYPES
}
# The fields of a request as run config and request files hold them (`from`/`to` inclusive).
REQUEST_FIELDS = tuple(dict.fromkeys(spelling.group or spelling.key for spelling in PLAIN))


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Plain fields from one flat mapping of keys (kt's options, the Launchpad's config): the
    filters gathered under `filters`, keys the request does not have left out."""
    nested: dict[str, Any] = {}
    for spelling in PLAIN:
        if spelling.key in flat:
            target = nested.setdefault(spelling.group, {}) if spelling.group else nested
            target[spelling.key] = flat[spelling.key]
    return nested


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Windows lie within the years 2000-2999: wide for any audit, and far from datetime's own
# limits (years 1 and 9999), where a day's or a time zone's arithmetic overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_END = datetime(3000, 1, 1, tzinfo=UTC)
RANGE_HELP = "2000-01-01 to 2999-12-31 (UTC)"


def _shown(text: str) -> str:
    """A value as an error repeats it: quoted, cut short so an error stays one short line."""
    return repr(text) if len(text) <= 60 else f"{text[:57]!r}…"


def parse_moment(text: str, field_name: str, is_end: bool) -> datetime:
    """A date or RFC 3339 time; as an end, a date covers its whole day, a time its whole second.

    Moments outside the years 2000-2999 (UTC) are refused."""
    text = text.strip()
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ExportRequestError(
            field_name,
            f"{_shown(text)} is neither a date nor an RFC 3339 time; "
            "use 2026-05-01 or 2026-05-01T00:00:00Z",
        ) from None
    if moment.tzinfo is None:
        raise ExportRequestError(
            field_name, f"{_shown(text)} has no time zone; add Z for UTC, e.g. {text[:40]}Z"
        )
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before datetime's first moment
        moment = EARLIEST - timedelta(days=1)
    if not EARLIEST <= moment < LATEST_END:
        raise ExportRequestError(
            field_name, f"{_shown(text)} is outside the years exports cover; give {RANGE_HELP}"
        )
    if _DATE.match(text):
        return moment + timedelta(days=1) if is_end else moment
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
                f"filter {field_name}",
                f"unknown value {_shown(value)}; use one of {', '.join(allowed)}",
            )


def __getattr__(name: str) -> Any:
    """`TABULAR_FORMATS`, `REPORT_FORMATS` (reports and bundles) and `FORMATS_HELP`, read from
    the format registry when asked for, so they hold the plug-ins and catalogs of the moment."""
    if name == "TABULAR_FORMATS":
        return format_names(FormatKind.TABULAR)
    if name == "REPORT_FORMATS":
        return format_names(FormatKind.REPORT, FormatKind.BUNDLE)
    if name == "FORMATS_HELP":
        return formats_help()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate(request: ExportRequest, frameworks: Collection[str] | None = None) -> ExportRequest:
    """Check what can be checked without the lake; raise ExportRequestError naming the field.

    The format is one of the registry's (exports/formats.py); `compliance-<name>` needs a
    catalog `name` among `frameworks` (default: the catalogs there are now)."""
    _check_plain_values(request)
    request = replace(request, format=request.format.lower())  # `--format CSV` is csv
    if request.export_type not in EXPORT_TYPES:
        raise ExportRequestError(
            "type",
            f"unknown type {_shown(request.export_type)}; use one of {', '.join(EXPORT_TYPES)}",
        )
    entry = format_named(request.format, "format", frameworks)
    if entry.kind is not FormatKind.TABULAR and request.export_type != "events":
        raise ExportRequestError(
            "type",
            f"{request.format} reports cover decision events; use --type events (the default)",
        )
    # Enumerated values are words of the schema, whatever their case (`--filter-decision Block`).
    filters = replace(
        request.filters,
        action=tuple(value.lower() for value in request.filters.action),
        result=tuple(value.lower() for value in request.filters.result),
        min_severity=request.filters.min_severity and request.filters.min_severity.lower(),
    )
    request = replace(request, filters=filters)
    _check_values("action", filters.action, ACTIONS)
    _check_values("result", filters.result, RESULTS)
    if filters.min_severity is not None:
        _check_values("min_severity", (filters.min_severity,), SEVERITIES)
    for value in filters.evaluated_policy:
        name, _, verdict = value.partition(":")
        if not name or (verdict and verdict not in VERDICTS):
            raise ExportRequestError(
                "filter evaluated_policy",
                f"{_shown(value)}: give a policy name, or name:verdict with a verdict of "
                f"{', '.join(VERDICTS)} (e.g. pii-filter:block)",
            )
    allowed = FILTERS_BY_TYPE[request.export_type]
    for name in filters.active():
        if name not in allowed:
            raise ExportRequestError(
                f"filter {name}",
                f"does not apply to {request.export_type} exports; "
                f"filters for {request.export_type}: {', '.join(allowed)}",
            )
    return request


def _one_as_list(value: object) -> object:
    """A single filter value stands for a list of one: `"team": "legal"`."""
    return [value] if isinstance(value, str) else value


Word = Annotated[str, StringConstraints(max_length=MAX_WORD)]
FilterValues = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_FILTER_VALUE)]],
    Field(max_length=MAX_FILTER_VALUES),
    BeforeValidator(_one_as_list),
]


def _plain_type(spelling: Spelling) -> Any:
    """The type of a plain field (request files, run config); null always means the default."""
    if spelling.kind is Kind.VALUES:
        return FilterValues | None
    if spelling.kind is Kind.TEXT:
        return Annotated[str, StringConstraints(max_length=spelling.max_length)] | None
    if spelling.kind is Kind.SWITCH:
        return bool | None
    return Word | None


def _plain_model(name: str, doc: str, spellings: tuple[Spelling, ...], **more: Any) -> Any:
    """A strict pydantic model of plain fields, each named by its key (`from` as an alias)."""
    model_fields: dict[str, Any] = {
        spelling.parameter: (
            _plain_type(spelling),
            Field(default=None, alias=spelling.key) if spelling.parameter != spelling.key else None,
        )
        for spelling in spellings
    }
    return create_model(
        name,
        __config__=ConfigDict(strict=True, extra="forbid", frozen=True),
        __doc__=doc,
        **model_fields,
        **more,
    )


@cache
def plain_models() -> tuple[Any, Any]:
    """(RequestFields, FilterFields): the pydantic models of a request's plain fields, built
    when a request is first read (kt commands that read none start without building them)."""
    filter_fields = _plain_model(
        "FilterFields", "The `filters` of a request's plain fields; null means no filter.", FILTERS
    )
    request_fields = _plain_model(
        "RequestFields",
        "The plain fields of a request (run config, request files): the one definition of "
        "their types and bounds. Strict: a string is no boolean, a number no string; unknown "
        "fields are refused; null means the default.",
        tuple(s for s in PLAIN if not s.group),
        filters=(filter_fields | None, None),
    )
    return request_fields, filter_fields


# What a field of each kind should hold, for the errors.
_EXAMPLES = {
    "from": 'a string such as "2026-05-01"',
    "to": 'a string such as "2026-05-31"',
    "last": 'a string such as "7d"',
    "filters": 'an object such as {"team": ["legal"]}',
}


def _kind(value: object) -> str:
    """A value as JSON names its kind; short scalars shown, nothing long repeated."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        shown = repr(value)
        return f"the number {shown}" if len(shown) <= 20 else "a number"
    if isinstance(value, str):
        return f"the string {_shown(value)}" if len(value) <= 20 else "a string"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _field_error(error: Mapping[str, Any]) -> ExportRequestError:
    """Pydantic's first error as ours: `filters.team: a value is 250 characters long; …`."""
    location = [part for part in error["loc"] if isinstance(part, str)]
    in_list = any(isinstance(part, int) for part in error["loc"])
    field_name = ".".join(location) or "request"
    kind, value, context = error["type"], error["input"], error.get("ctx") or {}
    if kind == "extra_forbidden" and len(location) > 1:
        message = f"unknown filter; use one of {', '.join(EVENT_FILTERS)}"
    elif kind == "extra_forbidden":
        message = f"unknown field; a request has {', '.join(REQUEST_FIELDS)}"
    elif kind == "string_too_long" and in_list:
        message = (
            f"a value is {len(value):,} characters long; each may have at most "
            f"{context['max_length']:,}"
        )
    elif kind == "string_too_long":
        message = f"is {len(value):,} characters long; at most {context['max_length']:,}"
    elif kind == "too_long":
        count = context.get("actual_length")
        counted = f"{count:,} values" if count else "too many values"
        message = f"has {counted}; at most {context['max_length']:,}"
    elif kind == "bool_type":
        message = f"must be true or false, not {_kind(value)}"
    elif kind == "string_type" and in_list:
        message = f'values must be strings such as "legal", not {_kind(value)}'
    elif kind == "string_type":
        message = f"must be {_EXAMPLES.get(field_name, 'a string')}, not {_kind(value)}"
    elif kind == "list_type":
        message = f'must be a list of strings such as ["legal"], not {_kind(value)}'
    elif kind in ("model_type", "dict_type"):
        message = f"must be {_EXAMPLES['filters']}, not {_kind(value)}"
    else:
        message = str(error["msg"])
    return ExportRequestError(field_name, message)


def _plain_fields(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Plain fields checked against their types and bounds, keyed as request files key them."""
    if not isinstance(plain, Mapping):
        raise ExportRequestError("request", f"must be an object, not {_kind(plain)}")
    try:
        request_fields, _ = plain_models()
        return request_fields.model_validate(dict(plain)).model_dump(by_alias=True)
    except PydanticValidationError as error:
        raise _field_error(error.errors()[0]) from None


def _labels() -> tuple[Field_, ...]:
    """The request's fields held as they are given (type, format, name, …, raw_content)."""
    return tuple(item for item in fields(ExportRequest) if item.name not in ("window", "filters"))


def _check_plain_values(request: ExportRequest) -> None:
    """Names, titles, descriptions and filter values within the plain fields' bounds, whichever
    door made the request."""
    bounded = {
        spelling.key: getattr(request, item.name)
        for item in _labels()
        for spelling in _spellings(item)
        if spelling.kind in (Kind.TEXT, Kind.SWITCH)
    }
    _plain_fields({**bounded, "filters": request.filters.active()})


def request_from_fields(
    plain: Mapping[str, Any], now: datetime, start_field: str = "from", end_field: str = "to"
) -> ExportRequest:
    """A validated request from plain fields (run config, request files, kt's options nested);
    errors name the field, the window's ends as `start_field` and `end_field`."""
    checked = _plain_fields(plain)
    given = {
        item.name: checked[spelling.key]
        for item in _labels()
        for spelling in _spellings(item)
        if checked[spelling.key] is not None
    }
    filters = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in (checked["filters"] or {}).items()
        if value
    }
    window = build_window(
        checked["from"], checked["to"], checked["last"], now, start_field, end_field
    )
    return validate(ExportRequest(window=window, filters=Filters(**filters), **given))


def request_to_fields(request: ExportRequest) -> dict[str, Any]:
    """The plain fields of a request, its window resolved: the same request when read back."""
    plain: dict[str, Any] = {}
    for item in fields(ExportRequest):
        if item.name == "window":
            plain["from"] = rfc3339(request.window.start)
            plain["to"] = request.window.inclusive_end()
        elif item.name == "filters":
            plain["filters"] = request.filters.active()
        else:
            plain.update(
                (spelling.key, getattr(request, item.name)) for spelling in _spellings(item)
            )
    return plain


def _recorded_window(described: Mapping[str, Any]) -> Window:
    return Window(
        *(
            datetime.fromisoformat(str(described["window"][bound]).replace("Z", "+00:00"))
            for bound in ("from", "to")
        )
    )


def fields_of_description(described: Mapping[str, Any]) -> dict[str, Any]:
    """The plain fields of a request as an export's record describes it
    (`ExportRequest.describe()`), its window's end inclusive; read as written, not validated.
    A field with a default (type, format) must be there; KeyError when it is not."""
    plain: dict[str, Any] = {}
    for item in fields(ExportRequest):
        if item.name == "window":
            window = _recorded_window(described)
            plain["from"], plain["to"] = rfc3339(window.start), window.inclusive_end()
        elif item.name == "filters":
            plain["filters"] = dict(described.get("filters") or {})
        elif item.name == "raw_content":
            plain["raw_content"] = described.get("content") == "raw"
        else:
            plain.update(
                (s.key, described[s.key] if s.default is not None else described.get(s.key))
                for s in _spellings(item)
            )
    return plain


def request_from_description(described: Mapping[str, Any]) -> ExportRequest:
    """The request an export's record describes (`ExportRequest.describe()`), validated."""
    try:
        plain = fields_of_description(described)
        filters = Filters(
            **{
                name: tuple(value) if isinstance(value, list) else value
                for name, value in plain["filters"].items()
            }
        )
        given = {
            item.name: plain[spelling.key]
            for item in _labels()
            for spelling in _spellings(item)
            if plain[spelling.key] is not None
        }
        request = ExportRequest(window=_recorded_window(described), filters=filters, **given)
    except (KeyError, TypeError, ValueError) as error:
        raise ExportRequestError(
            "record", f"its request cannot be read back ({type(error).__name__})"
        ) from None
    return validate(request)
