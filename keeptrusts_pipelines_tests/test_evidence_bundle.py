"""compliance-all bundles: BagIt, reproducible bytes, provenance, and `kt verify` catching
every change."""

import base64
import io
import json
import tarfile
from datetime import UTC, date, datetime
from pathlib import Path

import bagit
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
from keeptrusts_pipelines_tests.doors import run_export  # as a front door calls it
from keeptrusts_pipelines_tests.lakes import demo_lake

NOW = datetime(2026, 4, 1, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    return keeptrusts_home


def bundle(home: Path, export_id: str, when: datetime = NOW):
    window = build_window("2026-03-01", "2026-03-02", None, NOW)
    request = ExportRequest(window=window, format="compliance-all")
    return run_export(
        request,
        LakeLayout(home / "lake"),
        home / "exports",
        export_id=export_id,
        now=lambda: when,
    )


def write_key(path: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def kt_verify(*arguments: str):
    return runner.invoke(app, ["verify", *arguments])


def test_the_bundle_is_a_valid_bag_with_a_manifest(home: Path, tmp_path: Path) -> None:
    result = bundle(home, "exp_bag000001")
    assert Path(result.artifact).name == "kt_2026-03-01_to_2026-03-02_compliance-all.tar.gz"
    with tarfile.open(result.artifact) as archive:
        archive.extractall(tmp_path, filter="data")
    bag = tmp_path / "kt_2026-03-01_to_2026-03-02_compliance-all"
    bagit.Bag(str(bag)).validate(fast=False)
    manifest = json.loads((bag / "manifest.json").read_text())
    paths = {artifact["path"] for artifact in manifest["artifacts"]}
    assert paths == {
        "data/compliance-aesia.json",
        "data/compliance-aepd.json",
        "data/compliance-ens.json",
        "data/report.pdf",
        "data/events.jsonl",
        "data/escalations.jsonl",
        "data/config-history.jsonl",
    }
    events = next(a for a in manifest["artifacts"] if a["path"] == "data/events.jsonl")
    assert (
        events["records"]
        == result.records
        == len((bag / "data/events.jsonl").read_text().splitlines())
    )
    days = {(p["table"], p["day"]) for p in manifest["lineage"]["partitions"]}
    assert ("decision_events", "2026-03-01") in days and ("escalations", "2026-03-02") in days
    assert "exp_bag000001" not in (bag / "manifest.json").read_text()


def test_same_request_twice_gives_the_same_archive_and_two_statements(home: Path) -> None:
    # Built on different days of the wall clock too: nothing may take the time of day.
    with time_machine.travel(datetime(2026, 4, 1, 9, tzinfo=UTC)):
        first = bundle(home, "exp_twice00001")
    with time_machine.travel(datetime(2026, 4, 2, 17, 30, 5, tzinfo=UTC)):
        second = bundle(home, "exp_twice00002", when=datetime(2026, 4, 2, tzinfo=UTC))
    assert first.sha256 == second.sha256
    statements = [json.loads(Path(r.provenance).read_text()) for r in (first, second)]
    assert statements[0] != statements[1]
    assert statements[0]["predicate"]["export_id"] == "exp_twice00001"
    assert {s["subject"][0]["digest"]["sha256"] for s in statements} == {first.sha256}
    assert statements[0]["_type"] == "https://in-toto.io/Statement/v1"


def test_kt_verify_passes_an_untouched_bundle(home: Path) -> None:
    result = bundle(home, "exp_verify0001")
    answer = kt_verify(result.artifact)
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("✓ OK kt_2026-03-01_to_2026-03-02_compliance-all.tar.gz")
    assert "lake: " in answer.output and "partition data versions compared" in answer.output


def repack(archive: Path, change) -> None:
    """Rewrite `archive` with `change(members: dict[name, bytes])` applied."""
    with tarfile.open(archive) as source:
        members = {
            m.name: source.extractfile(m).read() if m.isfile() else None
            for m in source.getmembers()
        }
    change(members)
    with tarfile.open(archive, "w:gz") as target:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                target.addfile(info)
            else:
                info.size = len(content)
                target.addfile(info, io.BytesIO(content))


TOP = "kt_2026-03-01_to_2026-03-02_compliance-all"


def flip_byte(members: dict) -> None:
    content = bytearray(members[f"{TOP}/data/escalations.jsonl"])
    content[10] ^= 0x01
    members[f"{TOP}/data/escalations.jsonl"] = bytes(content)


def remove_file(members: dict) -> None:
    del members[f"{TOP}/data/compliance-ens.json"]


def add_file(members: dict) -> None:
    members[f"{TOP}/data/extra.csv"] = b"id\n1\n"


def edit_manifest(members: dict) -> None:
    manifest = json.loads(members[f"{TOP}/manifest.json"])
    manifest["window"]["to"] = "2026-03-09T00:00:00Z"
    members[f"{TOP}/manifest.json"] = json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (flip_byte, "data/escalations.jsonl"),
        (remove_file, "data/compliance-ens.json"),
        (add_file, "data/extra.csv"),
        (edit_manifest, "manifest.json"),
    ],
)
def test_kt_verify_names_what_was_changed(home: Path, change, named: str) -> None:
    result = bundle(home, "exp_tamper0001")
    repack(Path(result.artifact), change)
    answer = kt_verify(result.artifact)
    assert answer.exit_code == 1
    assert any(line.startswith(f"✗ {named}") for line in answer.output.splitlines()), answer.output


@pytest.mark.parametrize(
    "member",
    [
        ("../escaped.txt", None),
        ("bag/link", "/etc/passwd"),
    ],
)
def test_a_crafted_archive_is_refused_and_writes_nothing_outside(
    tmp_path: Path, keeptrusts_home: Path, member: tuple
) -> None:
    name, link = member
    crafted = tmp_path / "work" / "crafted.tar.gz"
    crafted.parent.mkdir()
    with tarfile.open(crafted, "w:gz") as archive:
        info = tarfile.TarInfo(name)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            archive.addfile(info)
        else:
            info.size = 5
            archive.addfile(info, io.BytesIO(b"owned"))
    answer = kt_verify(str(crafted))
    assert answer.exit_code == 1
    assert "refused" in answer.output
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "work/escaped.txt").exists()


def test_a_signed_statement_fails_under_another_key_and_after_an_edit(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write_key(tmp_path / "signing.pem")
    other = write_key(tmp_path / "other.pem")
    monkeypatch.setenv("KEEPTRUSTS_SIGNING_KEY", str(key))
    result = bundle(home, "exp_signed0001")
    envelope = json.loads(Path(result.provenance).read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json" and envelope["signatures"]

    assert kt_verify(result.artifact, "--public-key", str(key)).exit_code == 0
    wrong = kt_verify(result.artifact, "--public-key", str(other))
    assert wrong.exit_code == 1 and "signature does not verify" in wrong.output

    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["run_id"] = "forged"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    Path(result.provenance).write_text(json.dumps(envelope))
    edited = kt_verify(result.artifact, "--public-key", str(key))
    assert edited.exit_code == 1 and "signature does not verify" in edited.output


def test_kt_verify_notices_a_lake_partition_that_changed(home: Path) -> None:
    result = bundle(home, "exp_lake000001")
    partition = home / "lake" / "escalations" / "date=2026-03-01" / "part-0.parquet"
    partition.write_bytes(partition.read_bytes() + b"\0")
    answer = kt_verify(result.artifact)
    assert answer.exit_code == 1
    assert "lake escalations 2026-03-01: data version changed" in answer.output


def test_kt_verify_checks_a_single_artifact_against_its_record(home: Path) -> None:
    window = build_window("2026-03-01", "2026-03-02", None, NOW)
    result = run_export(
        ExportRequest(window=window, format="csv"), LakeLayout(home / "lake"), home / "exports"
    )
    assert kt_verify(result.artifact).exit_code == 0
    with open(result.artifact, "ab") as handle:
        handle.write(b"x")
    answer = kt_verify(result.artifact)
    assert answer.exit_code == 1 and "sha256 differs" in answer.output
