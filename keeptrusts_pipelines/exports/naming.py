"""Artifact file names as the seeds show them: `kt_2026-05-01_to_2026-05-31.csv`."""

import re

from keeptrusts_pipelines.model.export_request import ExportRequest

EXTENSIONS = {"csv": "csv", "json": "json", "jsonl": "jsonl", "parquet": "parquet"}
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
    return stem if request.export_type == "events" else f"{stem}_{request.export_type}"


def artifact_name(request: ExportRequest) -> str:
    return f"{artifact_stem(request)}.{EXTENSIONS[request.format]}"
