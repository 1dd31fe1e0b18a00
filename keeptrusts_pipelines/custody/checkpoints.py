"""Anchors of the custody ledger: checkpoints of its head, and the check of the ledger against them.

A hash chain cannot see its own tail: delete the newest entries, every row, the table or the
database, and what is left still links up. Anchors record heads the ledger once had, outside
it: checkpoint files (`custody/checkpoints/checkpoint-<sequence>.json` under KEEPTRUSTS_HOME,
signed with KEEPTRUSTS_SIGNING_KEY when set, written at each delivery and daily, and delivered
beside the evidence) and the `custody_ledger_head` of every provenance statement under
`exports/` and `evidence/`. The ledger must still hold each recorded entry, with its hash.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import Error as SecureSystemsLibError
from securesystemslib.signer import CryptoSigner, SSlibKey

from keeptrusts_pipelines.custody.ledger import GENESIS, CustodyLedger, LedgerError
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.evidence.provenance import PAYLOAD_TYPE as PROVENANCE_PAYLOAD_TYPE
from keeptrusts_pipelines.evidence.provenance import SUFFIX
from keeptrusts_pipelines.evidence.provenance import _private_key as private_signing_key
from keeptrusts_pipelines.exports.folder import BrokenRecord, read_json_file
from keeptrusts_pipelines.lake.files import created_once

CHECKPOINT_TYPE = "https://keeptrusts.dev/custody-checkpoint/v1"
CHECKPOINT_PAYLOAD_TYPE = "application/vnd.keeptrusts.custody-checkpoint+json"
# Anchors are a few hundred bytes; a bound keeps a planted giant file from stalling verify.
MAX_ANCHOR_BYTES = 1 << 20
CHECKPOINT_NAME = re.compile(r"checkpoint-(\d{8,})\.json")
HASH = re.compile(r"[0-9a-f]{64}")


class CheckpointError(KeeptrustsError):
    """A checkpoint that cannot be written as asked; says which file and what to do."""


@dataclass(frozen=True)
class Checkpoint:
    """The ledger's head at a moment, and the file that records it."""

    sequence: int
    entry_hash: str
    recorded_at: str
    ledger: str  # the ledger's URL, password hidden
    path: Path

    def document(self) -> dict[str, object]:
        return {
            "_type": CHECKPOINT_TYPE,
            "sequence": self.sequence,
            "entry_hash": self.entry_hash,
            "recorded_at": self.recorded_at,
            "ledger": self.ledger,
        }


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the ledger: by a checkpoint or a provenance statement."""

    kind: str  # "checkpoint" or "provenance"
    path: Path
    sequence: int
    entry_hash: str
    ledger: str | None = None  # checkpoints say which ledger they are of

    def records(self) -> str:
        return (
            f"{self.kind} {self.path} records sequence {self.sequence} "
            f"(hash {self.entry_hash[:12]}…)"
        )


@dataclass
class AnchorCheck:
    """What the anchors say about a ledger: problems fail it, notes do not."""

    anchors: list[Anchor] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def newest(self) -> Anchor | None:
        return max(self.anchors, key=lambda anchor: anchor.sequence, default=None)

    def as_dict(self) -> dict[str, object]:
        newest = self.newest
        return {
            "anchors_checked": len(self.anchors),
            "newest_anchor": {**asdict(newest), "path": str(newest.path)} if newest else None,
            "findings": self.findings,
            "notes": self.notes,
        }


def checkpoints_root(home: Path) -> Path:
    """Where checkpoints are kept: `custody/checkpoints/` under KEEPTRUSTS_HOME."""
    return home / "custody" / "checkpoints"


def checkpoint_path(sequence: int, home: Path) -> Path:
    return checkpoints_root(home) / f"checkpoint-{sequence:08d}.json"


def write_checkpoint(
    ledger: CustodyLedger,
    home: Path,
    signing_key: Path | None = None,
    now: datetime | None = None,
) -> Checkpoint | None:
    """Record the ledger's head in a checkpoint file under `home`; None when the ledger is empty.

    Signed (DSSE, Ed25519) with the key at `signing_key` (KEEPTRUSTS_SIGNING_KEY) when given.
    A checkpoint of the same head is
    kept as it is (its bytes, already delivered, stay the same); one recording another hash at
    that sequence is never replaced: that is a CheckpointError.
    """
    sequence, entry_hash = ledger.head()
    if sequence == 0:
        return None
    path = checkpoint_path(sequence, home)
    if path.exists():
        try:
            existing, document, _ = _read_checkpoint(path, None)
        except ValueError as error:
            raise CheckpointError(
                f"{path} exists but cannot be read as a checkpoint ({error}); it is kept for "
                "inspection: run kt custody verify"
            ) from None
        if (existing.sequence, existing.entry_hash) == (sequence, entry_hash):
            recorded_at = str(document.get("recorded_at", ""))
            return Checkpoint(sequence, entry_hash, recorded_at, ledger.url, path)
        raise CheckpointError(
            f"{path} records sequence {existing.sequence} with hash {existing.entry_hash[:12]}…, "
            f"but the ledger's entry {sequence} has hash {entry_hash[:12]}…: the ledger was "
            "rewritten after it was anchored, or the file is another ledger's; it is kept, "
            "run kt custody verify"
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    checkpoint = Checkpoint(
        sequence=sequence,
        entry_hash=entry_hash,
        recorded_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        ledger=ledger.url,
        path=path,
    )
    payload = json.dumps(checkpoint.document(), sort_keys=True, separators=(",", ":")).encode()
    body = _signed(payload, signing_key) if signing_key else checkpoint.document()
    try:
        with created_once(path) as temporary:
            temporary.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    except FileExistsError:
        # Another process recorded this sequence meanwhile: its file stands, judged as above.
        return write_checkpoint(ledger, home, signing_key, now)
    return checkpoint


def _signed(payload: bytes, key_path: Path) -> dict:
    """A DSSE envelope of a checkpoint signed with the Ed25519 key at `key_path`."""
    private = private_signing_key(key_path)  # the key provenance statements are signed with
    envelope = Envelope(payload=payload, payload_type=CHECKPOINT_PAYLOAD_TYPE, signatures={})
    envelope.sign(CryptoSigner(private, SSlibKey.from_crypto(private.public_key())))
    return envelope.to_dict()


def _opened(body: dict, key: SSlibKey | None) -> tuple[bytes, str, bool]:
    """(payload, payload type, signature verified) of a DSSE envelope; else ValueError.

    With `key`, a signature must verify with it.
    """
    signatures = body.get("signatures")
    if not (
        isinstance(body.get("payload"), str)
        and isinstance(body.get("payloadType"), str)
        and isinstance(signatures, list)
        and all(isinstance(signature, dict) for signature in signatures)
    ):
        raise ValueError("not a DSSE envelope (payload, payloadType, signatures)")
    try:
        # from_dict rewrites the signature dicts it is given: give it copies.
        copies = [dict(signature) for signature in signatures]
        envelope = Envelope.from_dict({**body, "signatures": copies})
    except (KeyError, TypeError, ValueError, SecureSystemsLibError) as error:
        raise ValueError(f"not a DSSE envelope ({type(error).__name__})") from None
    if key is None:
        return envelope.payload, envelope.payload_type, False
    try:
        envelope.verify([key], 1)
    except (SecureSystemsLibError, TypeError, ValueError):
        raise ValueError(
            f"signature does not verify with the given key (key {key.keyid[:16]})"
        ) from None
    return envelope.payload, envelope.payload_type, True


def _document(body: dict, key: SSlibKey | None, expected: str) -> tuple[dict, str]:
    """(the JSON document, "unsigned" | "signed" | "verified") of a plain or enveloped anchor."""
    if "payloadType" not in body:
        return body, "unsigned"
    payload, payload_type, verified = _opened(body, key)
    if payload_type != expected:
        raise ValueError(f"the envelope's payload type is {payload_type[:80]!r}, not {expected}")
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"the signed payload is not JSON ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise ValueError("the signed payload is not a JSON object")
    return document, "verified" if verified else "signed"


def _head(sequence: object, entry_hash: object) -> tuple[int, str]:
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError(f"sequence {sequence!r} is not a whole number")
    if not isinstance(entry_hash, str) or not HASH.fullmatch(entry_hash):
        raise ValueError(f"hash {str(entry_hash)[:80]!r} is not 64 hex digits")
    if sequence == 0 and entry_hash != GENESIS:
        raise ValueError("sequence 0 can only be the empty ledger's hash")
    return sequence, entry_hash


def _read_checkpoint(path: Path, key: SSlibKey | None) -> tuple[Anchor, dict, str]:
    """(the head a checkpoint file records, its document, how it is signed); else ValueError."""
    try:
        body = read_json_file(path, MAX_ANCHOR_BYTES)
    except BrokenRecord as error:
        raise ValueError(str(error).removeprefix(f"{path.name}: ")) from None
    if body is None:
        raise ValueError("it is gone")
    document, signature = _document(body, key, CHECKPOINT_PAYLOAD_TYPE)
    if document.get("_type") != CHECKPOINT_TYPE:
        raise ValueError(f"_type is not {CHECKPOINT_TYPE}")
    sequence, entry_hash = _head(document.get("sequence"), document.get("entry_hash"))
    ledger = document.get("ledger")
    anchor = Anchor(
        "checkpoint", path, sequence, entry_hash, ledger if isinstance(ledger, str) else None
    )
    return anchor, document, signature


def _checkpoints(home: Path, key: SSlibKey | None, check: AnchorCheck) -> None:
    root = checkpoints_root(home)
    if not root.is_dir():
        return
    unchecked = 0
    for path in sorted(root.glob("checkpoint-*.json")):
        try:
            anchor, _, signature = _read_checkpoint(path, None)
        except ValueError as error:
            check.findings.append(f"checkpoint {path} cannot be read as a checkpoint: {error}")
            continue
        signed = signature != "unsigned"
        if key is not None and not signed:
            check.findings.append(
                f"checkpoint {path} is not signed; with --public-key every checkpoint must be"
            )
            continue
        if key is not None:
            try:
                anchor, _, _ = _read_checkpoint(path, key)
            except ValueError as error:
                check.findings.append(f"checkpoint {path}: {error}")
                continue
        named = CHECKPOINT_NAME.fullmatch(path.name)
        if named is None or int(named.group(1)) != anchor.sequence:
            check.findings.append(
                f"checkpoint {path} records sequence {anchor.sequence} but is named for another"
            )
            continue
        unchecked += signed and key is None
        check.anchors.append(anchor)
    if unchecked:
        check.notes.append(
            f"{unchecked} signed checkpoint(s): signatures not checked (give --public-key)"
        )


def _provenance_anchors(home: Path, check: AnchorCheck) -> None:
    # The folders of KEEPTRUSTS_HOME that hold exports and evidence bundles.
    for root in (home / "exports", home / "evidence"):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(f"*{SUFFIX}")):
            try:
                body = read_json_file(path, MAX_ANCHOR_BYTES) or {}
                # Signatures of statements are `kt verify`'s to check; here they only anchor.
                document, _ = _document(body, None, PROVENANCE_PAYLOAD_TYPE)
                predicate = document.get("predicate")
                head = predicate.get("custody_ledger_head") if isinstance(predicate, dict) else None
                if head is None:
                    continue  # a statement made without a ledger head anchors nothing
                if not isinstance(head, dict):
                    raise ValueError("custody_ledger_head is not an object")
                sequence, entry_hash = _head(head.get("sequence"), head.get("hash"))
            except (BrokenRecord, ValueError) as error:
                reason = str(error).removeprefix(f"{path.name}: ")
                check.notes.append(f"provenance {path} cannot be read: {reason}; skipped")
                continue
            check.anchors.append(Anchor("provenance", path, sequence, entry_hash))


def find_anchors(home: Path, key: SSlibKey | None = None) -> AnchorCheck:
    """Every checkpoint and every provenance statement with a ledger head, under `home`.

    A checkpoint that cannot be read (or, with `key`, is unsigned or signed otherwise) is a
    finding: garbage planted among them must not pass. A provenance statement that cannot be
    read is a note: `kt verify` is where statements are judged.
    """
    check = AnchorCheck()
    _checkpoints(home, key, check)
    _provenance_anchors(home, check)
    return check


def check_anchors(ledger: CustodyLedger | None, check: AnchorCheck) -> AnchorCheck:
    """Add a finding for each anchor whose entry the ledger lacks or holds with another hash.

    `ledger` None (or one that cannot be read) means there is no ledger to hold anything: the
    newest anchor is named, since it alone says how much was lost.
    """
    anchors = sorted(check.anchors, key=lambda a: (-a.sequence, a.kind, str(a.path)))
    if not anchors:
        return check
    try:
        if ledger is None:
            raise LedgerError("no ledger")
        end, _ = ledger.head()
        hashes = ledger.hashes_at(anchor.sequence for anchor in anchors)
    except LedgerError:
        check.findings.append(f"{anchors[0].records()}, the ledger cannot be read")
        return check
    hashes[0] = GENESIS
    for anchor in anchors:
        held = hashes.get(anchor.sequence)
        if held is None:
            where = f"ends at {end}" if end else "is empty"
            check.findings.append(f"{anchor.records()}, the ledger {where}")
        elif held != anchor.entry_hash:
            other = ""
            if anchor.ledger and anchor.ledger != ledger.url:
                other = f" (the checkpoint is of ledger {anchor.ledger})"
            check.findings.append(
                f"{anchor.records()}, the ledger has hash {held[:12]}… there{other}"
            )
    return check
