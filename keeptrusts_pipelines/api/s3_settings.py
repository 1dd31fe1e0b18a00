"""S3 settings saved through the API or the page: the destination (delivery/destination.py)
and, when given, credentials, the secret encrypted at rest with KEEPTRUSTS_SECRET_KEY (Fernet).

The secret is never returned: reads say only whether one is saved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.files import atomic_path

FILE_NAME = "s3-credentials.json"
MAX_BYTES = 16 << 10


def credentials_path(home: Path) -> Path:
    return home / FILE_NAME


def save_credentials(
    home: Path, access_key_id: str, secret_access_key: str, key: bytes | None
) -> None:
    if key is None:
        raise ConfigurationError(
            "KEEPTRUSTS_SECRET_KEY is not set: secrets are saved only encrypted; set it to a "
            "Fernet key, or give the credentials through the AWS environment"
        )
    document = {
        "access_key_id": access_key_id,
        "secret_access_key": Fernet(key).encrypt(secret_access_key.encode()).decode(),
    }
    path = credentials_path(home)
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(document) + "\n", encoding="utf-8")
        temporary.chmod(0o600)


def remove_credentials(home: Path) -> None:
    credentials_path(home).unlink(missing_ok=True)


def saved_access_key(home: Path) -> str | None:
    """The saved access key id (not a secret), or None."""
    document = _read(home)
    return document.get("access_key_id") if document else None


def _read(home: Path) -> dict | None:
    path = credentials_path(home)
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def apply_credentials(home: Path, key: bytes | None) -> bool:
    """Put the saved credentials into this process's AWS environment, which Test Connection
    and the export workers it starts read; whether there were any."""
    document = _read(home)
    if not document or key is None:
        return False
    try:
        secret = Fernet(key).decrypt(document["secret_access_key"].encode()).decode()
    except (InvalidToken, KeyError, AttributeError):
        raise ConfigurationError(
            f"{credentials_path(home)}: cannot be decrypted with KEEPTRUSTS_SECRET_KEY; "
            "save the S3 credentials again"
        ) from None
    os.environ["AWS_ACCESS_KEY_ID"] = str(document["access_key_id"])
    os.environ["AWS_SECRET_ACCESS_KEY"] = secret
    return True
