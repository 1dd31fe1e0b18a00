"""The instance's dagster.yaml templates, named without loading Dagster: `kt` copies one into
DAGSTER_HOME (defs/instance.py), and the run history recognises the copy (defs/run_history.py)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQLITE_TEMPLATE = PROJECT_ROOT / "dagster.yaml"
POSTGRES_TEMPLATE = PROJECT_ROOT / "dagster-postgres.yaml"
