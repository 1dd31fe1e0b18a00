"""Retention: prune daily partitions past the retention hours, but only days
that a delivered bundle of every evidence period (weekly, monthly, quarterly) covers and no
legal hold keeps: a day still owed to a month's or a quarter's bundle stays. Every day
considered is reported: pruned (with the bundles that cover it) or kept (with why). Nothing is
deleted silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.layout import Lake, Location
from keeptrusts_pipelines.model.days import day_bounds
from keeptrusts_pipelines.model.records import DeliveryRecord, ExportRecord

# Pruned with a day: the events and their escalations. Config history stays: it is small and
# later evidence traces events to it.
PRUNED_TABLES = ("decision_events", "escalations")
DELIVERY_RECORD = "delivery.json"
RECORD = "export.json"


@dataclass(frozen=True)
class Hold:
    start: date
    end: date
    team: str | None
    reason: str


@dataclass(frozen=True)
class Decision:
    day: str
    pruned: bool
    reason: str


def load_holds(path: Path | None, hold_everything: bool = False) -> list[Hold]:
    """Legal holds: `hold_everything` (KEEPTRUSTS_LEGAL_HOLD) holds every day; a holds file
    lists ranges `{from: 2026-01-01, to: 2026-03-31, team: legal, reason: "case 42"}` (team
    optional)."""
    holds = []
    if hold_everything:
        holds.append(Hold(date.min, date.max, None, "KEEPTRUSTS_LEGAL_HOLD is set"))
    if path is None or not path.exists():
        return holds
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for index, entry in enumerate(document.get("holds") or []):
        try:
            start, end = (
                date.fromisoformat(str(entry["from"])),
                date.fromisoformat(str(entry["to"])),
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(
                f"{path}: hold {index + 1} needs from and to as dates (2026-01-01)"
            ) from None
        reason = str(entry.get("reason") or f"legal hold {index + 1}")
        holds.append(Hold(start, end, entry.get("team"), reason))
    return holds


def delivered_coverage(evidence_root: Path) -> list[tuple[str, datetime, datetime, str]]:
    """(period, start, end, uri) of every delivered bundle whose delivered bytes are its
    record's; the period is the kind its folder names (`monthly-2026-11-01` → monthly)."""
    covered = []
    for delivery_path in sorted(evidence_root.glob(f"*/{DELIVERY_RECORD}")):
        record_path = delivery_path.with_name(RECORD)
        if not record_path.exists():
            continue
        delivery = DeliveryRecord.from_json(json.loads(delivery_path.read_text(encoding="utf-8")))
        record = ExportRecord.from_json(json.loads(record_path.read_text(encoding="utf-8")))
        if delivery.sha256 != record.sha256:
            continue  # the delivered bundle was superseded locally and not delivered again
        window = record.window
        covered.append(
            (
                delivery_path.parent.name.split("-", 1)[0],
                datetime.fromisoformat(window["from"].replace("Z", "+00:00")),
                datetime.fromisoformat(window["to"].replace("Z", "+00:00")),
                str(delivery.uri),
            )
        )
    return covered


def plan_retention(
    lake: Lake,
    evidence_root: Path,
    now: datetime,
    hours: int,
    holds: list[Hold],
    periods: tuple[str, ...] = ("weekly", "monthly", "quarterly"),
) -> list[Decision]:
    """What happens to every lake day older than `hours`: pruned, or kept and why. A day is
    pruned only when a delivered bundle of each of `periods` covers it."""
    cutoff = now.astimezone(UTC) - timedelta(hours=hours)
    coverage = delivered_coverage(evidence_root)
    decisions = []
    for day in lake.days("decision_events"):
        start, end = day_bounds(day)
        if end > cutoff:
            continue
        held = [h for h in holds if h.start <= day <= h.end]
        if held:
            scope = f" (team {held[0].team})" if held[0].team else ""
            decisions.append(
                Decision(day.isoformat(), False, f"legal hold{scope}: {held[0].reason}")
            )
            continue
        covering = {
            period: next(
                (uri for kind, s, e, uri in coverage if kind == period and s <= start and end <= e),
                None,
            )
            for period in periods
        }
        owed = [period for period, uri in covering.items() if uri is None]
        if owed:
            decisions.append(
                Decision(
                    day.isoformat(),
                    False,
                    f"no delivered {' or '.join(owed)} evidence bundle covers it yet",
                )
            )
            continue
        decisions.append(
            Decision(day.isoformat(), True, "covered by " + ", ".join(covering.values()))
        )
    return decisions


def prune(lake: Lake, decisions: list[Decision]) -> list[Location]:
    """Delete the partitions of the days decided for pruning; where each removed one was."""
    removed = []
    for decision in decisions:
        if not decision.pruned:
            continue
        day = date.fromisoformat(decision.day)
        for table in PRUNED_TABLES:
            location = lake.delete_partition(table, day)
            if location is not None:
                removed.append(location)
    return removed
