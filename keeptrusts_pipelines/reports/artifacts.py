"""Report formats as export artifacts: `pdf`, `transcript-pdf`, `compliance-<framework>` and
`compliance-all`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.evidence.bundle import framework_report, write_bundle
from keeptrusts_pipelines.evidence.pdf_signing import sign_pdf
from keeptrusts_pipelines.exports.engine import Written
from keeptrusts_pipelines.exports.naming import artifact_stem
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.pdf import Stamp, write_report_pdf
from keeptrusts_pipelines.reports.scope import open_scope
from keeptrusts_pipelines.reports.transcripts import write_transcripts

EVENT_COUNT = "SELECT count(*) AS events FROM events"


def write_report_artifact(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str,
    started: datetime,
    redaction: Redaction | None = None,
) -> Written:
    """Write the report into `staging` as one part; records are the events it covers.
    Its content is redacted by `redaction` (None: raw content, as asked)."""
    part = staging / "part-0001"
    if request.format == "transcript-pdf":
        return write_transcripts(request, layout, staging, export_id, started, redaction)
    if request.format == "compliance-all":
        bag = staging / "bundle" / artifact_stem(request)
        bundle = write_bundle(request, layout, bag, part, started, redaction)
        return Written(
            [part], [sha256_of(part)], bundle.records, bundle.partitions, bundle.warnings
        )
    with open_scope(request, layout, started) as scope:
        if request.format == "pdf":
            # A standalone report says which export it is and when it was made.
            summary = write_report_pdf(scope, part, Stamp(export_id, started), redaction)
            sign_pdf(part)  # PAdES, when a signing key is configured
            records = summary["key_metrics"]["events"]
        else:
            name = request.format.removeprefix("compliance-")
            try:
                part.write_bytes(framework_report(name, scope, redaction))
            except ConfigurationError as error:
                raise ExportRequestError("format", str(error)) from None
            records = scope.run(EVENT_COUNT)[0]["events"]
        return Written([part], [sha256_of(part)], records, scope.partitions, scope.warnings)
