"""Custom recurring deliveries (`deliveries.yaml`): name, interval or cron, time zone, window,
formats, filters, delivery target (`target: s3://bucket/prefix?region=…`), notify. Validated
when read, with errors naming the entry and field; an invalid entry is set aside with its
error, never in the way of the others.

A calendar interval (weekly, monthly, quarterly) delivers the previous calendar week, month
or quarter of the delivery's time zone, on the first day of the next. A cron delivery's
window ends at the start of the day its tick falls on, in its time zone, and goes back whole
days of that calendar. Either way, across a daylight-saving change every period is produced
once and none overlaps the next.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cron_descriptor import Options, get_description
from cronsim import CronSim, CronSimError

from keeptrusts_pipelines.delivery.target import parse_target, target_address
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.exports.formats import format_named
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import (
    EVENT_FILTERS,
    ExportRequest,
    Window,
    request_from_fields,
    rfc3339,
)

WINDOW_DAYS = {"24h": 1, "1d": 1, "7d": 7, "30d": 30, "90d": 90}
# Calendar intervals, and when they fire: 02:00 on the first day of the next period.
INTERVAL_CRONS = {"weekly": "0 2 * * 1", "monthly": "0 2 1 * *", "quarterly": "0 2 1 1,4,7,10 *"}
INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Delivery:
    name: str
    cron: str
    window: str  # 24h … 90d, or the interval's calendar period
    formats: tuple[str, ...]
    timezone: str = "UTC"
    filters: dict[str, object] = field(default_factory=dict)
    target: str | None = None  # a delivery target's URL (delivery/target.py)
    notify: bool = True
    interval: str | None = None

    def window_for(self, tick: datetime) -> Window:
        """The window a tick covers: the previous calendar period of an interval, or whole
        local days ending where the tick's day starts."""
        zone = ZoneInfo(self.timezone)
        end_day = tick.astimezone(zone).date()
        if self.interval == "weekly":
            end_day -= timedelta(days=end_day.weekday())
            start_day = end_day - timedelta(days=7)
        elif self.interval in INTERVAL_MONTHS:
            months = INTERVAL_MONTHS[self.interval]
            first = (end_day.month - 1) // months * months  # months since January, 0-based
            end_day = date(end_day.year, first + 1, 1)
            back = end_day.year * 12 + first - months
            start_day = date(back // 12, back % 12 + 1, 1)
        else:
            start_day = end_day - timedelta(days=WINDOW_DAYS[self.window])
        start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone)
        end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
        return Window(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")))

    def describe_schedule(self) -> str:
        """The cron in words: `Every Monday at 02:00 UTC`-like text."""
        return f"{describe_cron(self.cron)} {self.timezone}"

    def describe_window(self) -> str:
        if self.interval:
            return f"the previous calendar {INTERVAL_PERIODS[self.interval]}"
        days = WINDOW_DAYS[self.window]
        return f"{days} day{'s' if days > 1 else ''}"

    def requests(self, tick: datetime) -> list[ExportRequest]:
        """A request per format over the tick's window, read as a request file's fields are."""
        window = self.window_for(tick)
        bounds = {"from": rfc3339(window.start), "to": window.inclusive_end()}
        return [
            request_from_fields({**bounds, "format": f, "filters": self.filters}, tick)
            for f in self.formats
        ]

    def as_yaml(self) -> dict:
        entry = asdict(self)
        entry["formats"] = list(self.formats)
        for optional in ("target", "interval"):
            if entry[optional] is None:
                entry.pop(optional)
        return entry


INTERVAL_PERIODS = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def describe_cron(cron: str) -> str:
    """A cron expression in words (cron-descriptor, 24-hour clock), the seeds' way round for
    one weekday: `Every Monday at 02:00`."""
    options = Options()
    options.use_24hour_time_format = True
    words = get_description(cron, options)
    weekly = re.fullmatch(r"At (\d\d:\d\d), only on (\w+)", words)
    return f"Every {weekly[2]} at {weekly[1]}" if weekly else words


def next_run(delivery: Delivery, now: datetime) -> datetime:
    """When the delivery's schedule fires next after `now`, in its time zone."""
    local = now.astimezone(ZoneInfo(delivery.timezone)).replace(second=0, microsecond=0)
    return next(CronSim(delivery.cron, local))


def check_cron(cron: str) -> str:
    """`cron` if it is a valid five-field expression; ValueError saying what is wrong."""
    if len(cron.split()) != 5:
        raise ValueError("needs five fields, e.g. '0 2 * * MON'")
    try:
        CronSim(cron, datetime(2026, 1, 1))
    except CronSimError as error:
        raise ValueError(f"{error.args[0] if error.args else error} (e.g. '0 2 * * MON')") from None
    return cron


@dataclass(frozen=True)
class Problem:
    """An entry of deliveries.yaml that cannot run, and why."""

    name: str
    error: str


def parse_entry(index: int, raw: object, where: Path) -> Delivery:
    """One entry, validated; errors name the entry and the field."""
    label = f"{where}: delivery {index + 1}"
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{label}: must be a mapping of name, cron, window, formats …")
    name = str(raw.get("name") or "")
    label = f"{where}: delivery {name or index + 1}"
    if not _NAME.match(name):
        raise ConfigurationError(
            f"{label}: name {name!r} must be lower-case letters, digits and dashes"
        )
    interval = raw.get("interval")
    if interval is not None and interval not in INTERVAL_CRONS:
        raise ConfigurationError(
            f"{label}: interval {interval!r}; use one of {', '.join(INTERVAL_CRONS)}"
        )
    cron = str(raw.get("cron") or (INTERVAL_CRONS[interval] if interval else ""))
    try:
        check_cron(cron)
    except ValueError as error:
        raise ConfigurationError(f"{label}: cron {cron!r} {error}") from None
    window = str(raw.get("window") or (interval or ""))
    if interval is not None:
        if window != interval:
            raise ConfigurationError(
                f"{label}: window {window!r}; an interval covers its own calendar period"
            )
    elif window not in WINDOW_DAYS:
        raise ConfigurationError(f"{label}: window {window!r}; use one of {', '.join(WINDOW_DAYS)}")
    timezone = str(raw.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{label}: timezone {timezone!r} is not an IANA zone such as Europe/Madrid"
        ) from None
    formats = raw.get("formats") or raw.get("format") or []
    formats = [formats] if isinstance(formats, str) else list(formats)
    if not formats:
        raise ConfigurationError(f"{label}: formats: missing; give one or more, e.g. [csv, pdf]")
    for file_format in formats:
        try:
            format_named(str(file_format), "formats")
        except ExportRequestError as error:
            raise ConfigurationError(f"{label}: {error}") from None
    filters = raw.get("filters") or {}
    if not isinstance(filters, dict):
        raise ConfigurationError(
            f"{label}: filters must be a mapping such as {{team: [legal]}}, one key per filter"
        )
    unknown = [f for f in filters if f not in EVENT_FILTERS]
    if unknown:
        raise ConfigurationError(
            f"{label}: filter {unknown[0]!r} is unknown; use {', '.join(EVENT_FILTERS)}"
        )
    target = _target(raw, label)
    delivery = Delivery(
        name=name,
        cron=cron,
        window=window,
        formats=tuple(formats),
        timezone=timezone,
        filters=dict(filters),
        target=target,
        notify=bool(raw.get("notify", True)),
        interval=interval,
    )
    try:
        delivery.requests(datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    except Exception as error:  # a filter value the request refuses
        raise ConfigurationError(f"{label}: {error}") from None
    return delivery


def _target(raw: dict, label: str) -> str | None:
    """The entry's target URL: `target: s3://…`, or the `s3: {bucket, prefix, region}` of
    files written before targets were URLs."""
    if raw.get("target") is not None and raw.get("s3") is not None:
        raise ConfigurationError(f"{label}: give target or s3, not both")
    if raw.get("target") is not None:
        return parse_target(raw["target"], f"{label}: target").url
    s3 = raw.get("s3")
    if s3 is None:
        return None
    if not isinstance(s3, dict) or not s3.get("bucket"):
        raise ConfigurationError(
            f"{label}: s3 needs a bucket; or give target: s3://bucket/prefix?region=REGION"
        )
    prefix, region = s3.get("prefix") or "", s3.get("region")
    return target_address("s3", s3["bucket"], prefix, region, f"{label}: s3").url


def read_deliveries(path: Path) -> tuple[list[Delivery], list[Problem]]:
    """The valid deliveries of the file (KEEPTRUSTS_DELIVERIES_FILE at the doors) and the
    entries set aside, each with its error."""
    if not path.exists():
        return [], []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        return [], [Problem("deliveries.yaml", f"{path}: not YAML ({error})")]
    raws = document.get("deliveries") if isinstance(document, dict) else None
    if not isinstance(raws, list):
        return [], [Problem("deliveries.yaml", f"{path}: needs a list under `deliveries:`")]
    entries: list[Delivery] = []
    problems: list[Problem] = []
    for index, raw in enumerate(raws):
        name = str(raw.get("name") or f"entry-{index + 1}") if isinstance(raw, dict) else ""
        try:
            entry = parse_entry(index, raw, path)
        except ConfigurationError as error:
            problems.append(Problem(name or f"entry-{index + 1}", str(error)))
            continue
        if any(kept.name == entry.name for kept in entries):
            problems.append(Problem(entry.name, f"{path}: delivery {entry.name} is defined twice"))
            continue
        entries.append(entry)
    return entries, problems


def load_deliveries(path: Path) -> list[Delivery]:
    """The deliveries of the file (none when it does not exist); the first bad entry raises,
    naming the entry and field."""
    entries, problems = read_deliveries(path)
    if problems:
        raise ConfigurationError(problems[0].error)
    return entries


def _raw_entries(path: Path) -> list:
    """The file's entries as written, valid or not, so an edit keeps every one of them."""
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path}: not YAML ({error}); fix or move it first") from None
    raws = document.get("deliveries") if isinstance(document, dict) else None
    if not isinstance(raws, list):
        raise ConfigurationError(f"{path}: needs a list under `deliveries:`; fix or move it first")
    return raws


def _write(raws: list, path: Path) -> Path:
    text = "# Recurring evidence deliveries; `kt export schedule` edits this file.\n" + (
        yaml.safe_dump({"deliveries": raws}, sort_keys=False, allow_unicode=True)
    )
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def add_delivery(delivery: Delivery, path: Path) -> Path:
    """Append a validated delivery; refused when an entry (valid or not) has its name."""
    raws = _raw_entries(path)
    if any(isinstance(raw, dict) and raw.get("name") == delivery.name for raw in raws):
        raise ConfigurationError(f"a delivery named {delivery.name} exists; delete it first")
    return _write([*raws, delivery.as_yaml()], path)


def remove_delivery(name: str, path: Path) -> bool:
    """Remove the entries named `name` (valid or not); whether there was one."""
    raws = _raw_entries(path)
    kept = [raw for raw in raws if not (isinstance(raw, dict) and raw.get("name") == name)]
    if len(kept) == len(raws):
        return False
    _write(kept, path)
    return True
