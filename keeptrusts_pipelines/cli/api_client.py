"""`kt` as the API's client: the methods of ExportJobs (submit, find, list, download, link,
delete, recreate) and preview, through `/v1` with KEEPTRUSTS_API_URL and KEEPTRUSTS_API_TOKEN.

API errors come back as the project's errors, so every `kt export` command prints the same
one line as it does locally.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keeptrusts_pipelines.cli.output import fail
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import ExportRequest, request_to_fields
from keeptrusts_pipelines.service.jobs import NoSuchExport

if TYPE_CHECKING:  # httpx loads with the first client: most kt commands speak to no API
    import httpx

    from keeptrusts_pipelines.delivery.target import TargetAddress

TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 60.0, 10.0
PAGE = 200


def request_body(request: ExportRequest) -> dict[str, Any]:
    """An export request as the API's body (the window resolved, as the local door stores it)."""
    fields = request_to_fields(request)
    return {
        "type": fields["type"],
        "format": fields["format"],
        "time_window": {"from": fields["from"], "to": fields["to"]},
        "filters": fields["filters"] or None,
    }


class ApiExportJobs:
    """Export jobs through a running `kt serve`."""

    def __init__(self, url: str, token: str, client: httpx.Client | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = client or httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "kt"},
            timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        )

    def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        import httpx

        try:
            response = self.client.request(method, path, **options)
        except httpx.HTTPError as error:
            raise KeeptrustsError(
                f"KEEPTRUSTS_API_URL {self.url}: cannot reach the API ({type(error).__name__}); "
                "check that kt serve runs there"
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> KeeptrustsError:
        try:
            body = response.json()
            field, message = body.get("field"), str(body.get("message"))
        except (ValueError, AttributeError):
            field, message = None, f"HTTP {response.status_code}"
        status = response.status_code
        if status == 404 and field == "id":
            return NoSuchExport(f"id {message}")
        if status in (401, 403):
            return KeeptrustsError(f"KEEPTRUSTS_API_TOKEN: {message}")
        if status in (400, 422) and field:
            return ExportRequestError(field, message)
        return KeeptrustsError(message)

    def delivery_for(self, target: TargetAddress | None, keep: bool = False) -> dict[str, object]:
        """The destination to ask for; none given, the server's saved destination applies."""
        if target is not None:
            return {"deliver_to": target.url}
        return {"deliver": False} if keep else {}

    def submit(
        self,
        request: ExportRequest,
        delivery: dict[str, object] | None = None,
        reason: str | None = None,
        wait: bool = False,
    ) -> str:
        """Start the job on the server; the caller follows it to its end (`wait` runs nothing
        here: the server's instance runs it)."""
        body = {
            **request_body(request),
            "name": request.name,
            "title": request.title,
            "description": request.description,
            "raw_content": request.raw_content,
            "reason": reason,
        }
        if delivery:
            body["destination"] = delivery
        return self._call("POST", "/v1/exports/jobs", json=body).json()["export_id"]

    def find(self, export_id: str) -> dict:
        return self._call("GET", f"/v1/exports/jobs/{export_id}").json()

    def list(
        self,
        limit: int,
        statuses: set[str] | None = None,
        formats: set[str] | None = None,
        actor: str | None = None,
    ) -> list[dict]:
        found: list[dict] = []
        offset: int | None = 0
        while offset is not None and len(found) < limit:
            params: dict[str, Any] = {
                "limit": min(PAGE, limit - len(found)),
                "offset": offset,
                "status": sorted(statuses or ()),
                "format": sorted(formats or ()),
            }
            if actor:
                params["creator"] = actor
            page = self._call("GET", "/v1/exports/jobs", params=params).json()
            found.extend(page["items"])
            offset = page["next"]
        return found

    def download(self, export_id: str, output: Path) -> dict:
        """Stream the artifact to `output` (written beside it, renamed when its sha256 matches)."""
        import httpx

        view = self.find(export_id)
        digest = hashlib.sha256()
        with atomic_path(output.absolute()) as path:
            try:
                with self.client.stream(
                    "GET", f"/v1/exports/jobs/{export_id}/download", follow_redirects=True
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise self._error(response)
                    with path.open("wb") as handle:
                        for chunk in response.iter_bytes():
                            digest.update(chunk)
                            handle.write(chunk)
            except httpx.HTTPError as error:
                raise KeeptrustsError(
                    f"KEEPTRUSTS_API_URL {self.url}: the download broke off "
                    f"({type(error).__name__}); run it again"
                ) from None
            if view.get("sha256") and digest.hexdigest() != view["sha256"]:
                raise KeeptrustsError(
                    f"id {export_id}: the bytes received do not match the recorded sha256 "
                    f"{view['sha256']}; run the download again"
                )
        return view

    def link(self, export_id: str, seconds: int) -> tuple[str, str]:
        minutes = max(1, seconds // 60)
        answer = self._call(
            "GET", f"/v1/exports/jobs/{export_id}/link", params={"expires": f"{minutes}m"}
        ).json()
        return answer["url"], answer["expires_at"]

    def delete(self, export_id: str) -> dict:
        return self._call("DELETE", f"/v1/exports/jobs/{export_id}").json()

    def recreate(self, export_id: str, wait: bool = False) -> tuple[dict, str]:
        original = self.find(export_id)
        answer = self._call("POST", f"/v1/exports/jobs/{export_id}/recreate").json()
        return original, answer["export_id"]

    def preview(self, request: ExportRequest) -> int:
        return self._call("POST", "/v1/exports/preview", json=request_body(request)).json()[
            "records"
        ]

    # Recurring deliveries (`kt export schedule …` through the API).
    def schedules(self) -> dict:
        return self._call("GET", "/v1/exports/schedules").json()

    def add_schedule(self, body: dict[str, object]) -> dict:
        return self._call("POST", "/v1/exports/schedules", json=body).json()

    def remove_schedule(self, name: str) -> dict:
        return self._call("DELETE", f"/v1/exports/schedules/{name}").json()


def from_environment() -> ApiExportJobs | None:
    """The client of KEEPTRUSTS_API_URL with KEEPTRUSTS_API_TOKEN; None when neither is set."""
    from keeptrusts_pipelines.api.settings import api_token, api_url

    url, token = api_url(), api_token()
    if not url and not token:
        return None
    if not (url and token):
        missing = "KEEPTRUSTS_API_TOKEN" if url else "KEEPTRUSTS_API_URL"
        raise ConfigurationError(
            f"{missing}: not set; set both it and its pair to use the API, or neither"
        )
    return ApiExportJobs(url, token)


def configured_client() -> ApiExportJobs | None:
    """`from_environment()` for a kt command: a half-set pair exits 2, naming what is missing."""
    try:
        return from_environment()
    except ConfigurationError as error:
        fail(str(error), code=2)
