"""Run an export: read the window from the lake, redact, write, record what was done.

The engine writes rows (the tabular formats) itself; any other format's producer comes from
the format registry (exports/formats.py), so reports and bundles build on the engine without
the engine knowing them. Plain Python + DuckDB + Polars; no Dagster.
"""

import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.evidence.code_version import GENERATOR, code_version, generator_version
from keeptrusts_pipelines.evidence.provenance import statement, write_provenance
from keeptrusts_pipelines.exports.folder import RECORD_FILE, ExportFolder
from keeptrusts_pipelines.exports.formats import ExportFormat, FormatKind, Shaping, format_named
from keeptrusts_pipelines.exports.naming import artifact_extension, artifact_stem
from keeptrusts_pipelines.exports.parts import PartFiles, member_name, publish
from keeptrusts_pipelines.exports.producer_options import ProducerOptions
from keeptrusts_pipelines.exports.read_ahead import read_ahead
from keeptrusts_pipelines.exports.reader import PartitionRead, Plan, export_rows, plan_export
from keeptrusts_pipelines.exports.redaction import Redaction, RedactionConfig
from keeptrusts_pipelines.exports.writers import shape, writer_for
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, rfc3339, validate

METADATA_FILE = RECORD_FILE
# Beyond this an export is split into parts (KEEPTRUSTS_EXPORT_PART_BYTES at the doors).
DEFAULT_PART_BYTES = 1 << 30
BATCH_ROWS = 50_000
EMPTY_WARNING = (
    "No records matched: widen the time window, relax the filters, or check that traffic "
    "passed through the gateway during the window."
)


@dataclass
class ExportResult:
    export_id: str
    status: str
    request: dict[str, object]
    created_at: str
    completed_at: str
    records: int
    bytes: int
    sha256: str
    artifact: str
    parts: int
    warnings: list[str] = field(default_factory=list)
    partitions: list[PartitionRead] = field(default_factory=list)
    expires_at: str | None = None
    provenance: str | None = None
    # The rule set, pseudonym key and per-rule replacements; None for raw content.
    redaction: dict[str, object] | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Written:
    """What a format's writer left in staging: part files (one, or several to zip; or the zip
    of `zipped_parts` parts, already made), their sha256s, and facts."""

    parts: list[Path]
    hashes: list[str]
    records: int
    partitions: list[PartitionRead]
    warnings: list[str]
    zipped_parts: int = 0

    @property
    def part_count(self) -> int:
        return self.zipped_parts or len(self.parts)


def produce(
    entry: ExportFormat,
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str | None,
    started: datetime,
    part_bytes: int,
    redaction: Redaction | None,
    options: ProducerOptions,
) -> Written:
    """Write `request` in the format `entry` into `staging`: rows through the engine's stream,
    anything else through the format's producer. `export_id` is None inside a bundle."""
    if entry.kind is FormatKind.TABULAR:
        return _write_tabular(request, layout, staging, export_id, started, part_bytes, redaction)
    producer = entry.load_producer()
    return producer(request, layout, staging, export_id, started, redaction, options)  # type: ignore[return-value]


def _write_tabular(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str | None,
    started: datetime,
    part_bytes: int,
    redaction: Redaction | None,
) -> Written:
    """Stream the window's rows through redaction and shaping into numbered part files."""
    plan = plan_export(request, layout, started)
    header = {
        "export_id": export_id,
        "created_at": rfc3339(started),
        "window": request.window.as_dict(),
        "filters": shown_filters(request, redaction),
    }
    stem, extension = artifact_stem(request), artifact_extension(request)
    output = PartFiles(
        staging,
        lambda: writer_for(request.format, header, plan.kind.records_key),
        part_bytes,
        lambda number: member_name(stem, extension, number),
    )
    records = 0
    # The next batch is read, shaped and redacted while this one is written.
    for batch in read_ahead(_prepared_batches(request, plan, staging, redaction)):
        output.write(batch)
        records += batch.height
    out = output.close()
    return Written(
        [out.path], [out.sha256], records, plan.partitions, list(plan.warnings), out.zipped_parts
    )


def shown_filters(request: ExportRequest, redaction: Redaction | None) -> dict[str, object]:
    """The request's filters as an artifact shows them: a user filter as the users' aliases,
    other values redacted like any text."""
    filters = request.filters.active()
    return filters if redaction is None else redaction.document(filters, identity_keys={"user"})


def _prepared_batches(
    request: ExportRequest, plan: Plan, staging: Path, redaction: Redaction | None
) -> Iterator[pl.DataFrame]:
    """The export's rows in order, in batches, redacted and shaped for the format; an empty
    export still yields one empty batch, which carries the header or schema."""
    produced = False
    for rows in export_rows(request, plan, staging):
        # Shaping is part of the streamed query, so it runs beside redaction; the few columns
        # redaction changes are shaped again after it.
        schema = rows.collect_schema()
        redacted = redaction.columns_of(request.export_type, schema) if redaction else []
        # CSV holds nested values as JSON: the streamed query marks the rows whose nested
        # texts the screen picks out, and only those are read back from the JSON and redacted.
        nested = {c: schema[c] for c in redacted if isinstance(schema[c], pl.List)}
        nested = nested if _flat(request) else {}
        marks = [
            redaction.nested_candidates(c, dtype).alias(CANDIDATES_PREFIX + c)
            for c, dtype in nested.items()
        ]
        held = rows.with_columns(marks) if marks else rows
        # Identities are pseudonymised whole, so a spreadsheet's guard must not precede that.
        identity = redaction.policy.spec(request.export_type).identity if redaction else ()
        shaped = shape(held, request.format, identity)
        for batch in shaped.collect_batches(chunk_size=BATCH_ROWS):
            if redaction is not None:
                batch = _redacted(batch, request, redaction, nested)
            produced = produced or batch.height > 0
            yield batch
    if not produced:
        yield shape(rows.clear(), request.format).collect()


# Names of the nested columns' candidate marks while a CSV batch is redacted.
CANDIDATES_PREFIX = "\x00candidates "


def _flat(request: ExportRequest) -> bool:
    """Whether the format holds nested values as JSON text (CSV)."""
    return format_named(request.format).shaping is Shaping.FLAT


def _redacted(
    batch: pl.DataFrame,
    request: ExportRequest,
    redaction: Redaction,
    nested: dict[str, pl.DataType],
) -> pl.DataFrame:
    """A shaped batch redacted. In CSV what redaction changed is shaped again: nested values
    encoded as JSON, a cell a spreadsheet would run as a formula neutralised."""
    if not _flat(request):
        return redaction.apply(batch, request.export_type)
    marks = [CANDIDATES_PREFIX + c for c in nested]
    values, changed = redaction.redact(batch.drop(*marks, *nested), request.export_type)
    updates = [values[c] for c in changed]
    for name, dtype in nested.items():
        rows = batch[CANDIDATES_PREFIX + name].arg_true()
        if rows.len() == 0:
            continue
        found = batch[name].gather(rows).str.json_decode(dtype).to_frame(name)
        found, changed_nested = redaction.redact(found, request.export_type)
        if changed_nested:
            encoded = shape(found.lazy(), "csv").collect()[name]
            updates.append(batch[name].clone().scatter(rows, encoded))
    batch = batch.drop(marks)
    if not updates:
        return batch
    return batch.with_columns(shape(pl.DataFrame(updates).lazy(), "csv").collect())


def new_export_id() -> str:
    return f"exp_{secrets.token_hex(6)}"


def run_export(
    request: ExportRequest,
    layout: LakeLayout,
    exports_root: Path,
    export_id: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    part_bytes: int = DEFAULT_PART_BYTES,
    redaction: RedactionConfig | Redaction | None = None,
    ttl: timedelta | None = None,
    provenance: dict[str, object] | None = None,
    worker: str = "",
    options: ProducerOptions | None = None,
) -> ExportResult:
    """Write the export under `exports_root/<export_id>/` and return what was written.

    Files appear only complete (temporary name, then rename); `export.json` comes last. The
    folder's lock is held throughout, in the name of `worker` (a run id).
    With `ttl`, the record says when the artifact expires. A bundle gets a provenance
    statement beside it, with `provenance` (run id, custody ledger head) in its predicate.
    Unless raw content is asked for, content is redacted as `redaction` says (rules, phone
    regions, pseudonym key; a `Redaction` already under way is shared, as a bundle's parts
    share one); without it, by the packaged rules with a pseudonym key of this export's own.
    `options` carry the signing keys and transcript settings the door read (default: unsigned).
    """
    started = now()
    export_id = export_id or new_export_id()
    validate(request)
    folder = ExportFolder(exports_root, export_id)
    with folder.working(worker):
        return _run_in(
            folder,
            request,
            layout,
            started,
            now,
            part_bytes,
            redaction,
            ttl,
            provenance,
            options or ProducerOptions(),
        )


def _redaction(request: ExportRequest, given: RedactionConfig | Redaction | None):
    if request.raw_content:
        return None
    if isinstance(given, Redaction):
        return given
    return (given or RedactionConfig()).start()


def _run_in(
    folder: ExportFolder,
    request: ExportRequest,
    layout: LakeLayout,
    started: datetime,
    now: Callable[[], datetime],
    part_bytes: int,
    redaction: RedactionConfig | Redaction | None,
    ttl: timedelta | None,
    provenance: dict[str, object] | None,
    options: ProducerOptions,
) -> ExportResult:
    export_id, staging = folder.name, folder.staging
    session = _redaction(request, redaction)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    entry = format_named(request.format)
    try:
        written = produce(
            entry, request, layout, staging, export_id, started, part_bytes, session, options
        )
        folder.artifacts.mkdir(exist_ok=True)
        artifact, sha256 = publish(
            written.parts,
            folder.artifacts,
            artifact_stem(request),
            artifact_extension(request),
            written.hashes,
            zipped=written.zipped_parts > 0,
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        folder.discard_if_empty()  # a failed export leaves nothing behind; a retry starts clean
        raise
    shutil.rmtree(staging, ignore_errors=True)

    records = written.records
    warnings = list(written.warnings)
    if records == 0:
        warnings.append(EMPTY_WARNING)
    completed = now()
    result = ExportResult(
        export_id=export_id,
        status="completed",
        request=request.describe(),
        created_at=rfc3339(started),
        completed_at=rfc3339(completed),
        records=records,
        bytes=artifact.stat().st_size,
        sha256=sha256,
        artifact=str(artifact),
        parts=written.part_count,
        warnings=warnings,
        partitions=written.partitions,
        expires_at=rfc3339(completed + ttl) if ttl else None,
        redaction=session.facts() if session else None,
    )
    if entry.provenance:
        predicate = {
            "export_id": export_id,
            "request": {**request.describe(), "filters": shown_filters(request, session)},
            "started_at": result.created_at,
            "finished_at": result.completed_at,
            "generator": {"name": GENERATOR, "version": generator_version()},
            "code_version": code_version(),
            "partitions": [
                {"table": p.table, "day": p.day, "data_version": p.sha256}
                for p in written.partitions
            ],
            "run_id": None,
            "custody_ledger_head": None,
            **(provenance or {}),
        }
        result.provenance = str(
            write_provenance(
                artifact, statement(artifact.name, sha256, predicate), options.signing_key
            )
        )
    folder.write_json(folder.record_path, result.as_dict())
    return result
