"""Where things live and the settings every front door shares, read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

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
