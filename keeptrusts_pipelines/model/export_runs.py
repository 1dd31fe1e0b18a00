"""How an export appears in the job history: the tags of its run, and the run as kt sees it.

Plain Python, so `kt` can speak of runs without importing Dagster.
"""

import hashlib
from dataclasses import dataclass

from keeptrusts_pipelines.model.export_request import ExportRequest, request_to_fields

EXPORT_ID_TAG = "keeptrusts/export_id"
ACTOR_TAG = "keeptrusts/actor"
REQUEST_ID_TAG = "keeptrusts/request_id"
# "false" on runs whose completion and failure are not to be posted to the webhook.
NOTIFY_TAG = "keeptrusts/notify"


@dataclass(frozen=True)
class ExportRun:
    """A run of export_job as both the local instance and the GraphQL API describe it."""

    run_id: str
    status: str  # Dagster's run status: QUEUED, NOT_STARTED, STARTED, SUCCESS, FAILURE, …
    tags: dict[str, str]
    created: float | None
    started: float | None
    ended: float | None

    @property
    def export_id(self) -> str:
        return self.tags.get(EXPORT_ID_TAG) or export_id_for_run(self.run_id)


def export_id_for_run(run_id: str) -> str:
    """The export id of a run launched without one (from the Launchpad)."""
    return f"exp_{run_id.replace('-', '')[:12]}"


def export_id_for_request(request_id: str) -> str:
    """The export id of an inbox request: the same request file always gives the same export."""
    return f"exp_{hashlib.sha256(request_id.encode()).hexdigest()[:12]}"


def request_tags(request: ExportRequest, export_id: str) -> dict[str, str]:
    """Tags the Runs page filters by. User ids stay out of them: only how many were asked for."""
    tags = {
        EXPORT_ID_TAG: export_id,
        "keeptrusts/type": request.export_type,
        "keeptrusts/format": request.format,
        "keeptrusts/window_from": request.window.as_dict()["from"],
        "keeptrusts/window_to": request.window.as_dict()["to"],
        "keeptrusts/content": "raw" if request.raw_content else "redacted",
    }
    for name, values in request.filters.active().items():
        if name == "user":
            tags["keeptrusts/filter.user"] = f"{len(values)} user(s)"
        else:
            tags[f"keeptrusts/filter.{name}"] = (
                ",".join(values) if isinstance(values, list) else str(values)
            )
    return tags


def export_run_config(
    request: ExportRequest,
    delivery: dict[str, object] | None = None,
    request_sha256: str | None = None,
) -> dict:
    """export_job's run config for a request, its window resolved (the op's config fields);
    `delivery` holds s3_bucket, s3_prefix and s3_region when it goes to a bucket.

    With `request_sha256` (the request is kept in the export's folder) user ids stay out of
    the run config, which Dagster keeps in its run storage: the run reads them from that copy.
    """
    fields = request_to_fields(request)
    if request_sha256 is not None:
        fields["filters"].pop("user", None)
    config = {
        "export_type": fields["type"],
        "format": fields["format"],
        "window_from": fields["from"],
        "window_to": fields["to"],
        "name": fields["name"],
        "title": fields["title"],
        "description": fields["description"],
        "raw_content": fields["raw_content"],
        **fields["filters"],
        **(delivery or {}),
    }
    if request_sha256 is not None:
        config["request_sha256"] = request_sha256
    return {"ops": {"export_artifact": {"config": config}}}
