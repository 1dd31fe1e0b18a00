"""`compliance-all`: the evidence bundle, a reproducible BagIt tar.gz.

Payload under `data/`: every format the registry gives a `bundle_file` (exports/formats.py:
each framework catalog's report, the PDF report, the events as JSONL, and any plug-in's), made
by its own producer over the bundle's window and filters, then escalations and config history
(JSONL); all redacted unless raw content was asked for. At the bag's root, beside the
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

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.evidence.bag import pack, write_bag_files
from keeptrusts_pipelines.evidence.code_version import GENERATOR, code_version, generator_version
from keeptrusts_pipelines.exports.engine import Written, produce, shown_filters
from keeptrusts_pipelines.exports.formats import bundle_members, format_named
from keeptrusts_pipelines.exports.naming import artifact_stem
from keeptrusts_pipelines.exports.producer_options import ProducerOptions
from keeptrusts_pipelines.exports.reader import PartitionRead
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.exports.writers import shape
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.pdf import lake_hash, shown_text
from keeptrusts_pipelines.reports.scope import Scope, open_scope

MANIFEST = "manifest.json"
BATCH_ROWS = 50_000
# A member is one file, however large.
UNSPLIT_BYTES = 1 << 62
EVENT_COUNT = "SELECT count(*) AS events FROM events"
# The bundle's own data beside its member formats.
ESCALATIONS_FILE, CONFIG_HISTORY_FILE = "escalations.jsonl", "config-history.jsonl"


@dataclass(frozen=True)
class Bundle:
    records: int
    partitions: list[PartitionRead]
    warnings: list[str]
    manifest: dict


def write_bundle_artifact(
    request: ExportRequest,
    layout: Lake,
    staging: Path,
    export_id: str | None,
    started: datetime,
    redaction: Redaction | None = None,
    options: ProducerOptions | None = None,
) -> Written:
    """`compliance-all`'s producer: the bundle packed into one part; records are the events
    it covers."""
    part = staging / "part-0001"
    bag = staging / "bundle" / artifact_stem(request)
    bundle = write_bundle(request, layout, bag, part, started, redaction, options)
    return Written([part], [sha256_of(part)], bundle.records, bundle.partitions, bundle.warnings)


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


def write_bundle(
    request: ExportRequest,
    layout: Lake,
    bag: Path,
    target: Path,
    now: datetime,
    redaction: Redaction | None = None,
    options: ProducerOptions | None = None,
) -> Bundle:
    """Build the bag in the folder `bag` (its name is the archive's top folder), pack it as
    `target`. Every part is redacted by the one `redaction` (None: raw content), so a person
    has the same alias in all of them."""
    data = bag / "data"
    data.mkdir(parents=True)
    records: dict[str, int | None] = {}
    media_types: dict[str, str] = {}
    for entry in bundle_members():
        name = str(entry.bundle_file)
        if name in records or name in (ESCALATIONS_FILE, CONFIG_HISTORY_FILE):
            raise ConfigurationError(
                f"format {entry.name}: its bundle_file {name!r} is another part's; rename it"
            )
        # Each member covers the bundle's window and filters; the run-specific id stays out.
        member = replace(request, format=entry.name, export_type="events", name=None)
        staging = bag.parent / f"member-{entry.name}"
        staging.mkdir()
        written = produce(
            entry,
            member,
            layout,
            staging,
            None,
            now,
            UNSPLIT_BYTES,
            redaction,
            options or ProducerOptions(),
        )
        if len(written.parts) != 1:
            raise ConfigurationError(
                f"format {entry.name}: wrote {len(written.parts)} files; a bundle member is one"
            )
        shutil.move(written.parts[0], data / name)
        records[name], media_types[name] = written.records, entry.media_type
    with open_scope(request, layout, now) as scope:
        records[ESCALATIONS_FILE] = _scope_jsonl(
            scope,
            "SELECT escalation_id AS id, * EXCLUDE (escalation_id) FROM escalations "
            "ORDER BY opened_at, escalation_id",
            "escalations",
            data / ESCALATIONS_FILE,
            redaction,
        )
        records[CONFIG_HISTORY_FILE] = _scope_jsonl(
            scope,
            "SELECT config_version AS id, created_at, gateway, author, summary, policies, "
            "policy_definitions, sha256 "
            "FROM config_versions WHERE in_window ORDER BY created_at, config_version",
            "config-history",
            data / CONFIG_HISTORY_FILE,
            redaction,
        )
        lines = format_named("jsonl").media_type
        media_types[ESCALATIONS_FILE] = media_types[CONFIG_HISTORY_FILE] = lines
        events = scope.run(EVENT_COUNT)[0]["events"]
        partitions, warnings, content_hash = scope.partitions, scope.warnings, lake_hash(scope)

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
                "media_type": media_types[name],
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
    return Bundle(events, partitions, warnings, manifest)
