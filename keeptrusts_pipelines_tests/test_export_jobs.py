"""Exports as Dagster runs: export_job, its lifecycle, the custody ledger, inbox and webhook."""

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import time_machine
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.schedules import export_expiry_schedule
from keeptrusts_pipelines.defs.sensors import (
    export_inbox_sensor,
)
from keeptrusts_pipelines.delivery.webhook import notify, signature
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, ExportRun
from keeptrusts_pipelines.service.jobs import RUN_STATUSES, export_view
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.webhooks import Receiver, notify_run, running_receiver

FIRST = date(2026, 3, 1)
runner = CliRunner()


@pytest.fixture
def home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", FIRST, 3)
    return keeptrusts_home


def config(**fields) -> dict:
    request = {"window_from": "2026-03-01", "window_to": "2026-03-03", **fields}
    return {"ops": {"export_artifact": {"config": request}}}


def run_export_job(export_id: str, **fields) -> dg.ExecuteInProcessResult:
    job = build_definitions().resolve_job_def("export_job")
    return job.execute_in_process(
        run_config=config(**fields),
        instance=local_instance(),
        tags={EXPORT_ID_TAG: export_id},
        raise_on_error=False,
    )


def output_metadata(result: dg.ExecuteInProcessResult) -> dict:
    outputs = [event for event in result.all_events if event.is_successful_output]
    return {k: v.value for k, v in outputs[0].event_specific_data.metadata.items()}


def lake_count(home: Path, where: str = "true") -> int:
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    return duckdb.sql(f"select count(*) from read_parquet('{files}') where {where}").fetchall()[0][
        0
    ]


def test_export_job_writes_the_artifact_and_records_it(home: Path) -> None:
    result = run_export_job("exp_job000001", format="jsonl", team=["legal"])
    assert result.success
    metadata = output_metadata(result)
    assert metadata["records"] == lake_count(home, "team = 'legal'")
    artifact = Path(metadata["artifact"])
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == metadata["sha256"]
    assert artifact.parent == home / "exports" / "exp_job000001" / "artifact"
    tags = local_instance().get_run_by_id(result.run_id).tags
    assert tags["keeptrusts/format"] == "jsonl" and tags["keeptrusts/filter.team"] == "legal"
    # Ends included, as `--from`/`--to` take them.
    assert (tags["keeptrusts/window_from"], tags["keeptrusts/window_to"]) == (
        "2026-03-01",
        "2026-03-03",
    )
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_job000001")]
    assert actions == ["created", "completed"]


def test_a_reexecuted_step_duplicates_neither_artifact_nor_ledger_entries(home: Path) -> None:
    first = run_export_job("exp_again00001", format="csv")
    second = run_export_job("exp_again00001", format="csv")  # as a retry of the same export
    assert first.success and second.success
    assert output_metadata(first)["sha256"] == output_metadata(second)["sha256"]
    folder = home / "exports" / "exp_again00001"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "artifact",
        "export.json",
    ]
    assert [p.name for p in (folder / "artifact").iterdir()] == ["kt_2026-03-01_to_2026-03-03.csv"]
    ledger = CustodyLedger(custody_url())
    assert [e.action for e in ledger.entries("exp_again00001")] == ["created", "completed"]
    assert ledger.verify().intact


def test_a_launchpad_run_without_an_export_id_gets_one(home: Path) -> None:
    job = build_definitions().resolve_job_def("export_job")
    result = job.execute_in_process(run_config=config(), instance=local_instance())
    run = local_instance().get_run_by_id(result.run_id)
    assert run.tags[EXPORT_ID_TAG] == f"exp_{result.run_id.replace('-', '')[:12]}"


def test_a_failed_request_fails_the_run_with_the_reason(home: Path) -> None:
    result = run_export_job("exp_fail000001", window_from="2026-02-01")
    assert not result.success
    view = export_view(
        "exp_fail000001",
        ExportRun(result.run_id, "FAILURE", {EXPORT_ID_TAG: "exp_fail000001"}, 0, 0, 0),
        home / "exports",
    )
    assert view["status"] == "failed"
    assert "the lake has no decision_events partition for 2026-02-01" in view["error"]
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_fail000001")]
    assert actions == ["created", "failed"]
    assert not list((home / "exports" / "exp_fail000001").glob("kt_*"))


@pytest.mark.parametrize(
    ("run_status", "status"),
    [
        ("QUEUED", "queued"),
        ("NOT_STARTED", "queued"),
        ("STARTED", "processing"),
        ("SUCCESS", "completed"),
        ("FAILURE", "failed"),
        ("CANCELED", "failed"),
    ],
)
def test_run_statuses_map_to_the_seeds_statuses(run_status: str, status: str) -> None:
    assert RUN_STATUSES[run_status] == status


def test_kt_follows_an_export_through_download_and_delete(home: Path, tmp_path: Path) -> None:
    created = runner.invoke(
        app,
        [
            *("export", "create", "--date-from", "2026-03-01", "--date-to", "2026-03-02"),
            *("--format", "csv", "--wait", "--json"),
        ],
    )
    assert created.exit_code == 0, created.output
    view = json.loads(created.output)
    export_id = view["export_id"]
    assert view["status"] == "completed"
    assert view["records"] == lake_count(home, "timestamp < '2026-03-03'")

    listed = json.loads(runner.invoke(app, ["export", "list", "--limit", "5", "--json"]).output)
    assert [v["export_id"] for v in listed] == [export_id]

    copy = tmp_path / "evidence.csv"
    downloaded = runner.invoke(
        app, ["export-jobs", "download", "--id", export_id, "--output", str(copy)]
    )
    assert downloaded.exit_code == 0, downloaded.output
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == view["sha256"]

    deleted = runner.invoke(app, ["export", "delete", "--id", export_id])
    assert deleted.exit_code == 0, deleted.output
    assert not Path(view["artifact"]).exists()
    status = json.loads(
        runner.invoke(app, ["export", "status", "--id", export_id, "--json"]).output
    )
    assert status["status"] == "deleted" and "kt export create" in status["message"]
    refused = runner.invoke(app, ["export", "download", "--id", export_id, "--output", str(copy)])
    assert refused.exit_code == 1 and "is deleted, not completed" in refused.output

    ledger = CustodyLedger(custody_url())
    actions = [e.action for e in ledger.entries(export_id)]
    assert actions == ["created", "completed", "downloaded", "deleted"]
    assert runner.invoke(app, ["custody", "verify"]).exit_code == 0


def test_an_export_expires_after_its_ttl(home: Path) -> None:
    result = run_export_job("exp_ttl0000001", format="json")
    artifact = Path(output_metadata(result)["artifact"])
    week_later = datetime.now(UTC) + timedelta(days=7, hours=1)
    with time_machine.travel(week_later, tick=False):
        tick = export_expiry_schedule(
            dg.build_schedule_context(scheduled_execution_time=week_later)
        )
        assert tick.run_key == f"expiry-{week_later:%Y-%m-%dT%H}"
        expiry = build_definitions().resolve_job_def("export_expiry_job")
        assert expiry.execute_in_process(instance=local_instance()).success
        view = json.loads(
            runner.invoke(app, ["export", "status", "--id", "exp_ttl0000001", "--json"]).output
        )
    assert not artifact.exists()
    assert view["status"] == "expired" and view["artifact"] is None
    assert "re-create it with: kt export create --type events --format json" in view["message"]
    assert "--from 2026-03-01T00:00:00Z --to 2026-03-03" in view["message"]
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_ttl0000001")]
    assert actions == ["created", "completed", "expired"]


def test_the_inbox_turns_each_request_file_into_one_run(home: Path) -> None:
    inbox = home / "requests"
    inbox.mkdir(parents=True)
    (inbox / "may.json").write_text(
        json.dumps({"request_id": "req-may", "format": "jsonl", "from": "2026-03-01"} | {
            "to": "2026-03-02", "filters": {"action": ["block"]}})
    )  # fmt: skip
    (inbox / "bad.json").write_text(json.dumps({"from": "2026-03-02", "to": "2026-03-01"}))
    instance = local_instance()
    context = dg.build_sensor_context(instance=instance, sensor_name="export_inbox_sensor")
    requests = export_inbox_sensor(context).run_requests
    assert [r.run_key for r in requests] == ["req-may"]
    assert requests[0].run_config["ops"]["export_artifact"]["config"]["action"] == ["block"]
    assert (inbox / "rejected" / "bad.json").exists()
    error = (inbox / "rejected" / "bad.json.error.txt").read_text()
    assert error.startswith("from: 2026-03-02 is after --to 2026-03-01")

    job = build_definitions().resolve_job_def("export_job")
    job.execute_in_process(
        run_config=requests[0].run_config,
        instance=instance,
        tags={
            **requests[0].tags,
            "dagster/run_key": "req-may",
            "dagster/sensor_name": "export_inbox_sensor",
        },
    )
    again = export_inbox_sensor(context).run_requests
    assert again == [] and (inbox / "accepted" / "may.json").exists()


@pytest.fixture
def receiver() -> Iterator[str]:
    with running_receiver() as url:
        yield url


def verified(headers: dict, body: bytes, secret: str) -> bool:
    expected = signature(secret, headers["X-Keeptrusts-Timestamp"], body)
    return hmac.compare_digest(expected, headers["X-Keeptrusts-Signature"])


def test_the_webhook_is_retried_until_the_receiver_accepts(receiver: str) -> None:
    Receiver.failures = 2
    waits: list[float] = []
    delivery = notify(receiver, "s3cret", {"event": "export.completed"}, sleep=waits.append)
    assert delivery.delivered and delivery.attempts == 3 and waits == [0.5, 1.0]
    headers, body = Receiver.bodies[0]
    assert verified(headers, body, "s3cret") and not verified(headers, body, "other")


def test_a_receiver_that_stays_down_loses_no_export(receiver: str) -> None:
    Receiver.failures = 10
    delivery = notify(receiver, "s3cret", {"event": "export.failed"}, sleep=lambda s: None)
    assert not delivery.delivered and delivery.attempts == 4 and delivery.error == "HTTP 503"


def test_completions_and_failures_are_posted_signed(home: Path, receiver: str) -> None:
    done = run_export_job("exp_hook000001", format="csv")
    notify_run(done, receiver)
    failed = run_export_job("exp_hook000002", window_from="2026-01-01")
    notify_run(failed, receiver)

    posted = [json.loads(body) for _, body in Receiver.bodies]
    assert [p["event"] for p in posted] == ["export.completed", "export.failed"]
    assert posted[0]["records"] == output_metadata(done)["records"]
    assert posted[0]["sha256"] == output_metadata(done)["sha256"]
    assert "the lake has no decision_events partition" in posted[1]["error"]
    assert all(verified(headers, body, "s3cret") for headers, body in Receiver.bodies)
    # The failure was recorded once, by the op, though the sensor saw it too.
    actions = [e.action for e in CustodyLedger(custody_url()).entries("exp_hook000002")]
    assert actions == ["created", "failed"]


def test_an_s3_inbox_works_like_the_folder(
    home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.create_bucket(Bucket="requests")
    request = {"format": "csv", "from": "2026-03-01", "to": "2026-03-01"}
    s3_client.put_object(Bucket="requests", Key="in/q1.json", Body=json.dumps(request).encode())
    s3_client.put_object(Bucket="requests", Key="in/broken.json", Body=b"{not json")
    monkeypatch.setenv("KEEPTRUSTS_REQUESTS_S3_URL", "s3://requests/in")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    context = dg.build_sensor_context(instance=local_instance(), sensor_name="export_inbox_sensor")
    requests = export_inbox_sensor(context).run_requests
    assert [r.run_key for r in requests] == ["q1"]
    assert requests[0].tags["keeptrusts/actor"] == "inbox:s3://requests/in"
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket="requests")["Contents"]}
    assert keys == {"in/q1.json", "in/rejected/broken.json", "in/rejected/broken.json.error.txt"}
    note = s3_client.get_object(Bucket="requests", Key="in/rejected/broken.json.error.txt")
    assert note["Body"].read().decode().startswith("file: not JSON")


def test_kt_delivers_an_ad_hoc_export_to_s3(
    home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    s3_client.create_bucket(Bucket="compliance-artifacts")
    created = runner.invoke(
        app,
        [
            *("export", "create", "--from", "2026-03-01", "--to", "2026-03-02"),
            *("--format", "json", "--s3-bucket", "compliance-artifacts"),
            *("--s3-prefix", "keeptrusts/2026/q1/", "--s3-region", "us-east-1", "--wait"),
        ],
    )
    assert created.exit_code == 0, created.output
    assert "Delivery: s3://compliance-artifacts/keeptrusts/2026/q1/" in created.output
    export_id = created.output.split("Job ID: ")[1].split()[0]
    key = f"keeptrusts/2026/q1/{export_id}/kt_2026-03-01_to_2026-03-02.json"
    assert f"Delivered: s3://compliance-artifacts/{key}" in created.output
    body = s3_client.get_object(Bucket="compliance-artifacts", Key=key)["Body"].read()
    view = json.loads(runner.invoke(app, ["export", "status", "--id", export_id, "--json"]).output)
    assert hashlib.sha256(body).hexdigest() == view["sha256"] == view["delivery"]["sha256"]
    actions = [e.action for e in CustodyLedger(custody_url()).entries(export_id)]
    assert actions == ["created", "completed", "delivered"]
