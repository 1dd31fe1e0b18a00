"""The code location: lake assets, their checks, jobs, schedules and resources."""

import os

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.jobs import lake_job
from keeptrusts_pipelines.defs.resources import EventSourceResource, LakeResource
from keeptrusts_pipelines.defs.schedules import lake_daily_schedule
from keeptrusts_pipelines.settings import lake_root
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL


def _source_url() -> str | dg.EnvVar:
    # The URL may carry database credentials: read it at run time, never store it in config.
    if os.environ.get("KEEPTRUSTS_SOURCE_URL"):
        return dg.EnvVar("KEEPTRUSTS_SOURCE_URL")
    return DEFAULT_SOURCE_URL


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "source": EventSourceResource(
            url=_source_url(), s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None
        ),
        "lake": LakeResource(
            root=str(lake_root()),
            max_reject_share=float(os.environ.get("KEEPTRUSTS_QUARANTINE_MAX_SHARE", "0.01")),
        ),
    }


def build_definitions() -> dg.Definitions:
    """Everything in the code location; plain, so tests and `kt` can build it as often as needed."""
    return dg.Definitions(
        assets=lake_assets,
        jobs=[lake_job],
        schedules=[lake_daily_schedule],
        resources=build_resources(),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
