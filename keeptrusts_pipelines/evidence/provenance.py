"""Provenance statements: who made an artifact, when, from what, beside the artifact itself.

An in-toto Statement (v1) whose subject is the archive's name and sha256; signed as a DSSE
envelope with Ed25519 when `KEEPTRUSTS_SIGNING_KEY` names a private key (PEM). The archive
stays reproducible; everything run-specific lives here.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keeptrusts_pipelines.errors import ConfigurationError

if TYPE_CHECKING:
    # securesystemslib (and the cloud clients its signers bring) loads only to sign or to
    # check a signature: an unsigned statement needs none of it.
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://keeptrusts.dev/evidence-provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SUFFIX = ".provenance.json"
PAYLOAD_NOT_A_STATEMENT = "the envelope's payload is not an in-toto Statement: "
# A statement is a few KiB and a PEM key under one: anything far larger is neither.
STATEMENT_MAX_BYTES = 1 << 20
KEY_MAX_BYTES = 64 << 10
JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def statement(name: str, sha256: str, predicate: dict) -> dict:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def _private_key(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"KEEPTRUSTS_SIGNING_KEY={path}: not a readable unencrypted PEM private key ({error})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"KEEPTRUSTS_SIGNING_KEY={path}: use an Ed25519 key")
    return key


def read_bounded(path: Path, limit: int, too_large: str) -> bytes:
    """The bytes of the regular file `path`; ValueError (one line) when it cannot be read, is
    not a regular file (a FIFO is never waited on) or holds more than `limit` bytes."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise ValueError(f"cannot be read ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ValueError("not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(too_large)
    return data


def public_key(path: Path) -> SSlibKey:
    """An Ed25519 public key from a PEM file (public, or unencrypted private to take its public
    half); ConfigurationError naming the file and what is wrong otherwise."""
    try:
        data = read_bounded(path, KEY_MAX_BYTES, "larger than 64 KiB: not a PEM key")
    except ValueError as error:
        raise ConfigurationError(f"{path}: {error}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except TypeError:
            raise ConfigurationError(
                f"{path}: an encrypted private key; give the public key (PEM) instead"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigurationError(
                f"{path}: not a PEM Ed25519 key (public, or unencrypted private)"
            ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path}: not an Ed25519 key")
    from securesystemslib.signer import SSlibKey

    return SSlibKey.from_crypto(key)


def write_provenance(artifact: Path, document: dict, key_path: Path | None = None) -> Path:
    """`<artifact>.provenance.json`: the statement, as a DSSE envelope signed with the Ed25519
    key at `key_path` when one is given."""
    target = artifact.with_name(artifact.name + SUFFIX)
    if key_path:
        from securesystemslib.dsse import Envelope
        from securesystemslib.signer import CryptoSigner, SSlibKey

        private = _private_key(key_path)
        signer = CryptoSigner(private, SSlibKey.from_crypto(private.public_key()))
        envelope = Envelope(
            payload=json.dumps(document, sort_keys=True, separators=(",", ":")).encode(),
            payload_type=PAYLOAD_TYPE,
            signatures={},
        )
        envelope.sign(signer)
        body = envelope.to_dict()
    else:
        body = document
    target.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def read_provenance(path: Path, key: SSlibKey | None) -> tuple[dict, str]:
    """(statement, how it was checked).

    The statement is an in-toto Statement v1 naming one subject (name and sha256), bare or as
    the payload of a DSSE envelope, in a file of at most 1 MiB. Raises ValueError, one line,
    when it is not; and, when `key` is given, when it is unsigned or no signature verifies
    with `key`.
    """
    body = _json_object(read_bounded(path, STATEMENT_MAX_BYTES, "larger than 1 MiB"), "")
    if not {"payload", "payloadType", "signatures"} & body.keys():
        if key is not None:
            raise ValueError("statement is unsigned but --public-key requires a signature")
        return _statement(body), "unsigned: signature not checked"
    envelope = _envelope(body)
    if key is not None:
        _check_signature(envelope, key)
    if envelope.payload_type != PAYLOAD_TYPE:
        raise ValueError(
            f"the envelope's payloadType is {_shown(envelope.payload_type)}, not {PAYLOAD_TYPE}: "
            "not an in-toto Statement"
        )
    document = _statement(_json_object(envelope.payload, PAYLOAD_NOT_A_STATEMENT))
    if key is None:
        return document, "signed; signature not checked (give --public-key)"
    return document, f"signature verified (key {key.keyid[:16]})"


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_object(data: bytes, what: str) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        # RecursionError: a deeply nested document; ValueError covers bad UTF-8 and bad JSON.
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ValueError(f"{what}not JSON ({reason})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what}not a JSON object but {JSON_KINDS.get(type(value), 'a value')}")
    return value


def _envelope(body: dict) -> Envelope:
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import Error as SecuritySystemsError

    signatures = body.get("signatures")
    if not (
        isinstance(body.get("payload"), str)
        and isinstance(body.get("payloadType"), str)
        and isinstance(signatures, list)
        and all(
            isinstance(signature, dict)
            and isinstance(signature.get("keyid"), str)
            and isinstance(signature.get("sig"), str)
            for signature in signatures
        )
    ):
        raise ValueError(
            "not a DSSE envelope (payload, payloadType, signatures each with keyid and sig)"
        )
    try:
        # from_dict rewrites each signature's dict: give it copies.
        copies = [dict(signature) for signature in signatures]
        return Envelope.from_dict({**body, "signatures": copies})
    except (ValueError, KeyError, TypeError, SecuritySystemsError) as error:
        raise ValueError(f"not a DSSE envelope ({error})") from None


def _check_signature(envelope: Envelope, key: SSlibKey) -> None:
    from securesystemslib.exceptions import Error as SecuritySystemsError
    from securesystemslib.exceptions import VerificationError

    if not envelope.signatures:
        raise ValueError("the envelope carries no signature but --public-key requires one")
    try:
        envelope.verify([key], 1)
    except (VerificationError, SecuritySystemsError, ValueError, TypeError):
        signers = ", ".join(keyid[:16] for keyid in list(envelope.signatures)[:3])
        raise ValueError(
            f"signature does not verify with the given key (key {key.keyid[:16]}; "
            f"signed by {_shown(signers)})"
        ) from None


def _statement(document: dict) -> dict:
    if document.get("_type") != STATEMENT_TYPE:
        raise ValueError(f"not an in-toto Statement (its _type is not {STATEMENT_TYPE})")
    subjects = document.get("subject")
    count = len(subjects) if isinstance(subjects, list) else 0
    if count != 1:
        raise ValueError(
            f"the statement names {count} subjects; an evidence statement names one, the archive"
        )
    subject = subjects[0]
    if not (
        isinstance(subject, dict)
        and isinstance(subject.get("name"), str)
        and isinstance(subject.get("digest"), dict)
        and isinstance(subject["digest"].get("sha256"), str)
    ):
        raise ValueError("the statement's subject has no name and sha256 digest")
    if not isinstance(document.get("predicate", {}), dict):
        raise ValueError("the statement's predicate is not a JSON object")
    return document
