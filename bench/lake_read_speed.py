"""Reading one lake partition (16k-event row groups) from a folder and from S3 (moto's server
on loopback), with each reader the lake offers: Polars' object store, pyarrow's S3 filesystem,
DuckDB through that filesystem registered as fsspec's, and a local copy.

    python -m bench.lake_read_speed [--events 65536] [--runs 3]

Prints the median of `--runs` timings per reader and lake kind, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import boto3
import duckdb
import polars as pl
import pyarrow.parquet as pq

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import Lake, LakeLayout
from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.lake.partition_writer import ROW_GROUP_SIZE
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.demo import DemoSource
from keeptrusts_pipelines_tests.conftest import free_port, start_moto

DAY = date(2026, 5, 4)
TABLE = "decision_events"


def median_seconds(read: Callable[[], object], runs: int) -> tuple[float, int]:
    """The median time of the runs that succeeded, and how many failed."""
    timings, failed = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        try:
            read()
        except duckdb.Error:
            failed += 1
            continue
        timings.append(time.perf_counter() - started)
    return (statistics.median(timings) if timings else float("nan")), failed


def readers(lake: Lake) -> dict[str, Callable[[], object]]:
    location = lake.partition(TABLE, DAY)
    path, filesystem = lake.arrow_source(location)

    aggregate = "SELECT count(*), sum(latency_ms), count(DISTINCT policy) FROM read_parquet($f)"

    def duckdb_in_place() -> object:
        with duckdb.connect() as connection:
            lake.attach(connection)
            return connection.sql(aggregate, params={"f": [str(location)]}).fetchall()

    def duckdb_on_copy() -> object:
        # A fresh handle each time, so the copy is fetched, not found from the run before;
        # held while the copy is read (its copies go with it).
        fresh = open_lake(lake.describe())
        copy = fresh.local_files([location])[0]
        with duckdb.connect() as connection:
            return connection.sql(aggregate, params={"f": [str(copy)]}).fetchall()

    return {
        "polars scan_parquet, all columns": lambda: pl.scan_parquet(
            [location], storage_options=lake.storage_options
        ).collect(),
        "pyarrow read_table, all columns": lambda: pq.read_table(path, filesystem=filesystem),
        "pyarrow read_metadata": lambda: pq.read_metadata(path, filesystem=filesystem),
        "duckdb aggregate, in place": duckdb_in_place,
        "duckdb aggregate, local copy": duckdb_on_copy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4 * ROW_GROUP_SIZE)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
    )
    port = free_port()
    server = start_moto(port)
    try:
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        with tempfile.TemporaryDirectory() as scratch:
            lakes = {
                "local": LakeLayout(Path(scratch) / "lake"),
                "s3": open_lake(f"s3://{bucket}/bench"),
            }
            source = DemoSource(seed=5, events_per_day=arguments.events)
            for lake in lakes.values():
                written = ingest_day(source, lake, TABLES[TABLE], DAY).partition
            metadata = pq.read_metadata(lakes["local"].partition_file(TABLE, DAY))
            print(
                f"one {TABLE} partition: {metadata.num_rows} rows in {metadata.num_row_groups} "
                f"row groups, {written.bytes / 1_048_576:.1f} MiB; median of {arguments.runs} runs"
            )
            timings = {kind: readers(lake) for kind, lake in lakes.items()}
            print(f"{'reader':36} {'local s':>9} {'s3 s':>9} {'s3/local':>9}  failed runs")
            for name in timings["local"]:
                here, _ = median_seconds(timings["local"][name], arguments.runs)
                there, failed = median_seconds(timings["s3"][name], arguments.runs)
                print(f"{name:36} {here:9.3f} {there:9.3f} {there / here:9.1f}  {failed}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
