"""Run an export: read the window from the lake, redact, write, record what was done.

Plain Python + DuckDB + Polars; no Dagster.
"""

import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from keeptrusts_pipelines.exports.naming import EXTENSIONS, artifact_stem
from keeptrusts_pipelines.exports.parts import PartFiles, publish
from keeptrusts_pipelines.exports.reader import PartitionRead, export_rows, plan_export
from keeptrusts_pipelines.exports.redaction import RedactionPolicy, load_policy
from keeptrusts_pipelines.exports.writers import shape, writer_for
from keeptrusts_pipelines.lake.files import atomic_path, sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, rfc3339

METADATA_FILE = "export.json"
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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def new_export_id() -> str:
    return f"exp_{secrets.token_hex(6)}"


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

    records = 0
    staging = folder / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        output = PartFiles(
            staging, lambda: writer_for(request.format, header, plan.kind.records_key), part_bytes
        )
        for rows in export_rows(request, plan, staging):
            if policy is not None:
                rows = policy.apply(rows, request.export_type)
            rows = shape(rows, request.format)
            for batch in rows.collect_batches(chunk_size=BATCH_ROWS):
                output.write(batch)
                records += batch.height
        if records == 0:
            output.write(rows.clear().collect())  # headers and schema of an empty export
        parts = output.close()
        artifact = publish(parts, folder, artifact_stem(request), EXTENSIONS[request.format])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if not any(folder.iterdir()):
            folder.rmdir()  # a failed export leaves nothing behind; a retry starts clean
        raise
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
