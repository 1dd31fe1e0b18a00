"""The lake on S3 beside the lake on a local disk, same rows, through `kt` end to end:

- `kt lake ingest` of the same demo days into each (one Dagster run per day),
- `kt export create --format csv --wait` of the window (redacted, as users get it),
- `kt export create --format compliance-all --wait`: the evidence bundle of the window,

each as its own process, timed (wall and CPU) with its peak memory, S3 ÷ local as ratios. The
S3 lake is moto's server on loopback, so the ratio is the cost of the object-store code path
(requests, checksums, ranged reads), not of a network. The export and the bundle run again
over half the window: peak memory must not grow with the window (rows stream).

Last, a projection of a 100M-event quarter. Each step's wall time is fitted as fixed +
per-event seconds from two sizes (ingest: a day of demo traffic and a day of five times as
much; export and bundle: the half and the whole window); a day's run then costs fixed +
per-event x 1.09M, and the quarter's ingest takes that x 92 partitions / runs at a time.

Run: `python -m bench.lake_on_s3` (14 days, about 8 minutes on two cores), or
`python -m bench.lake_on_s3 --days 92` for a whole quarter of demo traffic.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import boto3
import duckdb

from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.sources.demo import DEFAULT_EVENTS_PER_DAY

KT = str(Path(sys.executable).with_name("kt"))
TIME = "/usr/bin/time"
FIRST_DAY = date(2026, 7, 1)
QUARTER_EVENTS = 100_000_000
QUARTER_DAYS = 92
BUCKET = "bench-lake"
# A day outside the compared window, and the demo source's rate of events per day.
SCALE_DAY = date(2026, 10, 1)
DEMO_EVENTS_PER_DAY = DEFAULT_EVENTS_PER_DAY


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto's S3 server on a free loopback port, and its endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("moto's S3 server did not start")


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one command in its own process, by GNU time."""
    handle, report = tempfile.mkstemp(suffix=".time")
    os.close(handle)
    started = time.perf_counter()
    done = subprocess.run(
        [TIME, "-o", report, "-f", "%U %S %M", *command], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout}\n{done.stderr}")
    user, system, peak_kib = Path(report).read_text().split()[-3:]
    os.unlink(report)
    return wall, float(user) + float(system), int(peak_kib) // 1024, done.stdout


def count_events(lake_url: str, first: date, last: date) -> int:
    """Events in the lake's window, counted by DuckDB over the partitions the lake names."""
    lake = open_lake(lake_url)
    days = [d for d in lake.days("decision_events") if first <= d <= last]
    connection = duckdb.connect()
    lake.attach(connection)
    files = [str(lake.partition("decision_events", d)) for d in days]
    return connection.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone()[0]


def export(envs: dict[str, dict], first: date, last: date, file_format: str) -> dict:
    """`kt export create … --wait` of the window on each lake: {kind: measured}."""
    command = [KT, "export", "create", "--from", first.isoformat(), "--to", last.isoformat()]
    command += ["--format", file_format, "--no-deliver", "--wait"]
    return {kind: measured(command, env) for kind, env in envs.items()}


def row(what: str, local: tuple, remote: tuple, note: str = "") -> None:
    print(
        f"{what:<44}{local[0]:>8.1f}{local[1]:>8.1f}{local[2]:>7}"
        f"{remote[0]:>8.1f}{remote[1]:>8.1f}{remote[2]:>7}{remote[0] / local[0]:>7.2f}x  {note}",
        flush=True,
    )


def linear(small: tuple[int, float], large: tuple[int, float]) -> tuple[float, float]:
    """(fixed seconds, seconds per event) through two (events, seconds) measurements."""
    per_event = (large[1] - small[1]) / (large[0] - small[0])
    return max(small[1] - per_event * small[0], 0.0), per_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=14, help="Demo days in each lake.")
    parser.add_argument("--workers", type=int, default=2, help="kt lake ingest --workers.")
    arguments = parser.parse_args()
    first = FIRST_DAY
    last = first + timedelta(days=arguments.days - 1)
    half_last = first + timedelta(days=arguments.days // 2 - 1)
    moto, endpoint = start_moto()
    try:
        with tempfile.TemporaryDirectory(prefix="lake-on-s3-") as scratch:
            credentials = {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint,
            }
            os.environ.update(credentials)
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            base = {**os.environ, "COLUMNS": "200", "KEEPTRUSTS_PSEUDONYM_KEY": "b" * 32}
            for name in ("DAGSTER_HOME", "KEEPTRUSTS_DAGSTER_URL", "KEEPTRUSTS_API_URL"):
                base.pop(name, None)
            envs = {
                "local": {**base, "KEEPTRUSTS_HOME": f"{scratch}/local"},
                "s3": {
                    **base,
                    "KEEPTRUSTS_HOME": f"{scratch}/s3",
                    "KEEPTRUSTS_LAKE_URL": f"s3://{BUCKET}/lake",
                },
            }
            lakes = {"local": f"{scratch}/local/lake", "s3": f"s3://{BUCKET}/lake"}
            print(f"# {arguments.days} demo days from {first}; S3: moto on {endpoint}")
            print(
                f"{'':<44}{'local':>23}{'S3':>23}\n{'what':<44}"
                + f"{'wall s':>8}{'cpu s':>8}{'MiB':>7}" * 2
                + f"{'S3/loc':>8}"
            )
            ingest = [
                *(KT, "lake", "ingest", "--from", first.isoformat(), "--to", last.isoformat()),
                *("--workers", str(arguments.workers)),
            ]
            results = {kind: measured(ingest, env) for kind, env in envs.items()}
            events = {kind: count_events(lakes[kind], first, last) for kind in lakes}
            if events["local"] != events["s3"]:
                raise SystemExit(f"the lakes differ: {events}")
            row(f"kt lake ingest, {arguments.days} days", results["local"], results["s3"],
                f"{events['s3']:,} events, {arguments.workers} runs at a time")  # fmt: skip
            halves = {kind: count_events(lakes[kind], first, half_last) for kind in lakes}

            costs = {"ingest": ingest_costs(base, scratch)}
            for file_format, label in (("csv", "CSV export"), ("compliance-all", "bundle")):
                full = export(envs, first, last, file_format)
                row(f"{label}, {arguments.days} days", full["local"], full["s3"])
                half = export(envs, first, half_last, file_format)
                growth = full["s3"][2] / half["s3"][2]
                note = f"peak memory, whole over half window: {growth:.2f} (S3)"
                row(f"{label}, {arguments.days // 2} days", half["local"], half["s3"], note)
                costs[label] = linear((halves["s3"], half["s3"][0]), (events["s3"], full["s3"][0]))
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    project(costs, arguments.workers)


def ingest_costs(base: dict[str, str], scratch: str) -> tuple[float, float]:
    """(fixed, per event) wall seconds of one day's run into the S3 lake, from a day of demo
    traffic and a day of five times as much, each alone (`--workers 1`)."""
    env = {
        **base,
        "KEEPTRUSTS_HOME": f"{scratch}/scale",
        "KEEPTRUSTS_LAKE_URL": f"s3://{BUCKET}/scale",
    }
    measured_days = []
    for offset, rate in ((0, DEMO_EVENTS_PER_DAY), (1, 5 * DEMO_EVENTS_PER_DAY)):
        day = (SCALE_DAY + timedelta(days=offset)).isoformat()
        source = f"demo://?seed=7&events_per_day={rate}"
        command = [KT, "lake", "ingest", "--from", day, "--to", day, "--workers", "1"]
        wall = measured(command, {**env, "KEEPTRUSTS_SOURCE_URL": source})[0]
        count = count_events(
            env["KEEPTRUSTS_LAKE_URL"], date.fromisoformat(day), date.fromisoformat(day)
        )
        print(
            f"{'kt lake ingest, one day alone (S3)':<90}  {count:,} events: {wall:.1f} s wall",
            flush=True,
        )
        measured_days.append((count, wall))
    return linear(measured_days[0], measured_days[1])


def project(costs: dict[str, tuple[float, float]], workers: int) -> None:
    """A 100M-event quarter from the fixed and per-event wall seconds measured on the S3 lake."""
    per_day = QUARTER_EVENTS / QUARTER_DAYS
    print(f"\n# projection: {QUARTER_EVENTS:,} events in {QUARTER_DAYS} daily partitions "
          f"({per_day:,.0f} a day) on the S3 lake, from the fixed and per-event wall seconds "
          "measured above (one run per core)")  # fmt: skip
    print(f"{'step':<14}{'fixed s':>9}{'us/event':>10}{'per run':>11}{'runs':>6}{'at once':>9}"
          f"{'wall':>9}")  # fmt: skip
    fixed, per_event = costs["ingest"]
    one_day = fixed + per_event * per_day
    for at_once in (workers, 8, 32):
        wall = one_day * QUARTER_DAYS / at_once
        print(f"{'ingest a day':<14}{fixed:>9.1f}{per_event * 1e6:>10.1f}{one_day / 60:>9.1f} m"
              f"{QUARTER_DAYS:>6}{at_once:>9}{wall / 3600:>7.1f} h")  # fmt: skip
    for label in ("CSV export", "bundle"):
        fixed, per_event = costs[label]
        whole = fixed + per_event * QUARTER_EVENTS
        print(f"{label:<14}{fixed:>9.1f}{per_event * 1e6:>10.1f}{whole / 60:>9.1f} m{1:>6}{1:>9}"
              f"{whole / 3600:>7.1f} h")  # fmt: skip


if __name__ == "__main__":
    main()
