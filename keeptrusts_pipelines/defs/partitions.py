"""Partitions, defined once: the lake is daily; evidence is weekly (Monday to Sunday), monthly and
quarterly; all in UTC, closed periods only."""

import os
from datetime import date, timedelta

import dagster as dg

# The first day the lake can hold; set it to the start of the gateway's history.
LAKE_START_DATE = os.environ.get("KEEPTRUSTS_LAKE_START_DATE", "2025-01-01")
_start = date.fromisoformat(LAKE_START_DATE)

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=LAKE_START_DATE, timezone="UTC", end_offset=0
)
# Weeks run Monday to Sunday; the first is the first whole week of the lake.
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=(_start + timedelta(days=-_start.weekday() % 7)).isoformat(),
    day_offset=1,
    timezone="UTC",
    end_offset=0,
)
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=_start.replace(day=1).isoformat(), timezone="UTC", end_offset=0
)
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 */3 *",
    start=_start.replace(month=(_start.month - 1) // 3 * 3 + 1, day=1).isoformat(),
    fmt="%Y-%m-%d",
    timezone="UTC",
    end_offset=0,
)
EVIDENCE_PARTITIONS = {
    "weekly": weekly_partitions,
    "monthly": monthly_partitions,
    "quarterly": quarterly_partitions,
}
