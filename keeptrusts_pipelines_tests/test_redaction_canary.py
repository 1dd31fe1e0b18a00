"""A distinctive address and card number planted in every text field of every table reach no
redacted export of any type and format, and no report, transcript or bundle; nor do the demo's
North American phone numbers reach a redacted CSV."""

import csv
import io
import json
import re
import tarfile
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pypdf import PdfReader

from keeptrusts_pipelines.exports.pseudonyms import ALPHABET
from keeptrusts_pipelines.exports.redaction import load_policy
from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore
from keeptrusts_pipelines.sources.records import record_json
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake

DAY = date(2026, 3, 1)
NOW = datetime(2026, 4, 1, tzinfo=UTC)
CANARY_EMAIL = "canary.q7x2@leak-test.example"
CANARY_CARD = "4539 1488 0343 6467"  # passes the Luhn check
# Whitespace is dropped before looking: a PDF may break a line inside a value.
CANARIES = (CANARY_EMAIL, CANARY_CARD.replace(" ", ""))
TABULAR = ("csv", "json", "jsonl", "parquet")
TYPES = ("events", "conversations", "escalations", "config-history")
REPORTS = ("pdf", "transcript-pdf", "compliance-aesia", "compliance-aepd", "compliance-ens")


def planted(field: str) -> str:
    return f"{field} {CANARY_EMAIL} and {CANARY_CARD}"


def plant(layout: LakeLayout, landing: Path, table: str, records: list[dict]) -> None:
    folder = landing / table / f"date={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crafted.jsonl").write_text("".join(record_json(r) + "\n" for r in records))
    report = ingest_day(LandingSource(LocalLandingStore(landing)), layout, TABLES[table], DAY)
    assert report.quarantined == 0, report.reject_reasons


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    root = tmp_path_factory.mktemp("canary")
    layout = demo_lake(root / "lake", DAY, 1, per_day=200)
    tables = generate_day(4, DAY, 200)
    events = tables["decision_events"].to_pylist()
    # Every text field an event can hold, but the enumerations the lake checks.
    events[5] = dict(
        events[5],
        **{
            name: planted(name)
            for name in (
                "event_id", "request_id", "environment", "gateway", "consumer_group", "team",
                "model", "provider", "policy", "input", "output", "escalation_id",
                "config_version", "conversation_id", "trace_id",
            )
        },
        user=CANARY_EMAIL,
        action="escalate",
        result="escalated",
        severity="critical",
        policies_evaluated=[
            {"name": planted("policy name"), "verdict": "escalate", "severity": "critical"}
        ],
        citations=[{"asset": planted("asset"), "version": 3}],
    )  # fmt: skip
    escalations = tables["escalations"].to_pylist()
    escalation = dict(
        escalations[0] if escalations else {},
        escalation_id=events[5]["escalation_id"],
        event_id=events[5]["event_id"],
        request_id=events[5]["request_id"],
        opened_at=events[5]["timestamp"],
        severity="critical",
        status="resolved",
        reason=planted("reason"),
        assignee=CANARY_EMAIL,
        resolved_at=events[5]["timestamp"],
        resolution_note=planted("note"),
    )
    configuration = {
        "config_version": planted("version"),
        "gateway": planted("gateway"),
        "created_at": events[5]["timestamp"],
        "author": CANARY_EMAIL,
        "summary": planted("summary"),
        "policies": [planted("policy")],
        "sha256": "0" * 64,  # the lake takes 64 hex digits only
    }
    plant(layout, root / "landing", "decision_events", events)
    plant(layout, root / "landing", "escalations", [*escalations[1:], escalation])
    plant(layout, root / "landing", "config_versions", [configuration])
    return layout


def export(
    lake: LakeLayout, folder: Path, file_format: str, export_type: str = "events", **options
):
    request = ExportRequest(
        window=build_window("2026-03-01", "2026-03-01", None, NOW),
        format=file_format,
        export_type=export_type,
        **options,
    )
    return run_export(request, lake, folder, now=lambda: NOW)


def texts_of(name: str, content: bytes) -> list[str]:
    """Every text a file holds, as a reader would see it: PDF pages and attachments, archive
    members, Parquet values, or the text itself."""
    if name.endswith(".pdf") or content.startswith(b"%PDF"):
        reader = PdfReader(io.BytesIO(content))
        texts = [page.extract_text() for page in reader.pages]
        texts += [
            data.decode("utf-8", errors="replace")
            for files in reader.attachments.values()
            for data in files
        ]
        return texts
    if name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(fileobj=io.BytesIO(content)) as archive:
            return [
                text
                for member in archive.getmembers()
                if member.isfile()
                for text in texts_of(member.name, archive.extractfile(member).read())
            ]
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [t for n in archive.namelist() for t in texts_of(n, archive.read(n))]
    if name.endswith(".parquet"):
        return [json.dumps(pq.read_table(io.BytesIO(content)).to_pylist(), default=str)]
    return [content.decode("utf-8", errors="replace")]


def leaks(path: Path) -> list[str]:
    seen = "".join("".join(text.split()) for text in texts_of(path.name, path.read_bytes()))
    return [canary for canary in CANARIES if canary in seen]


@pytest.mark.parametrize("export_type", TYPES)
@pytest.mark.parametrize("file_format", TABULAR)
def test_no_tabular_export_holds_the_canaries(
    lake: LakeLayout, tmp_path: Path, export_type: str, file_format: str
) -> None:
    result = export(lake, tmp_path / "exports", file_format, export_type)
    assert result.records > 0
    assert leaks(Path(result.artifact)) == []
    raw = export(lake, tmp_path / "raw", file_format, export_type, raw_content=True)
    assert leaks(Path(raw.artifact)) == list(CANARIES)  # planted where the export reads


@pytest.mark.parametrize("file_format", REPORTS)
def test_no_report_or_transcript_holds_the_canaries(
    lake: LakeLayout, tmp_path: Path, file_format: str
) -> None:
    result = export(lake, tmp_path / "exports", file_format)
    assert leaks(Path(result.artifact)) == []
    if file_format.endswith("pdf"):  # the cover says redaction was applied, under which rules
        content = Path(result.artifact).read_bytes()
        assert "Redactionapplied" in "".join(texts_of("a.pdf", content)[0].split())
    raw = export(lake, tmp_path / "raw", file_format, raw_content=True)
    assert leaks(Path(raw.artifact)), "the raw report shows the planted values"


def test_no_part_of_a_bundle_holds_the_canaries(lake: LakeLayout, tmp_path: Path) -> None:
    result = export(lake, tmp_path / "exports", "compliance-all")
    assert leaks(Path(result.artifact)) == []
    assert leaks(Path(result.provenance)) == []
    with tarfile.open(result.artifact) as archive:
        manifest = next(m for m in archive.getmembers() if m.name.endswith("/manifest.json"))
        facts = json.loads(archive.extractfile(manifest).read())["redaction"]
    assert facts["replaced"]["identity"] > 0 and facts["replaced"]["email"] > 0


@pytest.mark.parametrize("export_type", TYPES)
def test_the_rules_name_every_text_field_of_every_type(
    lake: LakeLayout, tmp_path: Path, export_type: str
) -> None:
    """Coverage is data: each text column (and each text field of a nested one) an export
    type holds is named in the rules as an identity, a text or a field kept as it is."""
    result = export(lake, tmp_path, "parquet", export_type, raw_content=True)
    schema = pq.read_schema(result.artifact)
    spec = load_policy().spec(export_type)
    named = {*spec.identity, *spec.text, *spec.keep}
    for column in schema:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            assert column.name in named, (export_type, column.name)
        elif pa.types.is_list(column.type) and pa.types.is_struct(column.type.value_type):
            for field in column.type.value_type:
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                    assert f"{column.name}.{field.name}" in named, (export_type, column.name)
        elif pa.types.is_list(column.type):
            assert column.name in named, (export_type, column.name)


# How the demo writes half its phone numbers: an area code libphonenumber knows no number in.
DEMO_PHONE = re.compile(r"\(555\) [0-9]{3}-[0-9]{4}")
PHONE_ALIAS = rf"\[PHONE:[{ALPHABET}]{{8}}\]"


def csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def test_the_demo_phone_numbers_reach_no_redacted_csv(tmp_path: Path) -> None:
    """A demo day exported as CSV: each `(555) …` number the raw export shows is a phone alias
    in the redacted one, in the same cell, and no cell holds `(555) ` any more."""
    layout = demo_lake(tmp_path / "lake", DAY, 1)
    raw = csv_cells(Path(export(layout, tmp_path / "raw", "csv", raw_content=True).artifact))
    redacted = csv_cells(Path(export(layout, tmp_path / "redacted", "csv").artifact))
    assert len(redacted) == len(raw)
    with_numbers = [index for index, cell in enumerate(raw) if DEMO_PHONE.search(cell)]
    assert with_numbers  # the demo day holds some, so this test can fail
    assert [cell for cell in redacted if "(555) " in cell] == []
    for index in with_numbers:
        expected = PHONE_ALIAS.join(re.escape(piece) for piece in DEMO_PHONE.split(raw[index]))
        assert re.fullmatch(expected, redacted[index]), (raw[index], redacted[index])
