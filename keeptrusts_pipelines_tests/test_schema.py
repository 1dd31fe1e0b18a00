"""The canonical schema is one definition: the gateway DDL and the conform SQL follow it."""

from datetime import date

import pyarrow as pa
import sqlalchemy as sa

from keeptrusts_pipelines.lake.conform import conform
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.batch import SourceBatch
from keeptrusts_pipelines.sources.seeding import create_gateway_schema


def test_gateway_ddl_has_exactly_the_canonical_columns() -> None:
    engine = sa.create_engine("sqlite://")
    create_gateway_schema(engine)
    inspector = sa.inspect(engine)
    for name, spec in TABLES.items():
        columns = [column["name"] for column in inspector.get_columns(name)]
        assert columns == spec.schema.names, name


def test_conform_of_nothing_yields_the_canonical_schema() -> None:
    for spec in TABLES.values():
        conformed = conform(spec, SourceBatch(raw=pa.table({})), date(2026, 5, 1))
        assert conformed.rows.schema.equals(spec.schema), spec.name
        assert conformed.rows.num_rows == 0
