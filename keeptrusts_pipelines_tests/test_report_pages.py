"""The PDF report's pages as an auditor reads them: its sections and contents (pypdf), and every
table row whole on one page under its repeated header (pdfplumber), against the lake's data."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pdfplumber
import pyarrow.parquet as pq
import pytest
import weasyprint
from pypdf import PdfReader

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
from keeptrusts_pipelines.model.schema import ESCALATION_STATUSES, SEVERITIES, TABLES
from keeptrusts_pipelines.reports import charts
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore
from keeptrusts_pipelines.sources.records import record_json
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake

FIRST, DAYS = date(2026, 3, 1), 8
NOW = datetime(2026, 4, 1, tzinfo=UTC)
CRAFTED_DAY = date(2026, 3, 2)
# A configuration that lists a policy version without defining it, and a policy no
# configuration lists at all: both are shown, with "no description recorded". The same
# configuration defines a policy whose description names a person: redacted like any text.
LEGACY_CONFIG = "eu-west-prod@legacy"
CANARY_EMAIL = "dpo.canary@leak-test.example"
SECTIONS = (
    "Scope",
    "Method",
    "Contents",
    "Executive summary",
    "Framework results",
    "Policies",
    "Policy violations by type and severity",
    "Escalation timeline and resolution status",
    "Configuration change log",
    "Sign-off",
    "Appendix: sample of events",
)
# The report's table styling, which the row check reads: header cells' fill, row rules.
HEADER_FILL = (0.945098, 0.956863, 0.972549)  # #f1f4f8
ROW_RULE = (0.890196, 0.909804, 0.933333)  # #e3e8ee


def _replace_day(layout: LakeLayout, landing: Path, table: str, day: date, rows: list) -> None:
    folder = landing / table / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crafted.jsonl").write_text("".join(record_json(r) + "\n" for r in rows))
    report = ingest_day(LandingSource(LocalLandingStore(landing)), layout, TABLES[table], day)
    assert report.quarantined == 0, report.reject_reasons


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    root = tmp_path_factory.mktemp("report-pages")
    layout = demo_lake(root / "lake", FIRST, DAYS, per_day=150)
    tables = generate_day(21, CRAFTED_DAY, 150)
    configs = tables["config_versions"].to_pylist()
    configs.append(
        dict(
            configs[0],
            config_version=LEGACY_CONFIG,
            gateway="eu-west-prod",
            created_at=datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC),
            policies=["legacy-filter@v1", "contact-review@v1"],
            policy_definitions=[
                {
                    "policy": "contact-review",
                    "version": "v1",
                    "description": f"Routes personal-data requests to {CANARY_EMAIL}.",
                }
            ],
            sha256="ab" * 32,
        )
    )
    events = tables["decision_events"].to_pylist()
    template = next(e for e in events if e["action"] == "block" and e["gateway"] == "eu-west-prod")
    events += [
        dict(
            template,
            event_id="evt_legacy",
            request_id="req_legacy",
            policy="legacy-filter",
            config_version=LEGACY_CONFIG,
            timestamp=datetime(2026, 3, 2, 12, tzinfo=UTC),
            policies_evaluated=[{"name": "legacy-filter", "verdict": "block", "severity": "high"}],
        ),
        dict(
            template,
            event_id="evt_contact",
            request_id="req_contact",
            policy="contact-review",
            config_version=LEGACY_CONFIG,
            timestamp=datetime(2026, 3, 2, 12, 30, tzinfo=UTC),
            policies_evaluated=[{"name": "contact-review", "verdict": "block", "severity": "low"}],
        ),
        dict(
            template,
            event_id="evt_shadow",
            request_id="req_shadow",
            policy="shadow-policy",
            timestamp=datetime(2026, 3, 2, 13, tzinfo=UTC),
            policies_evaluated=[{"name": "shadow-policy", "verdict": "block", "severity": "low"}],
        ),
    ]
    _replace_day(layout, root / "landing", "config_versions", CRAFTED_DAY, configs)
    _replace_day(layout, root / "landing", "decision_events", CRAFTED_DAY, events)
    return layout


def export(lake: LakeLayout, folder: Path, file_format: str):
    last = FIRST + timedelta(days=DAYS - 1)
    window = build_window(FIRST.isoformat(), last.isoformat(), None, NOW)
    request = ExportRequest(window=window, format=file_format, title="March 2026 evidence")
    return run_export(request, lake, folder, now=lambda: NOW)


@pytest.fixture(scope="module")
def report(lake: LakeLayout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(export(lake, tmp_path_factory.mktemp("report"), "pdf").artifact)


@pytest.fixture(scope="module")
def summary(report: Path) -> dict:
    return json.loads(PdfReader(report).attachments["report-summary.json"][0])


def lake_sql(lake: LakeLayout, sql: str) -> list[tuple]:
    """An independent query over the lake's Parquet: `{events}`, `{configs}`, `{escalations}`."""
    files = {
        name: f"read_parquet('{lake.root / table / '*' / '*.parquet'}')"
        for name, table in (
            ("events", "decision_events"),
            ("configs", "config_versions"),
            ("escalations", "escalations"),
        )
    }
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection.sql(sql.format(**files)).fetchall()


def words(text: str) -> str:
    return " ".join(text.split())


def flat(outline: list) -> list:
    """A PDF outline's entries, nested ones included, in order."""
    return [e for item in outline for e in (flat(item) if isinstance(item, list) else [item])]


# --- Tables as the pages draw them ---------------------------------------------------------


@dataclass
class Segment:
    """The part of one table on one page: its header cells, then its rows' cells."""

    page: int
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


def _colour(value: object, wanted: tuple[float, ...]) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == len(wanted)
        and all(abs(a - b) < 0.01 for a, b in zip(value, wanted, strict=True))
    )


def _text(page: pdfplumber.page.Page, box: tuple[float, float, float, float]) -> str:
    return words(page.within_bbox(box).extract_text() or "")


def table_segments(path: Path) -> tuple[list[Segment], list[tuple[int, float]]]:
    """Every table part on every page, rows cut at the row rules under its header; and the row
    rules under no header (rows on a page where the header was not repeated)."""
    segments: list[Segment] = []
    headless: list[tuple[int, float]] = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            headers: dict[int, list[dict]] = {}
            for rect in page.rects:
                if rect["fill"] and _colour(rect["non_stroking_color"], HEADER_FILL):
                    headers.setdefault(round(rect["top"]), []).append(rect)
            rules = sorted(
                {
                    round(line["top"], 1)
                    for line in page.lines
                    if abs(line["top"] - line["bottom"]) < 0.5
                    and _colour(line["stroking_color"], ROW_RULE)
                }
            )
            tops = sorted(headers)
            claimed: set[float] = set()
            for index, top in enumerate(tops):
                cells = sorted(headers[top], key=lambda cell: cell["x0"])
                bottom = max(cell["bottom"] for cell in cells)
                limit = tops[index + 1] if index + 1 < len(tops) else page.height
                columns = [(cell["x0"], cell["x1"]) for cell in cells]
                segment = Segment(
                    number, tuple(_text(page, (x0, top - 1, x1, bottom)) for x0, x1 in columns)
                )
                edges = [bottom]
                for rule in rules:
                    if bottom - 1 <= rule < limit:
                        claimed.add(rule)
                        if rule - edges[-1] > 2:  # the header's own rule is its bottom edge
                            edges.append(rule)
                for upper, lower in pairwise(edges):
                    segment.rows.append(
                        tuple(_text(page, (x0, upper, x1, lower + 0.5)) for x0, x1 in columns)
                    )
                segments.append(segment)
            headless += [(number, rule) for rule in rules if rule not in claimed]
    return segments, headless


def table_rows(segments: list[Segment], first_header: str) -> list[tuple[str, ...]]:
    """The rows of every table whose first header cell is `first_header`, in page order."""
    return [row for s in segments if s.header[0] == first_header for row in s.rows]


# --- The checks ------------------------------------------------------------------------------


def test_the_row_check_finds_a_row_cut_by_a_page_break(tmp_path: Path) -> None:
    """The table check below can fail: rows left free to break are found cut, kept rows not."""

    def table(style: str) -> str:
        rows = "".join(
            f"<tr><td>row-{i}</td><td>{'word ' * (40 + 9 * (i % 5))}</td></tr>" for i in range(50)
        )
        return (
            "<style>@page { size: A5; margin: 15mm } table { border-collapse: collapse }"
            " th, td { border-bottom: 1px solid #e3e8ee; vertical-align: top }"
            f" th {{ background: #f1f4f8 }} {style}</style>"
            f"<table><thead><tr><th>Row</th><th>Text</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    expected = [f"row-{i}" for i in range(50)]
    for style, whole in (("tr { break-inside: avoid }", True), ("", False)):
        path = tmp_path / f"whole-{whole}.pdf"
        weasyprint.HTML(string=table(style)).write_pdf(path)
        segments, headless = table_segments(path)
        assert len(segments) > 1 and not headless  # several pages, the header on each
        assert ([row[0] for row in table_rows(segments, "Row")] == expected) is whole


def test_the_report_has_scope_method_contents_frameworks_policies_and_signoff(
    lake: LakeLayout, report: Path
) -> None:
    reader = PdfReader(report)
    pages = [page.extract_text() for page in reader.pages]
    text = words(" ".join(pages))
    for heading in SECTIONS:
        assert heading in text, heading
    # The contents give each section the page its heading is on.
    outline = {
        item.title: reader.get_destination_page_number(item) + 1 for item in flat(reader.outline)
    }
    contents = next(page for page in pages if page.startswith("Contents"))
    listed = dict(re.findall(r"^(.+?) ?\.{3,} ?(\d+)$", contents, flags=re.MULTILINE))
    assert set(listed) == set(SECTIONS) - {"Contents"}
    assert {title: int(page) for title, page in listed.items()} == {
        title: outline[title] for title in listed
    }
    # Scope: the period with its last day, what the events came through, as the lake has them.
    assert "2026-03-01 → 2026-03-08, both ends included" in text
    assert "up to, not including, 2026-03-09T00:00:00Z" in text
    [(environments, gateways)] = lake_sql(
        lake,
        "select list_sort(list(distinct environment)), list_sort(list(distinct gateway)) "
        "from {events}",
    )
    assert f"Environments {', '.join(environments)}" in text
    assert f"Gateways {', '.join(gateways)}" in text
    assert f"decision_events: {DAYS} daily partitions, 2026-03-01 → 2026-03-08" in text
    # Method: how figures are made, the sample drawn, the file checked.
    for statement in ("computed by DuckDB", "stratified sample", "Redaction applied", "kt verify"):
        assert statement in text, statement
    assert "sha256sum" in text and "kt export status --id exp_" in text
    # A key figure keeps its unit on its line.
    summary_page = pages[outline["Executive summary"] - 1]
    assert re.search(r"^[\d,]+[ \xa0]ms\nlatency p50$", summary_page, flags=re.MULTILINE)
    assert re.search(r"^[\d,]+[ \xa0]ms\nlatency p95$", summary_page, flags=re.MULTILINE)
    # Sign-off: two people, with name, role, date and signature lines each.
    signoff = words(pages[outline["Sign-off"] - 1])
    assert "Prepared by" in signoff and "Reviewed by" in signoff
    assert all(signoff.count(line) == 2 for line in ("Name", "Role", "Date", "Signature"))


def test_framework_results_are_those_of_the_compliance_exports(
    lake: LakeLayout, report: Path, tmp_path: Path
) -> None:
    segments, _ = table_segments(report)
    shown = {row[0]: row for row in table_rows(segments, "Control")}
    expected = []
    for name in ("aesia", "aepd", "ens"):
        result = export(lake, tmp_path, f"compliance-{name}")
        expected += json.loads(Path(result.artifact).read_text())["controls"]
    assert list(shown) == [control["id"] for control in expected]
    for control in expected:
        _, requirement, status, figures = shown[control["id"]]
        assert status == control["status"], control["id"]
        assert requirement.startswith(words(control["title"]))
        for figure, value in control["figures"].items():
            number = f"{value:,}" if isinstance(value, int) else str(value)
            assert f"{figure}: {number}" in figures, (control["id"], figure)


def test_policies_show_their_description_and_the_configuration_that_defined_them(
    lake: LakeLayout, report: Path, summary: dict
) -> None:
    segments, _ = table_segments(report)
    rows = {row[0]: row for row in table_rows(segments, "Policy · version")}
    named = lake_sql(
        lake,
        "select distinct policy from {events} union "
        "select distinct unnest(list_transform(policies_evaluated, lambda p: p.name)) from {events}",
    )
    assert {row.split(" ")[0] for row in rows} == {name for (name,) in named}
    # Each defined version: the earliest configuration carrying it, as the lake's history has it.
    defined = lake_sql(
        lake,
        "select d.policy, d.version, arg_min(config_version, (created_at, config_version)), "
        "arg_min(d.description, (created_at, config_version)) "
        "from (select config_version, created_at, unnest(policy_definitions) as d from {configs}) "
        "group by all",
    )
    versions_shown = [(p["policy"], p["version"]) for p in summary["policies"] if p["defined"]]
    assert versions_shown and set(versions_shown) <= {(p, v) for p, v, _, _ in defined}
    for policy, version, config_version, description in defined:
        if (policy, version) not in versions_shown or CANARY_EMAIL in description:
            continue  # the redacted description is checked below
        described = rows[f"{policy} {version}"][1]
        assert described.startswith(f"{words(description)} defined by {config_version} (")
    # A version listed but never defined, and a policy no configuration lists: still shown.
    assert rows["legacy-filter v1"][1].startswith(
        f"no description recorded first listed, without a definition, by {LEGACY_CONFIG}"
    )
    assert rows["shadow-policy version not in the history"][1] == (
        "no description recorded no configuration in the history lists this policy"
    )
    # A description is data: a person named in it is redacted, in the page and the summary.
    contact = rows["contact-review v1"][1]
    assert contact.startswith("Routes personal-data requests to [EMAIL:"), contact
    text = "".join(page.extract_text() for page in PdfReader(report).pages)
    assert CANARY_EMAIL not in "".join(text.split())
    assert CANARY_EMAIL not in json.dumps(summary)
    # The version each gateway runs at the period's end is marked in force.
    at_end = lake_sql(
        lake,
        "select distinct split_part(p, '@', 1) || ' ' || split_part(p, '@', 2) from ("
        " select unnest(policies) as p from (select policies from {configs}"
        " qualify row_number() over (partition by gateway order by created_at desc) = 1))",
    )
    marked = {key for key, row in rows.items() if row[3].startswith("in force")}
    assert marked == {key for (key,) in at_end} & set(rows)


def test_no_table_row_is_cut_across_pages_and_every_row_is_there(
    lake: LakeLayout, report: Path, summary: dict
) -> None:
    segments, headless = table_segments(report)
    assert not headless, f"rows under no header (header not repeated): {headless}"
    spanning = {s.header for s in segments if sum(t.header == s.header for t in segments) > 1}
    assert spanning, "no table spans two pages: the check would prove nothing"
    order = {"severities": list(SEVERITIES), "statuses": list(ESCALATION_STATUSES)}
    violations = lake_sql(
        lake,
        "select policy, severity, action, count(*) from {events} where action <> 'allow' "
        "group by policy, severity, action order by policy, "
        f"list_position({order['severities']}, severity), action",
    )
    assert table_rows(segments, "Deciding policy") == [
        (policy, severity, action, f"{events:,}") for policy, severity, action, events in violations
    ]
    escalations = lake_sql(
        lake,
        "select status, severity, count(*) from {escalations} group by status, severity "
        f"order by list_position({order['statuses']}, status), "
        f"list_position({order['severities']}, severity)",
    )
    assert [row[:3] for row in table_rows(segments, "Status")] == [
        (status, severity, f"{count:,}") for status, severity, count in escalations
    ]
    changes = lake_sql(
        lake,
        "select strftime(created_at, '%Y-%m-%d %H:%M:%S'), config_version from {configs} "
        "where created_at >= '2026-03-01' order by created_at, config_version",
    )
    shown = [(row[0], row[2]) for row in table_rows(segments, "Created (UTC)")]
    assert shown == changes  # every change, none cut
    samples = [row[0].split(" ")[0] for row in table_rows(segments, "Event · time (UTC)")]
    assert samples == [event["event_id"] for event in summary["event_samples"]]


def test_the_sample_is_stratified_by_period_and_policy(lake: LakeLayout, summary: dict) -> None:
    design = summary["event_sample_design"]
    periods = [
        (date.fromisoformat(p["from"]), date.fromisoformat(p["to"])) for p in design["periods"]
    ]
    assert periods[0][0] == FIRST and periods[-1][1] == FIRST + timedelta(days=DAYS - 1)
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in pairwise(periods))
    interventions = lake_sql(
        lake,
        "select event_id, cast(\"timestamp\" as date), policy from {events} where action <> 'allow'",
    )
    # In each (period, deciding policy): the event id with the smallest SHA-256.
    drawn: dict[tuple[int, str], str] = {}
    for event_id, day, policy in interventions:
        period = next(i for i, (first, last) in enumerate(periods) if first <= day <= last)
        current = drawn.get((period, policy))
        if current is None or sha256_hex(event_id) < sha256_hex(current):
            drawn[(period, policy)] = event_id
    sample = [event["event_id"] for event in summary["event_samples"]]
    assert sorted(sample) == sorted(drawn.values())
    assert design["policies"] == len({policy for _, policy in drawn})
    assert len({period for period, _ in drawn}) == len(periods) > 1


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_intervention_chart_lists_severities_in_their_order() -> None:
    rows = [
        {"policy": "pii-filter", "severity": severity, "action": "block", "events": 3}
        for severity in ("critical", "high", "low", "medium", "info")
    ]
    svg = charts.interventions_by_policy(rows)
    positions = [svg.index(f">{severity}<") for severity in SEVERITIES]
    assert positions == sorted(positions)


def test_a_history_written_before_policy_definitions_reads_as_no_description(
    tmp_path: Path,
) -> None:
    layout = demo_lake(tmp_path / "lake", FIRST, 2, per_day=60)
    for path in (layout.root / "config_versions").glob("*/*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.drop(["policy_definitions"]), path)
    window = build_window(FIRST.isoformat(), (FIRST + timedelta(days=1)).isoformat(), None, NOW)
    result = run_export(
        ExportRequest(window=window, format="pdf"), layout, tmp_path / "exports", now=lambda: NOW
    )
    segments, _ = table_segments(Path(result.artifact))
    rows = table_rows(segments, "Policy · version")
    listed = lake_sql(
        layout,
        "select count(distinct p) from (select unnest(policies) as p from {configs})",
    )[0][0]
    assert len(rows) == listed > 0
    assert all(row[1].startswith("no description recorded first listed") for row in rows)
