"""Where things live and the settings every front door shares, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from keeptrusts_pipelines.errors import ConfigurationError

DEFAULT_HOME = "./var"


def keeptrusts_home() -> Path:
    """`KEEPTRUSTS_HOME` (default `./var`): lake, exports, custody database, Dagster home."""
    return Path(os.environ.get("KEEPTRUSTS_HOME", DEFAULT_HOME)).expanduser().resolve()


def lake_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "lake"


def dagster_home(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "dagster"


def exports_root(home: Path | None = None) -> Path:
    return (home or keeptrusts_home()) / "exports"


def export_part_bytes() -> int:
    """`KEEPTRUSTS_EXPORT_PART_BYTES` (default 1 GiB): beyond this an export is split into parts."""
    # Imported here: the Dagster code location reads these settings without the export engine.
    from keeptrusts_pipelines.exports.engine import DEFAULT_PART_BYTES

    text = os.environ.get("KEEPTRUSTS_EXPORT_PART_BYTES", str(DEFAULT_PART_BYTES))
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"KEEPTRUSTS_EXPORT_PART_BYTES={text!r}: use a whole number of bytes, at least 1024"
        )
    return int(text)
