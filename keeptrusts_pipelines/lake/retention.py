"""Retention: prune daily partitions past the retention hours, but only days
that a delivered bundle of every evidence period (weekly, monthly, quarterly) covers and no
legal hold keeps: a day still owed to a month's or a quarter's bundle stays. A bundle covers a
day only as it read it: a partition written again since (late events, a backfill) holds rows
no delivered bundle has, and stays until its periods are delivered again; only the version
the bundles read is deleted. Every day considered is reported: pruned (with the bundles that
cover it) or kept (with why). Nothing is deleted silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.layout import Lake, Location, PartitionChanged
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
    # Pruned: each table's partition version the covering bundles read, the one to delete.
    versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Coverage:
    """A delivered bundle: its period, window, where it was delivered, and the version of
    each partition it read ((table, day) → sha256)."""

    period: str
    start: datetime
    end: datetime
    uri: str
    versions: dict[tuple[str, str], str]

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


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


def delivered_coverage(evidence_root: Path) -> list[Coverage]:
    """Every delivered bundle whose delivered bytes are its record's; the period is the kind
    its folder names (`monthly-2026-11-01` → monthly)."""
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
            Coverage(
                delivery_path.parent.name.split("-", 1)[0],
                datetime.fromisoformat(window["from"].replace("Z", "+00:00")),
                datetime.fromisoformat(window["to"].replace("Z", "+00:00")),
                str(delivery.uri),
                {(p["table"], p["day"]): p["sha256"] for p in record.partitions or ()},
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
            period: [c for c in coverage if c.period == period and c.covers(start, end)]
            for period in periods
        }
        # Hashed only for a day some bundle covers: the rest are kept unread.
        versions = (
            {
                (table, day.isoformat()): lake.partition_sha256(table, day)
                for table in PRUNED_TABLES
                if lake.has_partition(table, day)
            }
            if any(covering.values())
            else {}
        )
        uris, owed, stale = [], [], []
        for period, bundles in covering.items():
            read_as_is = [
                c for c in bundles if all(c.versions.get(k) == v for k, v in versions.items())
            ]
            if read_as_is:
                uris.append(read_as_is[0].uri)
            elif bundles:
                stale.append(bundles[0].uri)
            else:
                owed.append(period)
        reasons = (
            [f"no delivered {' or '.join(owed)} evidence bundle covers it yet"] if owed else []
        )
        if stale:
            reasons.append(
                f"written again since {', '.join(stale)} read it: deliver those periods again"
            )
        if reasons:
            decisions.append(Decision(day.isoformat(), False, "; ".join(reasons)))
            continue
        decisions.append(
            Decision(
                day.isoformat(),
                True,
                "covered by " + ", ".join(uris),
                tuple((table, sha) for (table, _), sha in versions.items()),
            )
        )
    return decisions


def prune(lake: Lake, decisions: list[Decision]) -> tuple[list[Location], list[Decision]]:
    """Delete the partition versions of the days decided for pruning; where each removed one
    was, and the decisions as carried out: a day written again meanwhile is kept."""
    removed: list[Location] = []
    carried_out = []
    for decision in decisions:
        if not decision.pruned:
            carried_out.append(decision)
            continue
        day = date.fromisoformat(decision.day)
        try:
            for table, version in decision.versions:
                location = lake.delete_partition(table, day, version)
                if location is not None:
                    removed.append(location)
        except PartitionChanged as error:
            why = f"written again while retention ran ({error}): deliver its periods again"
            carried_out.append(Decision(decision.day, False, why))
            continue
        carried_out.append(decision)
    return removed, carried_out
