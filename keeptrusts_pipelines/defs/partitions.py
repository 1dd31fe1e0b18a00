"""Partitions, defined once: the lake is daily from its first day; evidence is weekly (Monday to
Sunday), monthly and quarterly from the first whole period; all in UTC, closed periods only."""

from datetime import date, timedelta

import dagster as dg

from keeptrusts_pipelines.settings import lake_start_date

# KEEPTRUSTS_LAKE_START_DATE, or what `kt demo` recorded in KEEPTRUSTS_HOME/settings.json: the
# webserver, the daemon and `kt` may run in different shells but share KEEPTRUSTS_HOME.
LAKE_START = lake_start_date()
LAKE_START_DATE = LAKE_START.isoformat()


def first_whole_week(start: date) -> date:
    return start + timedelta(days=-start.weekday() % 7)


def first_whole_month(start: date) -> date:
    if start.day == 1:
        return start
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def first_whole_quarter(start: date) -> date:
    month = first_whole_month(start)
    while (month.month - 1) % 3:
        month = first_whole_month(month + timedelta(days=1))
    return month


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=LAKE_START_DATE, timezone="UTC", end_offset=0
)
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=first_whole_week(LAKE_START).isoformat(),
    day_offset=1,
    timezone="UTC",
    end_offset=0,
)
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=first_whole_month(LAKE_START).isoformat(), timezone="UTC", end_offset=0
)
quarterly_partitions = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 */3 *",
    start=first_whole_quarter(LAKE_START).isoformat(),
    fmt="%Y-%m-%d",
    timezone="UTC",
    end_offset=0,
)
EVIDENCE_PARTITIONS = {
    "weekly": weekly_partitions,
    "monthly": monthly_partitions,
    "quarterly": quarterly_partitions,
}
