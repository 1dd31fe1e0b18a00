"""Looking up one pseudonym of an export: which value `[EMAIL:kqzmtbwd]` stands for.

An alias cannot be reversed, so the value is found the way the export found it: the export's
window is read from the lake again and redacted under the same key, until a value gets the alias.
Only a configured key can do this; an export made under a one-time key cannot be revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.exports.pseudonyms import PseudonymKey, parse_marker
from keeptrusts_pipelines.exports.redaction import load_policy
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.records import ExportRecord
from keeptrusts_pipelines.model.schema import TABLES

# Each lake table, and the export type whose columns say how it is redacted.
SEARCHED = (
    ("decision_events", "events"),
    ("escalations", "escalations"),
    ("config_versions", "config-history"),
)


class RevealError(KeeptrustsError):
    """An alias that cannot be looked up, saying why."""


@dataclass(frozen=True)
class Revealed:
    alias: str
    kind: str
    value: str
    table: str


def reveal(
    alias: str, record: ExportRecord, layout: Lake, key: bytes, rules: Path | None = None
) -> Revealed | None:
    """The value `alias` stands for in the export whose record is `record`; None if no value
    of its window gets that alias. Raises RevealError when the export cannot be revealed."""
    if parse_marker(alias) is None:
        raise RevealError(f"{alias!r} is not an alias; aliases look like [EMAIL:kqzmtbwd]")
    facts = record.redaction
    if facts is None:
        raise RevealError("the export holds raw content: nothing in it was pseudonymised")
    pseudonyms = facts.get("pseudonyms") or {}
    if pseudonyms.get("key") != "configured":
        raise RevealError(
            "the export was made under a one-time key, which was not kept: its aliases cannot "
            "be revealed (set KEEPTRUSTS_PSEUDONYM_KEY before exporting to make them revealable)"
        )
    pseudonym_key = PseudonymKey(key, configured=True)
    if pseudonym_key.key_id != pseudonyms.get("key_id"):
        raise RevealError(
            f"KEEPTRUSTS_PSEUDONYM_KEY is not the key the export was made under (its key id is "
            f"{pseudonyms.get('key_id')}, this key's {pseudonym_key.key_id})"
        )
    try:
        start, end = (
            datetime.fromisoformat(str(record.window[bound]).replace("Z", "+00:00"))
            for bound in ("from", "to")
        )
    except (KeyError, ValueError):
        raise RevealError("its record names no readable window") from None
    regions = tuple(facts.get("phone_regions") or ())
    redaction = load_policy(rules, regions).session(pseudonym_key)
    redaction.aliases = {}
    for table, export_type in SEARCHED:
        time_column = TABLES[table].time_column
        day = start.date()
        while datetime(day.year, day.month, day.day, tzinfo=start.tzinfo) < end:
            present = layout.has_partition(table, day)
            location = layout.partition(table, day)
            day += timedelta(days=1)
            if not present:
                continue
            rows = pl.read_parquet(location, storage_options=layout.storage_options).filter(
                (pl.col(time_column) >= start) & (pl.col(time_column) < end)
            )
            redaction.apply(rows, export_type)
            if alias in redaction.aliases:
                kind, value = redaction.aliases[alias]
                return Revealed(alias, kind, value, table)
    return None
