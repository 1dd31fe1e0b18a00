"""The daily checkpoint of the custody ledger's head, so a truncated ledger is found out.

Deliveries write checkpoints too; this one anchors the head on days without a delivery.
Where an evidence bucket is set, the checkpoint goes there as well (create-once, Object Lock
when configured), out of reach of whoever can edit the ledger's database.
"""

import dagster as dg

from keeptrusts_pipelines.defs.resources import CustodyResource, DeliveryResource
from keeptrusts_pipelines.model.export_runs import KIND_TAG

# Under the bucket's prefix, beside the period folders of evidence.
CHECKPOINT_FOLDER = "custody"


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Record the custody ledger's head (sequence, entry hash, time) in a checkpoint "
    "file under KEEPTRUSTS_HOME, signed with KEEPTRUSTS_SIGNING_KEY when set, and deliver it to "
    "the evidence bucket when one is set.",
)
def custody_checkpoint(
    context: dg.OpExecutionContext, custody: CustodyResource, delivery: DeliveryResource
) -> None:
    written = custody.checkpoint(custody.ledger())
    if written is None:
        context.log.info("the custody ledger is empty: there is no head to anchor yet")
        context.add_output_metadata({"sequence": dg.MetadataValue.int(0)})
        return
    target = delivery.target()
    delivered = (
        target.deliver(written.path, f"{CHECKPOINT_FOLDER}/{written.path.name}")
        if target is not None
        else None
    )
    context.log.info(f"checkpoint of sequence {written.sequence}: {written.path}")
    context.add_output_metadata(
        {
            "sequence": dg.MetadataValue.int(written.sequence),
            "entry_hash": dg.MetadataValue.text(written.entry_hash),
            "path": dg.MetadataValue.path(str(written.path)),
            "uri": dg.MetadataValue.text(delivered.uri if delivered else ""),
        }
    )


@dg.job(
    description="Anchor the custody ledger: write (and deliver) a checkpoint of its head.",
    tags={KIND_TAG: "maintenance"},
)
def custody_checkpoint_job() -> None:
    custody_checkpoint()


@dg.schedule(
    cron_schedule="15 0 * * *",
    execution_timezone="UTC",
    job=custody_checkpoint_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 00:15 UTC: a checkpoint of the custody ledger's head.",
)
def custody_checkpoint_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"custody-checkpoint-{context.scheduled_execution_time:%Y-%m-%d}")
