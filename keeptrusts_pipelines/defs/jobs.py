"""Jobs: what a run does."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import lake_assets

# Partitioned by the daily partitions of the assets it selects.
lake_job = dg.define_asset_job(
    name="lake_job",
    selection=dg.AssetSelection.assets(*lake_assets),
    description="Bring one UTC day of gateway records into the lake and check it.",
)
