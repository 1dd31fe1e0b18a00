"""`compliance-all`: the evidence bundle, a reproducible BagIt tar.gz.

Payload under `data/`: the framework reports, the PDF report, events, escalations and config
history (JSONL, redacted unless raw content was asked for). At the bag's root, beside the
BagIt files, `manifest.json`: the request, generator and code version, every artifact with
its bytes, sha256, records and media type, and every lake partition read with its data
version. Nothing run-specific (export id, times, run id) goes inside: that is the
provenance statement's job.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.evidence.bag import pack, write_bag_files
from keeptrusts_pipelines.evidence.code_version import GENERATOR, code_version, generator_version
from keeptrusts_pipelines.exports.engine import run_export, shown_filters
from keeptrusts_pipelines.exports.reader import PartitionRead
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.exports.writers import shape
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.frameworks import catalog_paths, evaluate, framework
from keeptrusts_pipelines.reports.pdf import (
    lake_hash,
    redaction_facts,
    shown_text,
    write_report_pdf,
)
from keeptrusts_pipelines.reports.scope import Scope, open_scope

MANIFEST = "manifest.json"
MEDIA_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".pdf": "application/pdf",
}
BATCH_ROWS = 50_000
PACKAGED_FRAMEWORKS = ("aesia", "aepd", "ens")


@dataclass(frozen=True)
class Bundle:
    records: int
    partitions: list[PartitionRead]
    warnings: list[str]
    manifest: dict


def framework_report(name: str, scope: Scope, redaction: Redaction | None = None) -> bytes:
    """A framework's JSON report, with the generator that made it; the same for the same lake.

    With `redaction`, every text in it (figures, the ids to cross-reference, the filters) is
    redacted, user filters pseudonymised, and the report says under which rules.
    """
    report = evaluate(framework(name), scope)
    if redaction is not None:
        window = report.pop("window")
        report = {"window": window, **redaction.document(report, identity_keys={"user"})}
        report["redaction"] = redaction_facts(redaction)
    report["generator"] = {"name": GENERATOR, "version": generator_version()}
    report["code_version"] = code_version()
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()


def _scope_jsonl(
    scope: Scope, sql: str, export_type: str, target: Path, redaction: Redaction | None
) -> int:
    """Rows of a scope query as JSONL, redacted unless `redaction` is None, streamed in
    batches; how many."""
    records = 0
    reader = scope.connection.sql(sql).to_arrow_reader(BATCH_ROWS)
    with target.open("wb") as handle:
        for batch in reader:
            frame = pl.from_arrow(batch)
            if redaction is not None:
                frame = redaction.apply(frame, export_type)
            shape(frame.lazy(), "jsonl").collect().write_ndjson(handle)
            records += frame.height
    return records


def _events_jsonl(
    request: ExportRequest,
    layout: LakeLayout,
    scratch: Path,
    now: datetime,
    redaction: Redaction | None,
):
    """The window's events through the export engine: the same rows and redaction as a jsonl
    export of the same request, under the bundle's pseudonym key."""
    events = replace(request, format="jsonl", export_type="events", name=None)
    return run_export(
        events,
        layout,
        scratch,
        export_id="events",
        now=lambda: now,
        part_bytes=1 << 62,
        redaction=redaction,
    )


def write_bundle(
    request: ExportRequest,
    layout: LakeLayout,
    bag: Path,
    target: Path,
    now: datetime,
    redaction: Redaction | None = None,
) -> Bundle:
    """Build the bag in the folder `bag` (its name is the archive's top folder), pack it as
    `target`. Every part is redacted by the one `redaction` (None: raw content), so a person
    has the same alias in all of them."""
    scratch = bag.parent
    data = bag / "data"
    data.mkdir(parents=True)
    records: dict[str, int | None] = {}
    with open_scope(request, layout, now) as scope:
        frameworks = [n for n in PACKAGED_FRAMEWORKS if n in catalog_paths()]
        for name in frameworks:
            report = framework_report(name, scope, redaction)
            (data / f"compliance-{name}.json").write_bytes(report)
            records[f"compliance-{name}.json"] = None
        summary = write_report_pdf(scope, data / "report.pdf", redaction=redaction)
        records["report.pdf"] = summary["key_metrics"]["events"]
        records["escalations.jsonl"] = _scope_jsonl(
            scope,
            "SELECT escalation_id AS id, * EXCLUDE (escalation_id) FROM escalations "
            "ORDER BY opened_at, escalation_id",
            "escalations",
            data / "escalations.jsonl",
            redaction,
        )
        records["config-history.jsonl"] = _scope_jsonl(
            scope,
            "SELECT config_version AS id, created_at, gateway, author, summary, policies, sha256 "
            "FROM config_versions WHERE in_window ORDER BY created_at, config_version",
            "config-history",
            data / "config-history.jsonl",
            redaction,
        )
        partitions, warnings, content_hash = scope.partitions, scope.warnings, lake_hash(scope)
    events = _events_jsonl(request, layout, scratch / "events", now, redaction)
    shutil.move(events.artifact, data / "events.jsonl")
    records["events.jsonl"] = events.records

    manifest = {
        "manifest_version": 1,
        "bundle": bag.name,
        "window": request.window.as_dict(),
        "filters": shown_filters(request, redaction),
        "content": "raw" if request.raw_content else "redacted",
        # Every part above is written: the counts cover the whole bundle.
        "redaction": redaction.facts() if redaction else None,
        "title": shown_text(request.title, redaction),
        "description": shown_text(request.description, redaction),
        "generator": {"name": GENERATOR, "version": generator_version()},
        "code_version": code_version(),
        "artifacts": [
            {
                "path": f"data/{name}",
                "bytes": (data / name).stat().st_size,
                "sha256": sha256_of(data / name),
                "records": records[name],
                "media_type": MEDIA_TYPES[Path(name).suffix],
            }
            for name in sorted(records)
        ],
        "lineage": {
            "lake_content_hash": content_hash,
            "partitions": [
                {"table": p.table, "day": p.day, "data_version": p.sha256, "sha256": p.sha256}
                for p in partitions
            ],
        },
    }
    (bag / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    write_bag_files(bag, f"Compliance evidence {request.window.describe()}", [MANIFEST])
    pack(bag, target)
    return Bundle(events.records, partitions, warnings, manifest)
