"""Typed records: `export.json` and `delivery.json` read into ExportRecord and DeliveryRecord
and written back byte for byte, old records included."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.exports.folder import BrokenRecord, ExportFolder
from keeptrusts_pipelines.exports.lifecycle import (
    expire_due,
    gone_message,
    read_record,
    write_record,
)
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import Filters, request_from_description
from keeptrusts_pipelines.model.records import DeliveryRecord, ExportRecord
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake

NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)

# A record as an earlier version wrote it: no parts, provenance or redaction, a key this
# version does not know, and a delivery.
OLD_RECORD = {
    "export_id": "exp_0ld000000001",
    "status": "completed",
    "request": {
        "type": "events",
        "format": "csv",
        "window": {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"},
        "filters": {"team": ["legal"]},
        "name": None,
        "title": None,
        "description": None,
        "content": "redacted",
    },
    "created_at": "2026-03-02T10:00:00Z",
    "completed_at": "2026-03-02T10:00:01Z",
    "records": 12,
    "bytes": 3456,
    "sha256": "ab" * 32,
    "artifact": "/old/home/exports/exp_0ld000000001/artifact/kt.csv",
    "warnings": [],
    "partitions": [{"table": "decision_events", "day": "2026-03-01", "sha256": "cd" * 32}],
    "expires_at": "2026-03-03T10:00:01Z",
    "generator": "keeptrusts 0.1 — «old»",
    "delivery": {
        "uri": "s3://bucket/exp_0ld000000001/kt.csv",
        "bucket": "bucket",
        "key": "exp_0ld000000001/kt.csv",
        "region": None,
        "version_id": None,
        "sha256": "ab" * 32,
    },
}


def _bytes_of(document: dict) -> bytes:
    """The bytes ExportFolder.write_json writes for a document."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def test_a_record_the_engine_writes_reads_and_writes_back_byte_for_byte(tmp_path: Path) -> None:
    lake = LakeLayout(tmp_path / "lake")
    demo_lake(lake, date(2026, 3, 1), 2, per_day=50)
    request = request_from_description(
        {
            "type": "events",
            "format": "csv",
            "window": {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z"},
            "filters": {},
        }
    )
    request = replace(request, filters=Filters(action=("block", "allow")), title="Typed")
    root = tmp_path / "exports"
    result = run_export(
        request, lake, root, export_id="exp_typed0000001", now=lambda: NOW, ttl=timedelta(days=1)
    )
    written = (root / "exp_typed0000001" / "export.json").read_bytes()
    record = read_record(root, "exp_typed0000001")
    assert record is not None
    assert (record.records, record.sha256, record.status) == (
        result.records,
        result.sha256,
        "completed",
    )
    assert record.redaction is not None and record.partitions
    assert _bytes_of(record.to_json()) == written
    # A fresh record (no JSON read) writes the engine's keys in the engine's order.
    fresh = ExportRecord.from_json(json.loads(written))
    rebuilt = ExportRecord(
        **{
            item.name: getattr(fresh, item.name)
            for item in fields(ExportRecord)
            if item.name != "written"
        }
    )
    assert _bytes_of(rebuilt.to_json()) == written
    assert request_from_description(dict(record.request or {})) == request


def test_an_old_record_reads_and_changes_only_where_it_changed(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    folder = ExportFolder(root, "exp_0ld000000001")
    folder.path.mkdir(parents=True)
    folder.write_json(folder.record_path, OLD_RECORD)
    before = folder.record_path.read_bytes()
    record = read_record(root, "exp_0ld000000001")
    assert record is not None and record.parts is None and record.redaction is None
    assert record.delivery == DeliveryRecord.from_json(OLD_RECORD["delivery"])
    assert record.delivery is not None and record.delivery.bucket == "bucket"
    write_record(root, "exp_0ld000000001", record)
    assert folder.record_path.read_bytes() == before

    ledger = CustodyLedger(f"sqlite:///{tmp_path / 'custody.db'}")
    assert expire_due(root, ledger, now=NOW) == ["exp_0ld000000001"]
    expired = json.loads(folder.record_path.read_text(encoding="utf-8"))
    assert expired == {**OLD_RECORD, "status": "expired", "removed_at": "2026-03-05T12:00:00Z"}
    assert list(expired) == [*OLD_RECORD, "removed_at"]
    message = gone_message(ExportRecord.from_json(expired))
    assert message is not None and "kt export create --type events --format csv" in message
    assert "--filter-team legal" in message


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("records", "12", "records must be a whole number, not str"),
        ("records", True, "records must be a whole number, not bool"),
        ("status", 3, "status must be a string, not int"),
        ("request", [], "request must be an object, not list"),
        ("delivery", "s3://x", "delivery must be an object, not str"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_broken_record_naming_it(
    field: str, value: object, said: str
) -> None:
    with pytest.raises(BrokenRecord, match=said):
        ExportRecord.from_json({**OLD_RECORD, field: value})


def test_a_period_bundles_delivery_json_round_trips() -> None:
    written = {
        "key": "weekly/2026-03-02/bundle-abcd.tar.gz",
        "uri": "s3://evidence/weekly/2026-03-02/bundle-abcd.tar.gz",
        "version_id": "v1",
        "sha256": "ef" * 32,
        "delivered_at": "2026-03-09T02:00:05+00:00",
    }
    record = DeliveryRecord.from_json(written)
    assert (record.key, record.sha256, record.bucket) == (written["key"], written["sha256"], None)
    assert json.dumps(record.to_json(), indent=2) == json.dumps(written, indent=2)
    with pytest.raises(BrokenRecord, match="delivery: sha256 must be a string"):
        DeliveryRecord.from_json({**written, "sha256": 5})
