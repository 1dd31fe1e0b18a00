"""One request shape: kt's options, request files, the Launchpad, run config, the re-create
command and deliveries.yaml all come from `ExportRequest`'s definition, so a filter declared
there reaches every door with no other change."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

import keeptrusts_pipelines
from keeptrusts_pipelines.cli.export import app as export_app
from keeptrusts_pipelines.cli.request_options import request_from_options
from keeptrusts_pipelines.defs.export_config import ExportConfig
from keeptrusts_pipelines.exports.lifecycle import recreate_command
from keeptrusts_pipelines.model.export_request import (
    EVENT_FILTERS,
    PLAIN,
    REQUEST_FIELDS,
    SPELLED,
    ExportRequest,
    plain_models,
    request_from_fields,
)
from keeptrusts_pipelines.model.export_runs import export_run_config

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
# Options of `kt export create` that are not the request's: delivery, reason, waiting, output.
CREATE_OWN = {
    "--deliver-to",
    "--s3-bucket",
    "--s3-prefix",
    "--s3-region",
    "--reason",
    "--no-deliver",
    "--wait",
    "--json",
}
DELIVERY_FIELDS = ["deliver_to", "deliver", "request_sha256"]


def _export_command(name: str) -> Any:
    """A command of `kt export` as typer builds it for the command line."""
    return typer.main.get_command(export_app).commands[name]  # type: ignore[attr-defined]


def _flags(command: Any) -> set[str]:
    return {flag for param in command.params for flag in param.opts}


def _parsed_by_kt(words: list[str]) -> ExportRequest:
    """The request `kt export create` makes of a command line (parsed by its own options)."""
    context = _export_command("create").make_context("create", words)
    options = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in context.params.items()
    }
    return request_from_options(options)


def every_field_request() -> ExportRequest:
    return request_from_fields(
        {
            "type": "events",
            "format": "json",
            "from": "2026-05-01T08:30:00Z",
            "to": "2026-05-31",
            "filters": {
                "policy": ["pii-filter", "it's quoted"],
                "evaluated_policy": ["jailbreak:block"],
                "action": ["block", "redact"],
                "result": ["blocked"],
                "environment": ["prod"],
                "gateway": ["gw-eu"],
                "consumer_group": ["support bots"],
                "team": ["legal"],
                "user": ["ana@example.org"],
                "model": ["gpt-4o"],
                "provider": ["openai"],
                "min_severity": "high",
            },
            "name": "q2 audit",
            "title": "Q2 — all filters",
            "description": "Notes; with 'quotes' and $shell words",
            "raw_content": True,
        },
        NOW,
    )


def test_every_filter_of_the_definition_is_set_in_the_sample_request() -> None:
    assert set(every_field_request().filters.active()) == set(EVENT_FILTERS)


def test_kt_create_and_preview_take_exactly_the_definitions_options() -> None:
    spelled = {flag for spelling in SPELLED for flag in spelling.flags}
    assert _flags(_export_command("create")) - {"--help"} == spelled | CREATE_OWN
    previewed = {flag for spelling in SPELLED if spelling.in_preview for flag in spelling.flags}
    assert _flags(_export_command("preview")) - {"--help"} == previewed | {"--json"}
    assert {"--filter-team", "--team", "--filter-action", "--filter-decision"} <= previewed


def test_request_files_and_the_launchpad_hold_exactly_the_definitions_fields() -> None:
    RequestFields, FilterFields = plain_models()
    assert tuple(FilterFields.model_fields) == EVENT_FILTERS
    aliases = [info.alias or name for name, info in RequestFields.model_fields.items()]
    assert sorted(aliases) == sorted(REQUEST_FIELDS)
    assert list(ExportConfig.model_fields) == [s.field for s in PLAIN] + DELIVERY_FIELDS


def test_run_config_reads_back_as_the_same_request_on_the_launchpad() -> None:
    request = every_field_request()
    config = export_run_config(request)["ops"]["export_artifact"]["config"]
    assert set(config) <= set(ExportConfig.model_fields)
    assert ExportConfig(**config).request(NOW, None) == request  # type: ignore[arg-type]


def test_the_recreate_command_parses_back_through_kt_to_the_same_request() -> None:
    request = every_field_request()
    command = recreate_command(request.describe())
    words = shlex.split(command)
    assert words[:3] == ["kt", "export", "create"]
    # kt writes each field's first flag, never a second spelling.
    firsts = {spelling.flags[0] for spelling in SPELLED}
    assert {word for word in words if word.startswith("--")} <= firsts
    assert _parsed_by_kt(words[3:]) == request


def test_kt_second_spellings_make_the_same_request() -> None:
    first = _parsed_by_kt(
        [
            "--from",
            "2026-05-01",
            "--to",
            "2026-05-02",
            "--filter-team",
            "a",
            "--filter-action",
            "block",
        ]
    )
    second = _parsed_by_kt(
        [
            "--date-from",
            "2026-05-01",
            "--date-to",
            "2026-05-02",
            "--team",
            "a",
            "--filter-decision",
            "Block",
        ]
    )
    assert first == second


NEW_FILTER = """
    region: tuple[str, ...] = field(
        default=(), metadata=_filter("Region.", "Regions (any of).", "--filter-region")
    )
"""

EVERY_DOOR = """
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from keeptrusts_pipelines.cli.export import app as export_app
from keeptrusts_pipelines.defs.export_config import ExportConfig
from keeptrusts_pipelines.exports.deliveries import parse_entry
from keeptrusts_pipelines.exports.lifecycle import recreate_command
from keeptrusts_pipelines.model.export_request import request_from_fields
from keeptrusts_pipelines.model.export_runs import export_run_config, request_tags

now = datetime(2026, 6, 1, tzinfo=UTC)
shown = CliRunner().invoke(export_app, ["create", "--help"], env={"COLUMNS": "200"}).output
assert "--filter-region" in shown and "Region." in shown, shown
preview = CliRunner().invoke(export_app, ["preview", "--help"], env={"COLUMNS": "200"}).output
assert "--filter-region" in preview, preview
request = request_from_fields(
    {"from": "2026-05-01", "to": "2026-05-01", "filters": {"region": ["eu"]}}, now
)
assert request.filters.region == ("eu",)
config = export_run_config(request)["ops"]["export_artifact"]["config"]
assert config["region"] == ["eu"], config
assert ExportConfig.model_fields["region"].description == "Regions (any of)."
assert ExportConfig(**config).request(now, None) == request
assert request_tags(request, "exp_1")["keeptrusts/filter.region"] == "eu"
assert "--filter-region eu" in recreate_command(request.describe())
entry = {"name": "weekly", "cron": "0 2 * * 1", "window": "7d", "formats": ["csv"],
         "filters": {"region": ["eu"]}}
delivery = parse_entry(0, entry, Path("deliveries.yaml"))
assert delivery.requests(now)[0].filters.region == ("eu",)
print("every door")
"""


def test_a_filter_declared_once_reaches_every_door(tmp_path: Path) -> None:
    """A copy of the package with one more field in `Filters` and no other change."""
    package = Path(keeptrusts_pipelines.__file__).parent
    copy = tmp_path / package.name
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    definition = copy / "model" / "export_request.py"
    source = definition.read_text(encoding="utf-8")
    anchor = "    min_severity: str | None = field("
    assert source.count(anchor) == 1
    definition.write_text(source.replace(anchor, NEW_FILTER.lstrip("\n") + anchor), "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EVERY_DOOR)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("every door")
