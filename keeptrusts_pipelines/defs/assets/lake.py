"""The lake's daily partitions: decision events, escalations and config versions."""

from datetime import date

import dagster as dg

from keeptrusts_pipelines.defs.partitions import daily_partitions
from keeptrusts_pipelines.defs.resources import EventSourceResource, LakeResource
from keeptrusts_pipelines.lake.checks import check_names
from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.model.schema import TABLES, TableSpec

# Bump when a change to conforming or writing changes the bytes of a partition.
LAKE_CODE_VERSION = "1"

DESCRIPTIONS = {
    "decision_events": "Every request the gateway governed on a UTC day: one Parquet file, "
    "sorted by (timestamp, event_id). Bad records go to quarantine with their reason.",
    "escalations": "Escalations opened on a UTC day, with their lifecycle (status, assignee, "
    "resolution).",
    "config_versions": "Gateway configuration versions created on a UTC day, with the policies "
    "they enable and their sha256.",
}


def _lake_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        partitions_def=daily_partitions,
        group_name="lake",
        kinds={"parquet"},
        code_version=LAKE_CODE_VERSION,
        description=DESCRIPTIONS[spec.name],
        check_specs=[
            dg.AssetCheckSpec(name, asset=spec.name, description=name.replace("_", " "))
            for name in check_names(spec)
        ],
    )
    def lake_partition(
        context: dg.AssetExecutionContext, source: EventSourceResource, lake: LakeResource
    ) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        event_source = source.open()
        report = ingest_day(event_source, lake.layout(), spec, day, lake.max_reject_share)
        partition = report.partition
        context.log.info(
            f"{spec.name} {day}: {partition.rows} rows, {report.quarantined} quarantined"
        )
        metadata: dict[str, object] = {
            "dagster/row_count": dg.MetadataValue.int(partition.rows),
            "bytes": dg.MetadataValue.int(partition.bytes),
            "sha256": dg.MetadataValue.text(partition.sha256),
            "path": dg.MetadataValue.path(str(partition.path)),
            "source": dg.MetadataValue.text(event_source.describe()),
            "quarantined": dg.MetadataValue.int(report.quarantined),
            "reject_reasons": dg.MetadataValue.json(report.reject_reasons),
        }
        if report.quarantine_file:
            metadata["quarantine_file"] = dg.MetadataValue.path(str(report.quarantine_file))
        return dg.MaterializeResult(
            metadata=metadata,
            data_version=dg.DataVersion(partition.sha256),
            check_results=[
                dg.AssetCheckResult(
                    check_name=outcome.name,
                    passed=outcome.passed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description=outcome.description,
                    metadata={"partition": context.partition_key, **outcome.metadata},
                )
                for outcome in report.checks
            ],
        )

    return lake_partition


decision_events = _lake_asset(TABLES["decision_events"])
escalations = _lake_asset(TABLES["escalations"])
config_versions = _lake_asset(TABLES["config_versions"])
lake_assets = [decision_events, escalations, config_versions]
