"""What an export left behind, typed: its record (`export.json`) and where it was delivered
(the record's `delivery`, and a period bundle's `delivery.json`).

Read from the JSON any version wrote (fields it lacks are None; a field of the wrong type is a
BrokenRecord naming it) and written back as it was read: the same keys in the same order,
unknown ones kept, so rewriting a record changes only the fields that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from keeptrusts_pipelines.exports.folder import BrokenRecord

_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "dict": (dict,),
    "list": (list,),
}


def _checked(document: Mapping[str, Any], name: str, kind: str, where: str) -> Any:
    """`document[name]` when absent, null or of `kind`; else BrokenRecord naming the field."""
    value = document.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, _KINDS[kind]):
        wanted = {"str": "a string", "int": "a whole number", "dict": "an object"}.get(
            kind, "a list"
        )
        raise BrokenRecord(f"{where}: {name} must be {wanted}, not {type(value).__name__}")
    return value


class _Record:
    """Reading and writing shared by the records: `written` holds the JSON as it was read."""

    FILE: ClassVar[str]
    KINDS: ClassVar[dict[str, str]]  # field → JSON kind
    # Fields a new record holds even when null, as their writers write them (a record read
    # from JSON keeps the keys it had).
    ALWAYS: ClassVar[tuple[str, ...]]
    written: Mapping[str, Any]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        """The record of a JSON object; BrokenRecord when a field has the wrong type."""
        if not isinstance(document, Mapping):
            raise BrokenRecord(f"{cls.FILE}: holds {type(document).__name__}, not a JSON object")
        values = {
            name: _checked(document, name, kind, cls.FILE) for name, kind in cls.KINDS.items()
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
            fresh = not self.written and item.name in self.ALWAYS
            if item.name in document or fresh or value is not None:
                document[item.name] = value
        return document


@dataclass(frozen=True)
class DeliveryRecord(_Record):
    """Where an artifact was delivered: its object's URI and key, version and sha256."""

    FILE: ClassVar[str] = "delivery"
    KINDS: ClassVar[dict[str, str]] = {
        "uri": "str",
        "bucket": "str",
        "key": "str",
        "region": "str",
        "version_id": "str",
        "sha256": "str",
        "delivered_at": "str",
    }
    ALWAYS: ClassVar[tuple[str, ...]] = ("uri", "sha256")

    uri: str | None = None
    bucket: str | None = None
    key: str | None = None
    region: str | None = None
    version_id: str | None = None
    sha256: str | None = None
    delivered_at: str | None = None
    written: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ExportRecord(_Record):
    """An export's record: what was asked (`request`, as `ExportRequest.describe()` gives it),
    what was written, when, where it went, and what became of its artifact."""

    FILE: ClassVar[str] = "export.json"
    KINDS: ClassVar[dict[str, str]] = {
        "export_id": "str",
        "status": "str",
        "request": "dict",
        "created_at": "str",
        "completed_at": "str",
        "records": "int",
        "bytes": "int",
        "sha256": "str",
        "artifact": "str",
        "parts": "int",
        "warnings": "list",
        "partitions": "list",
        "expires_at": "str",
        "provenance": "str",
        "redaction": "dict",
        "removed_at": "str",
        "delivery": "dict",
    }
    # The engine writes every field of its result, null or not; expiry, deletion and delivery
    # add theirs when they happen.
    ALWAYS: ClassVar[tuple[str, ...]] = tuple(KINDS)[:15]

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
    removed_at: str | None = None
    delivery: DeliveryRecord | None = None
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
