"""Formats come from the registry: a plug-in module (KEEPTRUSTS_FORMATS_MODULES) and a
framework catalog folder (KEEPTRUSTS_FRAMEWORKS_DIR) add formats that `kt export create`
writes, alone and inside `compliance-all`, with no change to the package; a format the
registry lacks is refused, naming the field and the formats there are."""

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.exports import formats
from keeptrusts_pipelines.exports.deliveries import parse_entry
from keeptrusts_pipelines.exports.formats import (
    ExportFormat,
    FormatKind,
    format_named,
    register_format,
)
from keeptrusts_pipelines.settings import Settings
from keeptrusts_pipelines_tests.lakes import demo_lake

KT = str(Path(sys.executable).with_name("kt"))
WINDOW = ["--from", "2026-03-01", "--to", "2026-03-02"]
PLUGIN = "kt_formats_plugin_test"
# Rows as TSV, and a Markdown summary that is also a member of compliance-all.
PLUGIN_SOURCE = '''
"""Two formats from outside the package."""

from keeptrusts_pipelines.exports.formats import ExportFormat, FormatKind, Shaping, register_format


class TsvWriter:
    def __init__(self, header, records_key):
        pass

    def begin(self, handle):
        self.handle, self.header_written = handle, False

    def write(self, frame):
        if frame.height or not self.header_written:
            frame.write_csv(self.handle, separator="\\t", include_header=not self.header_written)
            self.header_written = True

    def end(self):
        pass


def write_summary(request, layout, staging, export_id, started, redaction, options=None):
    from keeptrusts_pipelines.exports.engine import Written
    from keeptrusts_pipelines.lake.files import sha256_of
    from keeptrusts_pipelines.reports.scope import open_scope

    part = staging / "part-0001"
    with open_scope(request, layout, started) as scope:
        rows = scope.run(
            "SELECT action, count(*) AS events FROM events GROUP BY action ORDER BY action"
        )
        total = sum(row["events"] for row in rows)
        lines = [f"# Decisions {request.window.describe()}", f"events: {total}"]
        lines += [f"- {row['action']}: {row['events']}" for row in rows]
        part.write_text("\\n".join(lines) + "\\n")
        return Written([part], [sha256_of(part)], total, scope.partitions, scope.warnings)


register_format(
    ExportFormat(
        "tsv", "tsv", "text/tab-separated-values", FormatKind.TABULAR, f"{__name__}:TsvWriter",
        shaping=Shaping.FLAT,
    )
)
register_format(
    ExportFormat(
        "summary-md", "md", "text/markdown", FormatKind.REPORT, f"{__name__}:write_summary",
        bundle_file="summary.md",
    )
)
'''
CATALOG = (
    "framework: soc2\n"
    "title: SOC 2 monitoring\n"
    "controls:\n"
    "  - id: CC7.2\n"
    "    title: Anomalies are detected and acted on\n"
    "    reference: SOC 2 CC7.2\n"
    "    query: soc2_blocked.sql\n"
    "    met_when: blocked > 0\n"
)


@pytest.fixture
def plugged(keeptrusts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo lake, a plug-in module and a framework catalog, each in a folder of its own."""
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE)
    catalogs = tmp_path / "frameworks"
    catalogs.mkdir()
    (catalogs / "soc2.yaml").write_text(CATALOG)
    (catalogs / "soc2_blocked.sql").write_text(
        "SELECT count(*) FILTER (WHERE action = 'block') AS blocked FROM events\n"
    )
    python_path = [str(plugins), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, python_path)))
    monkeypatch.setenv("KEEPTRUSTS_FORMATS_MODULES", PLUGIN)
    monkeypatch.setenv("KEEPTRUSTS_FRAMEWORKS_DIR", str(catalogs))
    monkeypatch.setenv("COLUMNS", "400")  # help text on one line per option
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return keeptrusts_home


def kt(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KT, *arguments], env=os.environ.copy(), capture_output=True, text=True, timeout=600
    )


def created(file_format: str) -> dict:
    done = kt("export", "create", *WINDOW, "--format", file_format, "--wait", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed", result
    return result


def lake_count(home: Path, where: str = "true") -> int:
    """Events of the lake (every day is in the window) where `where` holds, counted by DuckDB."""
    files = f"{home}/lake/decision_events/*/*.parquet"
    counted = duckdb.sql(f"SELECT count(*) FROM read_parquet('{files}') WHERE {where}")
    return counted.fetchall()[0][0]


def test_a_plugin_format_and_a_catalog_export_alone_and_inside_the_bundle(plugged: Path) -> None:
    help_text = kt("export", "create", "--help")
    assert help_text.returncode == 0, help_text.stderr
    for name in ("tsv", "summary-md", "compliance-soc2", "compliance-all"):
        assert name in help_text.stdout, name

    events = lake_count(plugged)
    rows = created("tsv")
    assert Path(rows["artifact"]).name == "kt_2026-03-01_to_2026-03-02.tsv"
    table = pl.read_csv(rows["artifact"], separator="\t", infer_schema=False)
    assert rows["records"] == table.height == events
    lake = f"{plugged}/lake/decision_events/*/*.parquet"
    ids = duckdb.sql(f"SELECT event_id FROM read_parquet('{lake}')").fetchall()
    assert sorted(table["id"]) == sorted(row[0] for row in ids)

    summary = created("summary-md")
    assert Path(summary["artifact"]).name == "kt_2026-03-01_to_2026-03-02_summary-md.md"
    text = Path(summary["artifact"]).read_text()
    blocked = lake_count(plugged, "action = 'block'")
    assert f"events: {events}" in text and f"- block: {blocked}" in text

    report = created("compliance-soc2")
    controls = json.loads(Path(report["artifact"]).read_text())["controls"]
    assert controls[0]["figures"] == {"blocked": blocked}

    bundle = created("compliance-all")
    with tarfile.open(bundle["artifact"]) as archive:
        top = "kt_2026-03-01_to_2026-03-02_compliance-all"
        manifest = json.load(archive.extractfile(f"{top}/manifest.json"))
        members = {a["path"]: a for a in manifest["artifacts"]}
        inside = archive.extractfile(f"{top}/data/summary.md").read().decode()
        soc2 = json.load(archive.extractfile(f"{top}/data/compliance-soc2.json"))
    assert inside == text  # the same producer, the same window
    assert members["data/summary.md"]["media_type"] == "text/markdown"
    assert members["data/summary.md"]["records"] == events
    assert soc2["controls"][0]["figures"] == controls[0]["figures"]
    assert {"data/compliance-aesia.json", "data/events.jsonl", "data/report.pdf"} <= set(members)

    verified = kt("verify", bundle["artifact"])
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_an_unknown_format_is_refused_naming_the_field_and_the_formats(plugged: Path) -> None:
    refused = kt("export", "create", *WINDOW, "--format", "xlsx", "--wait")
    assert refused.returncode == 2
    message = refused.stdout + refused.stderr
    assert "format: unknown format 'xlsx'; use one of csv, json, jsonl, parquet, tsv" in message
    assert "summary-md" in message and "compliance-soc2" in message
    assert "Traceback" not in message


@pytest.fixture
def plugged_here(plugged: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plug-in importable in this process too, its formats gone again afterwards."""
    monkeypatch.syspath_prepend(str(plugged.parent / "plugins"))
    monkeypatch.setattr(formats, "_REGISTERED", dict(formats._REGISTERED))
    monkeypatch.setattr(formats, "_IMPORTED_MODULES", set(formats._IMPORTED_MODULES))
    # As a door starting in the fixture's environment hands them over.
    formats.use_format_sources(Settings.from_environment().format_sources())
    yield plugged
    sys.modules.pop(PLUGIN, None)


def test_deliveries_yaml_takes_the_registry_formats(plugged_here: Path) -> None:
    entry = {"name": "weekly", "cron": "0 2 * * 1", "window": "7d"}
    accepted = parse_entry(0, {**entry, "formats": ["summary-md", "compliance-soc2"]}, Path("d"))
    assert accepted.formats == ("summary-md", "compliance-soc2")
    with pytest.raises(ConfigurationError) as refused:
        parse_entry(0, {**entry, "formats": ["csv", "xlsx"]}, Path("d"))
    assert "delivery weekly: formats: unknown format 'xlsx'; use one of csv" in str(refused.value)


def test_no_fallback_for_a_name_the_registry_lacks() -> None:
    with pytest.raises(ExportRequestError) as unknown:
        format_named("xlsx")
    assert unknown.value.field == "format"
    with pytest.raises(ExportRequestError) as no_catalog:
        format_named("compliance-nope")
    assert "add nope.yaml to KEEPTRUSTS_FRAMEWORKS_DIR" in str(no_catalog.value)


def test_a_registered_name_cannot_be_taken_twice_or_malformed() -> None:
    csv = format_named("csv")
    assert register_format(csv) is csv  # the same entry again is harmless
    taken = ExportFormat("csv", "csv", "text/csv", FormatKind.TABULAR, "elsewhere:Writer")
    with pytest.raises(ConfigurationError, match="registered twice"):
        register_format(taken)
    with pytest.raises(ConfigurationError, match="name: use lower-case"):
        register_format(ExportFormat("X L", "x", "a/b", FormatKind.REPORT, "m:f"))
    with pytest.raises(ConfigurationError, match="a bundle cannot be inside a bundle"):
        register_format(
            ExportFormat("box", "tar", "a/b", FormatKind.BUNDLE, "m:f", bundle_file="box.tar")
        )


def test_a_plugin_that_cannot_load_is_named_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kt_broken_plugin.py").write_text("formats = (\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(formats, "_IMPORTED_MODULES", set(formats._IMPORTED_MODULES))
    for module, cause in (
        ("kt_broken_plugin", "SyntaxError"),
        ("kt_missing_plugin", "ModuleNotFoundError"),
    ):
        formats.use_format_sources(formats.FormatSources(modules=(module,)))
        with pytest.raises(ConfigurationError) as failed:
            format_named("csv")
        message = str(failed.value)
        assert message.startswith(f"KEEPTRUSTS_FORMATS_MODULES: cannot import '{module}' ({cause}")
        assert "\n" not in message
