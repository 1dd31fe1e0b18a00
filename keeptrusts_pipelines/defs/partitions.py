"""Partitions, defined once: the lake is daily, in UTC, closed days only."""

import os

import dagster as dg

# The first day the lake can hold; set it to the start of the gateway's history.
LAKE_START_DATE = os.environ.get("KEEPTRUSTS_LAKE_START_DATE", "2025-01-01")

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=LAKE_START_DATE, timezone="UTC", end_offset=0
)
