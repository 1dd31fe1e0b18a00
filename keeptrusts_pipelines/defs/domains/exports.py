"""Exports: the export job, its request inbox, notifications, run monitor, expiry and the
scheduled deliveries of deliveries.yaml."""

import dagster as dg

from keeptrusts_pipelines.defs.export_monitor import export_worker_monitor_sensor
from keeptrusts_pipelines.defs.jobs import export_expiry_job, export_job
from keeptrusts_pipelines.defs.schedules import delivery_schedules, export_expiry_schedule
from keeptrusts_pipelines.defs.sensors import (
    export_completed_sensor,
    export_failed_sensor,
    export_inbox_sensor,
)


def exports_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[export_job, export_expiry_job],
        schedules=[export_expiry_schedule, *delivery_schedules()],
        sensors=[
            export_inbox_sensor,
            export_completed_sensor,
            export_failed_sensor,
            export_worker_monitor_sensor,
        ],
    )
