"""One day read through every kind of source gives byte-identical lake partitions."""

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources import seeding
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines.sources.registry import open_source

DAY = date(2026, 5, 4)
SEED, PER_DAY = 11, 3_000


def ingest_all(url: str, lake: Path, **options) -> dict[str, str]:
    source = open_source(url, **options)
    hashes = {}
    for name, spec in TABLES.items():
        report = ingest_day(source, LakeLayout(lake), spec, DAY)
        assert report.quarantined == 0, (url, name, report.reject_reasons)
        assert all(check.passed for check in report.checks), (url, name)
        hashes[name] = report.partition.sha256
    return hashes


@pytest.fixture(scope="module")
def demo_tables() -> dict:
    return generate_day(SEED, DAY, PER_DAY)


@pytest.fixture(scope="module")
def expected(demo_tables: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    lake = tmp_path_factory.mktemp("demo-lake")
    return ingest_all(f"demo://?seed={SEED}&events_per_day={PER_DAY}", lake)


def write_landing(root: Path, tables: dict, formats: tuple[str, ...]) -> None:
    """Each table split across files of the given formats, as a gateway ships them."""
    for table, rows in tables.items():
        size = -(-rows.num_rows // len(formats))
        for index, file_format in enumerate(formats):
            name, content = seeding.landing_file(
                table, DAY, rows.slice(index * size, size), file_format
            )
            path = root / name.replace(f".{file_format}", f"-{index}.{file_format}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


def test_demo_partitions_are_reproducible(expected: dict, tmp_path: Path) -> None:
    assert ingest_all(f"demo://?seed={SEED}&events_per_day={PER_DAY}", tmp_path) == expected


@pytest.mark.parametrize(
    "formats", [("jsonl",), ("jsonl.gz",), ("parquet",), ("jsonl", "parquet", "jsonl.gz")]
)
def test_file_landing_gives_the_same_partitions(
    formats: tuple[str, ...], demo_tables: dict, expected: dict, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    write_landing(landing, demo_tables, formats)
    assert ingest_all(landing.as_uri(), tmp_path / "lake") == expected


def test_s3_landing_gives_the_same_partitions(
    s3_client, s3_endpoint: str, demo_tables: dict, expected: dict, tmp_path: Path
) -> None:
    s3_client.create_bucket(Bucket="gateway-landing")
    write_landing(tmp_path / "landing", demo_tables, ("jsonl.gz", "parquet"))
    for path in (tmp_path / "landing").rglob("*.*"):
        key = "shipped/" + path.relative_to(tmp_path / "landing").as_posix()
        s3_client.put_object(Bucket="gateway-landing", Key=key, Body=path.read_bytes())
    hashes = ingest_all(
        "s3://gateway-landing/shipped", tmp_path / "lake", s3_endpoint_url=s3_endpoint
    )
    assert hashes == expected


def load_database(url: str, tables: dict) -> None:
    engine = sa.create_engine(url)
    seeding.create_gateway_schema(engine)
    for table, rows in tables.items():
        seeding.load_gateway_table(engine, table, rows)
    engine.dispose()


def test_sqlite_database_gives_the_same_partitions(
    demo_tables: dict, expected: dict, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    load_database(url, demo_tables)
    assert ingest_all(url, tmp_path / "lake") == expected


def test_postgresql_database_gives_the_same_partitions(
    postgres_url: str, demo_tables: dict, expected: dict, tmp_path: Path
) -> None:
    load_database(postgres_url, demo_tables)
    assert ingest_all(postgres_url, tmp_path / "lake") == expected
