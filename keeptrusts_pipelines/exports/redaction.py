"""Redaction of personal data and secrets, vectorised in Polars, with rules from YAML."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import polars as pl
import yaml

from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError

DEFAULT_RULES = Path(__file__).with_name("redaction_rules.yaml")
CHECKS = ("luhn",)
# Values spread over a column that decide whether it repeats enough to redact distinct values.
SAMPLE_VALUES = 2_000


@dataclass(frozen=True)
class RedactionRule:
    name: str
    marker: str
    pattern: str
    check: str | None = None
    # A cheap pattern that every match of `pattern` contains: rows without it skip the rule.
    requires: str | None = None


# `\b` after an even number of backslashes: a word boundary, not a literal backslash and "b".
WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\b")
ASCII_WORD_BOUNDARY = r"\1(?-u:\\b)"


def screen_pattern(rules: tuple[RedactionRule, ...]) -> str:
    """One pattern matching every value any rule could change (and possibly a few more).

    Word boundaries become ASCII ones, which keeps the whole alternation in Rust's fast DFA;
    beside the ASCII letters and digits the rules anchor on, an ASCII boundary stands
    wherever a Unicode one does, so the screen never misses a value a rule would match.
    """
    return "|".join(f"(?:{WORD_BOUNDARY.sub(ASCII_WORD_BOUNDARY, rule.pattern)})" for rule in rules)


@dataclass(frozen=True)
class RedactionPolicy:
    rules: tuple[RedactionRule, ...]
    columns: dict[str, tuple[str, ...]]

    @cached_property
    def screen(self) -> str:
        return screen_pattern(self.rules)

    def columns_of(self, export_type: str, names: list[str]) -> list[str]:
        """The redacted text columns of `export_type` among `names`."""
        return [c for c in self.columns.get(export_type, ()) if c in names]

    def apply(self, frame: pl.DataFrame, export_type: str) -> pl.DataFrame:
        """`frame` with every rule applied, in order, to the text columns of `export_type`."""
        columns = self.columns_of(export_type, frame.columns)
        if not columns or not self.rules or frame.height == 0:
            return frame
        # Polars releases the GIL inside its string kernels, so columns redact in parallel.
        with ThreadPoolExecutor(max_workers=len(columns)) as pool:
            redacted = list(pool.map(self._redact, (frame[c].cast(pl.String) for c in columns)))
        return frame.with_columns(redacted)

    def _redact(self, text: pl.Series) -> pl.Series:
        # A redacted value depends on that value alone, and values often repeat (a user's
        # address on each of their events, prompts sent from templates): where a sample shows
        # repeats, each distinct value is redacted once and the results are mapped back.
        if _repeats(text):
            distinct = text.unique().drop_nulls()
            return text.replace_strict(distinct, self._redact_values(distinct))
        return self._redact_values(text)

    def _redact_values(self, text: pl.Series) -> pl.Series:
        text = text.clone()  # `scatter` writes in place: the caller's series stays as it was
        # Most values hold nothing to redact: one pass of the screen sets them aside.
        candidates = text.str.contains(self.screen).fill_null(False).arg_true()
        if candidates.len() == 0:
            return text
        if candidates.len() == text.len():
            return self._redact_candidates(text)
        return text.scatter(candidates, self._redact_candidates(text.gather(candidates)))

    def _redact_candidates(self, text: pl.Series) -> pl.Series:
        # Each hint is looked for once, in the text as stored; what an earlier rule replaced
        # cannot create a later match there except one that includes the marker's own text.
        hinted = {
            hint: text.str.contains(hint).fill_null(False).arg_true()
            for hint in {rule.requires for rule in self.rules if rule.requires}
        }
        for rule in self.rules:
            rows = hinted.get(rule.requires) if rule.requires else None
            if rows is not None and rows.len() == 0:
                continue
            if rows is not None and rows.len() == text.len():
                rows = None  # every value has the hint: no need to pick rows out
            subset = text if rows is None else text.gather(rows)
            subset = _replace(subset, rule)
            text = subset if rows is None else text.scatter(rows, subset)
        return text


def _repeats(text: pl.Series) -> bool:
    """Whether at most half of a sample of `text`, spread over it, is distinct values."""
    sample = text.gather_every(max(1, text.len() // SAMPLE_VALUES))
    return sample.n_unique() * 2 <= sample.len()


def _replace(text: pl.Series, rule: RedactionRule) -> pl.Series:
    if rule.check == "luhn":
        return _replace_luhn_valid(text, rule)
    return text.str.replace_all(rule.pattern, rule.marker.replace("$", "$$"))


def _replace_luhn_valid(text: pl.Series, rule: RedactionRule) -> pl.Series:
    """Each match of the rule whose digits pass the Luhn check, in its own value only.

    Every match is first wrapped in two characters the values do not hold, so replacing the
    valid ones as literals cannot touch the same digits elsewhere in another value.
    """
    valid = _luhn_valid_matches(text, rule.pattern)
    if not valid:
        return text
    start, end = _unused_characters(text)
    wrapped = text.str.replace_all(rule.pattern, f"{start}${{0}}{end}")
    replaced = wrapped.str.replace_many(
        [f"{start}{match}{end}" for match in valid], [rule.marker] * len(valid)
    )
    return replaced.str.replace_all(f"[{start}{end}]", "")


# Private-use code points: never assigned a meaning, so rare in real text.
PRIVATE_USE = (*range(0xE000, 0xF900), *range(0xF0000, 0xFFFFE))


def _unused_characters(text: pl.Series) -> tuple[str, str]:
    """Two private-use characters that occur in none of `text`'s values."""
    unused: list[str] = []
    for character in map(chr, PRIVATE_USE):
        if not text.str.contains(character, literal=True).any():
            unused.append(character)
            if len(unused) == 2:
                return unused[0], unused[1]
    raise KeeptrustsError(
        "redaction: the text holds nearly every private-use character, so Luhn-checked rules "
        "cannot mark their matches; export it with --raw-content or drop the check"
    )


def _luhn_valid_matches(text: pl.Series, pattern: str) -> list[str]:
    """The distinct matches of `pattern` in `text` whose digits pass the Luhn check."""
    candidates = text.str.extract_all(pattern).explode().drop_nulls().unique().to_frame("m")
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


def _compiles(pattern: str) -> str | None:
    """None when Polars accepts `pattern`, else its complaint."""
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as error:
        return str(error)
    return None


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
        for key in ("pattern", "requires"):
            problem = _compiles(entry[key]) if entry.get(key) else None
            if problem:
                raise ConfigurationError(f"{label}: invalid {key} ({problem})")
        rules.append(
            RedactionRule(
                entry["name"], entry["marker"], entry["pattern"], entry.get("check"),
                entry.get("requires"),
            )
        )  # fmt: skip
    for rule in rules:
        clashes = [r.marker for r in rules if rule.requires and _matches(rule.requires, r.marker)]
        if clashes:
            raise ConfigurationError(
                f"{where}: rule {rule.name}: requires {rule.requires!r} matches the marker "
                f"{clashes[0]}; choose a hint no marker contains"
            )
    columns = {
        name: tuple(values or ()) for name, values in (document.get("columns") or {}).items()
    }
    return RedactionPolicy(rules=_merge_neighbours(rules), columns=columns)


def _matches(pattern: str, text: str) -> bool:
    return bool(pl.select(pl.lit(text).str.contains(pattern)).item())


def _merge_neighbours(rules: list[RedactionRule]) -> tuple[RedactionRule, ...]:
    """Join consecutive plain rules with the same marker and hint into one pattern: one pass."""
    merged: list[RedactionRule] = []
    for rule in rules:
        previous = merged[-1] if merged else None
        if (
            previous
            and (previous.marker, previous.requires) == (rule.marker, rule.requires)
            and not previous.check
            and not rule.check
        ):
            pattern = f"(?:{previous.pattern})|(?:{rule.pattern})"
            merged[-1] = RedactionRule(
                f"{previous.name}+{rule.name}", rule.marker, pattern, requires=rule.requires
            )
        else:
            merged.append(rule)
    return tuple(merged)
