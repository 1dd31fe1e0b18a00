"""`kt verify` under attack: every tampered, crafted or malformed input fails safe, with one
line naming what is wrong and no traceback; an intact bundle stays OK wherever it is named."""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from keeptrusts_pipelines.defs.assets.evidence import delivered_name
from keeptrusts_pipelines.evidence.provenance import SUFFIX, statement, write_provenance
from keeptrusts_pipelines.evidence.verify import UnpackLimits, verify
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.test_evidence_bundle import TOP, bundle, kt_verify, write_key

NAME = f"{TOP}.tar.gz"
EVENTS = f"{TOP}/data/events.jsonl"
Members = list[tuple[str, bytes | None]]


# --- building the variants ---------------------------------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One intact bundle (and its unsigned statement) for the whole module: built once."""
    home = tmp_path_factory.mktemp("original") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEEPTRUSTS_HOME", str(home))
        patch.delenv("KEEPTRUSTS_SIGNING_KEY", raising=False)
        demo_lake(home / "lake", date(2026, 3, 1), 2)
        return Path(bundle(home, "exp_attack0001").artifact)


@pytest.fixture
def archive(
    original: Path, keeptrusts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh copy of the intact bundle and its statement, as a receiver holds them."""
    monkeypatch.delenv("KEEPTRUSTS_SIGNING_KEY", raising=False)
    monkeypatch.delenv("KEEPTRUSTS_VERIFY_MAX_BYTES", raising=False)
    folder = tmp_path / "received"
    folder.mkdir()
    shutil.copy(original, folder / NAME)
    shutil.copy(statement_path(original), statement_path(folder / NAME))
    return folder / NAME


def statement_path(archive: Path) -> Path:
    return archive.with_name(archive.name + SUFFIX)


def members_of(archive: Path) -> Members:
    """Every member of `archive`, in order: (name, content), content None for a folder."""
    with tarfile.open(archive) as source:
        return [
            (m.name, source.extractfile(m).read() if m.isfile() else None)
            for m in source.getmembers()
        ]


def write_members(archive: Path, members: Members) -> None:
    """`archive` rewritten with exactly `members`, repeats and order kept."""
    with tarfile.open(archive, "w:gz") as target:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                target.addfile(info)
            else:
                info.size = len(content)
                target.addfile(info, io.BytesIO(content))


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def reseal(members: dict[str, bytes | None], manifest: object = None) -> None:
    """Make the bag self-consistent again after an edit, as a forger would: manifest.json
    entries (or `manifest` as given), manifest-sha256.txt, Payload-Oxum, tagmanifest."""
    data = {
        name.removeprefix(f"{TOP}/"): content
        for name, content in sorted(members.items())
        if name.startswith(f"{TOP}/data/") and content is not None
    }
    if manifest is None:
        manifest = json.loads(members[f"{TOP}/manifest.json"])
        for artifact in manifest["artifacts"]:
            if artifact["path"] in data:
                artifact["bytes"] = len(data[artifact["path"]])
                artifact["sha256"] = sha256(data[artifact["path"]])
    members[f"{TOP}/manifest.json"] = json.dumps(manifest, indent=2).encode()
    members[f"{TOP}/manifest-sha256.txt"] = "".join(
        f"{sha256(content)}  {name}\n" for name, content in data.items()
    ).encode()
    oxum = f"Payload-Oxum: {sum(len(c) for c in data.values())}.{len(data)}"
    info = members[f"{TOP}/bag-info.txt"].decode()
    members[f"{TOP}/bag-info.txt"] = re.sub(r"Payload-Oxum: \S+", oxum, info).encode()
    tags = ["bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest.json"]
    members[f"{TOP}/tagmanifest-sha256.txt"] = "".join(
        f"{sha256(members[f'{TOP}/{name}'])}  {name}\n" for name in tags
    ).encode()


def forge(archive: Path, change, restated: bool = True) -> str:
    """Apply `change(members)` to the bag, reseal it, repack, and (unless told otherwise)
    replace the statement by an unsigned one carrying the new digest; the new sha256."""
    members = dict(members_of(archive))
    change(members)
    if f"{TOP}/manifest.json" in members:
        reseal(members)
    write_members(archive, list(members.items()))
    if restated:
        restate(archive)
    return sha256(archive.read_bytes())


def restate(archive: Path) -> None:
    """An unsigned statement carrying the archive's current digest, as a forger writes it."""
    write_provenance(archive, unsigned_document(archive, sha256(archive.read_bytes())))


def forged_events(members: dict) -> None:
    members[EVENTS] = members[EVENTS].replace(b'"action":"allow"', b'"action":"block"', 1)


def unsigned_document(archive: Path, digest: str) -> dict:
    """A statement for `archive` whose subject carries `digest`, the predicate kept."""
    document = json.loads(statement_path(archive).read_text())
    return statement(archive.name, digest, document["predicate"])


def write_statement(
    archive: Path, document: object, key: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`<archive>.provenance.json` holding `document`, signed with `key` when given."""
    write_provenance(archive, document, key)


def one_line_failure(answer, code: int = 1) -> str:
    """The single `✗` line of a failed run that exited cleanly."""
    assert isinstance(answer.exception, SystemExit), repr(answer.exception)
    assert answer.exit_code == code, answer.output
    assert "Traceback" not in answer.output
    lines = [line for line in answer.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("✗ "), answer.output
    return lines[0]


def ok(answer) -> str:
    assert answer.exception is None, repr(answer.exception)
    assert answer.exit_code == 0, answer.output
    assert answer.output.startswith("✓ OK "), answer.output
    return answer.output


class Blocked(Exception):
    """Not an OSError, so that no `except OSError` in the code under test swallows it."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging forever (a FIFO opened for reading blocks until a writer)."""

    def expired(signum, frame):
        raise Blocked(f"still blocked after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def scratch_bytes(scratch: Path) -> int:
    return sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())


# --- 1. signature downgrade --------------------------------------------------------------


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return write_key(tmp_path / "signing.pem"), write_key(tmp_path / "other.pem")


def test_the_forged_bag_is_self_consistent(archive: Path) -> None:
    """The forgery the downgrade tests rely on: fixity and manifest pass, only the digest in
    the statement gives it away."""
    forge(archive, forged_events, restated=False)
    result = verify(archive)
    assert [f.problem for f in result.findings] == ["subject digest differs"], result.findings


def test_missing_statement_fails_when_a_signature_is_required(
    archive: Path, keys: tuple[Path, Path]
) -> None:
    forge(archive, forged_events)
    statement_path(archive).unlink()
    line = one_line_failure(kt_verify(str(archive), "--public-key", str(keys[0])))
    assert "no provenance statement beside it: a signature was required by --public-key" in line


def test_unsigned_statement_with_the_forged_digest_fails_when_a_signature_is_required(
    archive: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = forge(archive, forged_events)
    write_statement(archive, unsigned_document(archive, digest), None, monkeypatch)
    line = one_line_failure(kt_verify(str(archive), "--public-key", str(keys[0])))
    assert line.startswith(f"✗ {NAME}{SUFFIX}: ")
    assert "statement is unsigned but --public-key requires a signature" in line


def test_statement_signed_with_another_key_fails(
    archive: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = forge(archive, forged_events)
    write_statement(archive, unsigned_document(archive, digest), keys[1], monkeypatch)
    line = one_line_failure(kt_verify(str(archive), "--public-key", str(keys[0])))
    assert "signature does not verify with the given key" in line


def test_a_signed_intact_bundle_passes_with_its_key(
    archive: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = sha256(archive.read_bytes())
    write_statement(archive, unsigned_document(archive, digest), keys[0], monkeypatch)
    assert "signature verified" in ok(kt_verify(str(archive), "--public-key", str(keys[0])))
    assert "signature not checked" in ok(kt_verify(str(archive)))


def test_without_a_key_a_missing_statement_is_a_note(archive: Path) -> None:
    statement_path(archive).unlink()
    assert "note: no provenance statement beside it" in ok(kt_verify(str(archive)))


def test_without_a_key_an_unsigned_statement_says_signature_not_checked(archive: Path) -> None:
    output = ok(kt_verify(str(archive)))
    assert "unsigned" in output and "signature not checked" in output


def two_subjects(archive: Path) -> object:
    document = unsigned_document(archive, sha256(archive.read_bytes()))
    document["subject"].append({"name": "other.tar.gz", "digest": {"sha256": "0" * 64}})
    return document


def other_type(archive: Path) -> object:
    document = unsigned_document(archive, sha256(archive.read_bytes()))
    document["_type"] = "https://example.com/NotAStatement"
    return document


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (lambda archive: [1, 2, 3], "not an in-toto Statement"),
        (lambda archive: {"hello": "world"}, "not an in-toto Statement"),
        (other_type, "not an in-toto Statement"),
        (two_subjects, "2 subjects"),
    ],
)
def test_a_signed_envelope_must_carry_one_in_toto_statement(
    archive: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, payload, problem: str
) -> None:
    write_statement(archive, payload(archive), keys[0], monkeypatch)
    for arguments in ([], ["--public-key", str(keys[0])]):
        line = one_line_failure(kt_verify(str(archive), *arguments))
        assert line.startswith(f"✗ {NAME}{SUFFIX}: ") and problem in line


# --- 2. archive and manifest structure ---------------------------------------------------


@pytest.mark.parametrize("spelling", [EVENTS, EVENTS.replace("/data/", "/data/./")])
def test_a_member_name_repeated_is_refused(archive: Path, spelling: str) -> None:
    members = members_of(archive)
    where = [name for name, _ in members].index(EVENTS)
    tampered = dict(members)[EVENTS].replace(b'"action":"allow"', b'"action":"block"', 1)
    members.insert(where, (spelling, tampered))  # the tampered copy first, the original last
    write_members(archive, members)
    line = one_line_failure(kt_verify(str(archive)))
    assert "refused" in line and "data/events.jsonl" in line and "more than once" in line


@pytest.mark.parametrize("extra", ["notes.txt", "fetch.txt", "extra/inside.txt"])
def test_a_file_at_the_bag_root_outside_the_bagit_files_is_a_finding(
    archive: Path, extra: str
) -> None:
    forge(archive, lambda members: members.update({f"{TOP}/{extra}": b"anything\n"}))
    line = one_line_failure(kt_verify(str(archive)))
    assert line.startswith(f"✗ {extra}: ")


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("a file of the verifying host\n")
    return secret


@pytest.mark.parametrize("shape", ["absolute", "parent", "through data"])
def test_a_manifest_path_leaving_the_bag_is_a_finding_and_never_read(
    archive: Path, host_file: Path, shape: str
) -> None:
    path = {
        "absolute": str(host_file),
        "parent": "../x",
        "through data": "data/" + "../" * 40 + str(host_file).lstrip("/"),
    }[shape]
    content = host_file.read_bytes()

    def point_outside(members: dict) -> None:
        manifest = json.loads(members[f"{TOP}/manifest.json"])
        manifest["artifacts"].append(
            {"path": path, "bytes": len(content), "sha256": sha256(content), "records": None}
        )
        members[f"{TOP}/manifest.json"] = json.dumps(manifest).encode()

    forge(archive, point_outside)
    line = one_line_failure(kt_verify(str(archive)))
    assert line.startswith("✗ manifest.json: ") and "not a relative path under data/" in line
    answer = json.loads(kt_verify(str(archive), "--json").stdout)
    assert "manifest.json: 7 artifacts (bytes, sha256, records)" in answer["checked"]


# --- 3. unpacked size ---------------------------------------------------------------------

MiB = 1 << 20


def zero_bomb(target: Path, member: str, size: int, kind: bytes = tarfile.REGTYPE) -> None:
    """A tar.gz of one member of `size` zero bytes (a whole number of MiB), written as
    repeated gzip members of 1 MiB of zeros: a few KiB per MiB, nothing large in memory."""
    info = tarfile.TarInfo(member)
    info.size = size
    info.type = kind
    zeros = gzip.compress(bytes(MiB), mtime=0)
    with target.open("wb") as handle:
        handle.write(gzip.compress(info.tobuf(tarfile.USTAR_FORMAT), mtime=0))
        for _ in range(size // MiB):
            handle.write(zeros)
        handle.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE), mtime=0))


def test_a_2_gib_member_is_refused_from_its_header_before_anything_is_written(
    tmp_path: Path, keeptrusts_home: Path
) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    zero_bomb(bomb, "bomb/data/zeros.bin", 2 << 30)
    assert bomb.stat().st_size < 8 * MiB
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = verify(bomb, scratch=scratch, limits=UnpackLimits(total_bytes=MiB))
    assert not result.ok and "refused" in result.findings[0].problem
    assert "KEEPTRUSTS_VERIFY_MAX_BYTES" in result.findings[0].problem
    assert scratch_bytes(scratch) == 0


def test_kt_verify_refuses_a_member_above_the_ceiling_in_one_line(
    tmp_path: Path, keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_VERIFY_MAX_BYTES", "1000000")
    bomb = tmp_path / "bomb.tar.gz"
    zero_bomb(bomb, "bomb/data/zeros.bin", 16 * MiB)
    line = one_line_failure(kt_verify(str(bomb)))
    assert "refused" in line and "KEEPTRUSTS_VERIFY_MAX_BYTES" in line and "1,000,000" in line


def test_a_pax_header_claiming_64_mib_is_refused_unread(
    tmp_path: Path, keeptrusts_home: Path
) -> None:
    # tarfile reads an extended header whole, whatever size it claims.
    bomb = tmp_path / "pax.tar.gz"
    zero_bomb(bomb, "././@PaxHeader", 64 * MiB, kind=tarfile.XHDTYPE)
    line = one_line_failure(kt_verify(str(bomb)))
    assert "refused: a header of more than" in line


def test_the_total_is_bounded_not_only_each_member(archive: Path, tmp_path: Path) -> None:
    largest = max(len(content or b"") for _, content in members_of(archive))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = verify(archive, scratch=scratch, limits=UnpackLimits(total_bytes=largest + 1000))
    assert len(result.findings) == 1 and "in all" in result.findings[0].problem
    assert scratch_bytes(scratch) == 0


def test_a_member_larger_than_manifest_json_declares_is_refused_before_writing(
    archive: Path, tmp_path: Path
) -> None:
    members = members_of(archive)
    members = [
        (name, content + b"\n" * 100_000 if name == EVENTS else content)
        for name, content in members
    ]
    write_members(archive, members)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = verify(archive, scratch=scratch)
    assert len(result.findings) == 1, result.findings
    problem = result.findings[0].problem
    assert "refused" in problem and "data/events.jsonl" in problem and "manifest.json" in problem
    assert scratch_bytes(scratch) == 0
    assert "refused" in one_line_failure(kt_verify(str(archive)))


def test_too_many_members_are_refused(tmp_path: Path, keeptrusts_home: Path) -> None:
    crowd = tmp_path / "crowd.tar.gz"
    write_members(crowd, [(f"crowd/data/{n}.txt", b"") for n in range(10_001)])
    line = one_line_failure(kt_verify(str(crowd)))
    assert "refused" in line and "10,000 members" in line


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1e9", ""])
def test_an_unusable_ceiling_is_a_usage_error_naming_the_variable(
    archive: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_VERIFY_MAX_BYTES", value)
    line = one_line_failure(kt_verify(str(archive)), code=2)
    assert "KEEPTRUSTS_VERIFY_MAX_BYTES" in line


# --- 4. one line, never a traceback -------------------------------------------------------


def dot_member(members: Members) -> Members:
    return [("./", None), *members]


def manifest_list(members: Members) -> Members:
    bag = dict(members)
    reseal(bag, manifest=[])
    return list(bag.items())


def entry_without_path(members: Members) -> Members:
    bag = dict(members)
    manifest = json.loads(bag[f"{TOP}/manifest.json"])
    manifest["artifacts"].append({"bytes": 3, "sha256": "0" * 64})
    reseal(bag, manifest=manifest)
    return list(bag.items())


def bytes_as_text(members: Members) -> Members:
    bag = dict(members)
    manifest = json.loads(bag[f"{TOP}/manifest.json"])
    for artifact in manifest["artifacts"]:
        if artifact["path"] == "data/events.jsonl":
            artifact["bytes"] = str(artifact["bytes"])
    reseal(bag, manifest=manifest)
    return list(bag.items())


def broken_lineage(members: Members) -> Members:
    bag = dict(members)
    manifest = json.loads(bag[f"{TOP}/manifest.json"])
    manifest["lineage"]["partitions"].append({"table": "../../etc", "day": "yesterday"})
    reseal(bag, manifest=manifest)
    return list(bag.items())


def markup_name(members: Members) -> Members:
    bag = dict(members)
    bag[f"{TOP}/data/[/bold]evil.txt"] = b"x"
    reseal(bag)
    return list(bag.items())


def escape_name(members: Members) -> Members:
    bag = dict(members)
    bag[f"{TOP}/data/\x1b[2Jcleared.txt"] = b"x"
    reseal(bag)
    return list(bag.items())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (dot_member, NAME),
        (manifest_list, "manifest.json"),
        (entry_without_path, "manifest.json"),
        (bytes_as_text, "manifest.json"),
        (broken_lineage, "manifest.json"),
        (markup_name, "data/[/bold]evil.txt"),
        (escape_name, "data/"),
    ],
)
def test_a_malformed_bundle_gives_one_line_and_no_traceback(
    archive: Path, change, named: str
) -> None:
    write_members(archive, change(members_of(archive)))
    restate(archive)
    line = one_line_failure(kt_verify(str(archive)))
    assert line.startswith(f"✗ {named}"), line
    assert "\x1b" not in line


def test_a_truncated_gzip_gives_one_line(archive: Path) -> None:
    content = archive.read_bytes()
    archive.write_bytes(content[: len(content) // 2])
    line = one_line_failure(kt_verify(str(archive)))
    assert line.startswith(f"✗ {NAME}: refused") and "Aborted" not in line


def provenance_list(path: Path) -> None:
    path.write_text("[1, 2]")


def provenance_not_json(path: Path) -> None:
    path.write_text("this is not JSON")


def provenance_huge(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: 100 MB that take no disk
        handle.truncate(100_000_000)


def provenance_nested(path: Path) -> None:
    path.write_text("[" * 200_000)


def provenance_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def provenance_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (provenance_list, "not a JSON object"),
        (provenance_not_json, "not JSON"),
        (provenance_huge, "1 MiB"),
        (provenance_nested, "nested too deeply"),
        (provenance_fifo, "not a regular file"),
        (provenance_folder, "not a regular file"),
    ],
)
def test_an_unreadable_statement_gives_one_line(archive: Path, change, problem: str) -> None:
    change(statement_path(archive))
    with deadline(10):
        line = one_line_failure(kt_verify(str(archive)))
    assert line.startswith(f"✗ {NAME}{SUFFIX}: ") and problem in line


def garbage_key(path: Path) -> Path:
    path.write_text("not a key\n")
    return path


def encrypted_key(path: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return path


def rsa_key(path: Path) -> Path:
    key = generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def key_folder(path: Path) -> Path:
    path.mkdir()
    return path


def key_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def key_missing(path: Path) -> Path:
    return path


def key_huge(path: Path) -> Path:
    with path.open("wb") as handle:
        handle.truncate(100_000_000)
    return path


@pytest.mark.parametrize(
    "make", [garbage_key, encrypted_key, rsa_key, key_folder, key_fifo, key_missing, key_huge]
)
def test_a_bad_public_key_is_a_usage_error_in_one_line(archive: Path, tmp_path: Path, make) -> None:
    key = make(tmp_path / "key.pem")
    with deadline(10):
        line = one_line_failure(kt_verify(str(archive), "--public-key", str(key)), code=2)
    assert line.startswith("✗ --public-key") and str(key) in line


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.mkdir(), "a folder"),
        (lambda path: os.mkfifo(path), "not a regular file"),
        (lambda path: None, "no such file"),
    ],
)
def test_a_path_that_is_not_a_file_gives_one_line(
    tmp_path: Path, keeptrusts_home: Path, make, problem: str
) -> None:
    path = tmp_path / "thing.tar.gz"
    make(path)
    with deadline(10):
        line = one_line_failure(kt_verify(str(path)))
    assert problem in line


def test_json_output_keeps_its_shape(archive: Path) -> None:
    forge(archive, lambda members: members.update({f"{TOP}/notes.txt": b"x"}))
    answer = kt_verify(str(archive), "--json")
    assert answer.exit_code == 1
    document = json.loads(answer.stdout)
    assert set(document) == {"path", "ok", "findings", "checked", "notes"}
    assert document["ok"] is False
    assert set(document["findings"][0]) == {"file", "problem", "expected", "found"}


# --- 5. a delivered bundle under its hash-suffixed name ------------------------------------


def deliver(archive: Path) -> Path:
    """The bundle and its statement as downloaded from the evidence bucket."""
    delivered = archive.with_name(delivered_name(archive, sha256(archive.read_bytes())))
    shutil.copy(archive, delivered)
    shutil.copy(statement_path(archive), statement_path(delivered))
    return delivered


def test_a_delivered_bundle_verifies_by_digest_under_its_new_name(archive: Path) -> None:
    delivered = deliver(archive)
    assert delivered.name != NAME
    output = ok(kt_verify(str(delivered)))
    assert f"named {NAME} in its statement" in output


def test_a_delivered_signed_bundle_verifies_with_its_key(
    archive: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = sha256(archive.read_bytes())
    write_statement(archive, unsigned_document(archive, digest), keys[0], monkeypatch)
    delivered = deliver(archive)
    assert "signature verified" in ok(kt_verify(str(delivered), "--public-key", str(keys[0])))


def test_a_renamed_bundle_with_other_content_still_fails_on_its_digest(archive: Path) -> None:
    delivered = deliver(archive)
    forge(delivered, forged_events, restated=False)
    line = one_line_failure(kt_verify(str(delivered)))
    assert "subject digest differs" in line
