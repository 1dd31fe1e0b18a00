"""The S3 destination configured once (`kt s3 configure`): every export is delivered there
unless its request names another or asks for none.

Kept as `s3-destination.json` under KEEPTRUSTS_HOME: bucket, prefix, region and when Test
Connection last passed. Credentials never go here; they come from the AWS environment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from keeptrusts_pipelines.delivery.target import TargetAddress, target_address
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.files import atomic_path

FILE_NAME = "s3-destination.json"
MAX_BYTES = 64 << 10


@dataclass(frozen=True)
class SavedDestination:
    bucket: str
    prefix: str = ""
    region: str | None = None
    tested_at: str | None = None

    @property
    def address(self) -> TargetAddress:
        return target_address("s3", self.bucket, self.prefix, self.region, str(FILE_NAME))

    @property
    def uri(self) -> str:
        return self.address.location


def destination_path(home: Path) -> Path:
    return home / FILE_NAME


def load_destination(path: Path) -> SavedDestination | None:
    """The saved destination; None when there is none; ConfigurationError when it is unusable."""
    if not path.exists():
        return None
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise ConfigurationError(f"{path}: not a destination file; run kt s3 configure again")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        destination = SavedDestination(**document)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(
            f"{path}: cannot be read ({type(error).__name__}); run kt s3 configure again"
        ) from None
    if not isinstance(destination.bucket, str) or not destination.bucket:
        raise ConfigurationError(f"{path}: names no bucket; run kt s3 configure again")
    destination.address  # noqa: B018 (checked as a target URL is)
    return destination


def save_destination(path: Path, destination: SavedDestination) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(asdict(destination), indent=2) + "\n", encoding="utf-8")


def remove_destination(path: Path) -> bool:
    if not path.exists():
        return False
    path.unlink()
    return True
