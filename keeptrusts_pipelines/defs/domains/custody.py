"""Custody: the daily signed checkpoint of the custody ledger's head."""

import dagster as dg

from keeptrusts_pipelines.defs.custody_checkpoints import (
    custody_checkpoint_job,
    custody_checkpoint_schedule,
)


def custody_definitions() -> dg.Definitions:
    return dg.Definitions(jobs=[custody_checkpoint_job], schedules=[custody_checkpoint_schedule])
