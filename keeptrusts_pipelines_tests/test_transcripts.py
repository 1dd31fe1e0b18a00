"""Transcripts through the export path: volumes numbered "Volume i of N", an index of every
conversation with its volume and page, citations listed once, headings kept with their first
turn, and the same bytes whether volumes are rendered in parallel or one at a time."""

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.engine import ExportResult, run_export
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.settings import Settings
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.lakes import demo_lake, replace_day_with_records

FIRST = date(2026, 3, 1)
NOW = datetime(2026, 4, 1, tzinfo=UTC)
PER_VOLUME = 20
CITED_TWICE = "conv_cites_one_document_twice"
PSEUDONYM_KEY = "transcript-test-pseudonym-key-0123456789"
HEADING = re.compile(r"Conversation (\d+): (\S+)")
INDEX_LINE = re.compile(
    r"^ *(\d+) +(\S+) +(\S+) +(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) +(\d+) +(\d+) *$", re.MULTILINE
)


@dataclass(frozen=True)
class Transcript:
    result: ExportResult
    pages: list[list[str]]  # per volume, the text of each page


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    """Two demo days; on the second, a blocked conversation of two turns whose first turn
    cites one document twice."""
    root = tmp_path_factory.mktemp("transcripts")
    layout = demo_lake(root / "lake", FIRST, 2)
    day = FIRST + timedelta(days=1)
    rows = generate_day(21, day, 400)["decision_events"].to_pylist()
    template = next(row for row in rows if row["action"] == "block")
    started = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for turn, citations in enumerate(
        [
            [("Information Security Policy", 5)] * 2 + [("GDPR Reference Guide v2.1", 3)],
            [("Information Security Policy", 5)],
        ]
    ):
        rows.append(
            dict(
                template,
                event_id=f"evt_cited_twice_{turn}",
                request_id=f"req_cited_twice_{turn}",
                conversation_id=CITED_TWICE,
                timestamp=started + timedelta(minutes=turn),
                citations=[{"asset": asset, "version": v} for asset, v in citations],
            )
        )
    replace_day_with_records(layout, root / "landing", day, rows)
    return layout


def export(lake: LakeLayout, root: Path, workers: int, **options) -> ExportResult:
    window = build_window(FIRST.isoformat(), (FIRST + timedelta(days=1)).isoformat(), None, NOW)
    request = ExportRequest(window=window, format="transcript-pdf", **options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS", str(PER_VOLUME))
        patch.setenv("KEEPTRUSTS_TRANSCRIPT_WORKERS", str(workers))
        # Set here too: the module's fixtures run before the autouse key of each test.
        patch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", PSEUDONYM_KEY)
        settings = Settings.from_environment()  # as a front door reads them
        # One export id for every run, so runs can be compared byte for byte.
        return run_export(
            request,
            lake,
            root,
            export_id="exp_transcript",
            now=lambda: NOW,
            redaction=settings.redaction(),
            options=settings.producer_options(),
        )


def volumes_of(result: ExportResult) -> list[bytes]:
    if result.parts == 1:
        return [Path(result.artifact).read_bytes()]
    with zipfile.ZipFile(result.artifact) as archive:
        return [archive.read(name) for name in archive.namelist()]


def page_texts(volume: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(volume)).pages]


@pytest.fixture(scope="module")
def transcript(lake: LakeLayout, tmp_path_factory: pytest.TempPathFactory) -> Transcript:
    result = export(lake, tmp_path_factory.mktemp("exports"), 2, filters=Filters(action=("block",)))
    return Transcript(result, [page_texts(volume) for volume in volumes_of(result)])


def blocked_conversations(lake: LakeLayout) -> list[str]:
    """Conversation ids in order of their first turn, counted by DuckDB from the lake."""
    rows = duckdb.sql(
        f"""select coalesce(conversation_id, 'request:' || request_id) as id
        from read_parquet('{lake.root / "decision_events" / "*" / "*.parquet"}')
        where action = 'block' group by id order by min("timestamp"), id"""
    ).fetchall()
    return [row[0] for row in rows]


def headings(transcript: Transcript) -> dict[str, tuple[int, int, int]]:
    """Each conversation heading's id: (number, volume, page)."""
    found = {}
    for volume, pages in enumerate(transcript.pages, 1):
        for page, text in enumerate(pages, 1):
            for match in HEADING.finditer(text):
                assert match.group(2) not in found, f"{match.group(2)} has two headings"
                found[match.group(2)] = (int(match.group(1)), volume, page)
    return found


def test_each_volume_says_volume_i_of_n_on_its_cover_and_every_page(
    lake: LakeLayout, transcript: Transcript
) -> None:
    volumes = -(-len(blocked_conversations(lake)) // PER_VOLUME)
    assert volumes >= 3
    assert transcript.result.parts == len(transcript.pages) == volumes
    for number, pages in enumerate(transcript.pages, 1):
        cover = pages[0]
        assert cover.count(f"Volume {number} of {volumes}") == 2  # the cover and its footer
        assert all(f"Volume {number} of {volumes}" in page for page in pages)
        assert all(f"page {page} of {len(pages)}" in pages[page - 1] for page in (1, len(pages)))


def test_the_index_lists_every_conversation_once_with_its_volume_and_page(
    lake: LakeLayout, transcript: Transcript
) -> None:
    expected = blocked_conversations(lake)
    volume_one = "\n".join(transcript.pages[0])
    index = [match.groups() for match in INDEX_LINE.finditer(volume_one)]
    assert [entry[1] for entry in index] == expected  # each once, in order of first turn
    assert [int(entry[0]) for entry in index] == list(range(1, len(expected) + 1))
    shown = headings(transcript)
    for number, conversation, user, first_turn, volume, page in index:
        assert shown[conversation] == (int(number), int(volume), int(page))
        # The user as the transcript shows it: the pseudonym of the conversation's first turn.
        body = transcript.pages[int(volume) - 1][int(page) - 1]
        summary = body[body.index(f"Conversation {number}: {conversation}") :].split("\n")[1]
        assert summary.startswith(f"{user} (")
        assert f"Turn 1 · {first_turn}" in body
    assert all(re.fullmatch(r"\[(EMAIL|USER):[a-z]+\]", entry[2]) for entry in index)
    assert "@company.example" not in volume_one


def test_a_turn_lists_each_citation_once(transcript: Transcript) -> None:
    text = "\n".join("\n".join(pages) for pages in transcript.pages)
    conversation = text[text.index(f": {CITED_TWICE}") :]  # its heading, not its index line
    turns = conversation.split("Turn ")[1:3]
    assert (
        "Citations: Information Security Policy (v5); GDPR Reference Guide v2.1 (v3)\n"
        in (turns[0])
    )
    assert "Citations: Information Security Policy (v5)\n" in turns[1]
    citations = re.findall(r"^Citations: (.*)$", text, re.MULTILINE)
    assert len(citations) > 10
    for line in citations:
        cited = Counter(line.split("; "))
        assert max(cited.values()) == 1, line


def test_no_conversation_heading_is_left_alone_at_a_page_end(transcript: Transcript) -> None:
    for pages in transcript.pages:
        for text in pages:
            found = list(HEADING.finditer(text))
            if found:
                assert "Turn 1 · " in text[found[-1].end() :], text[-300:]


def test_volumes_rendered_in_parallel_are_the_bytes_of_volumes_rendered_one_by_one(
    lake: LakeLayout, transcript: Transcript, tmp_path: Path
) -> None:
    one_by_one = export(lake, tmp_path, 1, filters=Filters(action=("block",)))
    assert one_by_one.sha256 == transcript.result.sha256
    assert one_by_one.records == transcript.result.records


def test_a_transcript_without_conversations_is_one_volume_that_says_so(
    lake: LakeLayout, tmp_path: Path
) -> None:
    title = 'Q1 "blocked" \\ review </style>'
    result = export(lake, tmp_path, 2, filters=Filters(user=("nobody@example.org",)), title=title)
    assert result.parts == 1 and result.records == 0
    pages = page_texts(volumes_of(result)[0])
    assert "Volume 1 of 1" in pages[0] and "none in this period and these filters" in pages[0]
    assert "No conversation in this period and these filters." in "\n".join(pages)
    # A title that would end a CSS string still reaches the page footer whole.
    assert all(f"{title} · Volume 1 of 1" in page for page in pages)


def test_a_worker_count_that_is_not_a_whole_number_is_refused_naming_the_setting(
    lake: LakeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_TRANSCRIPT_WORKERS", "two")
    window = build_window(FIRST.isoformat(), FIRST.isoformat(), None, NOW)
    request = ExportRequest(window=window, format="transcript-pdf")
    with pytest.raises(ConfigurationError, match="KEEPTRUSTS_TRANSCRIPT_WORKERS='two'"):
        run_export(
            request,
            lake,
            tmp_path,
            now=lambda: NOW,
            options=Settings.from_environment().producer_options(),
        )
