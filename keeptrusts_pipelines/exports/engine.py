"""Run an export: read the window from the lake, filter, redact, write, record what was done.

Plain Python + DuckDB + Polars; no Dagster. Memory stays bounded: per-day kinds stream one
partition at a time (the lake is sorted within each day, so day order is global order).
"""

import json
import queue
import secrets
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.kinds import KINDS, ExportKind
from keeptrusts_pipelines.exports.naming import artifact_name, artifact_stem
from keeptrusts_pipelines.exports.redaction import RedactionPolicy, load_policy
from keeptrusts_pipelines.exports.writers import writer_for
from keeptrusts_pipelines.lake.files import atomic_path, sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, rfc3339, validate
from keeptrusts_pipelines.queries import query

METADATA_FILE = "export.json"
DEFAULT_PART_BYTES = 1 << 30
READ_AHEAD_BATCHES = 2
# DuckDB may sort a whole window (conversations): cap its memory, let it spill to disk.
DUCKDB_MEMORY_LIMIT = "1GB"
EMPTY_WARNING = (
    "No records matched: widen the time window, relax the filters, or check that traffic "
    "passed through the gateway during the window."
)


@dataclass(frozen=True)
class PartitionRead:
    table: str
    day: str
    sha256: str


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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    kind: ExportKind
    files: list[Path]
    partitions: list[PartitionRead]
    warnings: list[str]


def new_export_id() -> str:
    return f"exp_{secrets.token_hex(6)}"


def plan_export(request: ExportRequest, layout: LakeLayout, now: datetime) -> Plan:
    """The partitions a request reads; days missing from the lake are an error naming them."""
    validate(request)
    kind = KINDS[request.export_type]
    today = now.astimezone(UTC).date()
    closed = [day for day in request.window.days() if day < today]
    missing = [day for day in closed if not layout.partition_file(kind.table, day).exists()]
    if missing:
        listed = ", ".join(day.isoformat() for day in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ExportRequestError(
            "window",
            f"the lake has no {kind.table} partition for {listed}{more}; bring those days in "
            f"(kt lake ingest --from {missing[0]} --to {missing[-1]}) or choose another window",
        )
    if not closed:
        raise ExportRequestError(
            "window",
            f"{request.window.first_day} is not a closed UTC day yet; the lake holds days up to "
            "yesterday, so end the window before today",
        )
    warnings = []
    if len(closed) < len(request.window.days()):
        warnings.append(
            f"The lake holds closed UTC days only: records from {today.isoformat()}T00:00:00Z "
            "on are not in this export yet."
        )
    files = [layout.partition_file(kind.table, day) for day in closed]
    partitions = [
        PartitionRead(kind.table, day.isoformat(), sha256_of(path))
        for day, path in zip(closed, files, strict=True)
    ]
    return Plan(kind, files, partitions, warnings)


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET preserve_insertion_order = true")  # the per-day queries rely on it
    return connection


def _parameters(request: ExportRequest, kind: ExportKind, files: list[Path]) -> dict[str, object]:
    return {
        "files": [str(path) for path in files],
        "start": request.window.start,
        "end": request.window.end,
        **kind.bind(request.filters),
    }


def record_batches(
    request: ExportRequest, plan: Plan, batch_rows: int = 65_536
) -> Iterator[pl.DataFrame]:
    """The export's rows in order, as Polars frames of at most `batch_rows` rows.

    Always yields at least one (possibly empty) frame, so writers know the columns. DuckDB
    reads ahead by a few batches in a thread of its own while the caller redacts and writes.
    """
    return _read_ahead(_query_batches(request, plan, batch_rows), READ_AHEAD_BATCHES)


def _query_batches(request: ExportRequest, plan: Plan, batch_rows: int) -> Iterator[pl.DataFrame]:
    kind = plan.kind
    groups = [[path] for path in plan.files] if kind.per_day else [plan.files]
    yielded = False
    with _connect() as connection:
        for files in groups:
            result = connection.sql(query(kind.query), params=_parameters(request, kind, files))
            for batch in result.to_arrow_reader(batch_rows):
                yielded = True
                yield pl.from_arrow(batch)
        if not yielded:
            empty = connection.sql(
                f"SELECT * FROM ({query(kind.query)}) LIMIT 0",
                params=_parameters(request, kind, plan.files),
            )
            yield pl.from_arrow(empty.to_arrow_table())


def _read_ahead(batches: Iterator[pl.DataFrame], depth: int) -> Iterator[pl.DataFrame]:
    """Produce `batches` in a background thread, at most `depth` ahead (bounded memory)."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    finished = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        buffer.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(finished)
        except BaseException as error:  # handed to the consumer, raised there
            buffer.put(error)

    producer = threading.Thread(target=produce, name="export-reader", daemon=True)
    producer.start()
    try:
        while (item := buffer.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def preview(request: ExportRequest, layout: LakeLayout, now: datetime | None = None) -> int:
    """How many records the request would export (an exact count over the pruned partitions)."""
    plan = plan_export(request, layout, now or datetime.now(UTC))
    with _connect() as connection:
        counted = connection.sql(
            f"SELECT count(*) FROM ({query(plan.kind.query)})",
            params=_parameters(request, plan.kind, plan.files),
        )
        return int(counted.fetchall()[0][0])


def run_export(
    request: ExportRequest,
    layout: LakeLayout,
    exports_root: Path,
    export_id: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    part_bytes: int = DEFAULT_PART_BYTES,
    redaction: RedactionPolicy | None = None,
) -> ExportResult:
    """Write the export under `exports_root/<export_id>/` and return what was written.

    Files appear only complete (temporary name, then rename); `export.json` comes last.
    """
    started = now()
    export_id = export_id or new_export_id()
    plan = plan_export(request, layout, started)
    policy = None if request.raw_content else (redaction or load_policy())
    folder = exports_root / export_id
    folder.mkdir(parents=True, exist_ok=True)
    header = {
        "export_id": export_id,
        "created_at": rfc3339(started),
        "window": request.window.as_dict(),
        "filters": request.filters.active(),
    }

    parts: list[Path] = []
    records = 0
    staging = folder / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        writer = handle = None

        def open_part() -> None:
            nonlocal writer, handle
            parts.append(staging / f"part-{len(parts) + 1:04d}")
            handle = parts[-1].open("wb")
            writer = writer_for(request.format, header, plan.kind.records_key)
            writer.begin(handle)

        def close_part() -> None:
            writer.end()
            handle.close()

        open_part()
        for frame in record_batches(request, plan):
            if policy is not None:
                frame = policy.redact(frame, request.export_type)
            if frame.height and handle.tell() >= part_bytes:
                close_part()
                open_part()
            writer.write(frame)
            records += frame.height
        close_part()
        artifact = _publish(request, folder, parts)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    warnings = list(plan.warnings)
    if records == 0:
        warnings.append(EMPTY_WARNING)
    result = ExportResult(
        export_id=export_id,
        status="completed",
        request=request.describe(),
        created_at=rfc3339(started),
        completed_at=rfc3339(now()),
        records=records,
        bytes=artifact.stat().st_size,
        sha256=sha256_of(artifact),
        artifact=str(artifact),
        parts=len(parts),
        warnings=warnings,
        partitions=plan.partitions,
    )
    with atomic_path(folder / METADATA_FILE) as path:
        path.write_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
    return result


def _publish(request: ExportRequest, folder: Path, parts: list[Path]) -> Path:
    """Move the single part to its final name, or pack several into a reproducible zip."""
    if len(parts) == 1:
        final = folder / artifact_name(request)
        parts[0].replace(final)
        return final
    stem = artifact_stem(request)
    extension = artifact_name(request).rsplit(".", 1)[1]
    final = folder / f"{stem}.zip"
    with atomic_path(final) as path, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, part in enumerate(parts, 1):
            info = zipfile.ZipInfo(
                f"{stem}.part-{number:04d}.{extension}", date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with part.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
    return final
