"""Custom recurring deliveries (`deliveries.yaml`): name, cron, time zone, window, formats,
filters, S3 target, notify. Validated when read, with errors naming the entry and field.

A delivery's window ends at the start of the day its tick falls on, in its time zone, and
goes back whole days of that calendar: across a daylight-saving change a week is still
Monday to Monday, every period is produced once, and none overlaps the next.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import (
    EVENT_FILTERS,
    REPORT_FORMATS,
    TABULAR_FORMATS,
    ExportRequest,
    Filters,
    Window,
    validate,
)
from keeptrusts_pipelines.settings import keeptrusts_home

WINDOW_DAYS = {"24h": 1, "1d": 1, "7d": 7, "30d": 30, "90d": 90}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-]+$")


@dataclass(frozen=True)
class S3Destination:
    bucket: str
    prefix: str = ""
    region: str | None = None


@dataclass(frozen=True)
class Delivery:
    name: str
    cron: str
    window: str
    formats: tuple[str, ...]
    timezone: str = "UTC"
    filters: dict[str, object] = field(default_factory=dict)
    s3: S3Destination | None = None
    notify: bool = True

    def window_for(self, tick: datetime) -> Window:
        """The window a tick covers: whole local days ending where the tick's day starts."""
        zone = ZoneInfo(self.timezone)
        local = tick.astimezone(zone)
        end_day = local.date()
        start_day = end_day - timedelta(days=WINDOW_DAYS[self.window])
        start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=zone)
        end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
        return Window(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")))

    def requests(self, tick: datetime) -> list[ExportRequest]:
        window = self.window_for(tick)
        filters = Filters(
            **{
                name: tuple(value) if isinstance(value, list) else value
                for name, value in self.filters.items()
            }
        )
        return [
            validate(ExportRequest(window=window, format=f, filters=filters, name=None))
            for f in self.formats
        ]

    def as_yaml(self) -> dict:
        entry = asdict(self)
        entry["formats"] = list(self.formats)
        if self.s3 is None:
            entry.pop("s3")
        return entry


def deliveries_path() -> Path:
    """`KEEPTRUSTS_DELIVERIES_FILE`, else `deliveries.yaml` under KEEPTRUSTS_HOME."""
    configured = os.environ.get("KEEPTRUSTS_DELIVERIES_FILE")
    if configured:
        return Path(configured)
    return keeptrusts_home() / "deliveries.yaml"


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
    cron = str(raw.get("cron") or "")
    fields = cron.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ConfigurationError(f"{label}: cron {cron!r} needs five fields, e.g. '0 2 * * MON'")
    window = str(raw.get("window") or "")
    if window not in WINDOW_DAYS:
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
    known = TABULAR_FORMATS + REPORT_FORMATS
    if not formats or any(f not in known for f in formats):
        raise ConfigurationError(f"{label}: formats {formats!r}; use some of {', '.join(known)}")
    filters = raw.get("filters") or {}
    unknown = [f for f in filters if f not in EVENT_FILTERS]
    if unknown:
        raise ConfigurationError(
            f"{label}: filter {unknown[0]!r} is unknown; use {', '.join(EVENT_FILTERS)}"
        )
    s3 = raw.get("s3")
    destination = None
    if s3 is not None:
        if not isinstance(s3, dict) or not s3.get("bucket"):
            raise ConfigurationError(f"{label}: s3 needs a bucket (and optionally prefix, region)")
        destination = S3Destination(
            str(s3["bucket"]), str(s3.get("prefix") or ""), s3.get("region")
        )
    delivery = Delivery(
        name=name,
        cron=cron,
        window=window,
        formats=tuple(formats),
        timezone=timezone,
        filters=dict(filters),
        s3=destination,
        notify=bool(raw.get("notify", True)),
    )
    try:
        delivery.requests(datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    except Exception as error:  # a filter value the request refuses
        raise ConfigurationError(f"{label}: {error}") from None
    return delivery


def load_deliveries(path: Path | None = None) -> list[Delivery]:
    """The deliveries of the file (none when it does not exist); errors name entry and field."""
    path = path or deliveries_path()
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path}: not YAML ({error})") from None
    entries = [parse_entry(i, raw, path) for i, raw in enumerate(document.get("deliveries") or [])]
    names = [entry.name for entry in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"{path}: delivery {duplicates[0]} is defined twice")
    return entries


def save_deliveries(entries: list[Delivery], path: Path | None = None) -> Path:
    path = path or deliveries_path()
    text = (
        "# Recurring evidence deliveries; `kt export schedule` edits this file.\n"
        + yaml.safe_dump({"deliveries": [entry.as_yaml() for entry in entries]}, sort_keys=False)
    )
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path
