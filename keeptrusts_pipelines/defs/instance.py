"""The local Dagster instance under KEEPTRUSTS_HOME, shared by `kt` and `dagster dev`."""

import os
import shutil
from pathlib import Path

import dagster as dg

from keeptrusts_pipelines.settings import dagster_home

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_TEMPLATE = PROJECT_ROOT / "dagster.yaml"


def prepare_dagster_home() -> Path:
    """Make `$KEEPTRUSTS_HOME/dagster` hold the project's dagster.yaml and export DAGSTER_HOME."""
    home = Path(os.environ.get("DAGSTER_HOME") or dagster_home())
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if INSTANCE_TEMPLATE.exists() and (
        not target.exists() or target.read_bytes() != INSTANCE_TEMPLATE.read_bytes()
    ):
        shutil.copyfile(INSTANCE_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


# One instance per Dagster home, held here: runs keep only weak references to theirs.
_instances: dict[Path, dg.DagsterInstance] = {}


def local_instance() -> dg.DagsterInstance:
    """The instance under KEEPTRUSTS_HOME (the same object for the life of the process)."""
    home = prepare_dagster_home()
    if home not in _instances:
        _instances[home] = dg.DagsterInstance.get()
    return _instances[home]
