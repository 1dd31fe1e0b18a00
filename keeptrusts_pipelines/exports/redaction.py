"""Redaction of personal data and secrets, vectorised in Polars, with rules from YAML."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from keeptrusts_pipelines.errors import ConfigurationError

DEFAULT_RULES = Path(__file__).with_name("redaction_rules.yaml")
CHECKS = ("luhn",)


@dataclass(frozen=True)
class RedactionRule:
    name: str
    marker: str
    pattern: str
    check: str | None = None


@dataclass(frozen=True)
class RedactionPolicy:
    rules: tuple[RedactionRule, ...]
    columns: dict[str, tuple[str, ...]]

    def apply(self, frame: pl.LazyFrame, export_type: str) -> pl.LazyFrame:
        """`frame` with every rule applied, in order, to the text columns of `export_type`."""
        present = frame.collect_schema().names()
        columns = [c for c in self.columns.get(export_type, ()) if c in present]
        if not columns or not self.rules:
            return frame
        frame = frame.with_columns(pl.col(columns).cast(pl.String))
        # A checksum rule needs its matches first: one pass over the text columns finds the
        # distinct candidates that pass, which the main pass then replaces as literals.
        checked = {
            rule.name: _luhn_valid_matches(frame, columns, rule.pattern)
            for rule in self.rules
            if rule.check == "luhn"
        }
        expressions = {}
        for column in columns:
            text = pl.col(column)
            for rule in self.rules:
                if rule.check == "luhn":
                    valid = checked[rule.name]
                    text = (
                        text.str.replace_many(valid, [rule.marker] * len(valid)) if valid else text
                    )
                else:
                    text = text.str.replace_all(rule.pattern, rule.marker.replace("$", "$$"))
            expressions[column] = text
        return frame.with_columns(**expressions)


def _luhn_valid_matches(frame: pl.LazyFrame, columns: list[str], pattern: str) -> list[str]:
    """The distinct matches of `pattern` in `columns` whose digits pass the Luhn check."""
    candidates = (
        frame.select(
            pl.concat_list([pl.col(c).str.extract_all(pattern) for c in columns]).alias("m")
        )
        .explode("m")
        .drop_nulls()
        .unique()
        .collect()
    )
    if candidates.height == 0:
        return []
    digit = pl.element().cast(pl.Int32)
    doubled = pl.when(pl.int_range(pl.len()) % 2 == 1).then(
        pl.when(digit * 2 > 9).then(digit * 2 - 9).otherwise(digit * 2)
    )
    checked = candidates.with_columns(
        total=pl.col("m")
        .str.replace_all(r"\D", "")
        .str.reverse()
        .str.split("")
        .list.eval(doubled.otherwise(digit))
        .list.sum()
    )
    # Longest first, so a number is replaced whole rather than a shorter number inside it.
    valid = checked.filter(pl.col("total") % 10 == 0)["m"].to_list()
    return sorted(valid, key=lambda match: (-len(match), match))


def load_policy(path: Path | None = None) -> RedactionPolicy:
    """Rules from `path`, else `KEEPTRUSTS_REDACTION_RULES`, else the packaged defaults."""
    return _load_policy(Path(path or os.environ.get("KEEPTRUSTS_REDACTION_RULES") or DEFAULT_RULES))


@cache
def _load_policy(path: Path) -> RedactionPolicy:
    where = f"redaction rules {path}"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{where}: cannot be read ({error})") from None
    rules = []
    for index, entry in enumerate(document.get("rules") or []):
        label = f"{where}: rule {index + 1} ({entry.get('name', 'unnamed')})"
        missing = [key for key in ("name", "marker", "pattern") if not entry.get(key)]
        if missing:
            raise ConfigurationError(f"{label}: missing {', '.join(missing)}")
        if entry.get("check") not in (None, *CHECKS):
            raise ConfigurationError(
                f"{label}: unknown check {entry['check']!r}; use one of {', '.join(CHECKS)}"
            )
        try:
            pl.select(pl.lit("").str.contains(entry["pattern"]))
        except pl.exceptions.PolarsError as error:
            raise ConfigurationError(f"{label}: invalid pattern ({error})") from None
        rules.append(
            RedactionRule(entry["name"], entry["marker"], entry["pattern"], entry.get("check"))
        )
    columns = {
        name: tuple(values or ()) for name, values in (document.get("columns") or {}).items()
    }
    return RedactionPolicy(rules=_merge_neighbours(rules), columns=columns)


def _merge_neighbours(rules: list[RedactionRule]) -> tuple[RedactionRule, ...]:
    """Join consecutive plain rules with the same marker into one pattern: one pass, not many."""
    merged: list[RedactionRule] = []
    for rule in rules:
        previous = merged[-1] if merged else None
        if previous and previous.marker == rule.marker and not previous.check and not rule.check:
            pattern = f"(?:{previous.pattern})|(?:{rule.pattern})"
            merged[-1] = RedactionRule(f"{previous.name}+{rule.name}", rule.marker, pattern)
        else:
            merged.append(rule)
    return tuple(merged)
