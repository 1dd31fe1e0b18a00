"""Reports: framework figures against independent queries, a framework added as data, the PDF."""

import io
import json
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.formats import use_format_sources
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.settings import Settings
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.lakes import demo_lake, replace_day_with_records
from keeptrusts_pipelines_tests.test_format_registry import CATALOG as SOC2_CATALOG
from keeptrusts_pipelines_tests.test_report_pages import SECTIONS

FIRST = date(2026, 3, 1)
NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    """Three demo days; on the second, an escalated event without an escalation record and a
    personal-data finding that was allowed through."""
    root = tmp_path_factory.mktemp("reports")
    layout = demo_lake(root / "lake", FIRST, 3)
    day = date(2026, 3, 2)
    rows = generate_day(21, day, 400)["decision_events"].to_pylist()
    template = rows[0]
    rows.append(
        dict(
            template,
            event_id="evt_unreviewed",
            request_id="req_unreviewed",
            action="escalate",
            result="escalated",
            escalation_id=None,
        )
    )
    rows.append(
        dict(
            template,
            event_id="evt_pii_allowed",
            request_id="req_pii_allowed",
            action="allow",
            result="passed",
            policies_evaluated=[
                {"name": "pii-filter", "verdict": "modified", "severity": "medium"}
            ],
        )
    )
    replace_day_with_records(layout, root / "landing", day, rows)
    return layout


def files(lake: LakeLayout, table: str) -> str:
    return str(lake.root / table / "*" / "*.parquet")


def export(lake: LakeLayout, tmp_path: Path, file_format: str, **options):
    window = build_window("2026-03-01", "2026-03-03", None, NOW)
    request = ExportRequest(window=window, format=file_format, **options)
    settings = Settings.from_environment()  # as a front door reads them
    return run_export(
        request,
        lake,
        tmp_path / "exports",
        now=lambda: NOW,
        redaction=settings.redaction(),
        options=settings.producer_options(),
    )


def controls(result) -> dict:
    report = json.loads(Path(result.artifact).read_text())
    return {control["id"]: control for control in report["controls"]}


def test_aesia_figures_equal_independent_queries(lake: LakeLayout, tmp_path: Path) -> None:
    found = controls(export(lake, tmp_path, "compliance-aesia"))
    escalated, without = duckdb.sql(
        f"""select count(*), count(*) filter (where s.escalation_id is null)
        from read_parquet('{files(lake, "decision_events")}') e
        left join read_parquet('{files(lake, "escalations")}') s using (event_id)
        where e.action = 'escalate'"""
    ).fetchall()[0]
    oversight = found["AESIA-14.1"]
    assert oversight["figures"] == {
        "escalated_events": escalated,
        "escalated_without_record": without,
    }
    assert without >= 1 and oversight["status"] == "not met"
    assert "evt_unreviewed" in oversight["cross_reference"]["event_ids"]
    assert "req_unreviewed" in oversight["cross_reference"]["request_ids"]
    events = duckdb.sql(
        f"select count(*) from read_parquet('{files(lake, 'decision_events')}')"
    ).fetchall()[0][0]
    assert found["AESIA-12.1"]["figures"]["events"] == events
    assert found["AESIA-12.1"]["status"] == "met"


def test_aepd_finds_personal_data_let_through(lake: LakeLayout, tmp_path: Path) -> None:
    found = controls(export(lake, tmp_path, "compliance-aepd"))
    allowed = duckdb.sql(
        f"""select count(*) from read_parquet('{files(lake, "decision_events")}')
        where action = 'allow' and list_bool_or(list_transform(policies_evaluated,
            lambda p: p.name = 'pii-filter' and p.verdict <> 'pass'))"""
    ).fetchall()[0][0]
    control = found["AEPD-25"]
    assert control["figures"]["findings_allowed"] == allowed == 1
    assert control["status"] == "not met" and control["rule"] == "not (findings_allowed == 0)"
    assert control["cross_reference"]["event_ids"][0] == "evt_pii_allowed"


def test_ens_controls_cover_logging_protection_and_incidents(
    lake: LakeLayout, tmp_path: Path
) -> None:
    found = controls(export(lake, tmp_path, "compliance-ens"))
    assert found["ENS-op.exp.8.2"]["figures"] == {"days": 3, "days_without_records": 0}
    protection = found["ENS-op.exp.10"]["figures"]
    assert protection["partitions_without_hash"] == 0 and protection["tables"] == 3
    incidents = duckdb.sql(
        f"""select count(*) filter (where severity in ('high', 'critical')),
                   count(*) filter (where severity in ('high', 'critical') and status = 'open')
        from read_parquet('{files(lake, "escalations")}')"""
    ).fetchall()[0]
    figures = found["ENS-op.exp.7.1"]["figures"]
    assert (figures["incidents"], figures["unhandled"]) == incidents
    assert len(found) >= 6


def test_filters_narrow_the_framework_figures(lake: LakeLayout, tmp_path: Path) -> None:
    found = controls(export(lake, tmp_path, "compliance-aesia", filters=Filters(team=("legal",))))
    legal = duckdb.sql(
        f"select count(*) from read_parquet('{files(lake, 'decision_events')}') "
        "where team = 'legal'"
    ).fetchall()[0][0]
    assert found["AESIA-12.1"]["figures"]["events"] == legal


def test_a_framework_is_added_as_yaml_and_sql(
    lake: LakeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogs = tmp_path / "frameworks"
    catalogs.mkdir()
    (catalogs / "soc2.yaml").write_text(SOC2_CATALOG)
    (catalogs / "soc2_blocked.sql").write_text(
        "SELECT count(*) FILTER (WHERE action = 'block') AS blocked FROM events\n"
    )
    monkeypatch.setenv("KEEPTRUSTS_FRAMEWORKS_DIR", str(catalogs))
    use_format_sources(Settings.from_environment().format_sources())  # as a door starting now
    result = export(lake, tmp_path, "compliance-soc2")
    assert Path(result.artifact).name == "kt_2026-03-01_to_2026-03-03_compliance-soc2.json"
    blocked = duckdb.sql(
        f"select count(*) from read_parquet('{files(lake, 'decision_events')}') "
        "where action = 'block'"
    ).fetchall()[0][0]
    assert controls(result)["CC7.2"]["figures"] == {"blocked": blocked}
    assert controls(result)["CC7.2"]["status"] == "met"


def test_the_pdf_report_has_every_section_and_its_summary_attached(
    lake: LakeLayout, tmp_path: Path
) -> None:
    result = export(lake, tmp_path, "pdf", title="Q1 2026 AI Compliance Report")
    reader = PdfReader(result.artifact)
    text = " ".join(page.extract_text() for page in reader.pages)
    for heading in (*SECTIONS, "Q1 2026 AI Compliance Report", "2026-03-01 → 2026-03-03"):
        assert heading in text, heading
    assert result.export_id in text  # a standalone report names its export
    summary = json.loads(reader.attachments["report-summary.json"][0])
    events = duckdb.sql(
        f"select count(*) from read_parquet('{files(lake, 'decision_events')}')"
    ).fetchall()[0][0]
    assert summary["key_metrics"]["events"] == result.records == events
    assert "jane.doe" not in json.dumps(summary["event_samples"])  # redacted by default
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed; .ci/run installs it")
    rendered = subprocess.run(
        ["pdftoppm", "-r", "40", "-png", result.artifact, str(tmp_path / "page")],
        capture_output=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert len(list(tmp_path.glob("page-*.png"))) == len(reader.pages)


def test_an_empty_window_still_makes_a_readable_report(lake: LakeLayout, tmp_path: Path) -> None:
    result = export(lake, tmp_path, "pdf", filters=Filters(team=("nobody",)))
    assert result.records == 0
    text = PdfReader(io.BytesIO(Path(result.artifact).read_bytes())).pages[1].extract_text()
    assert "Executive summary" in text


def test_transcripts_annotate_each_turn_and_split_into_volumes(
    lake: LakeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_TRANSCRIPT_VOLUME_CONVERSATIONS", "4")
    result = export(
        lake, tmp_path, "transcript-pdf", filters=Filters(team=("legal",), result=("blocked",))
    )
    turns = duckdb.sql(
        f"select count(*), count(distinct coalesce(conversation_id, request_id)) "
        f"from read_parquet('{files(lake, 'decision_events')}') "
        "where team = 'legal' and result = 'blocked'"
    ).fetchall()[0]
    assert result.records == turns[0]
    volumes = -(-turns[1] // 4)
    assert result.parts == volumes > 1
    assert Path(result.artifact).name == "kt_2026-03-01_to_2026-03-03_transcripts.zip"
    with zipfile.ZipFile(result.artifact) as archive:
        names = archive.namelist()
        assert names[0] == "kt_2026-03-01_to_2026-03-03_transcripts.part-0001.pdf"
        first = PdfReader(io.BytesIO(archive.read(names[0])))
    text = " ".join(page.extract_text() for page in first.pages)
    assert "volume 1" in text and "Conversation 1:" in text and "Conversation 5:" not in text
    assert "Turn 1" in text and "pii-filter: " in text and "→ block (blocked," in text
    assert "@company.example" not in text  # users are redacted by default


def test_a_signed_pdf_report_verifies_in_a_pdf_reader(
    lake: LakeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    key = tmp_path / "pdf-signing.pem"
    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("KEEPTRUSTS_PDF_SIGNING_KEY", str(key))
    result = export(lake, tmp_path, "pdf")
    with open(result.artifact, "rb") as handle:
        signature = PdfFileReader(handle).embedded_signatures[0]
        # The certificate is self-issued: trust it as its own root.
        trusted = ValidationContext(trust_roots=[signature.signer_cert])
        status = validate_pdf_signature(signature, trusted)
        assert status.intact and status.valid
        assert status.coverage.name == "ENTIRE_FILE"
    assert json.loads(PdfReader(result.artifact).attachments["report-summary.json"][0])
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (Debian poppler-utils) is not installed; .ci/run installs it")
    checked = subprocess.run(["pdfsig", result.artifact], capture_output=True, text=True)
    assert "Signature is Valid." in checked.stdout, checked.stdout
