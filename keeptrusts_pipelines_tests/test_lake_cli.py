"""`kt lake` as a user types it, in its own process, with no DAGSTER_HOME in the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

KT = str(Path(sys.executable).with_name("kt"))


def test_a_rebuild_sets_up_its_own_dagster_home(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "demo://?seed=3&events_per_day=50")
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    flags = ["lake", "ingest", "--from", "2026-03-01", "--to", "2026-03-01", "--json"]
    rebuilt = subprocess.run(
        [KT, *flags, "--rebuild"], env=environment, capture_output=True, text=True, timeout=300
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert (keeptrusts_home / "dagster" / "dagster.yaml").exists()
    assert (keeptrusts_home / "lake" / "decision_events" / "date=2026-03-01").is_dir()
