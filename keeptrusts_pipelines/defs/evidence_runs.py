"""Materialize a period's evidence through Dagster from `kt`, recorded like a scheduled run."""

from dataclasses import dataclass
from functools import cache

import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles
from keeptrusts_pipelines.defs.lake_runs import QUIET_CONSOLE


@dataclass(frozen=True)
class PeriodRun:
    run_id: str
    success: bool
    bundle: str | None
    sha256: str | None
    error: str | None = None


@cache
def _job(period: str) -> dg.JobDefinition:
    from keeptrusts_pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def(f"{period}_evidence_job")


def materialize_period(period: str, key: str, tags: dict[str, str] | None = None) -> PeriodRun:
    """One `<period>_evidence_job` run for partition `key` on the instance of DAGSTER_HOME."""
    with dg.DagsterInstance.get() as instance:
        result = _job(period).execute_in_process(
            partition_key=key,
            instance=instance,
            raise_on_error=False,
            tags=tags,
            run_config=QUIET_CONSOLE,
        )
    bundle_key = evidence_bundles[period].key
    for event in result.get_asset_materialization_events():
        if event.asset_key == bundle_key:
            metadata = event.materialization.metadata
            return PeriodRun(
                result.run_id, result.success, metadata["path"].value, metadata["sha256"].value
            )
    failures = [event.event_specific_data.error for event in result.get_step_failure_events()]
    error = failures[0].message.strip() if failures and failures[0] else "the run failed"
    return PeriodRun(result.run_id, result.success, None, None, error)
