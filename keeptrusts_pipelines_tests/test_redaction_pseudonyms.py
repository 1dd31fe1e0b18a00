"""Pseudonyms: one person is one alias throughout an export, and across exports under a
configured key; aliases depend on the key and on no plain hash; a reviewer holding the key can
look one up with `kt redaction reveal`, and the ledger records who did."""

import csv
import getpass
import hashlib
import hmac
import io
import json
import re
import tarfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.exports.pseudonyms import ALPHABET, PseudonymKey
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.doors import run_export  # as a front door calls it
from keeptrusts_pipelines_tests.lakes import demo_lake

NOW = datetime(2026, 4, 1, tzinfo=UTC)
KEY = "reviewers-key-7c1d0e5042ae17273a"
OTHER_KEY = "another-key-0f7ad60bcf384a3b7a28"
USER = "daniel.rossi@company.example"  # one of the demo's users
ALIAS = re.compile(rf"\[EMAIL:[{ALPHABET}]{{8}}\]")
runner = CliRunner()


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def export(home: Path, file_format: str, export_id: str, **options):
    request = ExportRequest(
        window=build_window("2026-03-01", "2026-03-02", None, NOW),
        format=file_format,
        filters=Filters(user=(USER,)),
        **options,
    )
    return run_export(
        request,
        LakeLayout(home / "lake"),
        home / "exports",
        export_id=export_id,
        now=lambda: NOW,
    )


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join("".join(page.extract_text().split()) for page in reader.pages)


def aliases_in(text: str) -> set[str]:
    return set(ALIAS.findall(text))


def test_one_user_is_one_alias_in_csv_json_and_transcript(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    with open(export(home, "csv", "exp_alias00csv01").artifact, newline="") as handle:
        in_csv = {row["user"] for row in csv.DictReader(handle)}
    document = json.loads(Path(export(home, "json", "exp_alias0json01").artifact).read_text())
    in_json = {event["user"] for event in document["events"]}
    transcript = export(home, "transcript-pdf", "exp_alias0pdf001")
    in_transcript = aliases_in(pdf_text(Path(transcript.artifact).read_bytes()))
    assert len(in_csv) == 1 and ALIAS.fullmatch(next(iter(in_csv)))
    assert in_csv == in_json == in_transcript
    # The header's user filter shows the same alias, not the address.
    assert document["filters"]["user"] == sorted(in_csv)
    assert USER not in Path(transcript.artifact).read_text(errors="replace")


def test_without_a_key_a_bundle_is_consistent_inside_and_not_linkable_outside(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPTRUSTS_PSEUDONYM_KEY")
    first = export(home, "compliance-all", "exp_onetime00001")
    with tarfile.open(first.artifact) as archive:
        files = {m.name.split("/", 1)[1]: archive.extractfile(m).read() for m in archive if m.isfile()}  # fmt: skip
    events = [json.loads(line) for line in files["data/events.jsonl"].splitlines()]
    in_events = {event["user"] for event in events}
    summary = PdfReader(io.BytesIO(files["data/report.pdf"])).attachments["report-summary.json"]
    samples = json.loads(summary[0])["event_samples"]
    assert len(in_events) == 1 and samples
    assert {sample["user"] for sample in samples} == in_events
    record = json.loads((home / "exports" / "exp_onetime00001" / "export.json").read_text())
    assert record["redaction"]["pseudonyms"]["linkable_across_exports"] is False
    assert "not linkable across exports" in record["redaction"]["pseudonyms"]["note"]
    second = export(home, "jsonl", "exp_onetime00002")
    again = {json.loads(line)["user"] for line in Path(second.artifact).read_text().splitlines()}
    assert again != in_events


def test_another_key_gives_other_aliases_and_none_is_a_plain_hash(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def users(export_id: str) -> set[str]:
        lines = Path(export(home, "jsonl", export_id).artifact).read_text().splitlines()
        return {json.loads(line)["user"] for line in lines}

    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    under_key = users("exp_keyed0000001")
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", OTHER_KEY)
    under_other = users("exp_keyed0000002")
    assert len(under_key) == len(under_other) == 1 and under_key != under_other
    alias = next(iter(under_key))[len("[EMAIL:") : -1]
    assert alias == PseudonymKey(KEY.encode(), True).alias("EMAIL", USER)
    # The same encoding of unkeyed digests of the value, in the forms it could be hashed in.
    for form in (USER, f"EMAIL\x00{USER}", USER.upper()):
        for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.blake2b):
            plain = PseudonymKey(b"", True)
            assert alias != plain.alias("EMAIL", USER)
            assert alias not in digest(form.encode()).hexdigest()
            unkeyed = hmac.new(b"", f"EMAIL\x00{form}".encode(), hashlib.sha256).digest()
            assert alias != _encoded(unkeyed)


def _encoded(digest: bytes) -> str:
    number = int.from_bytes(digest[:8], "big")
    letters = []
    for _ in range(8):
        number, index = divmod(number, len(ALPHABET))
        letters.append(ALPHABET[index])
    return "".join(letters)


def reveal(*arguments: str):
    return runner.invoke(app, ["redaction", "reveal", *arguments])


def test_a_reviewer_with_the_key_reveals_an_alias_and_the_ledger_names_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    result = export(home, "jsonl", "exp_reveal000001")
    alias = json.loads(Path(result.artifact).read_text().splitlines()[0])["user"]
    shown = reveal("--alias", alias, "--id", "exp_reveal000001", "--json")
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert (found["value"], found["kind"], found["table"]) == (USER, "EMAIL", "decision_events")
    human = reveal("--alias", alias, "--id", "exp_reveal000001")
    assert human.exit_code == 0 and f"{alias} is {USER}" in human.output
    entries = [e for e in CustodyLedger(custody_url()).entries("exp_reveal000001")]
    revealed = [e for e in entries if e.action == "revealed"]
    assert len(revealed) == 2 and revealed[0].actor == f"kt:{getpass.getuser()}"
    assert json.loads(revealed[0].detail) == {"alias": alias, "found": True}
    assert USER not in revealed[0].detail


def test_reveal_refuses_what_it_cannot_do_in_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    result = export(home, "jsonl", "exp_reveal000002")
    alias = json.loads(Path(result.artifact).read_text().splitlines()[0])["user"]
    cases = [
        (["--alias", "jane@example.com", "--id", "exp_reveal000002"], 2, "is not an alias"),
        (["--alias", alias, "--id", "../etc"], 2, "is not an export id"),
        (["--alias", alias, "--id", "exp_nosuchexport"], 1, "no completed export"),
        (["--alias", "[EMAIL:bbbbbbbb]", "--id", "exp_reveal000002"], 1, "no value"),
    ]
    for arguments, code, message in cases:
        outcome = reveal(*arguments)
        assert outcome.exit_code == code, (arguments, outcome.output)
        assert message in outcome.output and "Traceback" not in outcome.output
        assert len(outcome.output.strip().splitlines()) == 1
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", OTHER_KEY)
    wrong = reveal("--alias", alias, "--id", "exp_reveal000002")
    assert wrong.exit_code == 1 and "not the key the export was made under" in wrong.output
    monkeypatch.delenv("KEEPTRUSTS_PSEUDONYM_KEY")
    unset = reveal("--alias", alias, "--id", "exp_reveal000002")
    assert unset.exit_code == 2 and "KEEPTRUSTS_PSEUDONYM_KEY is not set" in unset.output
    export(home, "jsonl", "exp_reveal000003")  # under a one-time key
    monkeypatch.setenv("KEEPTRUSTS_PSEUDONYM_KEY", KEY)
    once = reveal("--alias", alias, "--id", "exp_reveal000003")
    assert once.exit_code == 1 and "one-time key" in once.output
