"""What a user waits for at the command line, end to end: `kt` start-up, and a one-day filtered
CSV export through Dagster (`kt export create … --wait`), beside `python -c "import typer,
rich"` and DuckDB's COPY of the same rows, in one run, as ratios.

Each command runs as its own process, as a user's would, on a private KEEPTRUSTS_HOME holding
one demo day (about 20,000 events). Medians of `--rounds` (default 3). Run:
`python -m bench.kt_speed`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import DemoSource

DAY = date(2026, 3, 2)  # a weekday: a full day of demo traffic
KT = str(Path(sys.executable).with_name("kt"))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def median_of(rounds: int, command: list[str], env: dict[str, str]) -> tuple[float, str]:
    runs = [timed(command, env) for _ in range(rounds)]
    return statistics.median(seconds for seconds, _ in runs), runs[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="kt-speed-") as scratch:
        home = Path(scratch) / "home"
        layout = LakeLayout(home / "lake")
        source = DemoSource(seed=42)
        for spec in TABLES.values():
            ingest_day(source, layout, spec, DAY)
        env = {**os.environ, "KEEPTRUSTS_HOME": str(home), "COLUMNS": "200"}
        env.pop("DAGSTER_HOME", None)
        env.pop("KEEPTRUSTS_DAGSTER_URL", None)

        baseline, _ = median_of(rounds, [sys.executable, "-c", "import typer, rich"], env)
        helped, _ = median_of(rounds, [KT, "--help"], env)
        export = [
            *(KT, "export", "create", "--from", DAY.isoformat(), "--to", DAY.isoformat()),
            *("--format", "csv", "--filter-team", "legal", "--no-deliver", "--wait"),
        ]
        exported, output = median_of(rounds, export, env)
        export_id = output.split("Job ID: ")[1].split()[0]
        status, _ = median_of(rounds, [KT, "export", "status", "--id", export_id], env)

        files = str(layout.partition_file("decision_events", DAY))
        target = Path(scratch) / "copy.csv"

        def copy() -> float:
            started = time.perf_counter()
            duckdb.sql(
                f"COPY (SELECT * FROM read_parquet('{files}') WHERE team = 'legal' "
                f"ORDER BY timestamp, event_id) TO '{target}' (FORMAT csv, HEADER)"
            )
            return time.perf_counter() - started

        copied = statistics.median(copy() for _ in range(rounds))
        rows = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{files}') WHERE team = 'legal'"
        ).fetchall()[0][0]

    table = [
        ("python -c 'import typer, rich'", baseline, baseline),
        ("kt --help", helped, baseline),
        ("kt export status --id ID", status, baseline),
        ("DuckDB COPY of the same rows (in process)", copied, copied),
        ("kt export create ... --wait (through Dagster)", exported, copied),
    ]
    print(f"one demo day, {rows:,} rows for team legal; medians of {rounds}")
    print(f"{'what':<48}{'seconds':>9}{'ratio':>9}")
    for what, seconds, against in table:
        print(f"{what:<48}{seconds:>9.2f}{seconds / against:>8.1f}x")


if __name__ == "__main__":
    main()
