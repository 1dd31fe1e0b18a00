"""Property: for any filters and window, the export is exactly a reference filter of the lake."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, Filters, Window
from keeptrusts_pipelines.model.schema import ACTIONS, RESULTS, SEVERITIES
from keeptrusts_pipelines.sources import demo_catalog as catalog
from keeptrusts_pipelines_tests.doors import run_export
from keeptrusts_pipelines_tests.lakes import demo_lake

FIRST = date(2026, 3, 1)
DAYS = 4
NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[LakeLayout, pl.DataFrame]:
    layout = demo_lake(tmp_path_factory.mktemp("lake"), FIRST, DAYS, seed=8, per_day=300)
    events = pl.read_parquet(str(layout.root / "decision_events" / "*" / "*.parquet"))
    return layout, events


def subset(values) -> st.SearchStrategy:
    return st.lists(st.sampled_from(values), max_size=2, unique=True).map(tuple)


filters_strategy = st.builds(
    Filters,
    policy=subset(catalog.POLICIES[:5]),
    evaluated_policy=subset(
        [*catalog.POLICIES[:5], *(f"{p}:block" for p in catalog.POLICIES[:3]), "pii-filter:pass"]
    ),
    action=subset(ACTIONS),
    result=subset(RESULTS),
    gateway=subset([g for g, _ in catalog.GATEWAYS]),
    consumer_group=subset(catalog.CONSUMER_GROUPS),
    team=subset(catalog.TEAMS),
    model=subset([m for m, _ in catalog.MODELS]),
    min_severity=st.none() | st.sampled_from(SEVERITIES),
)
window_strategy = st.tuples(st.integers(0, DAYS * 24 * 60 - 1), st.integers(1, DAYS * 24 * 60)).map(
    lambda minutes: Window(
        datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=min(minutes)),
        datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=max(minutes[0] + 1, minutes[1])),
    )
)


def reference(events: pl.DataFrame, window: Window, filters: Filters) -> list[str]:
    """The same selection, written independently in Polars."""
    kept = events.filter((pl.col("timestamp") >= window.start) & (pl.col("timestamp") < window.end))
    for column in ("action", "result", "gateway", "consumer_group", "team", "model"):
        if getattr(filters, column):
            kept = kept.filter(pl.col(column).is_in(list(getattr(filters, column))))
    if filters.policy:
        kept = kept.filter(pl.col("policy").is_in(list(filters.policy)))
    if filters.evaluated_policy:
        rows = kept.to_dicts()
        wanted = set(filters.evaluated_policy)
        kept = kept.filter(
            pl.Series(
                [
                    any(
                        p["name"] in wanted or f"{p['name']}:{p['verdict']}" in wanted
                        for p in row["policies_evaluated"]
                    )
                    for row in rows
                ],
                dtype=pl.Boolean,
            )
        )
    if filters.min_severity:
        allowed = list(SEVERITIES[SEVERITIES.index(filters.min_severity) :])
        kept = kept.filter(pl.col("severity").is_in(allowed))
    return kept.sort("timestamp", "event_id")["event_id"].to_list()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(window=window_strategy, filters=filters_strategy)
def test_export_equals_reference_filter(
    lake, tmp_path: Path, window: Window, filters: Filters
) -> None:
    layout, events = lake
    request = ExportRequest(window=window, format="jsonl", filters=filters)
    result = run_export(request, layout, tmp_path / "exports", now=lambda: NOW)
    exported = [json.loads(line)["id"] for line in Path(result.artifact).read_text().splitlines()]
    assert exported == reference(events, window, filters)
