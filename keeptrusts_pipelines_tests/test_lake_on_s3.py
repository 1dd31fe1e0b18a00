"""The lake at an S3 URL (moto's server on loopback) against the same lake in a folder: the same
bytes per day, the same exports, reports and bundles, `kt verify` and `kt lake status` on
either, and KEEPTRUSTS_LAKE_URLs that cannot be used refused in one line."""

import base64
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.reader import preview
from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import Lake, LakeLayout
from keeptrusts_pipelines.lake.object_store import ConcurrentLakeWrite, S3Lake
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.settings import lake_url, redaction_config
from keeptrusts_pipelines.sources.demo import DemoSource
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
DAY = date(2026, 5, 4)
QUARTER = (date(2026, 1, 1), date(2026, 3, 31))
NOW = datetime(2026, 4, 2, tzinfo=UTC)


def copy_lake(source: LakeLayout, target: Lake) -> None:
    """Every partition of `source` written into `target` through the lake's own write path."""
    for table in TABLES:
        for day in source.days(table):
            path = source.partition(table, day)
            target.write_partition(
                table, day, lambda local, path=path: shutil.copyfile(path, local)
            )


@pytest.fixture(scope="module")
def quarter_lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    """The first quarter of 2026 in a folder: 90 small demo days."""
    days = (QUARTER[1] - QUARTER[0]).days + 1
    return demo_lake(tmp_path_factory.mktemp("quarter") / "lake", QUARTER[0], days, per_day=40)


@pytest.fixture
def both(quarter_lake: LakeLayout, s3_lake: Lake) -> tuple[LakeLayout, Lake]:
    copy_lake(quarter_lake, s3_lake)
    return quarter_lake, s3_lake


def test_one_day_ingested_into_each_kind_gives_byte_identical_partitions(
    tmp_path: Path, s3_lake: Lake
) -> None:
    local = LakeLayout(tmp_path / "lake")
    source = DemoSource(seed=8, events_per_day=600)
    for spec in TABLES.values():
        here = ingest_day(source, local, spec, DAY)
        there = ingest_day(source, s3_lake, spec, DAY)
        assert here.partition.sha256 == there.partition.sha256, spec.name
        assert here.partition.bytes == there.partition.bytes
        assert (
            str(there.partition.path)
            == f"{s3_lake.describe()}/{spec.name}/date={DAY}/part-0.parquet"
        )
        stored = s3_lake.read_bytes(there.partition.path)
        assert stored == Path(here.partition.path).read_bytes()
        assert s3_lake.partition_sha256(spec.name, DAY, reread=True) == here.partition.sha256
        assert [c.passed for c in here.checks] == [c.passed for c in there.checks]


def test_a_rematerialized_day_replaces_the_object_with_a_new_data_version(s3_lake: Lake) -> None:
    spec = TABLES["decision_events"]
    first = ingest_day(DemoSource(seed=8, events_per_day=100), s3_lake, spec, DAY)
    again = ingest_day(DemoSource(seed=8, events_per_day=100), s3_lake, spec, DAY)
    later = ingest_day(DemoSource(seed=8, events_per_day=300), s3_lake, spec, DAY)
    assert first.partition.sha256 == again.partition.sha256  # the same day, the same bytes
    assert later.partition.sha256 != first.partition.sha256
    assert s3_lake.partition_sha256(spec.name, DAY) == later.partition.sha256
    assert s3_lake.days(spec.name) == [DAY]
    # The object carries the SHA-256 it was uploaded with, which S3 checks on upload.
    assert isinstance(s3_lake, S3Lake)
    head = s3_lake.client.head_object(
        Bucket=s3_lake.bucket, Key=s3_lake.partition_key(spec.name, DAY), ChecksumMode="ENABLED"
    )
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == later.partition.sha256


def test_a_partition_changed_by_another_writer_mid_write_is_refused(s3_lake: Lake) -> None:
    assert isinstance(s3_lake, S3Lake)
    key = s3_lake.partition_key("escalations", DAY)
    s3_lake.write_partition("escalations", DAY, lambda path: path.write_bytes(b"first"))

    def meanwhile(path: Path) -> None:
        s3_lake.client.put_object(Bucket=s3_lake.bucket, Key=key, Body=b"another writer")
        path.write_bytes(b"ours")

    with pytest.raises(ConcurrentLakeWrite, match="replaced by another writer"):
        s3_lake.write_partition("escalations", DAY, meanwhile)
    assert s3_lake.read_bytes(s3_lake.url(key)) == b"another writer"


def test_a_filtered_csv_export_is_the_same_file_from_either_lake(
    both: tuple[LakeLayout, Lake], tmp_path: Path
) -> None:
    filters = Filters(action=("block", "redact"), min_severity="medium")
    request = ExportRequest(
        window=build_window("2026-02-01", "2026-02-28", None, NOW), format="csv", filters=filters
    )
    settings = redaction_config()  # one pseudonym key for both, as a deployment has
    results = [
        run_export(
            request,
            lake,
            tmp_path / kind,
            export_id="exp_csv0000001",
            now=lambda: NOW,
            redaction=settings,
        )
        for kind, lake in zip(("local", "s3"), both, strict=True)
    ]
    files = str(both[0].root / "decision_events" / "date=2026-02-*" / "*.parquet")
    expected = duckdb.execute(
        f"SELECT count(*) FROM read_parquet('{files}') WHERE action IN ('block', 'redact') "
        "AND severity IN ('medium', 'high', 'critical')"
    ).fetchall()[0][0]
    assert expected > 0
    assert [r.records for r in results] == [expected, expected]
    assert preview(request, both[1], NOW) == expected
    assert Path(results[0].artifact).read_bytes() == Path(results[1].artifact).read_bytes()
    assert results[0].partitions == results[1].partitions  # the same data versions read


def test_a_quarterly_bundle_is_the_same_from_either_lake_and_kt_verify_checks_s3(
    both: tuple[LakeLayout, Lake], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = ExportRequest(
        window=build_window(QUARTER[0].isoformat(), QUARTER[1].isoformat(), None, NOW),
        format="compliance-all",
    )
    settings = redaction_config()  # one pseudonym key for both, as a deployment has
    local, s3 = (
        run_export(
            request,
            lake,
            tmp_path / kind,
            export_id="exp_quarter001",
            now=lambda: NOW,
            redaction=settings,
        )
        for kind, lake in zip(("local", "s3"), both, strict=True)
    )
    assert local.sha256 == s3.sha256  # the report's PDF and every member alike
    assert len({p.day for p in s3.partitions if p.table == "decision_events"}) == 90

    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", both[1].describe())
    answer = runner.invoke(app, ["verify", s3.artifact])
    assert answer.exit_code == 0, answer.output
    assert "partition data versions compared" in answer.output

    tampered = date(2026, 2, 14)
    both[1].write_partition(
        "escalations",
        tampered,
        lambda path: path.write_bytes(
            both[0].partition_file("escalations", tampered).read_bytes() + b"\0"
        ),
    )
    answer = runner.invoke(app, ["verify", s3.artifact])
    assert answer.exit_code == 1
    assert "lake escalations 2026-02-14: data version changed" in answer.output


def test_kt_lake_status_counts_the_s3_lake(
    both: tuple[LakeLayout, Lake], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", both[1].describe())
    answer = runner.invoke(app, ["lake", "status", "--json"])
    assert answer.exit_code == 0, answer.output
    assert f'"lake": "{both[1].describe()}"' in answer.output
    events = duckdb.execute(
        f"SELECT count(*) FROM read_parquet('{both[0].root / 'decision_events' / '*' / '*.parquet'}')"
    ).fetchall()[0][0]
    assert f'"rows": {events}' in answer.output
    local = both[0]
    event_bytes = sum(
        p.stat().st_size for p in (local.root / "decision_events").glob("*/part-0.parquet")
    )
    assert f'"bytes": {event_bytes}' in answer.output


def test_retention_deletes_only_the_days_it_names(s3_lake: Lake) -> None:
    first = date(2026, 3, 1)
    demo_lake(s3_lake, first, 2, per_day=20)
    assert s3_lake.delete_partition("decision_events", first) == s3_lake.partition(
        "decision_events", first
    )
    assert s3_lake.delete_partition("decision_events", first) is None
    assert s3_lake.days("decision_events") == [first + timedelta(days=1)]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("s3://bucket/lake/../other", "'..' is not allowed"),
        ("../lake", "'..' is not allowed"),
        ("gs://bucket/lake", "the scheme 'gs' is not supported"),
        ("https://example.com/lake", "the scheme 'https' is not supported"),
        ("s3://", "names no bucket"),
        ("s3:///lake", "names no bucket"),
        ("s3://Not_A_Bucket/lake", "is not an S3 bucket name"),
        ("s3://bucket/lake?region=eu", "takes no query"),
    ],
)
def test_a_lake_url_that_cannot_be_used_is_one_line_naming_the_variable(
    url: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", url)
    with pytest.raises(ConfigurationError) as raised:
        lake_url()
    message = str(raised.value)
    assert message.startswith("KEEPTRUSTS_LAKE_URL") and named in message
    assert "\n" not in message and "use " in message


def test_credentials_in_a_lake_url_are_refused_without_being_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_LAKE_URL", "s3://AKIAEXAMPLE:s3cr3t-value@bucket/lake")
    with pytest.raises(ConfigurationError) as raised:
        lake_url()
    assert "s3cr3t-value" not in str(raised.value) and "AKIAEXAMPLE" not in str(raised.value)
    assert "AWS_ACCESS_KEY_ID" in str(raised.value)


def test_the_lake_stays_local_by_default(keeptrusts_home: Path, monkeypatch) -> None:
    monkeypatch.delenv("KEEPTRUSTS_LAKE_URL", raising=False)
    assert lake_url() == str(keeptrusts_home.resolve() / "lake")
