"""Export runs through a Dagster webserver's GraphQL API (`KEEPTRUSTS_DAGSTER_URL`).

Runs launched here join the deployment's run queue, so its daemon runs them, a few at a time,
and its UI shows them; kt and the deployment share KEEPTRUSTS_HOME for artifacts and records.
"""

from pathlib import Path

import requests

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, ExportRun, launcher_tags

LOCATION = "keeptrusts_pipelines"
REPOSITORY = "__repository__"
TIMEOUT_SECONDS = 30

LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
} }
"""
RUNS = """
query($filter: RunsFilter, $limit: Int) { runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId status creationTime startTime endTime tags { key value } } }
    ... on PythonError { message }
} }
"""


class DagsterApiError(KeeptrustsError):
    """The Dagster webserver could not be reached or refused a request."""


class GraphQLExportRuns:
    def __init__(self, url: str) -> None:
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/graphql") else f"{base}/graphql"

    def _call(self, query: str, variables: dict) -> dict:
        try:
            response = requests.post(
                self.endpoint,
                json={"query": query, "variables": variables},
                timeout=TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            payload = response.json()
        except (requests.RequestException, ValueError) as error:
            raise DagsterApiError(
                f"KEEPTRUSTS_DAGSTER_URL={self.endpoint}: no answer ({type(error).__name__}); "
                "start the deployment (kt ui) or unset it to use the local instance"
            ) from None
        if payload.get("errors"):
            raise DagsterApiError(f"Dagster GraphQL: {payload['errors'][0].get('message')}")
        return payload["data"]

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": "export_job",
            },
            "runConfigData": run_config,
            "executionMetadata": {
                "tags": [{"key": k, "value": v} for k, v in {**tags, **launcher_tags(tags)}.items()]
            },
        }
        launched = self._call(LAUNCH, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            errors = launched.get("errors") or [launched]
            raise DagsterApiError(
                f"Dagster refused the run ({launched['__typename']}): "
                + "; ".join(str(e.get("message")) for e in errors)
            )
        return launched["run"]["runId"]

    def find(self, export_id: str) -> ExportRun | None:
        tags = [{"key": EXPORT_ID_TAG, "value": export_id}]
        found = self._runs({"pipelineName": "export_job", "tags": tags}, 1)
        return found[0] if found else None

    def recent(self, limit: int) -> list[ExportRun]:
        return self._runs({"pipelineName": "export_job"}, limit)

    def settle(self, exports_root: Path, ledger: CustodyLedger) -> None:
        """Nothing to do here: the deployment's daemon runs export_worker_monitor_sensor."""

    def _runs(self, run_filter: dict, limit: int) -> list[ExportRun]:
        answer = self._call(RUNS, {"filter": run_filter, "limit": limit})["runsOrError"]
        if answer["__typename"] != "Runs":
            raise DagsterApiError(f"Dagster GraphQL: {answer.get('message')}")
        return [
            ExportRun(
                run_id=run["runId"],
                status=run["status"],
                tags={tag["key"]: tag["value"] for tag in run["tags"]},
                created=run["creationTime"],
                started=run["startTime"],
                ended=run["endTime"],
            )
            for run in answer["results"]
        ]
