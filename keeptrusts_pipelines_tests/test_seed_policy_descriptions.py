"""The PDF's policy descriptions as seed 001 promises them, through `kt` as a user types it:
each policy in force with its description and the configuration version that defined it,
both as an independent DuckDB query over the lake's config history finds them."""

import json
import re
from datetime import date
from pathlib import Path

import duckdb
from pypdf import PdfReader
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()


def _in_force_definitions(home: Path, before: str) -> list[tuple[str, str, str, str]]:
    """(policy, version, description, defining config version) of the newest configuration
    created before `before`; defining = the earliest configuration carrying that version."""
    files = str(home / "lake" / "config_versions" / "*" / "*.parquet")
    return duckdb.sql(
        f"""
        WITH defs AS (
            SELECT config_version, created_at, unnest(policy_definitions) AS d
            FROM read_parquet('{files}') WHERE created_at < TIMESTAMPTZ '{before}'
        ), newest AS (
            SELECT d FROM defs
            WHERE config_version = (SELECT arg_max(config_version, created_at) FROM defs)
        )
        SELECT n.d.policy, n.d.version, n.d.description,
               (SELECT arg_min(config_version, created_at) FROM defs
                WHERE defs.d.policy = n.d.policy AND defs.d.version = n.d.version)
        FROM newest n ORDER BY 1
        """
    ).fetchall()


def _words(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_pdf_names_each_policy_with_its_description_and_defining_configuration(
    keeptrusts_home: Path,
) -> None:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 3)
    result = runner.invoke(
        app,
        ["export", "create", "--from", "2026-03-01", "--to", "2026-03-03", "--format", "pdf",
         "--wait", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["status"] == "completed", created

    text = "\n".join(page.extract_text() for page in PdfReader(created["artifact"]).pages)
    policies = text[text.index("Policies") :]
    expected = _in_force_definitions(keeptrusts_home, "2026-03-04T00:00:00Z")
    assert len(expected) == 6
    for policy, version, description, defined_by in expected:
        assert policy in policies
        # Table cells wrap; compare without the line breaks pypdf puts into them.
        assert _words(description) in _words(policies), (policy, description)
        assert _words(defined_by) in _words(policies), (policy, version, defined_by)
