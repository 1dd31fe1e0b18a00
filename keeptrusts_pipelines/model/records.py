"""What an export left behind, typed: its record (`export.json`) and where it was delivered
(the record's `delivery`, and a period bundle's `delivery.json`).

Read from the JSON any version wrote (fields it lacks are None; a field of the wrong type is a
BrokenRecord naming it) and written back as it was read: the same keys in the same order,
unknown ones kept, so rewriting a record changes only the fields that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, Self, get_args, get_origin, get_type_hints

from keeptrusts_pipelines.exports.folder import BrokenRecord

# The JSON a field holds, by its Python type, and how an error names it.
_JSON: dict[type, tuple[type, str]] = {
    str: (str, "a string"),
    int: (int, "a whole number"),
    tuple: (list, "a list"),
    Mapping: (dict, "an object"),
}
# The metadata of a field its writer adds only once it has a value (`removed_at`, `delivery`).
WHEN_SET = {"when_set": True}


@cache
def _json_kinds(cls: type) -> dict[str, tuple[type, str]]:
    """Each field of a record with the JSON type it holds, read from its type hint."""
    hints = get_type_hints(cls)
    kinds = {}
    for item in fields(cls):
        if item.name == "written":
            continue
        hint = next(arg for arg in get_args(hints[item.name]) if arg is not type(None))
        base = get_origin(hint) or hint
        kinds[item.name] = _JSON[Mapping if issubclass(base, _Record | Mapping) else base]
    return kinds


def _checked(document: Mapping[str, Any], name: str, kind: tuple[type, str], where: str) -> Any:
    """`document[name]` when absent, null or of `kind`; else BrokenRecord naming the field."""
    value = document.get(name)
    if value is None:
        return None
    json_type, wanted = kind
    if isinstance(value, bool) or not isinstance(value, json_type):
        raise BrokenRecord(f"{where}: {name} must be {wanted}, not {type(value).__name__}")
    return value


class _Record:
    """Reading and writing shared by the records: `written` holds the JSON as it was read."""

    FILE: ClassVar[str]
    written: Mapping[str, Any]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        """The record of a JSON object; BrokenRecord when a field has the wrong type."""
        if not isinstance(document, Mapping):
            raise BrokenRecord(f"{cls.FILE}: holds {type(document).__name__}, not a JSON object")
        values = {
            name: _checked(document, name, kind, cls.FILE)
            for name, kind in _json_kinds(cls).items()
        }
        return cls._build(values, dict(document))

    @classmethod
    def _build(cls, values: dict[str, Any], written: dict[str, Any]) -> Self:
        return cls(**values, written=written)  # type: ignore[call-arg]

    def _json_value(self, name: str) -> Any:
        value = getattr(self, name)
        return list(value) if isinstance(value, tuple) else value

    def to_json(self) -> dict[str, Any]:
        """The record as JSON: the keys it was read with in their order, then new ones."""
        document = dict(self.written)
        for item in fields(self):  # type: ignore[arg-type]
            if item.name == "written":
                continue
            value = self._json_value(item.name)
            # A new record holds its fields even when null, as their writers write them; one
            # read from JSON keeps the keys it had.
            fresh = not self.written and not item.metadata.get("when_set")
            if item.name in document or fresh or value is not None:
                document[item.name] = value
        return document


@dataclass(frozen=True)
class DeliveryRecord(_Record):
    """Where an artifact was delivered: its object's URI and key, version and sha256."""

    FILE: ClassVar[str] = "delivery"

    uri: str | None = None
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    version_id: str | None = None
    sha256: str | None = None
    delivered_at: str | None = field(default=None, metadata=WHEN_SET)
    written: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ExportRecord(_Record):
    """An export's record: what was asked (`request`, as `ExportRequest.describe()` gives it),
    what was written, when, where it went, and what became of its artifact."""

    FILE: ClassVar[str] = "export.json"

    export_id: str | None = None
    status: str | None = None
    request: Mapping[str, Any] | None = None
    created_at: str | None = None
    completed_at: str | None = None
    records: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    artifact: str | None = None
    parts: int | None = None
    warnings: tuple[str, ...] | None = None
    partitions: tuple[Mapping[str, Any], ...] | None = None
    expires_at: str | None = None
    provenance: str | None = None
    redaction: Mapping[str, Any] | None = None
    # The engine writes every field above, null or not; expiry, deletion and delivery add
    # theirs when they happen.
    removed_at: str | None = field(default=None, metadata=WHEN_SET)
    delivery: DeliveryRecord | None = field(default=None, metadata=WHEN_SET)
    written: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def _build(cls, values: dict[str, Any], written: dict[str, Any]) -> Self:
        for name in ("warnings", "partitions"):
            if values[name] is not None:
                values[name] = tuple(values[name])
        if values["delivery"] is not None:
            values["delivery"] = DeliveryRecord.from_json(values["delivery"])
        return cls(**values, written=written)

    def _json_value(self, name: str) -> Any:
        if name == "delivery" and self.delivery is not None:
            return self.delivery.to_json()
        return super()._json_value(name)

    @property
    def window(self) -> Mapping[str, Any]:
        """The request's window as recorded (`from`, and `to` excluded); empty when unrecorded."""
        window = (self.request or {}).get("window")
        return window if isinstance(window, Mapping) else {}
