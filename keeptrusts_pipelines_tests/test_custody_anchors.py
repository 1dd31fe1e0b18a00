"""The custody ledger against its anchors: checkpoints of its head and provenance statements.

A chain cannot see its own tail. Each attack here leaves a chain that still links up (or no
chain at all) and must still make `kt custody verify` fail, in one line per problem, naming
the anchor that records the missing head; never a traceback.
"""

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.checkpoints import (
    CheckpointError,
    checkpoints_root,
    write_checkpoint,
)
from keeptrusts_pipelines.custody.ledger import CustodyLedger, LedgerError, entries_table
from keeptrusts_pipelines.evidence.provenance import statement, write_provenance
from keeptrusts_pipelines.settings import custody_url
from keeptrusts_pipelines.settings import keeptrusts_home as configured_home

runner = CliRunner()


def fill(ledger: CustodyLedger, count: int, actor: str = "test") -> CustodyLedger:
    for number in range(count):
        ledger.append("created", f"exp_{number:03d}", actor=actor, run_id=f"run-{number}")
    return ledger


def kt(*arguments: str):
    answer = runner.invoke(app, list(arguments))
    assert "Traceback" not in answer.output
    assert answer.exception is None or isinstance(answer.exception, SystemExit), answer.exception
    return answer


def write_key(path: Path) -> Path:
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def anchored(keeptrusts_home: Path) -> tuple[CustodyLedger, Path, str]:
    """A default (SQLite) ledger of 12 entries with a checkpoint of its head, via `kt`."""
    ledger = fill(CustodyLedger(custody_url()), 12)
    _, head = ledger.head()
    written = kt("custody", "checkpoint")
    assert written.exit_code == 0, written.output
    path = checkpoints_root(configured_home()) / "checkpoint-00000012.json"
    assert str(path) in written.output and path.exists()
    return ledger, path, head


def missing_head(path: Path, head: str, end: str) -> str:
    return f"checkpoint {path} records sequence 12 (hash {head[:12]}…), the ledger {end}"


def test_an_anchored_ledger_verifies_and_counts_its_anchors(anchored) -> None:
    _, path, head = anchored
    document = json.loads(path.read_text())
    assert document["sequence"] == 12 and document["entry_hash"] == head
    assert document["ledger"] == custody_url() and document["recorded_at"].endswith("Z")
    answer = kt("custody", "verify")
    assert answer.exit_code == 0, answer.output
    assert "intact: 12 entries" in answer.output
    assert "1 anchor checked (newest: sequence 12)" in answer.output
    report = json.loads(kt("custody", "verify", "--json").output)
    assert report["intact"] is True and report["anchors_checked"] == 1
    assert report["newest_anchor"]["sequence"] == 12 and report["findings"] == []


def test_deleting_the_last_three_entries_names_the_checkpoint(anchored) -> None:
    ledger, path, head = anchored
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete().where(entries_table.c.sequence > 9))
    assert ledger.verify().intact  # the chain alone still links up
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert missing_head(path, head, "ends at 9") in answer.output
    report = json.loads(kt("custody", "verify", "--json").output)
    assert report["intact"] is False and report["entries"] == 9


def test_deleting_every_entry_names_the_checkpoint(anchored) -> None:
    ledger, path, head = anchored
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete())
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert missing_head(path, head, "is empty") in answer.output


def test_dropping_the_table_is_reported_and_not_repaired_by_verify(anchored) -> None:
    ledger, path, head = anchored
    entries_table.drop(ledger.engine)
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert (
        f"custody ledger at {custody_url()} cannot be read: it has no custody_ledger table"
        in answer.output
    )
    assert missing_head(path, head, "cannot be read") in answer.output
    assert not sa.inspect(ledger.engine).has_table("custody_ledger")


def test_a_dropped_table_recreated_empty_by_a_writer_is_still_caught(anchored) -> None:
    ledger, path, head = anchored
    entries_table.drop(ledger.engine)
    fill(CustodyLedger(custody_url()), 2)  # any writer re-creates the table, and appends
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert missing_head(path, head, "ends at 2") in answer.output


def test_deleting_the_database_file_names_the_newest_anchor(anchored) -> None:
    ledger, path, head = anchored
    ledger.close()
    database = Path(custody_url().removeprefix("sqlite:///"))
    database.unlink()
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert f"custody ledger at {custody_url()} cannot be read" in answer.output
    assert "does not exist" in answer.output
    assert missing_head(path, head, "cannot be read") in answer.output
    assert not database.exists()  # verify did not make a fresh, empty one


def test_a_missing_database_without_anchors_is_one_line(keeptrusts_home: Path) -> None:
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert answer.output.count("\n") == 1 and "does not exist" in answer.output


def test_garbage_in_the_database_file_is_one_line_not_a_traceback(anchored) -> None:
    ledger, path, head = anchored
    ledger.close()
    Path(custody_url().removeprefix("sqlite:///")).write_bytes(b"\x00garbage" * 4096)
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert (
        f"custody ledger at {custody_url()} cannot be read: file is not a database" in answer.output
    )
    assert missing_head(path, head, "cannot be read") in answer.output
    log = kt("custody", "log")
    assert log.exit_code == 1 and "file is not a database" in log.output
    assert log.output.count("\n") == 1
    with pytest.raises(LedgerError, match="file is not a database"):
        CustodyLedger(custody_url())  # writers get the same one line, as a KeeptrustsError


def test_an_edited_signed_checkpoint_fails_with_the_public_key(
    keeptrusts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write_key(tmp_path / "signing.pem")
    ledger = fill(CustodyLedger(custody_url()), 5)
    written = write_checkpoint(ledger, keeptrusts_home, signing_key=key)
    envelope = json.loads(written.path.read_text())
    assert envelope["payloadType"] == "application/vnd.keeptrusts.custody-checkpoint+json"
    assert kt("custody", "verify", "--public-key", str(key)).exit_code == 0
    unchecked = kt("custody", "verify")
    assert unchecked.exit_code == 0 and "signatures not checked" in unchecked.output

    document = json.loads(base64.b64decode(envelope["payload"]))
    document["recorded_at"] = "2020-01-01T00:00:00Z"  # the head is left as it was
    envelope["payload"] = base64.b64encode(json.dumps(document).encode()).decode()
    written.path.write_text(json.dumps(envelope))
    edited = kt("custody", "verify", "--public-key", str(key))
    assert edited.exit_code == 1
    assert f"checkpoint {written.path}: signature does not verify" in edited.output


def test_with_a_public_key_unsigned_and_other_key_checkpoints_fail(
    keeptrusts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write_key(tmp_path / "signing.pem")
    other = write_key(tmp_path / "other.pem")
    ledger = fill(CustodyLedger(custody_url()), 3)
    unsigned = write_checkpoint(ledger, keeptrusts_home)
    fill(ledger, 1)
    foreign = write_checkpoint(ledger, keeptrusts_home, signing_key=other)
    answer = kt("custody", "verify", "--public-key", str(key))
    assert answer.exit_code == 1
    assert f"checkpoint {unsigned.path} is not signed" in answer.output
    assert f"checkpoint {foreign.path}: signature does not verify" in answer.output
    assert kt("custody", "verify", "--public-key", str(other)).exit_code == 1  # the unsigned one
    bad_key = kt("custody", "verify", "--public-key", str(tmp_path / "nope.pem"))
    assert bad_key.exit_code == 2 and "--public-key" in bad_key.output


def test_a_checkpoint_from_another_ledger_is_named(keeptrusts_home: Path, tmp_path: Path) -> None:
    fill(CustodyLedger(custody_url()), 12)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = fill(CustodyLedger(other_url), 12, actor="elsewhere")
    planted = write_checkpoint(other, keeptrusts_home)  # into this home's checkpoints
    _, other_head = other.head()
    _, own_head = CustodyLedger(custody_url()).head()
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert (
        f"checkpoint {planted.path} records sequence 12 (hash {other_head[:12]}…), "
        f"the ledger has hash {own_head[:12]}… there (the checkpoint is of ledger {other_url})"
    ) in answer.output


def test_provenance_statements_are_anchors_too(keeptrusts_home: Path) -> None:
    ledger = fill(CustodyLedger(custody_url()), 6)
    sequence, head = ledger.head()
    artifact = keeptrusts_home / "exports" / "exp_000" / "artifact" / "events.csv"
    artifact.parent.mkdir(parents=True)
    artifact.write_text("id\n")
    predicate = {"custody_ledger_head": {"sequence": sequence, "hash": head}}
    provenance = write_provenance(artifact, statement(artifact.name, "0" * 64, predicate))
    broken = keeptrusts_home / "evidence" / "weekly-2026-03-02" / "bundle.tar.gz.provenance.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    answer = kt("custody", "verify")
    assert answer.exit_code == 0, answer.output
    assert "1 anchor checked (newest: sequence 6)" in answer.output
    assert f"note: provenance {broken} cannot be read" in answer.output  # a note, not a failure

    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete().where(entries_table.c.sequence > 4))
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert (
        f"provenance {provenance} records sequence 6 (hash {head[:12]}…), the ledger ends at 4"
        in answer.output
    )


def test_a_malformed_or_oversized_checkpoint_is_a_finding(anchored) -> None:
    _, path, _ = anchored
    planted = path.with_name("checkpoint-00000099.json")
    planted.write_text('{"sequence": "ninety-nine"}')
    huge = path.with_name("checkpoint-00000100.json")
    huge.write_bytes(b" " * (2 << 20))
    renamed = path.with_name("checkpoint-00000007.json")
    renamed.write_bytes(path.read_bytes())
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert f"checkpoint {planted} cannot be read as a checkpoint" in answer.output
    assert f"checkpoint {huge} cannot be read as a checkpoint: not a regular file" in answer.output
    assert f"checkpoint {renamed} records sequence 12 but is named" in answer.output


def test_a_checkpoint_never_replaces_a_different_one(anchored) -> None:
    ledger, path, _ = anchored
    before = path.read_bytes()
    assert (
        write_checkpoint(ledger, configured_home()).path == path and path.read_bytes() == before
    )  # same head
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete().where(entries_table.c.sequence > 9))
    fill(ledger, 3, actor="rewriter")  # 10, 11, 12 again, with other hashes
    with pytest.raises(CheckpointError, match="records sequence 12 with hash"):
        write_checkpoint(ledger, configured_home())
    refused = kt("custody", "checkpoint")
    assert refused.exit_code == 1 and "kt custody verify" in refused.output
    assert path.read_bytes() == before


def test_an_empty_ledger_writes_no_checkpoint(keeptrusts_home: Path) -> None:
    CustodyLedger(custody_url())
    answer = kt("custody", "checkpoint")
    assert answer.exit_code == 0 and "empty" in answer.output
    assert not checkpoints_root(configured_home()).exists() or not list(
        checkpoints_root(configured_home()).iterdir()
    )


def test_postgres_tail_deletion_is_caught_and_the_password_never_written(
    keeptrusts_home: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"anchors_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    monkeypatch.setenv("KEEPTRUSTS_CUSTODY_URL", url.render_as_string(hide_password=False))
    ledger = fill(CustodyLedger(url.render_as_string(hide_password=False)), 12)
    _, head = ledger.head()
    assert kt("custody", "checkpoint").exit_code == 0
    path = checkpoints_root(configured_home()) / "checkpoint-00000012.json"
    # The test role's password is also its name, so look for it where a URL would carry it.
    assert url.password and f":{url.password}@" not in path.read_text()
    assert json.loads(path.read_text())["ledger"] == url.render_as_string(hide_password=True)
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete().where(entries_table.c.sequence > 9))
    answer = kt("custody", "verify")
    assert answer.exit_code == 1
    assert missing_head(path, head, "ends at 9") in answer.output
    ledger.close()
    admin.dispose()


def test_custody_checkpoint_job_writes_a_checkpoint_daily(keeptrusts_home: Path) -> None:
    from keeptrusts_pipelines.definitions import build_definitions

    fill(CustodyLedger(custody_url()), 4)
    definitions = build_definitions()
    job = definitions.resolve_job_def("custody_checkpoint_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
    assert result.success
    assert (checkpoints_root(configured_home()) / "checkpoint-00000004.json").exists()
    schedule = definitions.resolve_schedule_def("custody_checkpoint_schedule")
    assert schedule.cron_schedule == "15 0 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = datetime(2026, 3, 9, 0, 15, tzinfo=UTC)
    request = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))
    assert [r.run_key for r in request.run_requests] == ["custody-checkpoint-2026-03-09"]


def test_a_delivery_puts_a_checkpoint_beside_the_bundle(
    keeptrusts_home: Path, s3_client, s3_endpoint: str
) -> None:
    from keeptrusts_pipelines.definitions import build_definitions
    from keeptrusts_pipelines.defs.assets.evidence import evidence_deliveries
    from keeptrusts_pipelines.defs.resources import DeliveryResource
    from keeptrusts_pipelines.exports.lifecycle import write_record
    from keeptrusts_pipelines.lake.files import sha256_of
    from keeptrusts_pipelines.model.records import ExportRecord

    s3_client.create_bucket(Bucket="anchors")
    fill(CustodyLedger(custody_url()), 3)
    archive = keeptrusts_home / "evidence" / "weekly-2026-03-02" / "artifact" / "bundle.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"a bundle")
    write_record(
        keeptrusts_home / "evidence",
        "weekly-2026-03-02",
        ExportRecord.from_json({"artifact": str(archive), "sha256": sha256_of(archive)}),
    )
    bucket = DeliveryResource(url="s3://anchors/kt", endpoint_url=s3_endpoint)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [evidence_deliveries["weekly"]],
            partition_key="2026-03-02",
            instance=instance,
            resources={**build_definitions().resources, "delivery": bucket},
        )
    assert result.success
    sequence, _ = CustodyLedger(custody_url()).head()
    assert sequence == 4  # the delivered entry is the head the checkpoint records
    local = checkpoints_root(configured_home()) / "checkpoint-00000004.json"
    key = "kt/weekly/2026-03-02/custody-checkpoint-00000004.json"
    stored = s3_client.get_object(Bucket="anchors", Key=key)["Body"].read()
    assert stored == local.read_bytes()
    assert kt("custody", "verify").exit_code == 0


def test_an_ad_hoc_export_delivery_writes_a_checkpoint(
    keeptrusts_home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keeptrusts_pipelines.definitions import build_definitions
    from keeptrusts_pipelines.defs.instance import local_instance
    from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
    from keeptrusts_pipelines_tests.lakes import demo_lake

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    s3_client.create_bucket(Bucket="adhoc")
    demo_lake(keeptrusts_home / "lake", datetime(2026, 3, 1).date(), 1)
    request = {"window_from": "2026-03-01", "window_to": "2026-03-01", "deliver_to": "s3://adhoc"}
    result = (
        build_definitions()
        .resolve_job_def("export_job")
        .execute_in_process(
            run_config={"ops": {"export_artifact": {"config": request}}},
            instance=local_instance(),
            tags={EXPORT_ID_TAG: "exp_anchor0001"},
        )
    )
    assert result.success
    ledger = CustodyLedger(custody_url())
    assert [e.action for e in ledger.entries("exp_anchor0001")][-1] == "delivered"
    sequence, head = ledger.head()
    document = json.loads(checkpoint_path_of(sequence).read_text())
    assert (document["sequence"], document["entry_hash"]) == (sequence, head)
    answer = kt("custody", "verify")
    assert answer.exit_code == 0, answer.output
    assert f"1 anchor checked (newest: sequence {sequence})" in answer.output


def checkpoint_path_of(sequence: int) -> Path:
    return checkpoints_root(configured_home()) / f"checkpoint-{sequence:08d}.json"


def test_a_checkpoint_another_process_writes_meanwhile_is_never_replaced(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes checkpoint the same head at once: the second finds the file missing, then
    the first writes it; the second must keep the first's bytes (they may be delivered)."""
    from contextlib import contextmanager

    from keeptrusts_pipelines.custody import checkpoints

    ledger = fill(CustodyLedger(custody_url()), 3)
    original = checkpoints.created_once

    @contextmanager
    def first_writes_meanwhile(final: Path):
        monkeypatch.setattr(checkpoints, "created_once", original)
        write_checkpoint(ledger, configured_home(), now=datetime(2026, 1, 1, tzinfo=UTC))
        before = final.read_bytes()
        try:
            with original(final) as temporary:
                yield temporary
        finally:
            assert final.read_bytes() == before

    monkeypatch.setattr(checkpoints, "created_once", first_writes_meanwhile)
    second = write_checkpoint(ledger, configured_home(), now=datetime(2026, 6, 1, tzinfo=UTC))
    assert second.recorded_at == "2026-01-01T00:00:00Z"
    assert json.loads(second.path.read_text())["recorded_at"] == "2026-01-01T00:00:00Z"
    assert [p.name for p in second.path.parent.iterdir()] == [second.path.name]  # no temporary
