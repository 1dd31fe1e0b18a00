"""What a user waits for at the command line, end to end, in one run, as ratios:

- `kt --help`, `kt export status` and `kt export list` beside `python -c "import typer,
  rich"` (the floor of any typer + rich command line);
- a one-day filtered CSV export, `kt export create … --wait` (run in the kt process, through
  Dagster), in seconds, beside DuckDB's COPY of the same rows;
- with `--home`, the default 90-day CSV (the lake's last 90 days, redacted, parts of 1 GiB
  zipped as they are written) through `kt export create … --wait`, beside DuckDB's COPY of
  the same rows and columns to one uncompressed CSV.

Each command runs as its own process, as a user's would. Times are wall-clock medians of
`--rounds` (default 3); CPU seconds (user + system, the command's process and its children)
are shown beside them, since other work on the machine stretches wall time but not CPU time.
Without `--home`, a private KEEPTRUSTS_HOME holds one demo day (about 20,000 events). Run:
`python -m bench.kt_speed`, or on the demo lake:
`KEEPTRUSTS_HOME=/tmp/demo kt demo && python -m bench.kt_speed --home /tmp/demo --rounds 1`.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from bench.export_speed import EVENTS_COLUMNS
from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import DemoSource

DAY = date(2026, 3, 2)  # a weekday: a full day of demo traffic
KT = str(Path(sys.executable).with_name("kt"))
DEFAULT_DAYS = 90
TEAM = "legal"

# The engine's events columns, unredacted and in lake order, of one team or of all.
EVENTS_QUERY = f"""
SELECT {EVENTS_COLUMNS}
FROM read_parquet($files)
WHERE team = $team OR $team IS NULL
"""


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one command in its own process."""
    cpu = _cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, _cpu_of_children() - cpu, done.stdout


def median_of(rounds: int, command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    runs = [timed(command, env) for _ in range(rounds)]
    wall = statistics.median(seconds for seconds, _, _ in runs)
    cpu = statistics.median(seconds for _, seconds, _ in runs)
    return wall, cpu, runs[-1][2]


def copy_seconds(
    files: list[str], team: str | None, target: Path, rounds: int
) -> tuple[float, float]:
    """Medians of (wall, CPU) seconds of DuckDB's COPY of the rows to one uncompressed CSV,
    in this process (its CPU counts every DuckDB thread)."""

    def copy() -> tuple[float, float]:
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        cpu, started = time.process_time(), time.perf_counter()
        rows = connection.sql(EVENTS_QUERY, params={"files": files, "team": team})
        rows.create_view("export_rows")
        connection.sql(f"COPY (SELECT * FROM export_rows) TO '{target}' (FORMAT csv, HEADER)")
        return time.perf_counter() - started, time.process_time() - cpu

    runs = [copy() for _ in range(rounds)]
    return (
        statistics.median(wall for wall, _ in runs),
        statistics.median(cpu for _, cpu in runs),
    )


def export_command(first: date, last: date, *flags: str) -> list[str]:
    return [
        *(KT, "export", "create", "--from", first.isoformat(), "--to", last.isoformat()),
        *("--format", "csv", "--no-deliver", "--wait", *flags),
    ]


def private_home(scratch: Path) -> Path:
    """A KEEPTRUSTS_HOME holding one demo day."""
    home = scratch / "home"
    layout = LakeLayout(home / "lake")
    source = DemoSource(seed=42)
    for spec in TABLES.values():
        ingest_day(source, layout, spec, DAY)
    return home


def row(what: str, wall: float, cpu: float | None, against: float | None, note: str = "") -> None:
    ratio = f"{wall / against:>7.2f}x" if against else " " * 8
    spent = f"{cpu:>8.2f}" if cpu is not None else " " * 8
    print(f"{what:<58}{wall:>8.2f}{spent}{ratio}  {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--home", type=Path, help="A demo KEEPTRUSTS_HOME (kt demo): also the 90-day CSV."
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="The long export's days.")
    arguments = parser.parse_args()
    rounds = arguments.rounds
    with tempfile.TemporaryDirectory(prefix="kt-speed-") as scratch:
        home = arguments.home or private_home(Path(scratch))
        layout = LakeLayout(home / "lake")
        days = layout.days("decision_events")
        # A full weekday near the lake's end (the newest day may still be filling).
        day = next(d for d in reversed(days[:-1] or days) if d.weekday() < 5)
        env = {**os.environ, "KEEPTRUSTS_HOME": str(home), "COLUMNS": "200"}
        for name in ("DAGSTER_HOME", "KEEPTRUSTS_DAGSTER_URL", "KEEPTRUSTS_API_URL"):
            env.pop(name, None)

        print(f"# medians of {rounds}; lake {home / 'lake'}, load {os.getloadavg()[0]:.1f}")
        print(f"{'what':<58}{'wall s':>8}{'cpu s':>8}{'ratio':>8}")
        baseline, base_cpu, _ = median_of(rounds, [sys.executable, "-c", "import typer, rich"], env)
        row("python -c 'import typer, rich'", baseline, base_cpu, baseline, "the floor")
        wall, cpu, _ = median_of(rounds, [KT, "--help"], env)
        row("kt --help", wall, cpu, baseline, "of the floor (target: within 5x)")

        wall, cpu, output = median_of(rounds, export_command(day, day, "--filter-team", TEAM), env)
        export_id = output.split("Job ID: ")[1].split()[0]
        records = int(output.split("Records: ")[1].split()[0].replace(",", ""))
        status = median_of(rounds, [KT, "export", "status", "--id", export_id], env)
        row("kt export status --id ID", status[0], status[1], baseline, "of the floor (target 5x)")
        listed = median_of(rounds, [KT, "export", "list"], env)
        row("kt export list", listed[0], listed[1], baseline, "of the floor")
        files = [str(layout.partition_file("decision_events", day))]
        copied, copy_cpu = copy_seconds(files, TEAM, Path(scratch) / "day.csv", rounds)
        row(f"DuckDB COPY of {records:,} rows (team {TEAM}, {day})", copied, copy_cpu, None)
        row("kt export create (one day, one team) --wait", wall, cpu, copied, "of COPY")
        print(f"{'':<58}{'':>16}{'':>8}  target: under 3 s wall", flush=True)

        if arguments.home:
            last = days[-1]
            first = last - timedelta(days=arguments.days - 1)
            window = [d for d in days if first <= d <= last]
            files = [str(layout.partition_file("decision_events", d)) for d in window]
            copied, copy_cpu = copy_seconds(files, None, Path(scratch) / "window.csv", rounds)
            size = (Path(scratch) / "window.csv").stat().st_size
            wall, cpu, output = median_of(rounds, export_command(first, last), env)
            artifact = Path(output.split("Artifact: ")[1].split()[0])
            records = output.split("Records: ")[1].split()[0]
            row(
                f"DuckDB COPY, {first} to {last}, one uncompressed CSV",
                copied,
                copy_cpu,
                copied,
                f"{size / 2**20:,.0f} MiB",
            )
            row(
                f"kt export create ({arguments.days} days, csv) --wait",
                wall,
                cpu,
                copied,
                f"of COPY; {records} rows, {artifact.name}, {artifact.stat().st_size / 2**20:,.0f} "
                "MiB (target: within 2.0x)",
            )


if __name__ == "__main__":
    main()
