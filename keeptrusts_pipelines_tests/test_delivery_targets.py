"""Delivery targets named by one URL (`s3://bucket/prefix?region=…`): hostile URLs refused at
every door naming the field, the same target from kt's URL and its --s3-* flags, from
deliveries.yaml's `target:` and its older `s3:` mapping, and a new kind of target added as one
opener, with no other code change."""

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.definitions import build_definitions, delivery_resource
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.delivery import target as targets
from keeptrusts_pipelines.delivery.target import (
    Delivered,
    ProbeStep,
    TargetAddress,
    chosen_target,
    parse_target,
)
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.exports.deliveries import parse_entry
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.settings import Settings, custody_url
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
DAY = ["--from", "2026-03-01", "--to", "2026-03-01"]
HOSTILE = [
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data",
    "s3://AKIA:secret@bucket/kt",
    "s3://bucket/../kt",
    "s3://bucket/kt/../../other",
    "s3://bucket//kt",
    "s3://Bucket/kt",
    "s3://bucket/kt?region=eu-west-1&endpoint=http://evil",
    "s3://bucket/kt?region=eu-west-1&region=us-east-1",
    "s3://bucket/kt?region=eu%20west",
    "s3://bucket/kt#fragment",
    "s3://bucket/kt%2F..%2Fother",
    "s3://bucket/kt\\other",
    "s3://bucket/kt\nx",
    "s3://" + "a" * 2000,
    "s3://",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_a_hostile_target_url_is_refused_by_kt_naming_the_flag(
    keeptrusts_home: Path, url: str
) -> None:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 1)
    result = runner.invoke(app, ["export", "create", *DAY, "--deliver-to", url])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("✗ --deliver-to") and result.output.count("\n") == 1
    assert "Traceback" not in result.output and "secret" not in result.output
    assert not (keeptrusts_home / "exports").exists() or not any(
        (keeptrusts_home / "exports").iterdir()
    )


@pytest.mark.parametrize("url", HOSTILE)
def test_a_hostile_target_url_is_refused_by_deliveries_yaml_and_the_environment(
    tmp_path: Path, url: str
) -> None:
    entry = {"name": "weekly", "interval": "weekly", "formats": ["csv"], "target": url}
    with pytest.raises(ConfigurationError, match="delivery weekly: target"):
        parse_entry(0, entry, tmp_path / "deliveries.yaml")
    environment = {"KEEPTRUSTS_HOME": str(tmp_path), "KEEPTRUSTS_EVIDENCE_S3_URL": url}
    with pytest.raises(ConfigurationError, match="KEEPTRUSTS_EVIDENCE_S3_URL"):
        Settings.from_environment(environment)


def test_a_hostile_target_in_run_config_fails_the_run_before_anything_is_written(
    keeptrusts_home: Path,
) -> None:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 1)
    window = {"window_from": "2026-03-01", "window_to": "2026-03-01"}
    result = (
        build_definitions()
        .resolve_job_def("export_job")
        .execute_in_process(
            run_config={
                "ops": {"export_artifact": {"config": {**window, "deliver_to": "file:///etc"}}}
            },
            instance=local_instance(),
            tags={EXPORT_ID_TAG: "exp_000000000bad"},
            raise_on_error=False,
        )
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure is not None and "deliver_to='file:///etc'" in str(failure.description)
    assert not (keeptrusts_home / "exports" / "exp_000000000bad" / "artifact").exists()


def test_the_url_and_the_s3_flags_name_the_same_target() -> None:
    from_url = chosen_target("s3://compliance-artifacts/keeptrusts/q2/?region=us-east-1", None)
    from_flags = chosen_target(None, "compliance-artifacts", "keeptrusts/q2/", "us-east-1")
    assert (
        from_url
        == from_flags
        == TargetAddress("s3", "compliance-artifacts", "keeptrusts/q2/", "us-east-1")
    )
    assert from_url is not None
    assert from_url.url == "s3://compliance-artifacts/keeptrusts/q2/?region=us-east-1"
    assert from_url.location == "s3://compliance-artifacts/keeptrusts/q2/"
    assert parse_target(from_url.url, "again") == from_url  # the URL reads back as itself
    with pytest.raises(ConfigurationError, match="--deliver-to: give it or --s3-bucket"):
        chosen_target("s3://a-bucket/x", "b-bucket")
    with pytest.raises(ConfigurationError, match="give --s3-bucket too"):
        chosen_target(None, None, "keeptrusts/")


def test_deliveries_yaml_target_and_the_older_s3_mapping_are_one_target(tmp_path: Path) -> None:
    where = tmp_path / "deliveries.yaml"
    base = {"name": "weekly", "interval": "weekly", "formats": ["csv"]}
    as_url = parse_entry(0, {**base, "target": "s3://evidence/kt/?region=eu-south-2"}, where)
    as_mapping = parse_entry(
        0, {**base, "s3": {"bucket": "evidence", "prefix": "kt/", "region": "eu-south-2"}}, where
    )
    assert as_url == as_mapping
    assert as_url.as_yaml()["target"] == "s3://evidence/kt/?region=eu-south-2"
    assert "s3" not in as_url.as_yaml()


def test_the_evidence_url_carries_its_prefix_and_region(tmp_path: Path) -> None:
    settings = Settings.from_environment(
        {
            "KEEPTRUSTS_HOME": str(tmp_path),
            "KEEPTRUSTS_EVIDENCE_S3_URL": "s3://evidence/kt?region=eu-south-2",
            "AWS_REGION": "us-east-1",
        }
    )
    target = delivery_resource(settings).target()
    assert target is not None
    assert target.address == TargetAddress("s3", "evidence", "kt", "eu-south-2")


def test_kt_delivers_to_the_url_it_is_given(
    keeptrusts_home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 1)
    s3_client.create_bucket(Bucket="compliance-artifacts")
    url = "s3://compliance-artifacts/keeptrusts/2026/q1/?region=us-east-1"
    created = runner.invoke(app, ["export", "create", *DAY, "--deliver-to", url, "--wait"])
    assert created.exit_code == 0, created.output
    assert "Delivery: s3://compliance-artifacts/keeptrusts/2026/q1/" in created.output
    export_id = created.output.split("Job ID: ")[1].split()[0]
    view = json.loads(runner.invoke(app, ["export", "status", "--id", export_id, "--json"]).output)
    key = f"keeptrusts/2026/q1/{export_id}/{Path(view['artifact']).name}"
    assert view["delivery"]["uri"] == f"s3://compliance-artifacts/{key}"
    assert view["delivery"]["region"] == "us-east-1"
    body = s3_client.get_object(Bucket="compliance-artifacts", Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == view["sha256"]
    run = local_instance().get_runs(dg.RunsFilter(tags={EXPORT_ID_TAG: export_id}))[0]
    assert run.tags["keeptrusts/delivery"] == url


@dataclass(frozen=True)
class FolderTarget:
    """A kind of target the project does not have: a folder standing for a vault."""

    address: TargetAddress
    root: Path

    def deliver(self, path: Path, name: str) -> Delivered:
        key = f"{self.address.prefix.strip('/')}/{name}"
        stored = self.root / self.address.bucket / key
        stored.parent.mkdir(parents=True, exist_ok=True)
        created = not stored.exists()
        if created:
            shutil.copyfile(path, stored)
        sha256 = hashlib.sha256(stored.read_bytes()).hexdigest()
        uri = f"vault://{self.address.bucket}/{key}"
        return Delivered(uri, key, None, sha256, None, created)

    def check(self) -> list[ProbeStep]:
        return [ProbeStep("write", True, str(self.root))]

    def link(self, key: str, seconds: int) -> str:
        return (self.root / self.address.bucket / key).as_uri()


def test_a_new_kind_of_target_is_one_opener(
    keeptrusts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = tmp_path / "vault"
    monkeypatch.setitem(targets.OPENERS, "vault", lambda address, _: FolderTarget(address, vault))
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 1)
    created = runner.invoke(
        app, ["export", "create", *DAY, "--deliver-to", "vault://locker/evidence", "--wait"]
    )
    assert created.exit_code == 0, created.output
    export_id = created.output.split("Job ID: ")[1].split()[0]
    view = json.loads(runner.invoke(app, ["export", "status", "--id", export_id, "--json"]).output)
    name = Path(view["artifact"]).name
    delivered = vault / "locker" / "evidence" / export_id / name
    assert hashlib.sha256(delivered.read_bytes()).hexdigest() == view["sha256"]
    assert view["delivery"]["uri"] == f"vault://locker/evidence/{export_id}/{name}"
    entries = CustodyLedger(custody_url()).entries(export_id)
    assert [e.action for e in entries if e.action == "delivered"] == ["delivered"]
