"""Filters as the seeds use them, through `kt` as a user types them, counted against DuckDB:
`--filter-policy` is the deciding policy, `--filter-evaluated-policy` any evaluated one, the
environment and provider filters, and enumerated values in any case."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, build_window
from keeptrusts_pipelines.reports.scope import open_scope
from keeptrusts_pipelines_tests.lakes import demo_lake

runner = CliRunner()
WINDOW = ("--from", "2026-03-01", "--to", "2026-03-02")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeds")
    demo_lake(root / "lake", date(2026, 3, 1), 2)
    return root


def lake_count(home: Path, where: str) -> int:
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    query = f"select count(*) from read_parquet('{files}') where {where}"
    return duckdb.sql(query).fetchall()[0][0]


def preview(home: Path, monkeypatch: pytest.MonkeyPatch, *flags: str) -> int:
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(home))
    result = runner.invoke(app, ["export", "preview", *WINDOW, *flags, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["records"]


def test_filter_policy_is_the_deciding_policy(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deciding = lake_count(home, "policy = 'pii-filter'")
    evaluated = lake_count(
        home, "list_contains(list_transform(policies_evaluated, lambda p: p.name), 'pii-filter')"
    )
    assert 0 < deciding < evaluated  # the two readings differ on this lake
    assert preview(home, monkeypatch, "--filter-policy", "pii-filter") == deciding


def test_filter_evaluated_policy_by_name_and_by_verdict(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = "list_transform(policies_evaluated, lambda p: p.name)"
    pairs = "list_transform(policies_evaluated, lambda p: p.name || ':' || p.verdict)"
    by_name = lake_count(home, f"list_contains({names}, 'pii-filter')")
    by_verdict = lake_count(home, f"list_contains({pairs}, 'pii-filter:block')")
    assert 0 < by_verdict < by_name
    assert preview(home, monkeypatch, "--filter-evaluated-policy", "pii-filter") == by_name
    flags = ("--filter-evaluated-policy", "pii-filter:block")
    assert preview(home, monkeypatch, *flags) == by_verdict


def test_a_bad_verdict_is_refused_naming_the_filter(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(home))
    flags = ["export", "preview", *WINDOW, "--filter-evaluated-policy", "pii-filter:maybe"]
    result = runner.invoke(app, flags)
    assert result.exit_code == 2 and "filter evaluated_policy" in result.output


def test_environment_and_provider_filters(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    query = f"select environment, provider from read_parquet('{files}') limit 1"
    [(environment, provider)] = duckdb.sql(query).fetchall()
    expected = lake_count(home, f"environment = '{environment}' and provider = '{provider}'")
    assert expected > 0
    flags = ("--filter-environment", environment, "--filter-provider", provider)
    assert preview(home, monkeypatch, *flags) == expected


def test_enumerated_values_in_any_case(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = lake_count(home, "action = 'block' and severity in ('high', 'critical')")
    flags = ("--filter-decision", "Block", "--min-severity", "HIGH")
    assert preview(home, monkeypatch, *flags) == expected


def test_reports_scope_reads_the_policy_filter_the_same_way(home: Path) -> None:
    window = build_window("2026-03-01", "2026-03-02", None, datetime(2026, 4, 1, tzinfo=UTC))
    for filters, where in (
        (Filters(policy=("pii-filter",)), "policy = 'pii-filter'"),
        (
            Filters(evaluated_policy=("pii-filter:block",)),
            "list_contains(list_transform(policies_evaluated, lambda p: p.name || ':' || p.verdict),"
            " 'pii-filter:block')",
        ),
    ):
        request = ExportRequest(window=window, format="pdf", filters=filters)
        with open_scope(request, LakeLayout(home / "lake")) as scope:
            [(counted,)] = scope.connection.sql("select count(*) from events").fetchall()
        assert counted == lake_count(home, where)
