"""`kt export` as the seeds show it: create, preview, status, download, with --json for machines."""

import json
import time
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()


@pytest.fixture
def lake_home(keeptrusts_home: Path) -> Path:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 3)
    return keeptrusts_home


def test_create_then_download_with_the_json_contract(lake_home: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "export",
            "create",
            "--date-from",
            "2026-03-01",
            "--date-to",
            "2026-03-03",
            "--format",
            "csv",
            "--filter-team",
            "legal",
            "--filter-team",
            "hr",
            "--wait",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    for key in (
        "export_id",
        "status",
        "format",
        "window",
        "filters",
        "records",
        "bytes",
        "sha256",
        "artifact",
        "warnings",
    ):
        assert key in created
    assert created["status"] == "completed" and created["filters"] == {"team": ["legal", "hr"]}
    folder = lake_home / "exports" / created["export_id"]
    assert Path(created["artifact"]).parent == folder / "artifact"

    preview = json.loads(
        runner.invoke(
            app,
            [
                "export",
                "preview",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-03",
                "--filter-team",
                "legal",
                "--filter-team",
                "hr",
                "--json",
            ],
        ).output
    )
    assert preview["records"] == created["records"]

    output = tmp_path / "may-evidence.csv"
    downloaded = runner.invoke(
        app, ["export", "download", "--id", created["export_id"], "--output", str(output)]
    )
    assert downloaded.exit_code == 0, downloaded.output
    assert output.read_bytes() == Path(created["artifact"]).read_bytes()


def test_human_output_is_shaped_like_the_seeds(lake_home: Path) -> None:
    result = runner.invoke(
        app, ["export", "create", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "✓ Export job created"
    assert lines[1].startswith("Job ID: exp_") and lines[2] == "Format: json"
    assert lines[3] in ("Status: queued", "Status: processing")
    assert lines[4] == "Range: 2026-03-01 → 2026-03-02"
    export_id = lines[1].removeprefix("Job ID: ")
    followed = runner.invoke(app, ["export", "status", "--id", export_id])
    assert followed.output.splitlines()[0] == f"Export: {export_id}"
    assert wait_until_final(export_id)["status"] == "completed"


def wait_until_final(export_id: str, seconds: float = 600) -> dict:
    """Poll `kt export status --json` until the export's run has ended."""
    deadline = time.monotonic() + seconds
    while True:
        view = json.loads(
            runner.invoke(app, ["export", "status", "--id", export_id, "--json"]).output
        )
        if view["status"] not in ("queued", "processing") or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (
            ["export", "create", "--from", "2026-03-03", "--to", "2026-03-01"],
            2,
            "from: 2026-03-03 is after --to",
        ),
        (
            ["export", "create", "--last", "7d", "--format", "pdfx"],
            2,
            "format: unknown format 'pdfx'",
        ),
        (
            ["export", "create", "--from", "2026-02-01", "--to", "2026-03-01"],
            2,
            "the lake has no decision_events partition for 2026-02-01",
        ),
        (
            ["export", "download", "--id", "exp_missing", "--output", "x.csv"],
            2,
            "--id exp_missing: no such export",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    lake_home: Path, arguments: list[str], code: int, message: str
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
