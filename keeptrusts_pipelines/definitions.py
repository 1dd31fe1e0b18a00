"""The code location: the domains of defs/domains/ merged, with the resources they share."""

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
from keeptrusts_pipelines.exports.formats import use_format_sources
from keeptrusts_pipelines.settings import Settings, evidence_root
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL


def build_resources(
    delivery: DeliveryResource | None = None, settings: Settings | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The resources, holding the settings read once here; runs pass them to the engine."""
    # Values that may carry credentials live only in these fixed resources: no run config
    # holds them and the UI shows none of them.
    settings = settings or Settings.from_environment()
    # Every process that runs exports builds these first: the registry learns its plug-ins here.
    use_format_sources(settings.format_sources())
    return {
        "source": EventSourceResource(
            url=settings.source_url or DEFAULT_SOURCE_URL,
            s3_endpoint_url=settings.aws_endpoint_url,
        ),
        "lake": LakeResource(
            root=settings.lake_url,
            max_reject_share=settings.quarantine_max_share,
            retention_hours=settings.event_retention_hours,
            legal_holds_file=str(settings.legal_holds_file),
            legal_hold=settings.legal_hold,
        ),
        "exports": ExportsResource.from_settings(
            settings, destination_file=str(destination_path(settings.home))
        ),
        "custody": CustodyResource(
            url=settings.custody_url,
            home=str(settings.home),
            signing_key=str(settings.signing_key) if settings.signing_key else None,
        ),
        "evidence": EvidenceResource(
            root=str(evidence_root(settings.home)),
            signing_key=str(settings.signing_key) if settings.signing_key else None,
        ),
        "delivery": delivery or delivery_resource(settings),
        "webhook": WebhookResource(url=settings.webhook_url, secret=settings.webhook_secret),
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


def delivery_resource(settings: Settings | None = None) -> DeliveryResource:
    """The evidence target of KEEPTRUSTS_EVIDENCE_S3_URL (s3://bucket/prefix?region=…), if any."""
    settings = settings or Settings.from_environment()
    if settings.evidence_s3_url is None:
        return DeliveryResource()
    return DeliveryResource.for_url(settings.evidence_s3_url, settings.s3_access())


def build_definitions() -> dg.Definitions:
    """Everything in the code location; plain, so tests and `kt` can build it as often as needed."""
    # The domains load here, not with this module: a run of export_job alone needs only the
    # resources above (3 s less for `kt export create --wait`).
    from keeptrusts_pipelines.defs.domains.custody import custody_definitions
    from keeptrusts_pipelines.defs.domains.evidence import evidence_definitions
    from keeptrusts_pipelines.defs.domains.exports import exports_definitions
    from keeptrusts_pipelines.defs.domains.lake import lake_definitions

    settings = Settings.from_environment()
    delivery = delivery_resource(settings)
    return dg.Definitions.merge(
        lake_definitions(),
        exports_definitions(),
        evidence_definitions(delivered=delivery.url is not None),
        custody_definitions(),
        dg.Definitions(resources=fixed_for_every_run(build_resources(delivery, settings))),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
