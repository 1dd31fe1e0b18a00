"""The code location: the domains of defs/domains/ merged, with the resources they share."""

import os
from urllib.parse import urlparse

import dagster as dg

from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    DeliveryResource,
    EventSourceResource,
    EvidenceResource,
    ExportsResource,
    LakeResource,
    WebhookResource,
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
    lake_url,
)
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL


def _secret(name: str, default: str | None = None) -> str | None:
    # Values that may carry credentials live only in the fixed resources below: no run config
    # holds them and the UI shows none of them.
    return os.environ.get(name) or default


def build_resources(delivery: DeliveryResource | None = None) -> dict[str, dg.ConfigurableResource]:
    return {
        "source": EventSourceResource(
            url=_secret("KEEPTRUSTS_SOURCE_URL", DEFAULT_SOURCE_URL),
            s3_endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        ),
        "lake": LakeResource(
            root=lake_url(),
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


def fixed_for_every_run(
    resources: dict[str, dg.ConfigurableResource],
) -> dict[str, dg.ResourceDefinition]:
    """The resources with an empty config schema: run config cannot point a run at another
    ledger, lake or bucket, which would let a Launchpad user export outside custody."""
    # The resources have no set-up or tear-down, so each is its own value: no throwaway
    # instance to initialise them (0.3 s of every `kt export create --wait`).
    fixed = {}
    for key, resource in resources.items():
        fixed[key] = dg.ResourceDefinition(
            resource_fn=lambda _, value=resource: value,
            config_schema={},
            description=f"{(type(resource).__doc__ or '').splitlines()[0]} Set by the code "
            "location's environment; not configurable per run.",
        )
    return fixed


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
    # The domains load here, not with this module: a run of export_job alone needs only the
    # resources above (3 s less for `kt export create --wait`).
    from keeptrusts_pipelines.defs.domains.custody import custody_definitions
    from keeptrusts_pipelines.defs.domains.evidence import evidence_definitions
    from keeptrusts_pipelines.defs.domains.exports import exports_definitions
    from keeptrusts_pipelines.defs.domains.lake import lake_definitions

    delivery = delivery_resource()
    return dg.Definitions.merge(
        lake_definitions(),
        exports_definitions(),
        evidence_definitions(delivered=delivery.bucket is not None),
        custody_definitions(),
        dg.Definitions(resources=fixed_for_every_run(build_resources(delivery))),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
