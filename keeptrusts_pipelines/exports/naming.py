"""Artifact file names as the seeds show them: `kt_2026-05-01_to_2026-05-31.csv`."""

import re

from keeptrusts_pipelines.exports.formats import FormatKind, format_named
from keeptrusts_pipelines.model.export_request import ExportRequest

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-system-safe version of a user's export name (no paths, no leading dots)."""
    cleaned = _UNSAFE.sub("-", name).strip("-.")
    return cleaned[:120] or "export"


def artifact_stem(request: ExportRequest) -> str:
    """The user's name, else the window and what it holds: the export type for rows
    (`_escalations`; none for events), the format's label for a report or bundle
    (`_transcripts`, `_compliance-all`)."""
    if request.name:
        return safe_name(request.name)
    window = request.window
    stem = f"kt_{window.first_day.isoformat()}_to_{window.last_day.isoformat()}"
    entry = format_named(request.format)
    if entry.kind is not FormatKind.TABULAR:
        return f"{stem}{entry.label}"  # kt_2026-05-01_to_2026-05-31_compliance-all
    return stem if request.export_type == "events" else f"{stem}_{request.export_type}"


def artifact_extension(request: ExportRequest) -> str:
    """The format's extension: `csv`, …, `pdf`, `tar.gz` for the bundle."""
    return format_named(request.format).extension


def artifact_name(request: ExportRequest) -> str:
    return f"{artifact_stem(request)}.{artifact_extension(request)}"
