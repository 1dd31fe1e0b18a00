"""The code location: lake assets and checks, export jobs, schedules, sensors and resources."""

import os
import warnings
from urllib.parse import urlparse

import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_assets_for
from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.custody_checkpoints import (
    custody_checkpoint_job,
    custody_checkpoint_schedule,
)
from keeptrusts_pipelines.defs.export_monitor import export_worker_monitor_sensor
from keeptrusts_pipelines.defs.jobs import (
    evidence_jobs,
    export_expiry_job,
    export_job,
    lake_job,
    lake_retention_job,
)
from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    DeliveryResource,
    EventSourceResource,
    EvidenceResource,
    ExportsResource,
    LakeResource,
    WebhookResource,
)
from keeptrusts_pipelines.defs.schedules import (
    delivery_schedules,
    evidence_schedules,
    export_expiry_schedule,
    lake_daily_schedule,
    lake_retention_schedule,
)
from keeptrusts_pipelines.defs.sensors import (
    evidence_catch_up_sensor,
    export_completed_sensor,
    export_failed_sensor,
    export_inbox_sensor,
)
from keeptrusts_pipelines.delivery.destination import destination_path
from keeptrusts_pipelines.delivery.s3 import target_from_environment
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.settings import (
    custody_url,
    evidence_root,
    export_part_bytes,
    export_ttl_days,
    exports_root,
    keeptrusts_home,
    lake_root,
)
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL

# Code references (the UI's "open source" links) are a beta of Dagster's; it says so on every load.
warnings.filterwarnings(
    "ignore",
    message="(Class|Function) `(LocalFileCodeReference|CodeReferencesMetadataValue|"
    "with_source_code_references)`",
    category=dg.BetaWarning,
)


def _secret(name: str, default: str | None = None) -> str | dg.EnvVar | None:
    # Values that may carry credentials are read at run time, never stored in config.
    return dg.EnvVar(name) if os.environ.get(name) else default


def build_resources(delivery: DeliveryResource | None = None) -> dict[str, dg.ConfigurableResource]:
    return {
        "source": EventSourceResource(
            url=_secret("KEEPTRUSTS_SOURCE_URL", DEFAULT_SOURCE_URL),
            s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        ),
        "lake": LakeResource(
            root=str(lake_root()),
            max_reject_share=float(os.environ.get("KEEPTRUSTS_QUARANTINE_MAX_SHARE", "0.01")),
        ),
        "exports": ExportsResource(
            root=str(exports_root()),
            ttl_days=export_ttl_days(),
            part_bytes=export_part_bytes(),
            destination_file=str(destination_path(keeptrusts_home())),
        ),
        "custody": CustodyResource(url=_secret("KEEPTRUSTS_CUSTODY_URL", custody_url())),
        "evidence": EvidenceResource(root=str(evidence_root())),
        "delivery": delivery or delivery_resource(),
        "webhook": WebhookResource(
            url=_secret("KEEPTRUSTS_WEBHOOK_URL"), secret=_secret("KEEPTRUSTS_WEBHOOK_SECRET")
        ),
    }


def delivery_resource() -> DeliveryResource:
    """The evidence bucket of KEEPTRUSTS_EVIDENCE_S3_URL (s3://bucket/prefix), if any."""
    url = os.environ.get("KEEPTRUSTS_EVIDENCE_S3_URL")
    if not url:
        return DeliveryResource()
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ConfigurationError(f"KEEPTRUSTS_EVIDENCE_S3_URL={url!r}: use s3://bucket/prefix")
    return DeliveryResource.for_target(
        target_from_environment(parsed.netloc, parsed.path.strip("/"))
    )


def build_definitions() -> dg.Definitions:
    """Everything in the code location; plain, so tests and `kt` can build it as often as needed."""
    delivery = delivery_resource()
    assets = [*lake_assets, *evidence_assets_for(delivery.bucket is not None)]
    return dg.Definitions(
        assets=dg.with_source_code_references(assets),
        jobs=[
            lake_job,
            export_job,
            export_expiry_job,
            lake_retention_job,
            *evidence_jobs.values(),
            custody_checkpoint_job,
        ],
        schedules=[
            lake_daily_schedule,
            export_expiry_schedule,
            lake_retention_schedule,
            custody_checkpoint_schedule,
            *evidence_schedules,
            *delivery_schedules(),
        ],
        sensors=[
            export_inbox_sensor,
            export_completed_sensor,
            export_failed_sensor,
            evidence_catch_up_sensor,
            export_worker_monitor_sensor,
        ],
        resources=build_resources(delivery),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
