"""What the Dagster UI shows, read through the webserver's GraphQL API of a real `dagster dev`:
owners, column schemas, pick-lists in export_job's config, partitions from the lake's first day,
and no delivery assets without a destination."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from keeptrusts_pipelines_tests.test_dagster_dev import LOCATION, dagster_dev, graphql

__all__ = ["dagster_dev"]  # the fixture, shared with test_dagster_dev

FIRST_DAY = "2026-07-02"

ASSETS = """
{ assetNodes {
    assetKey { path }
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    tags { key value }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry { schema { columns { name type } } }
    }
    partitionKeysByDimension(startIdx: 0, endIdx: 1) { partitionKeys }
} }
"""
CONFIG_TYPES = """
query ($selector: PipelineSelector!) {
  runConfigSchemaOrError(selector: $selector) {
    __typename
    ... on RunConfigSchema {
      allConfigTypes { key ... on EnumConfigType { givenName values { value } } }
    }
  }
}
"""


@pytest.fixture
def lake_start(keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The lake's first day as `kt demo` records it, and no evidence bucket."""
    monkeypatch.delenv("KEEPTRUSTS_LAKE_START_DATE", raising=False)
    monkeypatch.delenv("KEEPTRUSTS_EVIDENCE_S3_URL", raising=False)
    keeptrusts_home.mkdir(parents=True, exist_ok=True)
    (keeptrusts_home / "settings.json").write_text(json.dumps({"lake_start_date": FIRST_DAY}))
    yield FIRST_DAY


def test_the_ui_describes_assets_and_export_config(
    lake_start: str, dagster_dev: tuple[str, Path]
) -> None:
    url, _ = dagster_dev
    nodes = {
        "/".join(node["assetKey"]["path"]): node for node in graphql(url, ASSETS)["assetNodes"]
    }
    assert not [name for name in nodes if name.endswith("_delivery")]
    events = nodes["decision_events"]
    assert events["owners"] == [{"team": "data-platform"}]
    assert {"key": "domain", "value": "lake"} in events["tags"]
    schema = next(e for e in events["metadataEntries"] if e["label"] == "dagster/column_schema")
    columns = {column["name"]: column["type"] for column in schema["schema"]["columns"]}
    assert columns["event_id"] == "string" and columns["timestamp"].startswith("timestamp")
    assert events["partitionKeysByDimension"][0]["partitionKeys"][0] == lake_start
    assert nodes["weekly_evidence_bundle"]["owners"] == [{"team": "compliance"}]

    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": "__repository__",
        "pipelineName": "export_job",
    }
    answer = graphql(url, CONFIG_TYPES, {"selector": selector})["runConfigSchemaOrError"]
    assert answer["__typename"] == "RunConfigSchema", answer
    enums = {
        t["givenName"]: [v["value"] for v in t["values"]]
        for t in answer["allConfigTypes"]
        if "givenName" in t and t.get("values")
    }
    assert enums["ExportType"] == ["events", "escalations", "config-history", "conversations"]
    assert {"csv", "parquet", "pdf", "compliance-all"} <= set(enums["ExportFormat"])
    assert enums["Action"] == ["allow", "block", "redact", "escalate"]
    assert enums["Result"] == ["passed", "blocked", "modified", "escalated"]
    assert enums["Severity"] == ["info", "low", "medium", "high", "critical"]
