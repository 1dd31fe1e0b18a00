"""Jobs: what a run does."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.partitions import daily_partitions

lake_job = dg.define_asset_job(
    name="lake_job",
    selection=dg.AssetSelection.assets(*lake_assets),
    partitions_def=daily_partitions,
    description="Bring one UTC day of gateway records into the lake and check it.",
)
