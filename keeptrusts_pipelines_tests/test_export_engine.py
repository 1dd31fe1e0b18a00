"""The export engine against a crafted lake: counts, order, formats, determinism, parts."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.engine import EMPTY_WARNING
from keeptrusts_pipelines.exports.reader import preview
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake

FIRST = date(2026, 3, 1)
DAYS = 10
NOW = datetime(2026, 4, 1, tzinfo=UTC)
# The columns the seeds show first, in CSV headers and JSON objects alike.
SEED_COLUMNS = ["id", "timestamp", "model", "policy", "action", "result", "tokens", "latency_ms"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    return demo_lake(tmp_path_factory.mktemp("lake"), FIRST, DAYS)


def request(start: str = "2026-03-01", end: str = "2026-03-10", **options) -> ExportRequest:
    return ExportRequest(window=build_window(start, end, None, NOW), **options)


def export(lake: LakeLayout, tmp_path: Path, req: ExportRequest, **options):
    return run_export(req, lake, tmp_path / "exports", now=lambda: NOW, **options)


def independent_count(lake: LakeLayout, where: str, parameters: list) -> int:
    files = str(lake.root / "decision_events" / "*" / "*.parquet")
    sql = f"SELECT count(*) FROM read_parquet('{files}') WHERE {where}"
    return duckdb.connect().execute(sql, parameters).fetchall()[0][0]


KNOWN_ANSWERS = [
    (Filters(), "true", []),
    (Filters(action=("block",)), "action = ?", ["block"]),
    (Filters(action=("block", "redact")), "action IN (?, ?)", ["block", "redact"]),
    (Filters(result=("modified",)), "result = ?", ["modified"]),
    (
        Filters(team=("legal",), min_severity="medium"),
        "team = ? AND severity IN ('medium','high','critical')",
        ["legal"],
    ),
    (
        Filters(gateway=("eu-west-prod",), model=("openai/gpt-4o",)),
        "gateway = ? AND model = ?",
        ["eu-west-prod", "openai/gpt-4o"],
    ),
    (
        Filters(consumer_group=("legal-review", "data-science")),
        "consumer_group IN (?, ?)",
        ["legal-review", "data-science"],
    ),
    (Filters(min_severity="critical"), "severity = 'critical'", []),
    (
        Filters(policy=("dlp-secrets",), action=("block",)),
        "action = 'block' AND policy = ?",
        ["dlp-secrets"],
    ),
    (
        Filters(evaluated_policy=("dlp-secrets",), action=("block",)),
        "action = 'block' AND list_contains([p.name for p in policies_evaluated], ?)",
        ["dlp-secrets"],
    ),
    (Filters(evaluated_policy=("disclaimer",)), "true", []),  # every event evaluates it
    (Filters(user=("jane.doe@company.example",)), '"user" = ?', ["jane.doe@company.example"]),
    (Filters(team=("nobody",)), "false", []),
]


@pytest.mark.parametrize(("filters", "where", "parameters"), KNOWN_ANSWERS)
def test_counts_equal_an_independent_count_of_the_lake(
    lake: LakeLayout, tmp_path: Path, filters, where, parameters
) -> None:
    expected = independent_count(lake, where, parameters)
    req = request(filters=filters, format="jsonl")
    assert preview(req, lake, NOW) == expected
    result = export(lake, tmp_path, req)
    assert result.records == expected
    lines = Path(result.artifact).read_text().splitlines()
    assert len(lines) == expected


def test_rows_come_ordered_by_timestamp_then_id(lake: LakeLayout, tmp_path: Path) -> None:
    result = export(lake, tmp_path, request(format="parquet"))
    table = pq.read_table(result.artifact)
    keys = list(zip(table["timestamp"].to_pylist(), table["id"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert table.num_rows == independent_count(lake, "true", [])


def test_a_time_window_includes_its_end_second(lake: LakeLayout, tmp_path: Path) -> None:
    req = request("2026-03-02T00:00:00Z", "2026-03-02T11:59:59Z", format="csv")
    expected = independent_count(
        lake, "timestamp >= '2026-03-02T00:00:00Z' AND timestamp < '2026-03-02T12:00:00Z'", []
    )
    assert export(lake, tmp_path, req).records == expected


@pytest.mark.parametrize("file_format", ["csv", "json", "jsonl", "parquet"])
def test_same_request_twice_gives_identical_payload(
    lake: LakeLayout, tmp_path: Path, file_format: str
) -> None:
    req = request(format=file_format, filters=Filters(action=("redact", "block")))
    first = export(lake, tmp_path / "a", req)
    second = export(lake, tmp_path / "b", req)
    if file_format == "json":
        payloads = [json.loads(Path(r.artifact).read_text())["events"] for r in (first, second)]
        assert payloads[0] == payloads[1]
        assert (
            Path(first.artifact).read_text().split('"events": [', 1)[1]
            == Path(second.artifact).read_text().split('"events": [', 1)[1]
        )
    else:
        assert first.sha256 == second.sha256
    assert first.export_id != second.export_id
    # The hash recorded while writing is the hash of the file as it lies on disk.
    assert first.sha256 == hashlib.sha256(Path(first.artifact).read_bytes()).hexdigest()


def test_csv_opens_in_a_csv_reader_with_the_seed_columns_first(
    lake: LakeLayout, tmp_path: Path
) -> None:
    result = export(lake, tmp_path, request(format="csv"))
    with open(result.artifact, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:8] == SEED_COLUMNS
    assert len(rows) - 1 == result.records
    assert Path(result.artifact).read_bytes().count(b"\r\n") >= result.records
    record = dict(zip(rows[0], rows[1], strict=True))
    assert int(record["tokens"]) == int(record["cost_tokens_input"]) + int(
        record["cost_tokens_output"]
    )
    assert json.loads(record["policies_evaluated"])[0].keys() == {"name", "verdict", "severity"}


def test_json_has_the_seed_header_and_events(lake: LakeLayout, tmp_path: Path) -> None:
    req = request(format="json", filters=Filters(team=("legal",)))
    result = export(lake, tmp_path, req)
    document = json.loads(Path(result.artifact).read_text())
    assert list(document)[:4] == ["export_id", "created_at", "window", "filters"]
    assert document["export_id"] == result.export_id
    assert document["filters"] == {"team": ["legal"]}
    assert len(document["events"]) == result.records
    event = document["events"][0]
    assert list(event)[:8] == SEED_COLUMNS
    assert isinstance(event["policies_evaluated"], list) and isinstance(event["citations"], list)


def test_each_export_type_has_its_rows(lake: LakeLayout, tmp_path: Path) -> None:
    escalations = export(lake, tmp_path, request(export_type="escalations", format="jsonl"))
    files = str(lake.root / "escalations" / "*" / "*.parquet")
    assert (
        escalations.records
        == duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}')").fetchall()[0][0]
    )
    history = export(lake, tmp_path, request(export_type="config-history", format="csv"))
    assert Path(history.artifact).name == "kt_2026-03-01_to_2026-03-10_config-history.csv"
    conversations = export(lake, tmp_path, request(export_type="conversations", format="jsonl"))
    turns = [json.loads(line) for line in Path(conversations.artifact).read_text().splitlines()]
    assert len(turns) == independent_count(lake, "true", [])
    seen, previous = set(), None
    for turn in turns:  # each conversation is contiguous, its turns numbered in time order
        if turn["conversation_id"] != previous:
            assert turn["conversation_id"] not in seen and turn["turn"] == 1
            seen.add(turn["conversation_id"])
        previous = turn["conversation_id"]


def test_an_empty_result_is_a_completed_export_with_a_warning(
    lake: LakeLayout, tmp_path: Path
) -> None:
    result = export(lake, tmp_path, request(format="csv", filters=Filters(team=("nobody",))))
    assert result.status == "completed" and result.records == 0
    assert EMPTY_WARNING in result.warnings
    assert Path(result.artifact).read_text().startswith("id,timestamp,model")


def test_days_missing_from_the_lake_are_listed(lake: LakeLayout, tmp_path: Path) -> None:
    with pytest.raises(
        ExportRequestError,
        match=r"window: the lake has no decision_events partition for 2026-03-11, 2026-03-12",
    ):
        export(lake, tmp_path, request("2026-03-09", "2026-03-12"))


def test_large_exports_split_into_numbered_parts_in_a_zip(lake: LakeLayout, tmp_path: Path) -> None:
    req = request(format="csv", name="Q1 2026/SOC2 Audit")
    result = export(lake, tmp_path, req, part_bytes=200_000)
    assert result.parts > 1 and Path(result.artifact).name == "Q1-2026-SOC2-Audit.zip"
    with zipfile.ZipFile(result.artifact) as archive:
        names = archive.namelist()
        assert names[0] == "Q1-2026-SOC2-Audit.part-0001.csv"
        rows = sum(
            len(list(csv.reader(io.TextIOWrapper(archive.open(n), encoding="utf-8")))) - 1
            for n in names
        )
    assert rows == result.records == independent_count(lake, "true", [])
    again = export(lake, tmp_path / "again", req, part_bytes=200_000)
    assert again.sha256 == result.sha256


def test_metadata_records_request_content_mode_and_partitions(
    lake: LakeLayout, tmp_path: Path
) -> None:
    result = export(lake, tmp_path, request(format="csv", raw_content=True))
    metadata = json.loads((Path(result.artifact).parent.parent / "export.json").read_text())
    assert metadata["request"]["content"] == "raw"
    assert [p["day"] for p in metadata["partitions"]] == [f"2026-03-{d:02d}" for d in range(1, 11)]
    assert all(len(p["sha256"]) == 64 for p in metadata["partitions"])
    assert metadata["sha256"] == result.sha256


def test_a_failed_export_leaves_nothing_and_its_retry_matches(
    lake: LakeLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keeptrusts_pipelines.exports import parts

    req = request(format="csv")
    undisturbed = export(lake, tmp_path / "undisturbed", req)
    original_write = parts.PartFiles.write

    def dies_after_writing(self, frame):
        original_write(self, frame)  # half the export is on disk, under its staging name
        raise OSError("disk full")

    monkeypatch.setattr(parts.PartFiles, "write", dies_after_writing)
    with pytest.raises(OSError, match="disk full"):
        run_export(req, lake, tmp_path / "exports", export_id="exp_retry", now=lambda: NOW)
    assert not (tmp_path / "exports" / "exp_retry").exists()

    monkeypatch.setattr(parts.PartFiles, "write", original_write)
    retried = run_export(req, lake, tmp_path / "exports", export_id="exp_retry", now=lambda: NOW)
    assert retried.sha256 == undisturbed.sha256
    folder = tmp_path / "exports" / "exp_retry"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "artifact",
        "export.json",
    ]
    assert [p.name for p in (folder / "artifact").iterdir()] == ["kt_2026-03-01_to_2026-03-10.csv"]


def test_config_history_carries_policy_definitions_and_reads_days_written_before_them(
    tmp_path: Path,
) -> None:
    lake = demo_lake(tmp_path / "lake", FIRST, 3)
    # The first day as a lake written before configurations carried policy_definitions.
    first_day = lake.partition_file("config_versions", FIRST)
    pq.write_table(pq.read_table(first_day).drop(["policy_definitions"]), first_day)
    counted = duckdb.sql(
        "SELECT count(*) FILTER (WHERE policy_definitions IS NULL), count(*) "
        f"FROM read_parquet({[str(p) for p in lake.root.glob('config_versions/*/*.parquet')]}, "
        "union_by_name = true)"
    ).fetchall()[0]

    result = export(
        lake,
        tmp_path,
        request("2026-03-01", "2026-03-03", export_type="config-history", format="jsonl"),
    )

    rows = [json.loads(line) for line in Path(result.artifact).read_text().splitlines()]
    assert len(rows) == counted[1] and counted[0] >= 1
    assert sum(row["policy_definitions"] is None for row in rows) == counted[0]
    described = [row for row in rows if row["policy_definitions"]]
    assert described and all(
        {"policy", "version", "description"} <= set(d)
        for r in described
        for d in r["policy_definitions"]
    )
