"""`transcript-pdf`: conversations as transcripts, turn by turn, each turn annotated with the
policies evaluated, their verdicts and its citations, in volumes numbered "Volume i of N";
volume 1 opens with an index of every conversation (id, user, first turn, volume, page).

Turns come from the conversations export (grouped and ordered by DuckDB, redacted unless raw
content was asked for) and stream into one volume at a time. Volumes are rendered by a pool
of processes (weasyprint is CPU bound and single-threaded), a few volumes in flight at most,
so memory follows the volumes being rendered, not the window. Volume 1 is rendered last: its
index needs the page of every conversation in the other volumes.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import polars as pl
import weasyprint
from markupsafe import Markup

from keeptrusts_pipelines.exports.engine import Written, shown_filters
from keeptrusts_pipelines.exports.producer_options import ProducerOptions
from keeptrusts_pipelines.exports.reader import export_rows, plan_export
from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.exports.writers import shape
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest
from keeptrusts_pipelines.reports.pdf import (
    DEFAULT_TITLE,
    TEMPLATES,
    Stamp,
    environment,
    filters_text,
    fonts_dated,
    generator,
    shown_text,
)

DEFAULT_VOLUME_CONVERSATIONS = 200
BATCH_ROWS = 20_000
# Volumes handed to the pool but not yet rendered, per worker: enough to keep every worker
# busy, few enough that memory does not grow with the window.
QUEUED_PER_WORKER = 2
# A conversation's heading carries this id, followed by its number: its page is read from it.
ANCHOR = "conversation-"


@dataclass(frozen=True)
class Cover:
    """What every volume of one transcript shows on its cover and page footers."""

    title: str
    period: str
    filters_text: str
    content: str
    redaction_statement: str | None
    export_id: str
    generated_at: str
    stamped_at: str
    generator: str
    moment: datetime  # the export's start: the PDFs' dates, so the bytes are reproducible
    volumes: int
    conversations_total: int


@dataclass
class Volume:
    number: int
    conversations: list[dict] = field(default_factory=list)


@dataclass
class IndexEntry:
    """One line of the index; `page` is None for volume 1's own conversations, whose pages
    the renderer resolves itself."""

    number: int
    id: str
    user: str
    first_turn: str
    volume: int
    page: int | None = None


def write_transcripts(
    request: ExportRequest,
    layout: LakeLayout,
    staging: Path,
    export_id: str,
    started: datetime,
    redaction: Redaction | None = None,
    options: ProducerOptions | None = None,
) -> Written:
    """One PDF per volume of conversations in `staging`; records are the turns, redacted by
    `redaction` (None: raw content), so each user appears under one alias throughout.

    Volumes are rendered by spawned processes: a script that exports a transcript of several
    volumes guards its entry point (`if __name__ == "__main__":`), as multiprocessing asks.
    """
    turns_request = replace(request, export_type="conversations", format="jsonl")
    plan = plan_export(turns_request, layout, started)
    frames = list(export_rows(turns_request, plan, staging))
    total = sum(_conversation_count(frame) for frame in frames)
    options = options or ProducerOptions()
    per_volume = options.volume_conversations
    volumes = max(1, -(-total // per_volume))
    cover = _cover(request, Stamp(export_id, started), redaction, volumes, total)
    parts = [staging / f"part-{number:04d}" for number in range(1, volumes + 1)]
    index: list[IndexEntry] = []
    records = 0
    with _Press(cover, parts, options.transcript_workers) as press:
        volumes_in_order = _volumes(frames, per_volume, redaction)
        first = next(volumes_in_order)
        for volume in itertools.chain([first], volumes_in_order):
            records += sum(len(conversation["turns"]) for conversation in volume.conversations)
            index.extend(_index_entry(c, volume.number) for c in volume.conversations)
            if volume is not first:
                press.add(volume)
        press.finish(first, index)
    return Written(parts, [sha256_of(p) for p in parts], records, plan.partitions, plan.warnings)


def _conversation_count(frame: pl.LazyFrame) -> int:
    return int(frame.select(pl.col("conversation_id").n_unique()).collect().item())


def _cover(
    request: ExportRequest,
    stamp: Stamp,
    redaction: Redaction | None,
    volumes: int,
    conversations: int,
) -> Cover:
    return Cover(
        title=shown_text(request.title, redaction) or f"{DEFAULT_TITLE}: conversation transcripts",
        period=request.window.describe(),
        filters_text=filters_text(shown_filters(request, redaction)),
        content="raw" if request.raw_content else "redacted",
        redaction_statement=redaction.statement() if redaction else None,
        export_id=stamp.export_id,
        generated_at=stamp.generated_at.isoformat().replace("+00:00", "Z"),
        stamped_at=stamp.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        generator=generator(),
        moment=stamp.generated_at,
        volumes=volumes,
        conversations_total=conversations,
    )


def _volumes(
    frames: list[pl.LazyFrame], per_volume: int, redaction: Redaction | None
) -> Iterator[Volume]:
    """The turns, redacted, as volumes of `per_volume` conversations (at least one volume)."""
    volume = Volume(1)
    number = 0
    for rows in frames:
        for batch in rows.collect_batches(chunk_size=BATCH_ROWS):
            if redaction is not None:
                batch = redaction.apply(batch, "conversations")
            # A turn that cites a document twice lists it once.
            batch = batch.with_columns(pl.col("citations").list.unique(maintain_order=True))
            for turn in shape(batch.lazy(), "jsonl").collect().iter_rows(named=True):
                conversations = volume.conversations
                if not conversations or conversations[-1]["id"] != turn["conversation_id"]:
                    if len(conversations) == per_volume:
                        yield volume
                        volume = Volume(volume.number + 1)
                        conversations = volume.conversations
                    number += 1
                    conversations.append(
                        {"id": turn["conversation_id"], "number": number, "turns": []}
                    )
                conversations[-1]["turns"].append(turn)
    yield volume


def _index_entry(conversation: dict, volume: int) -> IndexEntry:
    first = conversation["turns"][0]
    return IndexEntry(
        number=conversation["number"],
        # One line per conversation: whitespace inside a value does not break the index's lines.
        id=" ".join(conversation["id"].split()),
        user=" ".join((first["user"] or "").split()),
        first_turn=first["timestamp"][:19],
        volume=volume,
    )


class _Press:
    """Renders volumes 2…N as they come, in a pool of processes, then volume 1 with the
    index. A transcript of one volume is rendered here, without a pool."""

    def __init__(self, cover: Cover, parts: list[Path], workers: int) -> None:
        self.cover, self.parts = cover, parts
        self.workers = min(workers, len(parts))
        self.pool: ProcessPoolExecutor | None = None
        self.pending: set[Future] = set()
        self.pages: dict[int, int] = {}

    def __enter__(self) -> _Press:
        if len(self.parts) > 1 and self.workers > 1:
            # Spawned, not forked: the exporting process runs Polars' and DuckDB's threads.
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self

    def __exit__(self, *failure: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, volume: Volume) -> None:
        """Render a volume other than the first (now, or in the pool)."""
        arguments = (self.cover, volume, None, self.parts[volume.number - 1])
        if self.pool is None:
            self.pages.update(render_volume(*arguments))
            return
        self.pending.add(self.pool.submit(render_volume, *arguments))
        while len(self.pending) > QUEUED_PER_WORKER * self.workers:
            self._collect(FIRST_COMPLETED)

    def finish(self, first: Volume, index: list[IndexEntry]) -> None:
        """Once every other volume is rendered, render the first with the index."""
        self._collect(ALL_COMPLETED)
        for entry in index:
            if entry.volume != first.number:
                entry.page = self.pages[entry.number]
        arguments = (self.cover, first, index, self.parts[0])
        if self.pool is None:
            render_volume(*arguments)
        else:
            self.pool.submit(render_volume, *arguments).result()

    def _collect(self, until: str) -> None:
        done, self.pending = wait(self.pending, return_when=until)
        for future in done:
            self.pages.update(future.result())


def render_volume(
    cover: Cover, volume: Volume, index: list[IndexEntry] | None, target: Path
) -> dict[int, int]:
    """Write `volume` as PDF/A-3b to `target`, with `index` after its cover when given;
    return the page each of its conversations starts on.

    The bytes depend only on the HTML and the export's start (see `reports.pdf.write_pdfa`).
    """
    conversations = volume.conversations
    html = (
        environment()
        .get_template("transcript.html.j2")
        .render(
            **{name: getattr(cover, name) for name in Cover.__dataclass_fields__},
            volume=volume.number,
            first_number=conversations[0]["number"] if conversations else 0,
            last_number=conversations[-1]["number"] if conversations else 0,
            conversations=conversations,
            footer=_css_string(f"{cover.title} · Volume {volume.number} of {cover.volumes}"),
            index=index,
            index_widths=_index_widths(index or []),
            anchor=ANCHOR,
        )
    )
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).render()
    pages = {
        int(name.removeprefix(ANCHOR)): number
        for number, page in enumerate(document.pages, 1)
        for name in page.anchors
        if name.startswith(ANCHOR)
    }
    identifier = hashlib.sha256(html.encode()).hexdigest()[:32].encode()
    with fonts_dated(cover.moment):
        document.write_pdf(target, pdf_variant="pdf/a-3b", pdf_identifier=identifier)
    return pages


def _index_widths(index: list[IndexEntry]) -> dict[str, int]:
    """Column widths of the index, in characters of its monospaced lines."""
    return {
        "number": max([len("No.")] + [len(str(entry.number)) for entry in index]),
        "id": max([len("Conversation")] + [len(entry.id) for entry in index]),
        "user": max([len("User")] + [len(entry.user) for entry in index]),
    }


def _css_string(text: str) -> Markup:
    """`text` for the inside of a quoted CSS string (the page footer): characters other than
    letters, digits and spaces as hex escapes, so no title can end the string or the style."""
    return Markup("".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text))
