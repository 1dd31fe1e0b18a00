"""Resources: where events come from and where the lake is. Logic stays in the engine."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from keeptrusts_pipelines.lake.ingest import DEFAULT_MAX_REJECT_SHARE
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.sources.batch import EventSource
from keeptrusts_pipelines.sources.registry import open_source


class EventSourceResource(dg.ConfigurableResource):
    """The gateway's events, chosen by URL: demo://, file://, s3://, postgresql+psycopg://, sqlite://."""

    url: str = Field(description="Source URL; may hold a password, so set it through an EnvVar.")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, R2); AWS when unset."
    )

    def open(self) -> EventSource:
        return open_source(self.url, s3_endpoint_url=self.s3_endpoint_url)


class LakeResource(dg.ConfigurableResource):
    """The daily-partitioned Parquet lake under `KEEPTRUSTS_HOME/lake`."""

    root: str = Field(description="Folder holding one folder per table.")
    max_reject_share: float = Field(
        default=DEFAULT_MAX_REJECT_SHARE,
        ge=0.0,
        le=1.0,
        description="Share of a day's records that may be quarantined before its check fails.",
    )

    def layout(self) -> LakeLayout:
        return LakeLayout(Path(self.root))
