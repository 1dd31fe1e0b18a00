"""The lake's daily partitions: decision events, escalations and config versions."""

import warnings
from datetime import date, timedelta

import dagster as dg
import pyarrow as pa

from keeptrusts_pipelines.defs.partitions import daily_partitions
from keeptrusts_pipelines.defs.resources import EventSourceResource, LakeResource
from keeptrusts_pipelines.lake.checks import check_names
from keeptrusts_pipelines.lake.ingest import ingest_day
from keeptrusts_pipelines.model.schema import TABLES, TableSpec

# Checks are partitioned as their assets are, so each day shows its own result; Dagster marks
# partitioned checks as a preview, and says so on every load.
warnings.filterwarnings(
    "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
)
OWNERS = ["team:data-platform"]

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


# What each check tests, and why an auditor cares.
CHECK_DESCRIPTIONS = {
    "schema_matches": "The day's Parquet file has exactly the canonical columns and types "
    "(model/schema.py): exports, reports and bundles read columns by name.",
    "unique": "No {id} appears twice in the day: a duplicate would be counted twice in every "
    "report and export.",
    "inside_partition": "Every {time} falls inside the partition's UTC day, so a window of days "
    "holds exactly the records of that window.",
    "required_fields_present": "No nulls in the fields the schema requires ({required}): a "
    "record without them cannot be attributed or filtered.",
    "quarantine_share_below_threshold": "Records set aside in quarantine stay below "
    "KEEPTRUSTS_QUARANTINE_MAX_SHARE of the day: more means the source is broken, not noisy.",
}


def check_description(spec: TableSpec, name: str) -> str:
    key = next(k for k in CHECK_DESCRIPTIONS if name == k or name.endswith(k))
    return CHECK_DESCRIPTIONS[key].format(
        id=spec.id_column, time=spec.time_column, required=", ".join(spec.required)
    )


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """The Arrow schema of a lake table as Dagster's column schema."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                field.name,
                str(field.type),
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


def _lake_asset(spec: TableSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        partitions_def=daily_partitions,
        group_name="lake",
        kinds={"parquet"},
        owners=OWNERS,
        tags={
            "domain": "lake",
            "personal_data": "false" if spec.name == "config_versions" else "true",
        },
        metadata={"dagster/column_schema": column_schema(spec.schema)},
        code_version=LAKE_CODE_VERSION,
        # lake_daily_schedule brings yesterday in at 00:30; by 02:00 it is late.
        freshness_policy=dg.FreshnessPolicy.cron(
            deadline_cron="0 2 * * *", lower_bound_delta=timedelta(hours=2)
        )
        if spec.name == "decision_events"
        else None,
        description=DESCRIPTIONS[spec.name],
        check_specs=[
            dg.AssetCheckSpec(
                name,
                asset=spec.name,
                description=check_description(spec, name),
                partitions_def=daily_partitions,
            )
            for name in check_names(spec)
        ],
    )
    def lake_partition(
        context: dg.AssetExecutionContext, source: EventSourceResource, lake: LakeResource
    ) -> dg.MaterializeResult:
        day = date.fromisoformat(context.partition_key)
        event_source = source.open()
        lake_store = lake.layout()
        report = ingest_day(event_source, lake_store, spec, day, lake.max_reject_share)
        partition = report.partition
        context.log.info(
            f"{spec.name} {day}: {partition.rows} rows, {report.quarantined} quarantined"
        )
        metadata: dict[str, object] = {
            "dagster/row_count": dg.MetadataValue.int(partition.rows),
            "bytes": dg.MetadataValue.int(partition.bytes),
            "dagster/size_bytes": dg.MetadataValue.int(partition.bytes),
            "sha256": dg.MetadataValue.text(partition.sha256),
            "path": dg.MetadataValue.path(str(partition.path)),
            "lake": dg.MetadataValue.text(lake_store.describe()),
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
