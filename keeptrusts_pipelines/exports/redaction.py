"""Redaction of personal data and secrets: a vectorised candidate screen in Polars, validation
of the candidates (exports/validators.py), keyed pseudonyms; rules and columns from YAML.

A policy is the rules and columns; a `Redaction` is one export's use of it: its pseudonym key,
and how many values each rule replaced, for the export's record.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib.metadata import version
from pathlib import Path

import polars as pl
import yaml

from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError
from keeptrusts_pipelines.exports.pseudonyms import ALPHABET, MARKER, PseudonymKey
from keeptrusts_pipelines.exports.validators import CHECK_NAMES, Check, Found, checks

DEFAULT_RULES = Path(__file__).with_name("redaction_rules.yaml")
DEFAULT_REGIONS = ("ES",)
# Values spread over a column that decide whether it repeats enough to redact distinct values.
SAMPLE_VALUES = 2_000
# Distinct values and candidates whose redaction an export remembers: bounds the memory taken.
REMEMBERED_VALUES = 20_000
REMEMBERED_MATCHES = 50_000
# The screen takes the leftmost candidate first, and a candidate that ends inside a number
# leaves the number's rest a candidate too short to be one. The rules' patterns take whole runs
# of digit groups so that none does; should one still, the rest stands beside a replacement: a
# changed value with digits next to a marker is screened again until it no longer changes
# (markers match no rule, so each pass works on less of the text, and ends).
MAX_PASSES = 4
DIGITS_BESIDE_A_MARKER = r"\][ .\-/()]{0,3}[0-9]|[0-9][ .\-/()]{0,3}\["
DIGITS_BESIDE = re.compile(DIGITS_BESIDE_A_MARKER)
IDENTITY_KIND = "USER"
IDENTITY_COUNT = "identity"
MARKER_NAME = re.compile(r"^\[[A-Z][A-Z_]*\]$")
VALIDATING_LIBRARIES = ("python-stdnum", "phonenumbers")


@dataclass(frozen=True)
class RedactionRule:
    name: str
    marker: str
    pattern: str
    check: str | None = None
    pseudonym: bool = False

    @property
    def kind(self) -> str:
        return self.marker.strip("[]")

    @cached_property
    def compiled(self) -> str:
        """The pattern as Polars runs it: word boundaries ASCII ones (see `screen_pattern`)."""
        return ascii_boundaries(self.pattern)


# `\b` after an even number of backslashes: a word boundary, not a literal backslash and "b".
WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\b")
ASCII_WORD_BOUNDARY = r"\1(?-u:\\b)"


def ascii_boundaries(pattern: str) -> str:
    """`pattern` with ASCII word boundaries, which keep Rust's regex in its fast DFA."""
    return WORD_BOUNDARY.sub(ASCII_WORD_BOUNDARY, pattern)


def screen_pattern(rules: tuple[RedactionRule, ...]) -> str:
    """One pattern matching every value any rule could change: the union of their patterns,
    so it sets aside exactly the values no rule matches."""
    return "|".join(f"(?:{rule.compiled})" for rule in rules)


@dataclass(frozen=True)
class ColumnSpec:
    """Where one export type's personal data may be: see redaction_rules.yaml."""

    identity: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


def _holds_text(dtype: pl.DataType) -> bool:
    """Whether values of `dtype` hold text at any depth."""
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return True
    if isinstance(dtype, pl.List | pl.Array):
        return _holds_text(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(_holds_text(f.dtype) for f in dtype.fields)
    return False


def _readable(frame: pl.DataFrame, spec: ColumnSpec) -> pl.DataFrame:
    """`frame` with categorical texts as plain ones; a column holding text in a shape the
    rules cannot read (text in a record, a list of lists) fails the export, never passes."""
    categorical = [n for n, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
    if categorical:
        frame = frame.with_columns(pl.col(categorical).cast(pl.String))
    for name, dtype in frame.schema.items():
        if name not in spec.keep and _holds_text(dtype) and not _read_whole(dtype):
            raise KeeptrustsError(
                f"redaction: column {name!r} holds text as {dtype}, which redaction does not "
                "read; flatten it to text or lists of records of text, or list it under `keep` "
                "in the redaction rules if it holds no personal data"
            )
    return frame


def _read_whole(dtype: pl.DataType) -> bool:
    """Whether redaction reads every text of `dtype`: a string, a list of strings, a list of
    records whose texts are all strings of their own fields."""
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if dtype == pl.String or inner == pl.String:
        return True
    return isinstance(inner, pl.Struct) and all(
        f.dtype == pl.String or not _holds_text(f.dtype) for f in inner.fields
    )


def _is_text(dtype: pl.DataType) -> bool:
    """Whether values of `dtype` hold text: strings, lists of strings, lists of records with
    a text field (the shapes the exports have)."""
    if dtype == pl.String:
        return True
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    return inner == pl.String or (
        isinstance(inner, pl.Struct) and any(f.dtype == pl.String for f in inner.fields)
    )


@dataclass(frozen=True)
class RedactionPolicy:
    rules: tuple[RedactionRule, ...]
    columns: dict[str, ColumnSpec]
    version: str = ""
    sha256: str = ""
    regions: tuple[str, ...] = DEFAULT_REGIONS

    @cached_property
    def screen(self) -> str:
        return screen_pattern(self.rules)

    @cached_property
    def checks(self) -> dict[str, Check]:
        return checks(self.regions)

    def spec(self, export_type: str) -> ColumnSpec:
        return self.columns.get(export_type, ColumnSpec())

    def columns_of(
        self, export_type: str, schema: Mapping[str, pl.DataType] | Iterable[str]
    ) -> list[str]:
        """The columns of `export_type` redaction may change: those the rules name, and any
        other text column (with a schema) that is not kept."""
        spec = self.spec(export_type)
        named = {*spec.identity, *(name.split(".", 1)[0] for name in spec.text)}
        if not isinstance(schema, Mapping):
            return [name for name in schema if name in named]
        return [
            name
            for name, dtype in schema.items()
            if name not in spec.keep and (name in named or _is_text(dtype))
        ]

    def session(self, key: PseudonymKey | None = None) -> Redaction:
        """One export's redaction: aliases under `key` (a one-time key if None)."""
        return Redaction(self, key or PseudonymKey.one_time())

    def apply(self, frame: pl.DataFrame, export_type: str) -> pl.DataFrame:
        """`frame` redacted under a one-time key (an export uses one `session` throughout)."""
        return self.session().apply(frame, export_type)


@dataclass(frozen=True)
class RedactionConfig:
    """What a front door hands the engine: the rules file, phone regions, the pseudonym key."""

    rules: Path | None = None
    regions: tuple[str, ...] = DEFAULT_REGIONS
    pseudonym_key: bytes | None = None

    def start(self) -> Redaction:
        key = PseudonymKey(self.pseudonym_key, True) if self.pseudonym_key else None
        return load_policy(self.rules, self.regions).session(key)


@dataclass
class Redaction:
    """One export's redaction: the policy, the pseudonym key, and what was replaced.

    A value's redaction depends on that value alone, so each distinct value is redacted once
    per export and remembered (prompts sent from templates, a user's address on each of their
    events), and so is each candidate the rules validate.
    """

    policy: RedactionPolicy
    key: PseudonymKey
    replaced: Counter = field(default_factory=Counter)
    _values: dict = field(default_factory=dict, repr=False)
    _matches: dict = field(default_factory=dict, repr=False)
    _identities: dict = field(default_factory=dict, repr=False)
    # Whether each column repeats, decided on the first batch holding it.
    _repeating: dict = field(default_factory=dict, repr=False)
    # When a dict: each alias given, with its kind and the value it stands for (for a reveal).
    aliases: dict[str, tuple[str, str]] | None = field(default=None, repr=False)

    def columns_of(self, export_type: str, schema: Mapping[str, pl.DataType]) -> list[str]:
        return self.policy.columns_of(export_type, schema)

    def nested_candidates(self, name: str, dtype: pl.DataType) -> pl.Expr:
        """Whether a row's nested column `name` holds a text the screen picks out."""
        screen = self.policy.screen
        inner = dtype.inner if isinstance(dtype, pl.List) else None
        if inner == pl.String:
            element = pl.element().str.contains(screen)
        elif isinstance(inner, pl.Struct) and any(f.dtype == pl.String for f in inner.fields):
            element = pl.any_horizontal(
                pl.element().struct.field(f.name).str.contains(screen)
                for f in inner.fields
                if f.dtype == pl.String
            )
        else:
            return pl.lit(False)
        return pl.col(name).list.eval(element).list.any().fill_null(False)

    def facts(self) -> dict[str, object]:
        """What the export's record says: rule set, validators, pseudonyms, replacements."""
        names = [*(rule.name for rule in self.policy.rules), IDENTITY_COUNT]
        return {
            "rules": {"version": self.policy.version, "sha256": self.policy.sha256},
            "validators": {name: version(name) for name in VALIDATING_LIBRARIES},
            "phone_regions": list(self.policy.regions),
            "pseudonyms": self.key.facts(),
            "replaced": {name: self.replaced.get(name, 0) for name in names},
        }

    def statement(self) -> str:
        """One sentence a report carries to say redaction was applied, and how."""
        pseudonyms = self.key.facts()
        linkable = (
            f"linkable across exports (key {pseudonyms['key_id']})"
            if pseudonyms["linkable_across_exports"]
            else "not linkable across exports (one-time key)"
        )
        return (
            f"Redaction applied: personal data and secrets replaced by markers under rule set "
            f"{self.policy.version} (sha256 {self.policy.sha256[:16]}…); identities and personal "
            f"data carry keyed aliases (HMAC-SHA256), {linkable}."
        )

    # Frames ----------------------------------------------------------------------------------

    def apply(self, frame: pl.DataFrame, export_type: str) -> pl.DataFrame:
        """`frame` with every text column of `export_type` redacted; identities pseudonymised."""
        return self.redact(frame, export_type)[0]

    def redact(self, frame: pl.DataFrame, export_type: str) -> tuple[pl.DataFrame, list[str]]:
        """`apply`, and the names of the columns it changed."""
        if frame.height == 0:
            return frame, []
        spec = self.policy.spec(export_type)
        frame = _readable(frame, spec)
        columns = self.policy.columns_of(export_type, frame.schema)
        identity = [c for c in columns if c in spec.identity and frame.schema[c] == pl.String]
        texts = [c for c in columns if c not in identity and frame.schema[c] == pl.String]
        nested = {
            f"{c}.{field_name}" if field_name else c: (c, field_name, values)
            for c in columns
            if c not in identity and c not in texts
            for field_name, values in _nested_texts(pl.col(c), frame.schema[c])
        }
        undecided = [c for c in texts if (export_type, c) not in self._repeating]
        if undecided:
            repeating = _repeating(frame, undecided)
            self._repeating.update({(export_type, c): c in repeating for c in undecided})
        repeated = [c for c in texts if self._repeating[(export_type, c)]]
        # Most values hold nothing to redact, and the screen sets them aside, in one parallel
        # pass: over every value of columns of mostly distinct values (prompts, request ids),
        # and over the distinct values of the others (teams, models, nested policy names).
        screen = self.policy.screen
        picked = frame.select(
            *(_picked(pl.col(c), screen).alias(c) for c in repeated),
            *(_picked(values, screen).alias(key) for key, (_, _, values) in nested.items()),
            *(
                pl.col(c).str.contains(screen).fill_null(False).arg_true().implode().alias(c)
                for c in texts
                if c not in repeated
            ),
        ).row(0, named=True)
        rows = {c: picked.pop(c) for c in texts if c not in repeated}
        counts: Counter = Counter()
        updates: dict[str, pl.Series] = {}
        for name, indices in rows.items():
            if not indices:
                continue
            redacted, found = self._redact_rows(frame[name].gather(indices))
            counts.update(found)
            if redacted is not None:
                updates[name] = frame[name].clone().scatter(indices, redacted)
        # The distinct candidates of every other column go through the rules together.
        candidates = list({v for values in picked.values() for v in values})
        known = self._known(candidates) if candidates else {}
        fields: dict[str, list[pl.Expr]] = {}
        for key, values in picked.items():
            changed = {v: known[v] for v in values if known[v]}
            if not changed:
                continue
            old = pl.Series(list(changed), dtype=pl.String)
            new = pl.Series([outcome[0] for outcome in changed.values()], dtype=pl.String)
            name, field_name, expression = nested.get(key, (key, None, pl.col(key)))
            found = frame.select(expression.filter(expression.is_in(old.implode())).value_counts())
            for value, times in found.to_series().struct.unnest().iter_rows():
                for rule, n in changed[value][1]:
                    counts[rule] += n * times
            if key not in nested:
                updates[name] = frame[name].replace(old, new)
            else:
                element = pl.element() if field_name is None else pl.field(field_name)
                fields.setdefault(name, []).append(element.replace(old, new))
        for name, replacements in fields.items():
            if isinstance(frame.schema[name].inner, pl.Struct):
                element = pl.element().struct.with_fields(replacements)
            else:
                element = replacements[0]
            updates[name] = frame[name].list.eval(element)
        for name in identity:
            column, found = self._pseudonymise(frame[name])
            counts.update(found)
            updates[name] = column
        self.replaced.update(counts)
        return (frame.with_columns(updates.values()) if updates else frame), list(updates)

    def text(self, values: list[str | None]) -> list[str | None]:
        """Free texts redacted (a report's fields, a filter's values)."""
        series = pl.Series(values, dtype=pl.String)
        held = self._candidates(series)
        if held is None:
            return list(values)
        mapping, counts = _mapping(held, self._known(held.unique().to_list()))
        self.replaced.update(counts)
        return list(values) if mapping is None else series.replace(*mapping).to_list()

    def identities(self, values: list[str | None]) -> list[str | None]:
        redacted, counts = self._pseudonymise(pl.Series(values, dtype=pl.String))
        self.replaced.update(counts)
        return redacted.to_list()

    def document(self, document: object, identity_keys: Iterable[str] = ()) -> object:
        """A JSON-able value with every string redacted; strings under `identity_keys` (at any
        depth) pseudonymised whole. Keys stay as they are."""
        identity_keys = frozenset(identity_keys)
        texts: list[str] = []
        identities: list[str] = []

        def collect(value: object, identity: bool) -> None:
            if isinstance(value, str):
                (identities if identity else texts).append(value)
            elif isinstance(value, dict):
                for key, item in value.items():
                    collect(item, identity or key in identity_keys)
            elif isinstance(value, list | tuple):
                for item in value:
                    collect(item, identity)

        collect(document, False)
        redacted_texts = iter(self.text(texts) if texts else [])
        redacted_identities = iter(self.identities(identities) if identities else [])

        def rebuild(value: object, identity: bool) -> object:
            if isinstance(value, str):
                return next(redacted_identities if identity else redacted_texts)
            if isinstance(value, dict):
                return {k: rebuild(v, identity or k in identity_keys) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [rebuild(item, identity) for item in value]
            return value

        return rebuild(document, False)

    # Values ----------------------------------------------------------------------------------

    def _candidates(self, values: pl.Series) -> pl.Series | None:
        """The values (as often as they occur) whose distinct value the screen picks out."""
        distinct = values.unique().drop_nulls()
        picked = distinct.filter(distinct.str.contains(self.policy.screen))
        if picked.len() == 0:
            return None
        return values.filter(values.is_in(picked.implode()))

    def redact_values(self, values: list[str | None]) -> list[str | None]:
        """Each value as the rules redact it, without the screen or what is remembered: what
        `apply` must equal."""
        outcomes = iter(self._redact_new([v for v in values if v is not None]))
        redacted = []
        for value in values:
            outcome = None if value is None else next(outcomes)
            redacted.append(outcome[0] if outcome else value)
        return redacted

    def _known(self, values: list[str]) -> dict[str, Outcome | None]:
        """Each value's redaction and what was replaced in it (None when nothing changes):
        remembered, or worked out now and remembered."""
        remembered = self._values
        known = {value: remembered[value] for value in values if value in remembered}
        unknown = [value for value in values if value not in known]
        if unknown:
            computed = dict(zip(unknown, self._redact_new(unknown), strict=True))
            _remember(remembered, computed, REMEMBERED_VALUES)
            known.update(computed)
        return known

    def _changed_matches(self, matches: Iterable[str]) -> dict[str, Outcome]:
        """The matches the rules change, with what each becomes (remembered, or worked out)."""
        known = {m: self._matches[m] for m in matches if m in self._matches}
        new = self._redact_matches(sorted(set(matches).difference(known)))
        _remember(self._matches, new, REMEMBERED_MATCHES)
        known.update(new)
        return {m: outcome for m, outcome in known.items() if outcome}

    def _redact_rows(
        self, values: pl.Series, passes: int = MAX_PASSES
    ) -> tuple[pl.Series | None, Counter]:
        """Mostly distinct values (prompts, ids) redacted; None if none changes. Vectorised
        where a value holds one match, found nowhere else in it (most of them)."""
        found = values.str.extract_all(self.policy.screen)
        matches = found.explode().drop_nulls()
        changed = self._changed_matches(matches.unique().to_list())
        if not changed:
            return None, Counter()
        old = pl.Series(list(changed), dtype=pl.String)
        new = pl.Series([outcome[0] for outcome in changed.values()], dtype=pl.String)
        counts: Counter = Counter()
        for match, times in matches.filter(matches.is_in(old.implode())).value_counts().iter_rows():
            for rule, n in changed[match][1]:
                counts[rule] += n * times
        frame = pl.DataFrame({"value": values, "found": found}).with_columns(
            matches=pl.col("found").list.len(),
            changed=pl.col("found").list.eval(pl.element().is_in(old.implode())).list.sum(),
            match=pl.col("found").list.first(),
        )
        single = (pl.col("matches") == 1) & (pl.col("changed") == 1)
        pieces = pl.col("value").str.split(pl.col("match"))
        frame = frame.with_columns(
            fast=single & (pieces.list.len() == 2),
            redacted=pieces.list.join(pl.col("match").replace_strict(old, new, default=None)),
        )
        redacted = frame["redacted"]
        slow = frame.select(((pl.col("changed") > 0) & ~pl.col("fast")).arg_true()).to_series()
        if slow.len():
            texts = values.gather(slow).to_list()
            outcomes = self._rebuild(texts, found.gather(slow).to_list(), changed)
            redacted = redacted.scatter(
                slow, [o[0] if o else t for t, o in zip(texts, outcomes, strict=True)]
            )
        keep = frame.select(pl.col("changed") == 0).to_series()
        result = pl.select(pl.when(keep).then(values).otherwise(redacted)).to_series()
        if passes > 1:
            again = (~keep & result.str.contains(DIGITS_BESIDE_A_MARKER)).arg_true()
            further, more = self._redact_rows(result.gather(again), passes - 1)
            if further is not None:
                result = result.scatter(again, further)
                counts.update(more)
        return result, counts

    def _redact_new(self, values: list[str], passes: int = MAX_PASSES) -> list[Outcome | None]:
        """The screen's matches in each value, each redacted as the rules in order redact it
        (validated once per export), and replaced where it matched."""
        if not values:
            return []
        found = pl.Series(values, dtype=pl.String).str.extract_all(self.policy.screen).to_list()
        changed = self._changed_matches({m for matches in found if matches for m in matches})
        outcomes = self._rebuild(values, found, changed)
        if passes == 1:
            return outcomes
        again = [
            index
            for index, outcome in enumerate(outcomes)
            if outcome and DIGITS_BESIDE.search(outcome[0])
        ]
        if again:
            further = self._redact_new([outcomes[i][0] for i in again], passes - 1)  # type: ignore[index]
            for index, outcome in zip(again, further, strict=True):
                if outcome:
                    outcomes[index] = (outcome[0], outcomes[index][1] + outcome[1])  # type: ignore[index]
        return outcomes

    def _rebuild(
        self, values: list[str], found: list[list[str] | None], changed: Mapping[str, Outcome]
    ) -> list[Outcome | None]:
        """Each value with its changed matches (`found` in it, in order) replaced."""
        outcomes: list[Outcome | None] = [None] * len(values)
        marked = []
        for index, matches in enumerate(found):
            hits = [m for m in matches or () if m in changed] if changed else None
            if not hits:
                continue
            value = values[index]
            # A match whose text occurs in the value only where it matched is replaced as
            # text; otherwise only where it matched, below.
            if len(matches) == 1:
                if value.count(hits[0]) == 1:
                    outcomes[index] = (
                        value.replace(hits[0], changed[hits[0]][0]),
                        changed[hits[0]][1],
                    )
                    continue
            elif len(set(matches)) <= FEW_MATCHES and all(
                value.count(m) == matches.count(m) for m in set(matches)
            ):
                for match in sorted(set(hits), key=len, reverse=True):
                    value = value.replace(match, changed[match][0])
                outcomes[index] = (value, tuple(p for m in hits for p in changed[m][1]))
                continue
            marked.append(index)
        for group in _sharing_unused_characters([values[i] for i in marked], marked):
            # The screen puts a mark where each match was (the same matches, in the same
            # order), and the value is rebuilt from the pieces between the marks.
            subset = pl.Series([values[i] for i in group.indices], dtype=pl.String)
            mark = group.unused[0]
            pieces = subset.str.replace_all(self.policy.screen, mark).str.split(mark).to_list()
            for index, parts in zip(group.indices, pieces, strict=True):
                rebuilt = [parts[0]]
                for match, after in zip(found[index], parts[1:], strict=True):
                    rebuilt += [changed[match][0] if match in changed else match, after]
                replaced = tuple(p for m in found[index] if m in changed for p in changed[m][1])
                outcomes[index] = ("".join(rebuilt), replaced)
        return outcomes

    def _redact_matches(self, matches: list[str]) -> dict[str, tuple[str, Replaced] | None]:
        """Each candidate redacted by every rule in order; None for those left as they are."""
        if not matches:
            return {}
        text = pl.Series(matches, dtype=pl.String)
        counts: dict[str, pl.Series] = {}
        matching = pl.DataFrame({"t": text}).select(
            pl.col("t").str.contains(rule.compiled).alias(str(i))
            for i, rule in enumerate(self.policy.rules)
        )
        for index, rule in enumerate(self.policy.rules):
            # What an earlier rule replaced cannot create a match: markers match no pattern.
            rows = matching[str(index)].arg_true()
            if rows.len() == 0:
                continue
            replaced = self._apply_rule(text.gather(rows), rule)
            if replaced is None:
                continue
            subset, replacements = replaced
            text = text.scatter(rows, subset)
            counts[rule.name] = _zeros(text.len()).scatter(rows, replacements)
        result: dict[str, tuple[str, Replaced] | None] = dict.fromkeys(matches)
        if not counts:
            return result
        per_rule = {rule: series.to_list() for rule, series in counts.items()}
        for index, (match, redacted) in enumerate(zip(matches, text.to_list(), strict=True)):
            found = tuple((rule, n[index]) for rule, n in per_rule.items() if n[index])
            if found:
                result[match] = (redacted, found)
        return result

    def _apply_rule(
        self, text: pl.Series, rule: RedactionRule
    ) -> tuple[pl.Series, pl.Series] | None:
        """`text` with the valid matches of `rule` replaced, and how many in each value; None
        when the rule changes nothing."""
        found = text.str.extract_all(rule.compiled)
        matches = found.explode().drop_nulls().unique().to_list()
        if not matches:
            return None
        outcomes = {match: self._replacement(rule, match) for match in matches}
        changed = {match: outcome for match, outcome in outcomes.items() if outcome[1]}
        if not changed:
            return None
        keys = list(changed)
        counts = [changed[key][1] for key in keys]
        per_value = found.list.eval(
            pl.element().replace_strict(keys, counts, default=0, return_dtype=pl.Int64)
        ).list.sum()
        rows = (per_value > 0).arg_true()
        subset = text.gather(rows)
        if rule.check is None and not rule.pseudonym:  # every match becomes the same marker
            subset = subset.str.replace_all(rule.compiled, rule.marker.replace("$", "$$"))
        else:
            subset = _replace_matches(subset, rule.compiled, keys, [changed[k][0] for k in keys])
        return text.scatter(rows, subset), per_value

    def _replacement(self, rule: RedactionRule, match: str) -> tuple[str, int]:
        """What a match of `rule` becomes, and how many values in it were replaced."""
        if rule.check is None:
            spans = [Found(0, len(match), match)]
        else:
            spans = self.policy.checks[rule.check](match)
        pieces, position = [], 0
        for span in spans:
            pieces.append(match[position : span.start])
            pieces.append(self._marker(rule.kind, span.value) if rule.pseudonym else rule.marker)
            position = span.end
        pieces.append(match[position:])
        return "".join(pieces), len(spans)

    def _marker(self, kind: str, value: str) -> str:
        marker = self.key.marker(kind, value)
        if self.aliases is not None:
            self.aliases[marker] = (kind, value)
        return marker

    # Identity columns ------------------------------------------------------------------------

    def _pseudonymise(self, values: pl.Series) -> tuple[pl.Series, Counter]:
        """Each value whole as an alias: a value that is one address or number gets that rule's
        alias (the same as in free text), any other `[USER:…]`. Empty values stay."""
        values = values.cast(pl.String)
        distinct = [v for v in values.unique().drop_nulls().to_list() if v.strip()]
        if not distinct:
            return values, Counter()
        known = {v: self._identities[v] for v in distinct if v in self._identities}
        unknown = [v for v in distinct if v not in known]
        if unknown:
            as_text = self._known(list({v.strip() for v in unknown}))
            aliases = {}
            for value in unknown:
                outcome = as_text[value.strip()]
                whole = outcome is not None and MARKER.match(outcome[0])
                aliases[value] = (
                    outcome[0] if whole else self._marker(IDENTITY_KIND, _folded(value))
                )
            _remember(self._identities, aliases, REMEMBERED_VALUES)
            known.update(aliases)
        old = pl.Series(distinct, dtype=pl.String)
        new = pl.Series([known[v] for v in distinct], dtype=pl.String)
        changed = int(values.is_in(old.implode()).sum())
        return values.replace(old, new), Counter({IDENTITY_COUNT: changed})


# What was replaced in a value: (rule, how many) pairs.
Replaced = tuple[tuple[str, int], ...]
# A value's redaction, and what was replaced in it.
Outcome = tuple[str, Replaced]


def _mapping(
    values: pl.Series, known: Mapping[str, Outcome | None]
) -> tuple[tuple[pl.Series, pl.Series] | None, Counter]:
    """What redaction changes in `values`: (old values, new values), None if nothing; and the
    replacements per rule, each value counted as often as it occurs."""
    distinct = values.unique().drop_nulls().to_list()
    changed = {value: known[value] for value in distinct if known[value]}
    if not changed:
        return None, Counter()
    old = pl.Series(list(changed), dtype=pl.String)
    counts: Counter = Counter()
    if len(distinct) == values.len() - values.null_count():  # each value once
        occurrences = ((value, 1) for value in changed)
    else:
        occurrences = values.filter(values.is_in(old.implode())).value_counts().iter_rows()
    for value, times in occurrences:
        for rule, n in changed[value][1]:
            counts[rule] += n * times
    new = pl.Series([outcome[0] for outcome in changed.values()], dtype=pl.String)
    return (old, new), counts


def _nested_texts(column: pl.Expr, dtype: pl.DataType) -> list[tuple[str | None, pl.Expr]]:
    """The texts inside a nested column: (field name, or None for a list of texts; an
    expression for every value of it in the column)."""
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    if inner == pl.String:
        return [(None, column.list.explode())]
    if not isinstance(inner, pl.Struct):
        return []
    # One field at a time: distinct strings take far less memory than distinct records.
    return [
        (f.name, column.list.eval(pl.element().struct.field(f.name)).list.explode())
        for f in inner.fields
        if f.dtype == pl.String
    ]


def _picked(values: pl.Expr, screen: str) -> pl.Expr:
    """The distinct values the screen picks out, as one list."""
    distinct = values.unique().drop_nulls().implode()
    return distinct.list.eval(pl.element().filter(pl.element().str.contains(screen)))


def _repeating(frame: pl.DataFrame, columns: list[str]) -> list[str]:
    """The columns of which at most half of a sample spread over them is distinct values."""
    if not columns:
        return []
    step = max(1, frame.height // SAMPLE_VALUES)
    size = len(range(0, frame.height, step))
    distinct = frame.select(pl.col(c).gather_every(step).n_unique() for c in columns).row(0)
    return [c for c, n in zip(columns, distinct, strict=True) if n * 2 <= size]


def _remember(memory: dict, entries: Mapping, limit: int) -> None:
    """Add `entries`; past `limit` entries start afresh, which bounds the memory taken."""
    if len(memory) + len(entries) > limit:
        memory.clear()
    memory.update(entries)


def _zeros(length: int) -> pl.Series:
    return pl.zeros(length, pl.Int64, eager=True)


def _folded(value: str) -> str:
    return value.strip().casefold()


def _replace_matches(
    text: pl.Series, pattern: str, matches: list[str], replacements: list[str]
) -> pl.Series:
    """Each match of `pattern` that is one of `matches` replaced, in its own value only.

    Every match is first wrapped in two characters the values do not hold, so replacing the
    chosen ones as literals cannot touch the same characters elsewhere in a value.
    """
    groups = _sharing_unused_characters(text.to_list(), list(range(text.len())))
    if len(groups) > 1:  # values that together hold nearly every character: in parts
        parts = [
            _replace_matches(text.gather(g.indices), pattern, matches, replacements) for g in groups
        ]
        order = pl.Series([i for g in groups for i in g.indices]).arg_sort()
        return pl.concat(parts).gather(order)
    start, end = groups[0].unused if groups else ("", "")
    wrapped = text.str.replace_all(pattern, f"{start}${{0}}{end}")
    replaced = wrapped.str.replace_many([f"{start}{m}{end}" for m in matches], replacements)
    return replaced.str.replace_all(f"[{start}{end}]", "")


# Marks are taken from the private-use code points first (never assigned a meaning, so rare in
# real text), then from any other code point above ASCII but the surrogates.
MARKS = (
    range(0xE000, 0xF900),
    range(0xF0000, 0x110000),
    range(0xFFFF, 0xF8FF, -1),
    range(0xEFFFF, 0xFFFF, -1),
    range(0xD7FF, 0x7F, -1),
)
# At most this many distinct matches in a value are replaced as text; more, by their marks.
FEW_MATCHES = 32


@dataclass(frozen=True)
class MarkedGroup:
    """Values (by index) and two characters none of them holds, to mark their matches with."""

    indices: list[int]
    unused: tuple[str, str]


def _sharing_unused_characters(values: list[str], indices: list[int]) -> list[MarkedGroup]:
    """`values` (at `indices`) in groups, each with two characters none of its values holds:
    one group unless together they hold nearly every character there is, which a hostile
    text can, but no single value short of a million characters."""
    if not values:
        return []
    used = set().union(*(value for value in values if value))
    unused = []
    for code in (code for codes in MARKS for code in codes):
        if chr(code) not in used:
            unused.append(chr(code))
            if len(unused) == 2:
                return [MarkedGroup(indices, (unused[0], unused[1]))]
    if len(values) == 1:
        raise KeeptrustsError(
            "redaction: one value holds nearly every Unicode character, so its matches cannot "
            "be marked; that value cannot be redacted"
        )
    half = len(values) // 2
    return _sharing_unused_characters(values[:half], indices[:half]) + (
        _sharing_unused_characters(values[half:], indices[half:])
    )


def load_policy(
    path: Path | None = None, regions: tuple[str, ...] = DEFAULT_REGIONS
) -> RedactionPolicy:
    """Rules from `path`, else the packaged ones; phone numbers read for `regions`."""
    return _load_policy(Path(path or DEFAULT_RULES), tuple(regions))


def _compiles(pattern: str) -> str | None:
    """None when Polars accepts `pattern`, else its complaint."""
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except pl.exceptions.PolarsError as error:
        return str(error)
    return None


def _sample_markers(marker: str) -> list[str]:
    return [marker, f"[{marker.strip('[]')}:{ALPHABET[:8]}]", f"[{marker.strip('[]')}:zzxxwwvv]"]


@cache
def _load_policy(path: Path, regions: tuple[str, ...]) -> RedactionPolicy:
    where = f"redaction rules {path}"
    try:
        content = path.read_bytes()
        document = yaml.safe_load(content.decode("utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{where}: cannot be read ({error})") from None
    rules = []
    for index, entry in enumerate(document.get("rules") or []):
        label = f"{where}: rule {index + 1} ({entry.get('name', 'unnamed')})"
        missing = [key for key in ("name", "marker", "pattern") if not entry.get(key)]
        if missing:
            raise ConfigurationError(f"{label}: missing {', '.join(missing)}")
        if not MARKER_NAME.match(entry["marker"]):
            raise ConfigurationError(
                f"{label}: marker {entry['marker']!r} must be capitals in brackets, as [EMAIL]"
            )
        if entry.get("check") not in (None, *CHECK_NAMES):
            raise ConfigurationError(
                f"{label}: unknown check {entry['check']!r}; use one of {', '.join(CHECK_NAMES)}"
            )
        if not isinstance(entry.get("pseudonym", False), bool):
            raise ConfigurationError(f"{label}: pseudonym must be true or false")
        problem = _compiles(ascii_boundaries(entry["pattern"]))
        if problem:
            raise ConfigurationError(f"{label}: invalid pattern ({problem})")
        rules.append(
            RedactionRule(
                entry["name"], entry["marker"], entry["pattern"], entry.get("check"),
                bool(entry.get("pseudonym", False)),
            )
        )  # fmt: skip
    if len({rule.name for rule in rules}) != len(rules):
        raise ConfigurationError(f"{where}: two rules share a name; name each rule once")
    markers = pl.Series(
        [sample for rule in rules for sample in _sample_markers(rule.marker)]
        + _sample_markers(f"[{IDENTITY_KIND}]")
    )
    for rule in rules:
        clashes = markers.filter(markers.str.contains(rule.compiled))
        if len(clashes):
            raise ConfigurationError(
                f"{where}: rule {rule.name}: pattern {rule.pattern!r} matches the marker "
                f"{clashes[0]}; choose one no marker holds"
            )
    columns = {}
    for export_type, spec in (document.get("columns") or {}).items():
        if not isinstance(spec, dict):
            raise ConfigurationError(
                f"{where}: columns of {export_type} must list identity, text and keep fields"
            )
        columns[export_type] = ColumnSpec(
            *(tuple(spec.get(key) or ()) for key in ("identity", "text", "keep"))
        )
    return RedactionPolicy(
        rules=tuple(rules),
        columns=columns,
        version=str(document.get("version", "")),
        sha256=hashlib.sha256(content).hexdigest(),
        regions=regions,
    )
