"""`transcript-pdf`: conversations as transcripts, turn by turn, each turn annotated with the
policies evaluated, their verdicts and its citations; numbered volumes beyond a size.

Turns come from the conversations export (grouped and ordered by DuckDB, redacted unless raw
content was asked for) and stream into one volume at a time, so memory follows the volume,
not the window.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.engine import Written, shown_filters
from keeptrusts_pipelines.exports.reader import export_rows, plan_export
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.exports.writers import shape
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.pdf import (
    DEFAULT_TITLE,
    Stamp,
    environment,
    filters_text,
    generator,
    shown_text,
    write_pdfa,
)

DEFAULT_VOLUME_CONVERSATIONS = 200
BATCH_ROWS = 20_000


def volume_conversations() -> int:
    """`KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS` (200): conversations per PDF volume."""
    text = os.environ.get("KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS", "")
    if not text:
        return DEFAULT_VOLUME_CONVERSATIONS
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(
            f"KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS={text!r}: use a whole number, at least 1"
        )
    return int(text)


def _render(
    request: ExportRequest,
    stamp: Stamp,
    volume: int,
    first: int,
    items: list,
    target: Path,
    redaction: Redaction | None,
) -> None:
    html = (
        environment()
        .get_template("transcript.html.j2")
        .render(
            title=shown_text(request.title, redaction)
            or f"{DEFAULT_TITLE}: conversation transcripts",
            period=request.window.describe(),
            filters_text=filters_text(shown_filters(request, redaction)),
            content="raw" if request.raw_content else "redacted",
            redaction_statement=redaction.statement() if redaction else None,
            volume=volume,
            first_number=first,
            last_number=first + len(items) - 1,
            conversations=items,
            export_id=stamp.export_id,
            generated_at=stamp.generated_at.isoformat().replace("+00:00", "Z"),
            stamped_at=stamp.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            generator=generator(),
        )
    )
    write_pdfa(html, target, stamp.generated_at)


def write_transcripts(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str,
    started: datetime,
    redaction: Redaction | None = None,
) -> Written:
    """One PDF per volume of conversations in `staging`; records are the turns, redacted by
    `redaction` (None: raw content), so each user appears under one alias throughout."""
    turns_request = replace(request, export_type="conversations", format="jsonl")
    plan = plan_export(turns_request, layout, started)
    per_volume = volume_conversations()
    stamp = Stamp(export_id, started)
    parts: list[Path] = []
    conversations: list[dict] = []
    records, number = 0, 0

    def flush() -> None:
        if conversations or not parts:
            part = staging / f"part-{len(parts) + 1:04d}"
            first = number - len(conversations) + 1
            _render(request, stamp, len(parts) + 1, first, conversations, part, redaction)
            parts.append(part)
            conversations.clear()

    for rows in export_rows(turns_request, plan, staging):
        for batch in rows.collect_batches(chunk_size=BATCH_ROWS):
            if redaction is not None:
                batch = redaction.apply(batch, "conversations")
            for turn in shape(batch.lazy(), "jsonl").collect().iter_rows(named=True):
                records += 1
                if not conversations or conversations[-1]["id"] != turn["conversation_id"]:
                    if len(conversations) == per_volume:
                        flush()
                    number += 1
                    conversations.append(
                        {"id": turn["conversation_id"], "number": number, "turns": []}
                    )
                conversations[-1]["turns"].append(turn)
    flush()
    return Written(parts, [sha256_of(p) for p in parts], records, plan.partitions, plan.warnings)
