"""Framework reports: a YAML catalog of controls, each answered by SQL over a report's scope.

A control names the article or measure it answers, a query giving its figures (one row), an
optional query giving the records a reviewer should cross-reference (run only when
`evidence_when` holds, if given), values for the queries' parameters (`parameters`, over the
catalog's own), and the rules deciding its status: `not_applicable_when`, then `met_when`
(else not met). A catalog's `prepare` statements run first, once, to build tables its
controls share. Rules compare figures with numbers or other figures:
`unlogged == 0 and events > 0`. A new framework is a YAML file (and its SQL), in the package
or in `KEEPTRUSTS_FRAMEWORKS_DIR`: no code.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.formats import catalog_paths
from keeptrusts_pipelines.queries import SQL_DIR
from keeptrusts_pipelines.reports.scope import Scope

SAMPLE_SIZE = 10
OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_COMPARISON = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*([a-z_][a-z0-9_]*|-?\d+(?:\.\d+)?)\s*$"
)
ID_COLUMNS = ("event_id", "request_id", "escalation_id")


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    reference: str
    figures_sql: str
    evidence_sql: str | None
    met_when: str
    not_applicable_when: str | None
    parameters: dict[str, object]
    evidence_when: str | None = None


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    authority: str
    controls: tuple[Control, ...]
    parameters: dict[str, object]
    sample_size: int
    prepare: tuple[str, ...] = ()


def _holds(rule: str, figures: dict[str, object], where: str) -> bool:
    """Whether every comparison of `rule` (joined by `and`) holds for `figures`."""
    for part in rule.split(" and "):
        match = _COMPARISON.match(part)
        if not match:
            raise ConfigurationError(f"{where}: cannot read rule {part.strip()!r}; write a == 0")
        left, symbol, right = match.groups()
        values = []
        for term in (left, right):
            if re.fullmatch(r"-?\d+(?:\.\d+)?", term):
                values.append(float(term))
            elif term in figures:
                values.append(0 if figures[term] is None else figures[term])
            else:
                raise ConfigurationError(
                    f"{where}: rule names {term!r}, which its query does not return "
                    f"(it returns {', '.join(figures)})"
                )
        if not OPERATORS[symbol](*values):
            return False
    return True


def _sql(reference: str, catalog: Path) -> str:
    """A query named in a catalog: a `.sql` file beside it, or `sql/<name>.sql`."""
    path = (
        catalog.parent / reference if reference.endswith(".sql") else SQL_DIR / f"{reference}.sql"
    )
    if not path.exists():
        raise ConfigurationError(f"framework {catalog}: query {reference!r} not found at {path}")
    return path.read_text(encoding="utf-8")


def load_framework(path: Path) -> Framework:
    """A catalog, checked: every control has the keys it needs and SQL that exists."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"framework {path}: cannot be read ({error})") from None
    controls = []
    for index, entry in enumerate(document.get("controls") or []):
        label = f"framework {path}: control {index + 1} ({entry.get('id', 'no id')})"
        missing = [k for k in ("id", "title", "reference", "query", "met_when") if not entry.get(k)]
        if missing:
            raise ConfigurationError(f"{label}: missing {', '.join(missing)}")
        controls.append(
            Control(
                id=entry["id"],
                title=entry["title"],
                reference=entry["reference"],
                figures_sql=_sql(entry["query"], path),
                evidence_sql=_sql(entry["evidence"], path) if entry.get("evidence") else None,
                met_when=entry["met_when"],
                not_applicable_when=entry.get("not_applicable_when"),
                parameters=dict(entry.get("parameters") or {}),
                evidence_when=entry.get("evidence_when"),
            )
        )
    if not controls:
        raise ConfigurationError(f"framework {path}: no controls")
    return Framework(
        name=document.get("framework") or path.stem,
        title=document.get("title") or path.stem,
        authority=document.get("authority", ""),
        controls=tuple(controls),
        parameters=dict(document.get("parameters") or {}),
        sample_size=int(document.get("sample_size", SAMPLE_SIZE)),
        prepare=tuple(_sql(reference, path) for reference in document.get("prepare") or []),
    )


@cache
def _cached(path: Path, modified: float) -> Framework:
    return load_framework(path)


def framework(name: str) -> Framework:
    paths = catalog_paths()
    if name not in paths:
        raise ConfigurationError(
            f"no framework {name!r}; the catalogs hold {', '.join(paths) or 'none'}"
        )
    return _cached(paths[name], paths[name].stat().st_mtime)


def evaluate(fw: Framework, scope: Scope) -> dict:
    """The framework's report over a scope: each control with status, rule, figures, ids."""
    for statement in fw.prepare:
        scope.run(statement, **fw.parameters)
    controls = []
    for control in fw.controls:
        where = f"framework {fw.name}: control {control.id}"
        parameters = {**fw.parameters, **control.parameters}
        rows = scope.run(control.figures_sql, **parameters)
        figures = rows[0] if rows else {}
        if control.not_applicable_when and _holds(control.not_applicable_when, figures, where):
            status, rule = "not applicable", control.not_applicable_when
        elif _holds(control.met_when, figures, where):
            status, rule = "met", control.met_when
        else:
            status, rule = "not met", f"not ({control.met_when})"
        references: dict[str, list[str]] = {f"{c}s": [] for c in ID_COLUMNS}
        wanted = not control.evidence_when or _holds(control.evidence_when, figures, where)
        if control.evidence_sql and wanted:
            for row in scope.run(control.evidence_sql, limit=fw.sample_size, **parameters):
                for column in ID_COLUMNS:
                    if row.get(column) and row[column] not in references[f"{column}s"]:
                        references[f"{column}s"].append(row[column])
        controls.append(
            {
                "id": control.id,
                "title": control.title,
                "reference": control.reference,
                "status": status,
                "rule": rule,
                "met_when": control.met_when,
                "not_applicable_when": control.not_applicable_when,
                "figures": {k: _plain(v) for k, v in figures.items()},
                "cross_reference": references,
            }
        )
    counts = {
        s: sum(c["status"] == s for c in controls) for s in ("met", "not met", "not applicable")
    }
    return {
        "framework": fw.name,
        "title": fw.title,
        "authority": fw.authority,
        "window": scope.request.window.as_dict(),
        "filters": scope.request.filters.active(),
        "summary": {"controls": len(controls), **counts},
        "controls": controls,
    }


def _plain(value: object) -> object:
    """Figures as JSON numbers: DuckDB gives Decimals for some aggregates."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return round(float(value), 4)
