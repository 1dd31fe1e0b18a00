"""Where framework catalogs are: the packaged ones, then those of `KEEPTRUSTS_FRAMEWORKS_DIR`.

Each catalog `<name>.yaml` is the export format `compliance-<name>`, so the format registry
reads this without loading a catalog (or DuckDB).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED = Path(__file__).with_name("frameworks")
FRAMEWORKS_DIR_VARIABLE = "KEEPTRUSTS_FRAMEWORKS_DIR"


def catalog_paths() -> dict[str, Path]:
    """Every framework by name: the packaged ones, then those of KEEPTRUSTS_FRAMEWORKS_DIR (a
    catalog there replaces a packaged one of the same name)."""
    folders = [PACKAGED]
    if os.environ.get(FRAMEWORKS_DIR_VARIABLE):
        folders.append(Path(os.environ[FRAMEWORKS_DIR_VARIABLE]))
    return {path.stem: path for folder in folders for path in sorted(folder.glob("*.yaml"))}
