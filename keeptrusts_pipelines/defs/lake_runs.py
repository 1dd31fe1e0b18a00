"""Materialize lake days through Dagster, one run per day, so each is recorded and checked."""

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import cache

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import lake_assets

# The event log keeps every event; the terminal shows only warnings and errors.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class DayRun:
    day: date
    run_id: str
    success: bool
    failed_checks: list[str]


def missing_days(instance: dg.DagsterInstance, days: Iterable[date]) -> list[date]:
    """Days some lake asset has no recorded materialization for."""
    recorded = [instance.get_materialized_partitions(asset.key) for asset in lake_assets]
    return [day for day in days if any(day.isoformat() not in keys for keys in recorded)]


@cache
def _lake_job() -> dg.JobDefinition:
    from keeptrusts_pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("lake_job")


def run_lake_day(day: date, tags: dict[str, str] | None = None) -> DayRun:
    """One `lake_job` run for `day` on the instance of DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        result = _lake_job().execute_in_process(
            partition_key=day.isoformat(),
            instance=instance,
            raise_on_error=False,
            tags=tags,
            run_config=QUIET_CONSOLE,
        )
    failed = sorted(
        f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    )
    return DayRun(day=day, run_id=result.run_id, success=result.success, failed_checks=failed)


def materialize_days(
    days: Iterable[date],
    workers: int = 1,
    on_day: Callable[[DayRun], None] = lambda run: None,
    tags: dict[str, str] | None = None,
) -> list[DayRun]:
    """Run `lake_job` for each day; a failed day does not stop the others.

    Runs are independent (one partition each), so `workers` processes share them; every run
    is recorded in the same instance, as the daemon would record a backfill's runs.
    """
    days = list(days)
    if workers <= 1 or len(days) <= 1:
        outcomes = []
        for day in days:
            outcomes.append(run_lake_day(day, tags))
            on_day(outcomes[-1])
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_lake_day, day, tags) for day in days]
        outcomes = []
        for future in futures:
            outcomes.append(future.result())
            on_day(outcomes[-1])
    return sorted(outcomes, key=lambda run: run.day)
