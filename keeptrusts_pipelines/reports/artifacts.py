"""Reports as export artifacts: the producers of `pdf` and `compliance-<framework>` (see the
format registry, exports/formats.py). Each writes one part into the staging folder; its
records are the events it covers.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.evidence.code_version import GENERATOR, code_version, generator_version
from keeptrusts_pipelines.evidence.pdf_signing import sign_pdf
from keeptrusts_pipelines.exports.engine import Written
from keeptrusts_pipelines.exports.formats import FRAMEWORK_PREFIX
from keeptrusts_pipelines.exports.producer_options import ProducerOptions
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.frameworks import evaluate, framework
from keeptrusts_pipelines.reports.pdf import Stamp, redaction_facts, write_report_pdf
from keeptrusts_pipelines.reports.scope import Scope, open_scope

EVENT_COUNT = "SELECT count(*) AS events FROM events"
PART = "part-0001"


def write_pdf_report(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str | None,
    started: datetime,
    redaction: Redaction | None = None,
    options: ProducerOptions | None = None,
) -> Written:
    """The PDF report, redacted by `redaction` (None: raw content, as asked). Standalone it
    says which export it is and when it was made, and is signed when `options` give a key;
    inside a bundle (`export_id` None) it holds nothing run-specific."""
    options = options or ProducerOptions()
    part = staging / PART
    with open_scope(request, layout, started) as scope:
        signed = options.pdf_signing_key is not None
        stamp = Stamp(export_id, started, signed) if export_id is not None else None
        summary = write_report_pdf(scope, part, stamp, redaction)
        if stamp is not None and signed:
            sign_pdf(part, options.pdf_signing_key, options.pdf_signing_cert)  # PAdES
        records = summary["key_metrics"]["events"]
        return Written([part], [sha256_of(part)], records, scope.partitions, scope.warnings)


def write_framework_report(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str | None,
    started: datetime,
    redaction: Redaction | None = None,
    options: ProducerOptions | None = None,
) -> Written:
    """`compliance-<framework>`: the catalog's controls evaluated over the window, as JSON."""
    part = staging / PART
    name = request.format.removeprefix(FRAMEWORK_PREFIX)
    with open_scope(request, layout, started) as scope:
        try:
            part.write_bytes(framework_report(name, scope, redaction))
        except ConfigurationError as error:
            raise ExportRequestError("format", str(error)) from None
        records = scope.run(EVENT_COUNT)[0]["events"]
        return Written([part], [sha256_of(part)], records, scope.partitions, scope.warnings)


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
