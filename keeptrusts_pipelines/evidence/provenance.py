"""Provenance statements: who made an artifact, when, from what, beside the artifact itself.

An in-toto Statement (v1) whose subject is the archive's name and sha256; signed as a DSSE
envelope with Ed25519 when `KEEPTRUSTS_SIGNING_KEY` names a private key (PEM). The archive
stays reproducible; everything run-specific lives here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from keeptrusts_pipelines.errors import ConfigurationError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://keeptrusts.dev/evidence-provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SUFFIX = ".provenance.json"


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


def public_key(path: Path) -> SSlibKey:
    """An Ed25519 public key from a PEM file (public, or private to take its public half)."""
    data = path.read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{path}: not an Ed25519 key")
    return SSlibKey.from_crypto(key)


def write_provenance(artifact: Path, document: dict) -> Path:
    """`<artifact>.provenance.json`: the statement, as a signed DSSE envelope when a key is set."""
    target = artifact.with_name(artifact.name + SUFFIX)
    key_path = os.environ.get("KEEPTRUSTS_SIGNING_KEY")
    if key_path:
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
    """(statement, how it was checked); raises ValueError when a signature does not verify."""
    body = json.loads(path.read_text(encoding="utf-8"))
    if "payloadType" not in body:
        return body, "unsigned"
    envelope = Envelope.from_dict(body)
    document = json.loads(envelope.payload)
    if key is None:
        return document, "signed; signature not checked (give --public-key)"
    try:
        envelope.verify([key], 1)
    except VerificationError as error:
        raise ValueError(f"signature does not verify with the given key ({error})") from None
    return document, f"signature verified (key {key.keyid[:16]})"
