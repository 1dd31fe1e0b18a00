"""Hostile export requests: each door refuses them in one line; one bad file never stops a tick."""

import hashlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.defs import sensors
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.defs.jobs import export_job
from keeptrusts_pipelines.defs.sensors import export_inbox_sensor
from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.formats import use_format_sources
from keeptrusts_pipelines.exports.inbox import LocalInbox, S3Inbox
from keeptrusts_pipelines.model.export_request import (
    ExportRequest,
    build_window,
    request_from_fields,
    validate,
)
from keeptrusts_pipelines.settings import Settings
from keeptrusts_pipelines_tests.lakes import demo_lake

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
MIB = 1024 * 1024
runner = CliRunner()


def refused(fields: dict) -> ExportRequestError:
    with pytest.raises(ExportRequestError) as error:
        request_from_fields(fields, NOW)
    assert "\n" not in str(error.value)
    return error.value


# Item 10: moments at datetime's limits overflowed into a traceback.


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-01-01", "9999-12-31", "to"),
        ("2026-01-01", "9999-12-31T23:59:59Z", "to"),
        ("2026-01-01", "9999-12-31T23:00:00-05:00", "to"),
        ("0001-01-01T00:00:00+01:00", "2026-01-01", "from"),
        ("0001-01-01", "2026-01-01", "from"),
        ("1999-12-31T23:59:59Z", "2026-01-01", "from"),
        ("2000-01-01T00:30:00+01:00", "2026-01-01", "from"),
        ("2026-01-01", "3000-01-01", "to"),
    ],
)
def test_moments_outside_the_years_2000_to_2999_are_refused_naming_the_field(
    start: str, end: str, field: str
) -> None:
    with pytest.raises(ExportRequestError) as error:
        build_window(start, end, None, NOW)
    assert error.value.field == field
    assert "2000-01-01 to 2999-12-31" in str(error.value)


def test_the_first_and_last_days_of_the_range_are_allowed() -> None:
    window = build_window("2000-01-01", "2999-12-31", None, NOW)
    assert window.start == datetime(2000, 1, 1, tzinfo=UTC)
    assert window.end == datetime(3000, 1, 1, tzinfo=UTC)
    assert window.inclusive_end() == "2999-12-31"
    assert build_window("2000-01-01T00:00:00Z", "2999-12-31T23:59:59Z", None, NOW).end == (
        datetime(3000, 1, 1, tzinfo=UTC)
    )


def test_run_config_and_request_files_refuse_the_year_9999_too() -> None:
    assert refused({"from": "2026-01-01", "to": "9999-12-31"}).field == "to"


@pytest.mark.parametrize("command", ["create", "preview"])
@pytest.mark.parametrize(
    "window",
    [
        ("--from", "2026-01-01", "--to", "9999-12-31"),
        ("--from", "2026-01-01", "--to", "9999-12-31T23:59:59Z"),
        ("--from", "0001-01-01T00:00:00+01:00", "--to", "2026-01-01"),
    ],
)
def test_kt_refuses_a_window_at_the_end_of_time_in_one_line(
    keeptrusts_home: Path, command: str, window: tuple[str, ...]
) -> None:
    result = runner.invoke(app, ["export", command, *window])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "2000-01-01 to 2999-12-31" in result.output


def test_a_compliance_format_without_a_catalog_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPTRUSTS_FRAMEWORKS_DIR", raising=False)
    window = build_window("2026-05-01", "2026-05-02", None, NOW)
    with pytest.raises(ExportRequestError) as error:
        validate(ExportRequest(window=window, format="compliance-nope"))
    assert error.value.field == "format"
    assert "'nope'" in str(error.value) and "aesia" in str(error.value)
    assert refused({"last": "7d", "format": "compliance-nope"}).field == "format"

    catalogs = tmp_path / "frameworks"
    catalogs.mkdir()
    (catalogs / "nope.yaml").write_text("title: Nope\ncontrols: []\n")
    monkeypatch.setenv("KEEPTRUSTS_FRAMEWORKS_DIR", str(catalogs))
    use_format_sources(Settings.from_environment().format_sources())  # as a door starting now
    assert validate(ExportRequest(window=window, format="compliance-nope")).format == (
        "compliance-nope"
    )
    # The packaged catalogs always pass; a caller may name the catalogs it knows.
    assert validate(ExportRequest(window=window, format="compliance-aesia"))
    with pytest.raises(ExportRequestError):
        validate(ExportRequest(window=window, format="compliance-nope"), frameworks=("aesia",))


def test_kt_refuses_a_compliance_format_without_a_catalog(keeptrusts_home: Path) -> None:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    arguments = ["--from", "2026-03-01", "--to", "2026-03-02", "--format", "compliance-nope"]
    result = runner.invoke(app, ["export", "preview", *arguments])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "format: " in result.output and "'nope'" in result.output


def test_the_request_model_imports_no_report_code() -> None:
    probe = (
        "import sys, keeptrusts_pipelines.model.export_request\n"
        "print(sorted(m for m in sys.modules if m.startswith('keeptrusts_pipelines.reports')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


# Item 12: every plain field is checked by type and bounded.


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"last": "7d", "raw_content": "false"}, "raw_content", "true or false"),
        ({"last": "7d", "raw_content": 0}, "raw_content", "true or false"),
        ({"from": 20261120, "to": "2026-11-21"}, "from", "string"),
        ({"from": "2026-11-20", "to": ["2026-11-21"]}, "to", "string"),
        ({"last": 7}, "last", "string"),
        ({"last": "7d", "format": 1}, "format", "string"),
        ({"last": "7d", "type": True}, "type", "string"),
        ({"last": "7d", "name": 5}, "name", "string"),
        ({"last": "7d", "name": "n" * 121}, "name", "at most 120"),
        ({"last": "7d", "title": "t" * 201}, "title", "at most 200"),
        ({"last": "7d", "description": "d" * 4001}, "description", "at most 4,000"),
        ({"last": "7d", "filters": "legal"}, "filters", "object"),
        ({"last": "7d", "filters": {"team": [1]}}, "filters.team", "string"),
        ({"last": "7d", "filters": {"team": {"a": 1}}}, "filters.team", "list"),
        ({"last": "7d", "filters": {"team": ["t" * 201]}}, "filters.team", "at most 200"),
        ({"last": "7d", "filters": {"team": ["t"] * 101}}, "filters.team", "at most 100"),
        ({"last": "7d", "filters": {"min_severity": ["high"]}}, "filters.min_severity", "string"),
        ({"last": "7d", "filters": {"teams": ["legal"]}}, "filters.teams", "unknown filter"),
        ({"last": "7d", "owner": "me"}, "owner", "unknown field"),
    ],
)
def test_each_plain_field_is_checked_by_type_and_bound(fields: dict, field: str, says: str) -> None:
    error = refused(fields)
    assert error.field == field
    assert str(error).startswith(f"{field}: ") and says in str(error)


def test_a_long_value_is_not_repeated_in_the_error() -> None:
    assert len(str(refused({"last": "7d", "description": "d" * 100_000}))) < 200


def test_plain_fields_within_their_bounds_make_a_request() -> None:
    request = request_from_fields(
        {
            "type": "events",
            "format": "CSV",
            "from": "2026-05-01",
            "to": None,
            "last": None,
            "filters": {"team": "legal", "action": ["block"], "min_severity": None},
            "name": "n" * 120,
            "title": "t" * 200,
            "description": "d" * 4000,
            "raw_content": False,
        }
        | {"to": "2026-05-02"},
        NOW,
    )
    assert request.format == "csv" and request.filters.team == ("legal",)
    assert request.raw_content is False
    assert request_from_fields({"last": "7d", "raw_content": True}, NOW).raw_content is True


def test_kt_refuses_a_description_past_its_bound(keeptrusts_home: Path) -> None:
    arguments = ["--last", "7d", "--description", "d" * 4001]
    result = runner.invoke(app, ["export", "create", *arguments])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "description: " in result.output


# The inbox, through Dagster.


def tick(instance: dg.DagsterInstance | None = None) -> list[dg.RunRequest]:
    context = dg.build_sensor_context(
        instance=instance or local_instance(), sensor_name="export_inbox_sensor"
    )
    return export_inbox_sensor(context).run_requests


def request_file(folder: Path, file_name: str, **fields) -> bytes:
    content = json.dumps({"from": "2026-03-01", "to": "2026-03-02", **fields}).encode()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file_name).write_bytes(content)
    return content


def launched(instance: dg.DagsterInstance, request: dg.RunRequest) -> None:
    """What the daemon does with a run request: a run of export_job with the run key's tags."""
    instance.create_run_for_job(
        export_job,
        run_config=request.run_config,
        tags={
            **request.tags,
            "dagster/run_key": request.run_key,
            "dagster/sensor_name": "export_inbox_sensor",
        },
    )


def rejection(inbox: Path, name: str) -> str:
    assert (inbox / "rejected" / name).exists()
    return (inbox / "rejected" / f"{name}.error.txt").read_text()


@pytest.fixture
def inbox(keeptrusts_home: Path) -> Path:
    return keeptrusts_home / "requests"


# Item 13: a request id names one request.


def test_a_second_file_with_a_taken_request_id_is_rejected_naming_the_first(inbox: Path) -> None:
    request_file(inbox, "a.json", request_id="q2-audit", format="csv")
    request_file(inbox, "b.json", request_id="q2-audit", format="jsonl")
    instance = local_instance()
    requests = tick(instance)
    formats = [r.run_config["ops"]["export_artifact"]["config"]["format"] for r in requests]
    assert [r.run_key for r in requests] == ["q2-audit"] and formats == ["csv"]
    assert "'a.json'" in rejection(inbox, "b.json") and "q2-audit" in rejection(inbox, "b.json")

    launched(instance, requests[0])
    request_file(inbox, "c.json", request_id="q2-audit", format="parquet")
    assert tick(instance) == []
    assert (inbox / "accepted" / "a.json").exists()
    assert "'a.json'" in rejection(inbox, "c.json")


def test_the_same_file_seen_again_is_accepted_as_done_without_overwriting(inbox: Path) -> None:
    content = request_file(inbox, "a.json", request_id="q2-audit")
    instance = local_instance()
    launched(instance, tick(instance)[0])
    assert tick(instance) == [] and (inbox / "accepted" / "a.json").read_bytes() == content
    # Dropped again, byte for byte: already done; the first accepted copy stays as it was.
    (inbox / "a.json").write_bytes(content)
    assert tick(instance) == []
    assert sorted(path.name for path in (inbox / "accepted").iterdir()) == ["a.1.json", "a.json"]
    assert not (inbox / "rejected").exists()


def test_accepting_never_overwrites_an_accepted_file_of_the_same_name(inbox: Path) -> None:
    (inbox / "accepted").mkdir(parents=True)
    (inbox / "accepted" / "may.json").write_text("an older request")
    request_file(inbox, "may.json", request_id="req-may-2")
    instance = local_instance()
    launched(instance, tick(instance)[0])
    assert tick(instance) == []
    assert (inbox / "accepted" / "may.json").read_text() == "an older request"
    assert json.loads((inbox / "accepted" / "may.1.json").read_text())["request_id"] == (
        "req-may-2"
    )


# Item 14: one bad file never stops the tick.


def test_bad_files_sorted_first_never_stop_the_valid_ones(
    inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox.mkdir(parents=True)
    (inbox / "0-deep.json").write_text("[" * 200_000)
    (inbox / "1-deep-object.json").write_text('{"a":' * 200_000)
    request_file(inbox, "2-number.json", **{"from": 20261120})
    request_file(inbox, "3-huge.json", description="d" * MIB)
    request_file(inbox, "4-long-description.json", description="d" * 5000)
    request_file(inbox, "5-explodes.json")
    request_file(inbox, "6-id.json", request_id=12)
    (inbox / "7-not-utf8.json").write_bytes(b'{"name": "\xff"}')
    request_file(inbox, "z-valid.json")
    read: list[str] = []
    original_read = LocalInbox.read

    def read_or_explode(self: LocalInbox, name: str) -> bytes:
        read.append(name)
        if name == "5-explodes.json":
            raise RuntimeError("prompt text that must not reach the log")
        return original_read(self, name)

    monkeypatch.setattr(LocalInbox, "read", read_or_explode)
    requests = tick()
    assert [r.run_key for r in requests] == ["z-valid"]
    assert "3-huge.json" not in read  # refused by its size, unread
    assert "1 MiB" in rejection(inbox, "3-huge.json")
    assert rejection(inbox, "2-number.json").startswith("from: ")
    assert rejection(inbox, "4-long-description.json").startswith("description: ")
    assert rejection(inbox, "6-id.json").startswith("request_id: ")
    assert rejection(inbox, "7-not-utf8.json").startswith("file: ")
    for name in ("0-deep.json", "1-deep-object.json"):
        assert rejection(inbox, name).startswith("file: ")
    explained = rejection(inbox, "5-explodes.json")
    assert "RuntimeError" in explained and "prompt text" not in explained
    assert sorted(path.name for path in inbox.iterdir()) == ["rejected", "z-valid.json"]
    assert all(len(json.dumps(r.run_config)) < 2000 for r in requests)


def test_an_s3_request_above_1_mib_is_rejected_unread(
    keeptrusts_home: Path, s3_client, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_client.create_bucket(Bucket="hostile")
    huge = json.dumps({"last": "7d", "description": "d" * MIB}).encode()
    s3_client.put_object(Bucket="hostile", Key="in/a-huge.json", Body=huge)
    s3_client.put_object(Bucket="hostile", Key="in/b.json", Body=b'{"last": "7d"}')
    s3_client.put_object(Bucket="hostile", Key="in/accepted/b.json", Body=b"older")
    monkeypatch.setenv("KEEPTRUSTS_REQUESTS_S3_URL", "s3://hostile/in")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    read: list[str] = []
    original_read = S3Inbox.read
    monkeypatch.setattr(
        S3Inbox, "read", lambda self, name: read.append(name) or original_read(self, name)
    )
    instance = local_instance()
    requests = tick(instance)
    assert [r.run_key for r in requests] == ["b"] and read == ["b.json"]
    note = s3_client.get_object(Bucket="hostile", Key="in/rejected/a-huge.json.error.txt")
    assert "1 MiB" in note["Body"].read().decode()

    launched(instance, requests[0])
    assert tick(instance) == []
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket="hostile")["Contents"]}
    assert {"in/accepted/b.json", "in/accepted/b.1.json"} <= keys and "in/b.json" not in keys
    older = s3_client.get_object(Bucket="hostile", Key="in/accepted/b.json")["Body"].read()
    assert older == b"older"


# Item 15: what Dagster would refuse never waits in the inbox.


def test_a_request_whose_run_config_dagster_refuses_is_rejected_with_the_config_error(
    inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_file(inbox, "a-drift.json", name="drift")
    request_file(inbox, "b-fine.json")
    original = sensors.export_run_config

    def drifted(request, delivery=None, request_sha256=None):
        config = original(request, delivery, request_sha256)
        if request.name == "drift":
            config["ops"]["export_artifact"]["config"]["colour"] = "blue"
        return config

    monkeypatch.setattr(sensors, "export_run_config", drifted)
    assert [r.run_key for r in tick()] == ["b-fine"]
    error = rejection(inbox, "a-drift.json")
    assert error.startswith("run config: ") and "colour" in error


@pytest.mark.parametrize(
    "name",
    ["bad\x01name.json", "a..b.json", "x" * 201 + ".json", "tab\tname.json", "-dash.json"],
)
def test_a_file_name_that_is_not_plain_is_rejected_under_a_safe_name(
    inbox: Path, name: str
) -> None:
    request_file(inbox, name)
    request_file(inbox, "z-valid.json")
    assert [r.run_key for r in tick()] == ["z-valid"]
    assert sorted(path.name for path in inbox.iterdir()) == ["rejected", "z-valid.json"]
    safe = f"renamed-{hashlib.sha256(name.encode()).hexdigest()[:16]}.json"
    assert "not a plain request file name" in rejection(inbox, safe)
    assert sorted(path.name for path in (inbox / "rejected").iterdir()) == [
        safe,
        f"{safe}.error.txt",
    ]


def test_hidden_files_are_left_alone_as_uploads_in_progress(inbox: Path) -> None:
    request_file(inbox, ".upload.json")
    assert tick() == [] and sorted(path.name for path in inbox.iterdir()) == [".upload.json"]
