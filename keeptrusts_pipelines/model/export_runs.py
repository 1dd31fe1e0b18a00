"""How an export appears in the job history: the tags of its run, and the run as kt sees it.

Plain Python, so `kt` can speak of runs without importing Dagster.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.model.export_request import (
    PLAIN,
    ExportRequest,
    build_window,
    request_to_fields,
)

# The Dagster pool every export holds a slot of while it writes (dagster.yaml bounds it).
EXPORTS_POOL = "exports"
EXPORT_ID_TAG = "keeptrusts/export_id"
ACTOR_TAG = "keeptrusts/actor"
REQUEST_ID_TAG = "keeptrusts/request_id"
# What launched a run of kt's own making (`kt demo`, `kt lake ingest`).
TRIGGER_TAG = "keeptrusts/trigger"
# What a job's runs make: export, evidence, lake, maintenance.
KIND_TAG = "keeptrusts/kind"
WINDOW_FROM_TAG = "keeptrusts/window_from"
# The window's last day (or last moment), included, as `--to` takes it.
WINDOW_TO_TAG = "keeptrusts/window_to"
# "false" on runs whose completion and failure are not to be posted to the webhook.
NOTIFY_TAG = "keeptrusts/notify"
# Dagster's own tag for who launched a run: the UI's Runs page shows it as the launcher.
DAGSTER_USER_TAG = "user"
BACKFILL_TAG = "dagster/backfill"
SCHEDULE_TAG = "dagster/schedule_name"
SENSOR_TAG = "dagster/sensor_name"


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
        **window_tags(request),
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


def window_tags(request: ExportRequest) -> dict[str, str]:
    """The window as `--from`/`--to` take it, ends included: dates for whole days."""
    start, end = request.window.as_dict()["from"], request.window.inclusive_end()
    whole_days = start.endswith("T00:00:00Z") and len(end) == 10
    return {WINDOW_FROM_TAG: start[:10] if whole_days else start, WINDOW_TO_TAG: end}


def window_of_tags(tags: Mapping[str, str]) -> dict[str, str | None]:
    """The half-open window (`Window.as_dict()`) a run's window tags name; None where untagged."""
    start, end = tags.get(WINDOW_FROM_TAG), tags.get(WINDOW_TO_TAG)
    if not start or not end:
        return {"from": start, "to": end}
    try:
        return build_window(start, end, None, datetime.now(UTC)).as_dict()
    except KeeptrustsError:  # a tag written by hand; shown as it is
        return {"from": start, "to": end}


def run_actor(tags: Mapping[str, str]) -> str:
    """Who a run acts for, as the ledger names actors: the door's actor (a token, `kt`, the
    inbox), else the backfill, schedule or sensor that launched it, else a Launchpad user."""
    if tags.get(ACTOR_TAG):
        return tags[ACTOR_TAG]
    if tags.get(BACKFILL_TAG):
        return f"dagster:backfill:{tags[BACKFILL_TAG]}"
    if tags.get(SCHEDULE_TAG):
        return f"dagster:schedule:{tags[SCHEDULE_TAG]}"
    if tags.get(SENSOR_TAG):
        return f"dagster:sensor:{tags[SENSOR_TAG]}"
    if tags.get(DAGSTER_USER_TAG):
        return f"dagster:user:{tags[DAGSTER_USER_TAG]}"
    if tags.get(TRIGGER_TAG):
        return tags[TRIGGER_TAG]
    return "dagster:launchpad" if tags.get("dagster/from_ui") == "true" else "dagster:run"


def launcher_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Dagster's `user` tag for a run a door launched in someone's name, so the UI shows who
    launched it; runs of a schedule or sensor are attributed to it by Dagster already."""
    actor = tags.get(ACTOR_TAG)
    if not actor or tags.get(SCHEDULE_TAG) or tags.get(SENSOR_TAG) or tags.get(DAGSTER_USER_TAG):
        return {}
    return {DAGSTER_USER_TAG: actor}


def export_run_config(
    request: ExportRequest,
    delivery: dict[str, object] | None = None,
    request_sha256: str | None = None,
) -> dict:
    """export_job's run config for a request, its window resolved (the op's config fields);
    `delivery` holds `deliver_to`, a target's URL, when it is delivered (`deliver: False`
    keeps it local; neither, the saved destination).

    With `request_sha256` (the request is kept in the export's folder) user ids stay out of
    the run config, which Dagster keeps in its run storage: the run reads them from that copy.
    """
    fields = request_to_fields(request)
    if request_sha256 is not None:
        fields["filters"].pop("user", None)
    config = {}
    for spelling in PLAIN:  # each field under the Launchpad's name of it
        held = fields.get(spelling.group, {}) if spelling.group else fields
        if spelling.key in held:
            config[spelling.field] = held[spelling.key]
    config.update(delivery or {})
    if request_sha256 is not None:
        config["request_sha256"] = request_sha256
    return {"ops": {"export_artifact": {"config": config}}}
