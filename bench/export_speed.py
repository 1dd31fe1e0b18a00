"""Export speed and memory against DuckDB's own COPY and a naive row-by-row export.

Builds demo lakes of 1M and 10M events over one quarter (cached under bench/.lakes/), then
exports the quarter as csv, jsonl and parquet with redaction on and one filter, beside
DuckDB's COPY of the same rows unredacted (as DuckDB writes them, and as the same text the
engine writes: RFC 3339 times, nested values as JSON) and a naive row-by-row export. Each
measurement runs in its own process so its peak RSS is its own. Run: `make bench`.

`--distinct-text` measures lakes where no two prompts or outputs are alike, as in traffic
that does not come from templates: redaction then cannot reuse the result of a repeated value.
"""

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.redaction import load_policy
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.lake.partition_writer import ROW_GROUP_SIZE, write_partition
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, Window
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.sources.demo import generate_day

BENCH = Path(__file__).resolve().parent
QUARTER_START, QUARTER_DAYS = date(2026, 1, 1), 90
WINDOW = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
# One filter, keeping the three production gateways (about 90% of events).
GATEWAYS = ("eu-west-prod", "eu-central-prod", "us-east-prod")
FILTERS = Filters(gateway=GATEWAYS)


def build_lake(events: int, distinct_text: bool = False) -> LakeLayout:
    """A quarter of demo events (sorted per day, as the lake keeps them), built once.

    The demo's prompts and outputs come from templates, so values repeat; with
    `distinct_text` each ends with its request id, so no two are alike.
    """
    # Named by the writer's row group size too: a lake written with other settings is rebuilt.
    kind = "-distinct-text" if distinct_text else ""
    layout = LakeLayout(BENCH / ".lakes" / f"quarter-of-{events}{kind}-rg{ROW_GROUP_SIZE}")
    # The demo makes weekends lighter (0.55 of a weekday): size weekdays so the quarter holds
    # about `events` in all.
    per_day = round(events / (QUARTER_DAYS * (5 + 2 * 0.55) / 7))
    for offset in range(QUARTER_DAYS):
        day = QUARTER_START + timedelta(days=offset)
        if not layout.partition_file("decision_events", day).exists():
            table = generate_day.__wrapped__(7, day, per_day)["decision_events"]
            if distinct_text:
                table = with_distinct_text(table)
            write_partition(
                layout, DECISION_EVENTS_SPEC, day, table.sort_by(DECISION_EVENTS_SPEC.sort_keys)
            )
    return layout


def with_distinct_text(table: pa.Table) -> pa.Table:
    for column in ("input", "output"):
        text = pc.binary_join_element_wise(
            table[column], " (request ", table["request_id"], ")", ""
        )
        table = table.set_column(table.schema.get_field_index(column), column, text)
    return table


def files_of(layout: LakeLayout) -> list[str]:
    return [str(layout.partition_file("decision_events", day)) for day in WINDOW.days()]


def engine_export(layout: LakeLayout, file_format: str, out: Path) -> int:
    request = ExportRequest(window=WINDOW, format=file_format, filters=FILTERS)
    # One output file, as COPY writes: the default parts, zipped, are measured through kt by
    # bench/kt_speed.py --home (the 90-day CSV beside COPY).
    later = datetime(2026, 11, 1, tzinfo=UTC)
    return run_export(request, layout, out, now=lambda: later, part_bytes=1 << 40).records


# The columns of the engine's events export, in DuckDB's SQL, unredacted.
EVENTS_COLUMNS = """
    event_id AS id, "timestamp", model, policy, action, result,
    coalesce(cost_tokens_input, 0) + coalesce(cost_tokens_output, 0) AS tokens,
    latency_ms, request_id, environment, gateway, consumer_group, team, "user", provider,
    severity, policies_evaluated, input, output, cost_tokens_input, cost_tokens_output,
    escalation_id, config_version, conversation_id, trace_id, citations
"""
# The same rows and columns as the engine's events export.
COPY_QUERY = f"""
SELECT {EVENTS_COLUMNS}
FROM read_parquet($files)
WHERE "timestamp" >= $start AND "timestamp" < $end AND list_contains($gateways, gateway)
"""


# The same again, as the text the engine writes: RFC 3339 times, nested values as JSON.
SAME_TEXT_QUERY = """
SELECT * REPLACE (
    strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%fZ') AS "timestamp",
    to_json(policies_evaluated) AS policies_evaluated,
    to_json(citations) AS citations
)
FROM export_rows
"""


def duckdb_copy(layout: LakeLayout, file_format: str, out: Path, same_text: bool = False) -> None:
    """DuckDB's own COPY of the same rows (in lake order) and columns, with no redaction;
    with `same_text`, times and nested values written as the engine writes them."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    parameters = {
        "files": files_of(layout),
        "start": WINDOW.start,
        "end": WINDOW.end,
        "gateways": list(GATEWAYS),
    }
    connection.sql(COPY_QUERY, params=parameters).create_view("export_rows")
    out.mkdir(parents=True, exist_ok=True)
    options = {"csv": "FORMAT csv, HEADER", "jsonl": "FORMAT json", "parquet": "FORMAT parquet"}
    target = out / f"copy.{file_format}"
    rows = SAME_TEXT_QUERY if same_text else "SELECT * FROM export_rows"
    connection.sql(f"COPY ({rows}) TO '{target}' ({options[file_format]})")


def duckdb_copy_as_text(layout: LakeLayout, file_format: str, out: Path) -> None:
    duckdb_copy(layout, file_format, out, same_text=True)


def naive_export(layout: LakeLayout, file_format: str, out: Path) -> int:
    """Row by row in Python: filter, the same redaction rules with `re`, csv module / json.dumps."""
    rules = [(re.compile(rule.pattern), rule.marker, rule.check) for rule in load_policy().rules]
    out.mkdir(parents=True, exist_ok=True)
    records = 0
    with open(out / f"naive.{file_format}", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle) if file_format == "csv" else None
        for path in files_of(layout):
            for row in pq.read_table(path).to_pylist():
                if (
                    row["gateway"] not in GATEWAYS
                    or not WINDOW.start <= row["timestamp"] < WINDOW.end
                ):
                    continue
                for column in ("user", "input", "output"):
                    row[column] = naive_redact(row[column], rules)
                row["timestamp"] = row["timestamp"].isoformat()
                if writer is not None:
                    if records == 0:
                        writer.writerow(row.keys())
                    writer.writerow(
                        [json.dumps(v) if isinstance(v, list) else v for v in row.values()]
                    )
                else:
                    handle.write(json.dumps(row) + "\n")
                records += 1
    return records


def naive_redact(text: str | None, rules) -> str | None:
    if text is None:
        return None
    for pattern, marker, check in rules:
        if check == "card":
            text = pattern.sub(lambda m, marker=marker: marker if luhn(m[0]) else m[0], text)
        else:
            text = pattern.sub(marker, text)
    return text


def luhn(candidate: str) -> bool:
    digits = [int(c) for c in reversed(candidate) if c.isdigit()]
    return (sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])) % 10 == 0


METHODS = {
    "engine": engine_export,
    "duckdb-copy": duckdb_copy,
    "copy-as-text": duckdb_copy_as_text,
    "naive": naive_export,
}


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The run of median time: (seconds, peak RSS in MiB)."""
    return sorted(runs)[len(runs) // 2]


def measure_once(
    events: int, method: str, file_format: str, distinct_text: bool
) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one export, run in a fresh process."""
    command = [sys.executable, "-m", "bench.export_speed", "--one", str(events), method]
    command += [file_format, *(["--distinct-text"] if distinct_text else [])]
    output = subprocess.run(command, cwd=BENCH.parent, capture_output=True, text=True, check=True)
    seconds, peak = output.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--one", nargs=3, metavar=("EVENTS", "METHOD", "FORMAT"))
    parser.add_argument(
        "--naive-max", type=int, default=1_000_000, help="Largest lake to run naive on."
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs of the engine and COPY (median shown)."
    )
    parser.add_argument("--formats", default="csv,jsonl,parquet")
    parser.add_argument(
        "--distinct-text",
        action="store_true",
        help="Lakes where no two prompts or outputs are alike (each ends with its request id).",
    )
    arguments = parser.parse_args()
    if arguments.one:
        events, method, file_format = int(arguments.one[0]), arguments.one[1], arguments.one[2]
        layout = build_lake(events, arguments.distinct_text)
        out = BENCH / ".out" / f"{method}-{file_format}-{os.getpid()}"
        started = time.perf_counter()
        METHODS[method](layout, file_format, out)
        seconds = time.perf_counter() - started
        print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        subprocess.run(["rm", "-rf", str(out)], check=True)
        return
    header = (
        *("events", "format", "method", "seconds", "peak MiB"),
        *("x COPY", "x as-text", "x engine"),
    )
    print(f"# medians of {arguments.repeat} runs (naive: one run)", flush=True)
    print("{:>10} {:<8} {:<13} {:>8} {:>9} {:>7} {:>9} {:>8}".format(*header), flush=True)
    for events in [int(size) for size in arguments.sizes.split(",")]:
        files = files_of(build_lake(events, arguments.distinct_text))
        held = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchall()[0][0]
        print(f"# lake for {events:,}: {held:,} events in {len(files)} days", flush=True)
        for file_format in arguments.formats.split(","):
            methods = ["engine", "duckdb-copy"]
            if file_format != "parquet":  # Parquet holds times and nested values as they are
                methods.append("copy-as-text")
                if events <= arguments.naive_max:
                    methods.append("naive")
            runs: dict[str, list[tuple[float, float]]] = {method: [] for method in methods}
            # Rounds alternate the methods, so a slow spell of the machine hits them alike.
            for round_number in range(arguments.repeat):
                for method in methods:
                    # The naive export is an order of magnitude slower: one run tells enough.
                    if method != "naive" or round_number == 0:
                        measured = measure_once(
                            events, method, file_format, arguments.distinct_text
                        )
                        runs[method].append(measured)
            results = {method: median(method_runs) for method, method_runs in runs.items()}
            copy_seconds = results["duckdb-copy"][0]
            as_text_seconds = results.get("copy-as-text", results["duckdb-copy"])[0]
            engine_seconds = results["engine"][0]
            for method, (seconds, peak) in results.items():
                print(
                    f"{events:>10,} {file_format:<8} {method:<13} {seconds:>8.2f} {peak:>9,.0f} "
                    f"{seconds / copy_seconds:>7.2f} {seconds / as_text_seconds:>9.2f} "
                    f"{seconds / engine_seconds:>8.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
