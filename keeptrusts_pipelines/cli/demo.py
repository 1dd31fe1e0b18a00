"""`kt demo`: the demo lake, synthetic gateway traffic ending yesterday, built through Dagster."""

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from keeptrusts_pipelines.cli.export import submit, wait_for
from keeptrusts_pipelines.cli.lake import ingest_days, parse_day, yesterday
from keeptrusts_pipelines.cli.output import console, fail, say
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.model.export_request import ExportRequest, build_window
from keeptrusts_pipelines.settings import (
    lake_start_date,
    lake_url,
    save_lake_start_date,
    settings_path,
)
from keeptrusts_pipelines.sources.registry import DEFAULT_SOURCE_URL

# At least this many days, and always the whole of the last full quarter.
DEMO_DAYS = 120


def now() -> datetime:
    return datetime.now(UTC)


def demo(
    days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Days of demo traffic; default 120 or back to the last full quarter."
        ),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD, UTC); default yesterday.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Runs at a time.")] = min(
        4, os.cpu_count() or 1
    ),
    rebuild: Annotated[bool, typer.Option(help="Re-materialize days already recorded.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object for machines.")] = False,
) -> None:
    """Build the demo lake: DAYS days of synthetic gateway traffic ending yesterday."""
    configured = os.environ.get("KEEPTRUSTS_SOURCE_URL")
    if configured and not configured.startswith("demo://"):
        fail(
            "KEEPTRUSTS_SOURCE_URL points at a real source; kt demo only uses the demo "
            "generator. Unset it, or use `kt lake ingest --from … --to …`",
            code=2,
        )
    os.environ.setdefault("KEEPTRUSTS_SOURCE_URL", DEFAULT_SOURCE_URL)
    last = parse_day(end, "--end") if end else yesterday()
    if days is None:
        days = max(DEMO_DAYS, (last - last_full_quarter(last)[0]).days + 1)
    record_lake_start(last - timedelta(days=days - 1))
    ingest_days(
        [last - timedelta(days=offset) for offset in reversed(range(days))],
        rebuild,
        workers,
        as_json,
        trigger="kt demo",
    )
    if not as_json:
        sample_export(last - timedelta(days=days - 1), last)
        quarterly_evidence(last - timedelta(days=days - 1), last)
        console.print(
            "Next: `make ui` (or `kt ui`), then Assets → decision_events → Partitions "
            "to see each day, its checks and its data version."
        )


def record_lake_start(first: date) -> None:
    """Make the demo's first day the lake's first partition, for the UI and daemon too."""
    if os.environ.get("KEEPTRUSTS_LAKE_START_DATE"):
        return  # set by the deployment; kt lake ingest refuses days before it
    path = settings_path()
    recorded = json.loads(path.read_text()).get("lake_start_date") if path.exists() else None
    # An earlier first day stays: the lake may hold days from an earlier, longer demo.
    if recorded is None or first < lake_start_date():
        save_lake_start_date(first)


def last_full_quarter(last: date) -> tuple[date, date]:
    """The first and last day of the last calendar quarter that ends on or before `last`."""
    after = last + timedelta(days=1)
    current = date(after.year, (after.month - 1) // 3 * 3 + 1, 1)
    end = current - timedelta(days=1)
    return date(end.year, (end.month - 1) // 3 * 3 + 1, 1), end


def quarterly_evidence(first: date, last: date) -> None:
    """Build the last full quarter's evidence bundle through Dagster, verify it, say where."""
    from keeptrusts_pipelines.defs.evidence_runs import materialize_period
    from keeptrusts_pipelines.evidence.verify import verify

    start, end = last_full_quarter(last)
    if start < first:
        return  # the lake holds no full quarter
    label = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    with console.status(f"Building the {label} evidence bundle (quarterly_evidence_bundle)…"):
        run = materialize_period(
            "quarterly", start.isoformat(), tags={"keeptrusts/trigger": "kt demo"}
        )
    if not run.success or run.bundle is None:
        fail(f"the {label} evidence bundle failed (run {run.run_id}): {run.error}")
    checked = verify(Path(run.bundle), None, open_lake(lake_url()))
    if not checked.ok:
        fail(f"kt verify {run.bundle}: " + "; ".join(str(f) for f in checked.findings))
    say(f"✓ Evidence bundle of {label} ({start} → {end}), built by quarterly_evidence_bundle")
    say(f"  {run.bundle}")
    say(f"  ✓ kt verify: OK ({'; '.join(checked.checked)})")


def sample_export(first: date, last: date) -> None:
    """Export the last full calendar month in [first, last] as redacted CSV, and say where."""
    month_end = last if (last + timedelta(days=1)).day == 1 else last.replace(day=1) - timedelta(1)
    month_start = month_end.replace(day=1)
    if month_start < first:
        return  # the lake holds no full month yet
    window = build_window(month_start.isoformat(), month_end.isoformat(), None, now())
    try:
        export_id = submit(ExportRequest(window=window, format="csv"))
        view = wait_for(export_id)
    except (KeeptrustsError, OSError) as error:
        fail(f"the sample export could not run: {error}")
    if view["status"] != "completed":
        fail(f"the sample export {export_id} {view['status']}: {view.get('error')}")
    say(
        f"✓ Sample evidence: {view['records']:,} events of {month_end:%B %Y}, redacted CSV "
        f"(export {export_id}, a run of export_job)"
    )
    say(f"  {view['artifact']}")
    say("  (more: kt export create --from … --to … --format csv|json|jsonl|parquet)")
