"""The HTTP door against a real `kt serve` on loopback: every endpoint per role, refusals in
the ledger with their actor, counts against DuckDB, downloads against their sha256, kt as the
API's client."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines_tests.conftest import free_port
from keeptrusts_pipelines_tests.served import (
    lake_count,
    running_server,
    served_home,
    wait_until_final,
)

runner = CliRunner()
LEGAL_7D = {"format": "csv", "time_window": {"last": "7d"}, "filters": {"team": ["legal"]}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict]]:
    home = tmp_path_factory.mktemp("served") / "home"
    tokens = served_home(home)
    with running_server(home, free_port()) as url:
        yield url, home, tokens


def client(served, role: str | None) -> httpx.Client:
    url, _, tokens = served
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
    return httpx.Client(base_url=url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def completed(served) -> dict:
    """One completed export of the legal team's last 7 days, made by the compliance token."""
    with client(served, "compliance") as api:
        answer = api.post("/v1/exports/jobs", json={**LEGAL_7D, "name": "legal-week"})
        assert answer.status_code == 201, answer.text
        view = wait_until_final(api, answer.json()["export_id"])
    assert view["status"] == "completed", view
    return view


def audit(served) -> list[dict]:
    with client(served, "admin") as api:
        return api.get("/v1/audit", params={"limit": 200}).json()["items"]


# (method, path, body, roles allowed); `{id}` is the completed export.
ENDPOINTS = [
    ("GET", "/v1/exports/jobs", None, {"admin", "compliance", "auditor"}),
    ("GET", "/v1/exports/jobs/{id}", None, {"admin", "compliance", "auditor"}),
    ("GET", "/v1/exports/jobs/{id}/download", None, {"admin", "compliance", "auditor"}),
    ("POST", "/v1/exports/preview", LEGAL_7D, {"admin", "compliance"}),
    (
        "POST",
        "/v1/exports/jobs",
        {"format": "json", "time_window": {"last": "24h"}},
        {"admin", "compliance"},
    ),
    ("GET", "/v1/exports/schedules", None, {"admin"}),
    ("GET", "/v1/settings/s3", None, {"admin"}),
    ("GET", "/v1/audit", None, {"admin", "auditor"}),
    ("GET", "/v1/audit/verify", None, {"admin", "auditor"}),
    ("GET", "/v1/tokens", None, {"admin"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
def test_each_endpoint_answers_its_roles_and_refuses_the_others(
    served, completed, method, path, body, allowed
) -> None:
    path = path.replace("{id}", completed["export_id"])
    for role in ("admin", "compliance", "auditor", None, "expired", "revoked"):
        with client(served, role) as api:
            answer = api.request(method, path, json=body)
        expected = (
            (200, 201)
            if role in allowed
            else (401,)
            if role in (None, "expired", "revoked")
            else (403,)
        )
        assert answer.status_code in expected, (role, path, answer.status_code, answer.text)
        if answer.status_code >= 400:
            error = answer.json()
            assert set(error) == {"error", "field", "message"}
            assert "Traceback" not in answer.text


def test_refusals_are_in_the_ledger_with_their_actor(served) -> None:
    with client(served, "auditor") as api:
        assert api.delete("/v1/exports/jobs/exp_000000000000").status_code == 403
    for role in ("expired", "revoked", None):
        with client(served, role) as api:
            assert api.get("/v1/exports/jobs").status_code == 401
    refused = [entry for entry in audit(served) if entry["action"] == "refused"]
    actors = {entry["actor"] for entry in refused}
    assert {"token:auditor", "token:expired", "token:revoked", "anonymous"} <= actors
    detail = json.loads(next(e for e in refused if e["actor"] == "token:auditor")["detail"])
    assert detail["status"] == 403 and detail["path"] == "/v1/exports/jobs/exp_000000000000"


def test_raw_content_needs_a_reason_and_records_it(served) -> None:
    body = {"format": "jsonl", "time_window": {"last": "24h"}, "raw_content": True}
    with client(served, "compliance") as api:
        refused = api.post("/v1/exports/jobs", json=body)
        assert refused.status_code == 422
        assert refused.json()["field"] == "reason"
        created = api.post("/v1/exports/jobs", json={**body, "reason": "incident INC-42 review"})
        assert created.status_code == 201
    export_id = created.json()["export_id"]
    entries = [e for e in audit(served) if e["export_id"] == export_id]
    assert {e["action"] for e in entries} >= {"created", "raw_requested"}
    assert all(e["actor"] == "token:compliance" for e in entries)


def test_a_filtered_export_counts_what_duckdb_counts_and_downloads_its_sha256(
    served, completed
) -> None:
    _, home, _ = served
    expected = lake_count(home, completed["window"], "team = ?", ["legal"])
    assert completed["records"] == expected > 0
    with client(served, "compliance") as api:
        preview = api.post("/v1/exports/preview", json=LEGAL_7D).json()
        answer = api.get(f"/v1/exports/jobs/{completed['export_id']}/download")
        part = api.get(
            f"/v1/exports/jobs/{completed['export_id']}/download", headers={"Range": "bytes=0-99"}
        )
    assert preview["records"] == lake_count(home, preview["window"], "team = ?", ["legal"])
    assert answer.status_code == 200
    assert hashlib.sha256(answer.content).hexdigest() == completed["sha256"]
    assert answer.headers["etag"] == f'"{completed["sha256"]}"'
    digest = base64.b64encode(bytes.fromhex(completed["sha256"])).decode()
    assert answer.headers["digest"] == f"sha-256={digest}"
    assert completed["artifact"] in answer.headers["content-disposition"]
    assert part.status_code == 206 and part.content == answer.content[:100]
    rows = answer.content.decode().strip().splitlines()
    assert len(rows) - 1 == completed["records"]


def test_every_action_is_in_the_ledger_with_its_actor(served, completed) -> None:
    with client(served, "admin") as api:
        api.get(f"/v1/exports/jobs/{completed['export_id']}/download")
        made = api.post("/v1/exports/jobs", json={"format": "csv", "time_window": {"last": "24h"}})
        other = wait_until_final(api, made.json()["export_id"])
        assert api.delete(f"/v1/exports/jobs/{other['export_id']}").status_code == 200
        assert api.get(f"/v1/exports/jobs/{other['export_id']}").json()["status"] == "deleted"
    entries = audit(served)
    seen = {(e["action"], e["actor"]) for e in entries if e["export_id"] == other["export_id"]}
    assert {("created", "token:admin"), ("deleted", "token:admin")} <= seen
    assert ("downloaded", "token:admin") in {
        (e["action"], e["actor"]) for e in entries if e["export_id"] == completed["export_id"]
    }
    assert ("previewed", "token:compliance") in {(e["action"], e["actor"]) for e in entries}


def test_listing_pages_and_filters_by_status_format_and_creator(served, completed) -> None:
    with client(served, "auditor") as api:
        first = api.get("/v1/exports/jobs", params={"limit": 1}).json()
        mine = api.get("/v1/exports/jobs", params={"creator": "compliance", "format": "csv"}).json()
        bad = api.get("/v1/exports/jobs", params={"status": "finished"})
    assert len(first["items"]) == 1 and first["next"] == 1
    assert completed["export_id"] in [view["export_id"] for view in mine["items"]]
    assert all(view["actor"] == "token:compliance" for view in mine["items"])
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def test_errors_are_one_json_object_naming_the_field(served) -> None:
    with client(served, "compliance") as api:
        unknown = api.post("/v1/exports/jobs", json={**LEGAL_7D, "colour": "red"})
        swapped = api.post(
            "/v1/exports/jobs",
            json={"format": "csv", "time_window": {"from": "2026-05-31", "to": "2026-05-01"}},
        )
        missing = api.get("/v1/exports/jobs/exp_000000000000")
        large = api.post("/v1/exports/preview", content=b"{" + b" " * (2 << 20) + b"}",
                         headers={"Content-Type": "application/json"})  # fmt: skip
        broken = api.post("/v1/exports/preview", content=b"{not json",
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert (unknown.status_code, unknown.json()["field"]) == (422, "colour")
    assert (swapped.status_code, swapped.json()["field"]) == (422, "time_window.from")
    assert (missing.status_code, missing.json()["field"]) == (404, "id")
    assert large.status_code == 413 and broken.status_code == 400
    headers = missing.headers
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize(
    "destination",
    [
        {"deliver_to": "file:///etc/passwd"},
        {"deliver_to": "s3://AKIA:secret@bucket/kt"},
        {"deliver_to": "s3://bucket/../kt"},
        {"deliver_to": "s3://a-bucket/kt", "s3_bucket": "b-bucket"},
        {"s3_bucket": "Bucket_Name"},
        {"s3_bucket": "a-bucket", "s3_prefix": "../../kt"},
        {"deliver_to": "s3://a-bucket/kt", "deliver": False},
    ],
)
def test_a_hostile_delivery_target_is_refused_naming_its_field(served, destination) -> None:
    with client(served, "admin") as api:
        job = api.post("/v1/exports/jobs", json={**LEGAL_7D, "destination": destination})
        schedule = api.post(
            "/v1/exports/schedules",
            json={"name": "hostile", "interval": "weekly", "formats": ["csv"], **destination},
        )
    assert (job.status_code, job.json()["field"]) == (422, "destination"), job.text
    assert "secret" not in job.text and "secret" not in schedule.text
    assert schedule.status_code == 422, schedule.text


def test_the_access_log_holds_no_query_strings(served) -> None:
    with client(served, "auditor") as api:
        api.get("/v1/audit", params={"actor": "secret-looking-value"})
    _, home, _ = served
    log = (home / "serve.log").read_text()
    assert "GET /v1/audit HTTP" in log and "secret-looking-value" not in log


def test_kt_is_the_apis_client_with_the_same_output(
    served, completed, tmp_path: Path, monkeypatch
) -> None:
    url, home, tokens = served
    monkeypatch.setenv("KEEPTRUSTS_API_URL", url)
    monkeypatch.setenv("KEEPTRUSTS_API_TOKEN", tokens["compliance"])
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "elsewhere"))  # nothing local is used
    preview = runner.invoke(
        app, ["export", "preview", "--last", "7d", "--filter-team", "legal", "--json"]
    )
    assert preview.exit_code == 0, preview.output
    counted = json.loads(preview.output)
    assert counted["records"] == lake_count(home, counted["window"], "team = ?", ["legal"])
    created = runner.invoke(
        app, ["export", "create", "--last", "7d", "--filter-team", "legal", "--wait", "--json"]
    )
    assert created.exit_code == 0, created.output
    view = json.loads(created.output)
    assert view["status"] == "completed" and view["actor"] == "token:compliance"
    status = runner.invoke(app, ["export-jobs", "get", "--id", view["export_id"]])
    assert "Status: completed" in status.output and f"Records: {view['records']:,}" in status.output
    listed = json.loads(runner.invoke(app, ["export", "list", "--json", "--limit", "50"]).output)
    assert view["export_id"] in [row["export_id"] for row in listed]
    output = tmp_path / "legal.csv"
    downloaded = runner.invoke(
        app, ["export", "download", "--id", view["export_id"], "--output", str(output)]
    )
    assert downloaded.exit_code == 0, downloaded.output
    assert hashlib.sha256(output.read_bytes()).hexdigest() == view["sha256"]
    missing = runner.invoke(app, ["export", "status", "--id", "exp_000000000000"])
    assert missing.exit_code == 2 and "no such export" in missing.output
    monkeypatch.setenv("KEEPTRUSTS_API_TOKEN", tokens["auditor"])
    refused = runner.invoke(app, ["export", "create", "--last", "24h"])
    assert refused.exit_code == 1 and "KEEPTRUSTS_API_TOKEN: role auditor" in refused.output


def test_the_page_signs_in_with_a_strict_cookie_and_checks_csrf(served) -> None:
    url, _, tokens = served
    with httpx.Client(base_url=url, timeout=60) as browser:
        refused = browser.post("/login", data={"token": "kt_nonsense"})
        assert refused.status_code == 401 and "sign-in refused" in refused.text
        signed = browser.post("/login", data={"token": tokens["compliance"]})
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = browser.get("/")
        assert 'name="csrf"' in page.text and "Create export" in page.text
        forged = browser.post("/exports", data={"action": "preview", "range": "7d"})
        assert forged.status_code == 403
    with httpx.Client(base_url=url, timeout=60) as browser:
        browser.post("/login", data={"token": tokens["auditor"]})
        page = browser.get("/")
        assert "History" in page.text and 'id="create-form"' not in page.text


def test_repeated_unknown_tokens_are_slowed_down(served) -> None:
    url, _, _ = served
    took = []
    with httpx.Client(base_url=url, timeout=60) as api:
        for attempt in range(6):
            started = time.monotonic()
            answer = api.get(
                "/v1/exports/jobs", headers={"Authorization": f"Bearer kt_guess{attempt}"}
            )
            took.append(time.monotonic() - started)
            assert answer.status_code == 401
    assert took[-1] >= 1.0  # the first failures are answered at once (failure_delay's test)


def test_kt_schedules_and_raw_reasons_go_through_the_api(
    served, tmp_path: Path, monkeypatch
) -> None:
    url, home, tokens = served
    monkeypatch.setenv("KEEPTRUSTS_API_URL", url)
    monkeypatch.setenv("KEEPTRUSTS_HOME", str(tmp_path / "elsewhere"))  # nothing local is used
    monkeypatch.setenv("KEEPTRUSTS_API_TOKEN", tokens["admin"])
    added = runner.invoke(
        app,
        [*("export", "schedule", "--name", "api-monthly", "--interval", "monthly"),
         *("--format", "csv")],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Schedule: At 02:00, on day 1 of the month UTC" in added.output
    assert "api-monthly" in (home / "deliveries.yaml").read_text()
    assert not (tmp_path / "elsewhere" / "deliveries.yaml").exists()
    listed = json.loads(runner.invoke(app, ["export", "schedule", "list", "--json"]).output)
    assert [entry["name"] for entry in listed] == ["api-monthly"]
    removed = runner.invoke(app, ["export", "schedule", "delete", "--name", "api-monthly"])
    assert removed.exit_code == 0 and "api-monthly" not in (home / "deliveries.yaml").read_text()

    monkeypatch.setenv("KEEPTRUSTS_API_TOKEN", tokens["compliance"])
    flags = ["export", "create", "--last", "24h", "--raw-content", "--json"]
    refused = runner.invoke(app, flags)
    assert refused.exit_code == 2 and "reason" in refused.output
    asked = runner.invoke(app, [*flags, "--reason", "case 42: legal review of a complaint"])
    assert asked.exit_code == 0, asked.output
    export_id = json.loads(asked.output)["export_id"]
    assert any(
        e["action"] == "raw_requested" and e["export_id"] == export_id
        and "case 42" in e["detail"]
        for e in audit(served)
    )  # fmt: skip


def test_refusals_are_answered_at_once_at_first_then_held_longer_each_time() -> None:
    from keeptrusts_pipelines.api.door import Door

    door = Door(*(None,) * 7)  # type: ignore[arg-type]  # only the failure counts are used
    delays = [door.failure_delay("203.0.113.7") for _ in range(9)]
    assert delays == [0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    assert door.failure_delay("203.0.113.8") == 0.0  # counted per client
