"""Exports are safe to open and to share: no injection, no formulas, no personal data."""

import csv
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.pseudonyms import ALPHABET
from keeptrusts_pipelines.exports.redaction import load_policy
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake, replace_day_with_records

DAY = date(2026, 3, 1)
NOW = datetime(2026, 4, 1, tzinfo=UTC)

# Personal data and secrets in every supported shape, each with the kind of marker it becomes.
PII_CORPUS = {
    "jane.doe@example.com": "EMAIL",
    "j.o'neil+audit@mail.example.co.uk": "EMAIL",
    "+34 612 345 678": "PHONE",
    "+1 (415) 555-2671": "PHONE",
    "612 34 56 78": "PHONE",
    "91 123 45 67": "PHONE",
    "4111 1111 1111 1111": "CARD",
    "4111111111111111": "CARD",
    "5500-0000-0000-0004": "CARD",
    "378282246310005": "CARD",
    "ES91 2100 0418 4502 0005 1332": "IBAN",
    "ES9121000418450200051332": "IBAN",
    "DE89370400440532013000": "IBAN",
    "GB29NWBK60161331926819": "IBAN",
    "12345678Z": "NATIONAL_ID",
    "X1234567L": "NATIONAL_ID",
    "Y-7654321-G": "NATIONAL_ID",
    "123-45-6789": "NATIONAL_ID",
    "192.168.10.24": "IP_ADDRESS",
    "2001:0db8:85a3:0000:0000:8a2e:0370:7334": "IP_ADDRESS",
    "sk-live-4f9a8b7c6d5e4f3a2b1c": "API_KEY",
    "AKIAIOSFODNN7EXAMPLE": "API_KEY",
    "ghp_0123456789abcdefghijklmnopqrstuvwxyz": "API_KEY",
    "Bearer abcdefghijklmnop.qrstuvwxyz0123": "TOKEN",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U": "TOKEN",
}
PSEUDONYMISED = {"EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "IP_ADDRESS"}
# Ordinary values that look numeric or structured and must survive redaction untouched.
NOT_PII = [
    "2026-05-01T12:00:00Z",
    "2026-05-01",
    "invoice 4471",
    "version 3.2.1",
    "evt_3f2a9b7c1d0e",
    "req_0033c86c1bc5275bd7c3953d",
    "4111 1111 1111 1112",  # fails the Luhn check
    "order 123-4567",
    "latency 1024 ms",
    "gpt-4o",
    "ISO 27001",
    "Article 28(3)",
    "$1,234.56",
]


def marker_pattern(kind: str) -> str:
    """A marker of `kind` as a regular expression: with an alias where the kind has one."""
    alias = rf":[{ALPHABET}]{{8}}" if kind in PSEUDONYMISED else ""
    return rf"\[{kind}{alias}\]"


def crafted_records() -> list[dict]:
    template = generate_day(4, DAY, 200)["decision_events"].slice(0, 1).to_pylist()[0]
    records = []
    for index, (value, _) in enumerate(PII_CORPUS.items()):
        records.append(
            dict(
                template,
                event_id=f"evt_pii_{index:03d}",
                input=f"Please check {value} today.",
                output=f"Noted: {value}",
                user=f"user{index}@corp.example",
            )
        )
    for index, value in enumerate(NOT_PII):
        records.append(
            dict(
                template,
                event_id=f"evt_plain_{index:03d}",
                input=f"Reference {value} stays.",
                output=value,
            )
        )
    records.append(
        dict(
            template,
            event_id="evt_formula_1",
            input='=HYPERLINK("http://evil.example","click")',
            output="+SUM(A1:A9)",
        )
    )
    records.append(
        dict(template, event_id="evt_formula_2", input="@cmd", output="-2+3", team="=team")
    )
    records.append(dict(template, event_id="evt_formula_3", user="=eve@corp.example"))
    # Nested texts whose JSON escapes a line break and quotes around the values.
    records.append(
        dict(
            template,
            event_id="evt_nested",
            policies_evaluated=[
                {"name": f"rule\n{NESTED_SSN}", "verdict": "pass", "severity": "info"}
            ],
            citations=[{"asset": f'memo by "{NESTED_EMAIL}"', "version": 1}],
        )
    )
    return records


NESTED_SSN = "219-09-9998"
NESTED_EMAIL = "nested.person@example.org"


@pytest.mark.parametrize("file_format", ["csv", "json", "jsonl", "parquet"])
def test_nested_texts_are_redacted_whatever_their_json_escapes(
    lake: LakeLayout, tmp_path: Path, file_format: str
) -> None:
    result = export(lake, tmp_path, file_format)
    if file_format == "parquet":
        rows = pl.read_parquet(result.artifact).filter(pl.col("id") == "evt_nested").to_dicts()
        policies, citations = rows[0]["policies_evaluated"], rows[0]["citations"]
    elif file_format == "csv":
        with open(result.artifact, newline="", encoding="utf-8") as handle:
            row = next(r for r in csv.DictReader(handle) if r["id"] == "evt_nested")
        policies, citations = json.loads(row["policies_evaluated"]), json.loads(row["citations"])
    else:
        text = Path(result.artifact).read_text(encoding="utf-8")
        events = json.loads(text)["events"] if file_format == "json" else [
            json.loads(line) for line in text.splitlines()
        ]  # fmt: skip
        row = next(event for event in events if event["id"] == "evt_nested")
        policies, citations = row["policies_evaluated"], row["citations"]
    assert re.fullmatch(rf"rule\n{marker_pattern('NATIONAL_ID')}", policies[0]["name"])
    assert re.fullmatch(rf'memo by "{marker_pattern("EMAIL")}"', citations[0]["asset"])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    root = tmp_path_factory.mktemp("lake")
    layout = demo_lake(root / "lake", DAY, 1)
    replace_day_with_records(layout, root / "landing", DAY, crafted_records())
    return layout


def export(lake: LakeLayout, tmp_path: Path, file_format: str, **options):
    req = ExportRequest(
        window=build_window("2026-03-01", "2026-03-01", None, NOW), format=file_format, **options
    )
    return run_export(req, lake, tmp_path / "exports", now=lambda: NOW)


def test_an_injection_attempt_in_a_filter_matches_nothing(lake: LakeLayout, tmp_path: Path) -> None:
    for filters in [
        Filters(team=("x' OR 1=1 --",)),
        Filters(policy=("'); DROP TABLE t; --",)),
        Filters(user=('" OR ""="',)),
    ]:
        assert export(lake, tmp_path, "jsonl", filters=filters).records == 0


def test_formulas_are_neutralised_in_csv_and_unchanged_in_json(
    lake: LakeLayout, tmp_path: Path
) -> None:
    with open(
        export(lake, tmp_path, "csv", raw_content=True).artifact, newline="", encoding="utf-8"
    ) as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert rows["evt_formula_1"]["input"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows["evt_formula_1"]["output"] == "'+SUM(A1:A9)"
    assert rows["evt_formula_2"]["input"] == "'@cmd" and rows["evt_formula_2"]["output"] == "'-2+3"
    assert rows["evt_formula_2"]["team"] == "'=team"
    events = json.loads(
        Path(export(lake, tmp_path, "json", raw_content=True).artifact).read_text()
    )["events"]
    by_id = {event["id"]: event for event in events}
    assert by_id["evt_formula_1"]["input"] == '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize("file_format", ["csv", "json", "jsonl"])
def test_redacted_exports_hold_no_personal_data(
    lake: LakeLayout, tmp_path: Path, file_format: str
) -> None:
    text = Path(export(lake, tmp_path, file_format).artifact).read_text(encoding="utf-8")
    for value in PII_CORPUS:
        assert value not in text, value
    # Nothing the rules would replace is left: redacting the export's texts again changes none.
    events = export(lake, tmp_path / "again", "jsonl").artifact
    texts = [
        value
        for line in Path(events).read_text(encoding="utf-8").splitlines()
        for value in json.loads(line).values()
        if isinstance(value, str)
    ]
    assert load_policy().session().redact_values(texts) == texts


def test_each_value_becomes_its_typed_marker(lake: LakeLayout, tmp_path: Path) -> None:
    events = {
        json.loads(line)["id"]: json.loads(line)
        for line in Path(export(lake, tmp_path, "jsonl").artifact).read_text().splitlines()
    }
    for index, kind in enumerate(PII_CORPUS.values()):
        event = events[f"evt_pii_{index:03d}"]
        assert re.fullmatch(rf"Please check {marker_pattern(kind)} today\.", event["input"]), event[
            "input"
        ]
        assert re.fullmatch(marker_pattern("EMAIL"), event["user"])


def test_ordinary_values_are_not_redacted(lake: LakeLayout, tmp_path: Path) -> None:
    events = {
        json.loads(line)["id"]: json.loads(line)
        for line in Path(export(lake, tmp_path, "jsonl").artifact).read_text().splitlines()
    }
    for index, value in enumerate(NOT_PII):
        assert events[f"evt_plain_{index:03d}"]["output"] == value


def test_the_record_states_the_rules_and_what_each_replaced(
    lake: LakeLayout, tmp_path: Path
) -> None:
    result = export(lake, tmp_path, "jsonl")
    record = json.loads((Path(result.artifact).parent.parent / "export.json").read_text())
    policy = load_policy()
    facts = record["redaction"]
    assert facts["rules"] == {"version": policy.version, "sha256": policy.sha256}
    assert set(facts["replaced"]) == {rule.name for rule in policy.rules} | {"identity"}
    # Each corpus value is in an input and an output; the users are identities.
    assert facts["replaced"]["iban"] == 2 * 4 and facts["replaced"]["jwt"] == 2
    assert facts["replaced"]["identity"] == result.records
    assert facts["pseudonyms"]["linkable_across_exports"] is True
    assert "python-stdnum" in facts["validators"] and "phonenumbers" in facts["validators"]


def test_raw_content_keeps_values_and_says_so(lake: LakeLayout, tmp_path: Path) -> None:
    result = export(lake, tmp_path, "jsonl", raw_content=True)
    assert "4111 1111 1111 1111" in Path(result.artifact).read_text()
    assert result.request["content"] == "raw"


def test_a_pattern_that_matches_a_marker_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "columns: {events: {text: [input]}}\n"
        "rules:\n"
        "  - {name: shouting, marker: '[EMAIL]', pattern: '[A-Z]{4,}'}\n"
    )
    with pytest.raises(ConfigurationError, match=r"rule shouting: pattern .* matches the marker"):
        load_policy(rules)


def test_the_screen_sets_aside_only_values_no_rule_changes() -> None:
    redaction = load_policy().session()
    # Non-ASCII letters beside the values: Unicode word boundaries differ from ASCII ones there.
    values = [
        *(f"{prefix}{value}{suffix}" for value in PII_CORPUS for prefix, suffix in
          (("", ""), ("é", "ñ"), ("ü ", " ß"), ("x", "y"))),
        *NOT_PII,
        None,
        "",
    ]  # fmt: skip
    screened = redaction.apply(pl.DataFrame({"input": values}), "events")["input"]
    assert screened.to_list() == redaction.redact_values(values)


def test_a_value_is_redacted_the_same_whatever_its_neighbours() -> None:
    redaction = load_policy().session()
    glued = "ref x4111 1111 1111 1111y and 4111 1111 1111 1111"
    alone = redaction.apply(pl.DataFrame({"input": [glued]}), "events")["input"][0]
    beside = redaction.apply(
        pl.DataFrame({"input": [glued, "4111 1111 1111 1111", "x4111 1111 1111 1111y"]}), "events"
    )["input"].to_list()
    assert alone == beside[0]
    assert re.fullmatch(rf"ref x4111 1111 1111 1111y and {marker_pattern('CARD')}", alone)
    assert beside[1] == alone.removeprefix("ref x4111 1111 1111 1111y and ")
    assert beside[2] == "x4111 1111 1111 1111y"


def test_repeated_values_are_redacted_once_each_as_if_alone() -> None:
    redaction = load_policy().session()
    values = [*PII_CORPUS, "ref x4111 1111 1111 1111y", "nothing here", None, *NOT_PII] * 3
    frame = pl.DataFrame({"input": values})
    redacted = redaction.apply(frame, "events")["input"].to_list()
    one_by_one = [
        redaction.apply(pl.DataFrame({"input": [value]}, schema={"input": pl.String}), "events")
        for value in values
    ]
    assert redacted == [alone["input"][0] for alone in one_by_one]
    assert frame["input"].to_list() == values  # the caller's frame is left as it was


def test_an_identity_a_spreadsheet_would_run_has_one_alias_in_csv_and_json(
    lake: LakeLayout, tmp_path: Path
) -> None:
    with open(export(lake, tmp_path, "csv").artifact, newline="", encoding="utf-8") as handle:
        in_csv = next(r for r in csv.DictReader(handle) if r["id"] == "evt_formula_3")["user"]
    lines = Path(export(lake, tmp_path / "jsonl", "jsonl").artifact).read_text().splitlines()
    in_json = next(json.loads(line) for line in lines if '"evt_formula_3"' in line)["user"]
    assert in_csv == in_json and re.fullmatch(rf"\[USER:[{ALPHABET}]{{8}}\]", in_csv)
