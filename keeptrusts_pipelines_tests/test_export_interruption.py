"""A run killed mid-export leaves no visible artifact, and its retry matches an undisturbed run."""

import json
import signal
import subprocess
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.defs.export_runs import Submission
from keeptrusts_pipelines.defs.export_runs import start_worker as worker_for
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.lake.partition_writer import write_partition
from keeptrusts_pipelines.model.export_request import ExportRequest, Window
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.model.schema import DECISION_EVENTS_SPEC
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.doors import run_export

FIRST, DAYS, PER_DAY = date(2026, 2, 1), 6, 40_000
REQUEST = {"window_from": "2026-02-01", "window_to": "2026-02-06", "format": "csv"}


def large_lake(root: Path) -> LakeLayout:
    """Days large enough that an export takes seconds, so it can be killed halfway."""
    layout = LakeLayout(root)
    for offset in range(DAYS):
        day = FIRST + timedelta(days=offset)
        table = generate_day.__wrapped__(3, day, PER_DAY)["decision_events"]
        write_partition(
            layout, DECISION_EVENTS_SPEC, day, table.sort_by(DECISION_EVENTS_SPEC.sort_keys)
        )
    return layout


def start_worker(export_id: str) -> subprocess.Popen:
    local_instance()  # the instance's storage, created before its worker opens it
    submission = Submission(
        run_id=str(uuid.uuid4()),
        run_config={"ops": {"export_artifact": {"config": REQUEST}}},
        tags={EXPORT_ID_TAG: export_id},
        created=time.time(),
    )
    submission.save()
    return worker_for(submission.run_id)


def test_a_killed_run_leaves_no_artifact_and_its_retry_matches(keeptrusts_home: Path) -> None:
    layout = large_lake(keeptrusts_home / "lake")
    window = Window(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 7, tzinfo=UTC))
    undisturbed = run_export(
        ExportRequest(window=window, format="csv"), layout, keeptrusts_home / "undisturbed"
    )

    folder = keeptrusts_home / "exports" / "exp_killed0001"
    worker = start_worker("exp_killed0001")
    deadline = time.monotonic() + 120
    part = folder / ".staging" / "part-0001"
    while not (part.exists() and part.stat().st_size > 1_000_000):
        assert worker.poll() is None, "the export ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    visible = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    assert visible == []
    # kt sees the worker gone: the run is failed, its staging removed, its failure recorded.
    looked = CliRunner().invoke(app, ["export", "status", "--id", "exp_killed0001", "--json"])
    view = json.loads(looked.output)
    assert view["status"] == "failed" and "worker stopped" in view["error"]
    assert not (folder / ".staging").exists()
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_killed0001")]
    assert actions == ["created", "failed"]

    retry = start_worker("exp_killed0001")  # a retry carries the run's tags, export id included
    assert retry.wait(timeout=180) == 0
    visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert visible == ["artifact", "export.json"]
    artifacts = [p.name for p in (folder / "artifact").iterdir()]
    assert artifacts == ["kt_2026-02-01_to_2026-02-06.csv"]
    retried = folder / "artifact" / artifacts[0]
    assert retried.read_bytes() == Path(undisturbed.artifact).read_bytes()
