"""Records as JSON and databases hold them -> a raw Arrow table the lake can conform."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from keeptrusts_pipelines.model.schema import TableSpec


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def cell_text(value: Any) -> str | None:
    """One value as text: strings as they are, datetimes in ISO 8601, the rest as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def raw_table(spec: TableSpec, records: Iterable[tuple[Mapping[str, Any], str]]) -> pa.Table:
    """A table of text cells (one column per canonical field) from (record, origin) pairs.

    Text keeps every source alike; the conform SQL types and validates it. Fields that are
    not canonical are ignored (the gateway may send more than the lake keeps).
    """
    names = spec.schema.names
    columns: dict[str, list[str | None]] = {name: [] for name in [*names, "source_origin"]}
    for record, origin in records:
        for name in names:
            columns[name].append(cell_text(record.get(name)))
        columns["source_origin"].append(origin)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def record_json(record: Mapping[str, Any]) -> str:
    """A canonical record as one JSON line, as a gateway ships it."""
    return json.dumps(record, default=_json_default, ensure_ascii=False)
