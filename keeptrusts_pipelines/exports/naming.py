"""Artifact file names as the seeds show them: `kt_2026-05-01_to_2026-05-31.csv`."""

import re

from keeptrusts_pipelines.model.export_request import ExportRequest

EXTENSIONS = {
    "csv": "csv",
    "json": "json",
    "jsonl": "jsonl",
    "parquet": "parquet",
    "pdf": "pdf",
    "transcript-pdf": "pdf",
    "compliance-all": "tar.gz",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-system-safe version of a user's export name (no paths, no leading dots)."""
    cleaned = _UNSAFE.sub("-", name).strip("-.")
    return cleaned[:120] or "export"


def artifact_stem(request: ExportRequest) -> str:
    if request.name:
        return safe_name(request.name)
    window = request.window
    stem = f"kt_{window.first_day.isoformat()}_to_{window.last_day.isoformat()}"
    if request.format == "transcript-pdf":
        return f"{stem}_transcripts"
    if request.format.startswith("compliance-"):
        return f"{stem}_{request.format}"  # kt_2026-05-01_to_2026-05-31_compliance-all
    return stem if request.export_type == "events" else f"{stem}_{request.export_type}"


def artifact_extension(request: ExportRequest) -> str:
    """`csv`, …, `pdf`, `tar.gz` for the bundle, `json` for a framework report."""
    return EXTENSIONS.get(request.format, "json")


def artifact_name(request: ExportRequest) -> str:
    return f"{artifact_stem(request)}.{artifact_extension(request)}"
