"""The API under load: `--clients` (50) concurrent clients list the history and poll one
export each while `--exports` (10) exports run, against a real `kt serve` on loopback.

Every answer is checked (status 200, a list of views, the polled export's id and a known
status); the run fails on the first wrong answer. Reports requests, errors and the p50/p95/max
latency of each kind, and how long the exports took. Run: `python -m bench.api_load`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from keeptrusts_pipelines.service.jobs import STATUSES
from keeptrusts_pipelines_tests.conftest import free_port
from keeptrusts_pipelines_tests.served import running_server, served_home


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def client_loop(
    api: httpx.AsyncClient, export_id: str, until: asyncio.Event, timings: dict
) -> None:
    while not until.is_set():
        started = time.perf_counter()
        listed = await api.get("/v1/exports/jobs", params={"limit": 20})
        timings["list"].append(time.perf_counter() - started)
        if listed.status_code != 200 or not isinstance(listed.json()["items"], list):
            raise SystemExit(f"wrong list answer: {listed.status_code} {listed.text[:200]}")
        started = time.perf_counter()
        polled = await api.get(f"/v1/exports/jobs/{export_id}")
        timings["poll"].append(time.perf_counter() - started)
        view = polled.json()
        if polled.status_code != 200 or view["export_id"] != export_id:
            raise SystemExit(f"wrong poll answer: {polled.status_code} {polled.text[:200]}")
        if view["status"] not in STATUSES or view["status"] in ("failed", "broken"):
            raise SystemExit(f"{export_id} is {view['status']}: {view.get('error')}")


async def load(url: str, token: str, clients: int, exports: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=clients + 5)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as api:
        started = time.perf_counter()
        ids = []
        for number in range(exports):
            body = {"format": "csv", "time_window": {"last": "7d"}, "name": f"load-{number}"}
            answer = await api.post("/v1/exports/jobs", json=body)
            if answer.status_code != 201:
                raise SystemExit(f"create refused: {answer.text}")
            ids.append(answer.json()["export_id"])
        submitted = time.perf_counter() - started
        timings: dict[str, list[float]] = {"list": [], "poll": []}
        done = asyncio.Event()
        loops = [
            asyncio.create_task(client_loop(api, ids[n % exports], done, timings))
            for n in range(clients)
        ]

        async def watch() -> None:
            while True:
                views = [(await api.get(f"/v1/exports/jobs/{i}")).json() for i in ids]
                if all(view["status"] == "completed" for view in views):
                    done.set()
                    return
                await asyncio.sleep(0.5)

        await asyncio.gather(watch(), *loops)
        elapsed = time.perf_counter() - started
    print(f"{exports} exports (CSV, 7 days) submitted in {submitted:.1f} s, all completed "
          f"after {elapsed:.1f} s, while {clients} clients listed and polled")  # fmt: skip
    for kind, values in timings.items():
        print(
            f"{kind:>4}: {len(values):5d} requests, all correct; p50 "
            f"{statistics.median(values) * 1000:.0f} ms, p95 {percentile(values, 0.95) * 1000:.0f} "
            f"ms, max {max(values) * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--exports", type=int, default=10)
    parser.add_argument("--per-day", type=int, default=2000, help="demo events per day")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        tokens = served_home(home, days=9, per_day=options.per_day)
        with running_server(home, free_port()) as url:
            asyncio.run(load(url, tokens["compliance"], options.clients, options.exports))


if __name__ == "__main__":
    sys.exit(main())
