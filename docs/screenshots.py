"""The README's pictures: the Dagster UI on a demo lake, and the report's pages.

    KEEPTRUSTS_HOME=var python -m docs.screenshots      # after `make demo`

Starts `kt ui` on a free loopback port, photographs the asset graph, a partition of
`decision_events`, a bundle's metadata and export_job's Launchpad with Debian's Chromium
(Playwright), and renders the first pages of the newest PDF report under the exports folder
(or of the newest quarterly bundle's report) with pdftoppm. Images go to docs/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
LOCATION = "keeptrusts_pipelines"
REPORT_PAGES = 3
# What each UI picture shows, and the page it is taken from.
UI_PAGES = {
    "ui-asset-graph.png": "/asset-groups",
    "ui-partitions.png": "/assets/decision_events?view=partitions",
    "ui-bundle-metadata.png": "/assets/quarterly_evidence_bundle",
    "ui-launchpad.png": f"/locations/{LOCATION}/jobs/export_job/playground",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    query = json.dumps({"query": "{ version }"}).encode()
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, query, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the Dagster UI did not answer at {url} within {seconds:.0f} s")


def _expand_groups(page) -> None:
    """Open the lake and evidence groups of the lineage graph; reloaded, it fits them in view."""
    for group in ("lake", "evidence"):
        page.get_by_text(group, exact=True).last.click()
        page.wait_for_timeout(1000)
    page.reload()
    page.wait_for_load_state("networkidle")


def _open_partition(page, day: str) -> None:
    page.get_by_text(day, exact=True).first.click()


def photograph_ui(port: int, day: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    written = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for name, path in UI_PAGES.items():
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            # Dagster's first-visit dialogs cover the page until dismissed.
            for label in ("Dismiss", "Skip", "Close"):
                button = page.get_by_role("button", name=label)
                if button.count():
                    button.first.click()
            page.wait_for_timeout(2500)  # the graph lays itself out after the data arrives
            if name == "ui-asset-graph.png":
                _expand_groups(page)
            elif name == "ui-partitions.png":
                _open_partition(page, day)
            page.wait_for_timeout(2500)
            target = DOCS / name
            page.screenshot(path=str(target))
            written.append(target)
        browser.close()
    return written


def newest_report(home: Path) -> Path | None:
    """The newest PDF under the exports folder, else the report inside the newest bundle."""
    reports = sorted((home / "exports").glob("*/artifact/*.pdf"), key=lambda p: p.stat().st_mtime)
    if reports:
        return reports[-1]
    bundles = sorted((home / "evidence").glob("quarterly-*/artifact/*.tar.gz"))
    if not bundles:
        return None
    unpacked = Path(tempfile.mkdtemp(prefix="report-"))
    with tarfile.open(bundles[-1]) as bundle:
        member = next((m for m in bundle.getmembers() if m.name.endswith(".pdf")), None)
        if member is None:
            return None
        bundle.extract(member, unpacked, filter="data")
    return unpacked / member.name


def render_report(report: Path) -> list[Path]:
    prefix = DOCS / "report-page"
    for old in DOCS.glob("report-page-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", str(REPORT_PAGES), str(report), prefix],
        check=True,
    )
    return sorted(DOCS.glob("report-page-*.png"))


def main() -> None:
    home = Path(os.environ.get("KEEPTRUSTS_HOME", "var")).resolve()
    if not (home / "lake").is_dir():
        raise SystemExit(f"no lake under {home}: run `make demo` first (or set KEEPTRUSTS_HOME)")
    if shutil.which("pdftoppm") is None or not Path(CHROMIUM).exists():
        raise SystemExit("needs pdftoppm and chromium: apt-get install poppler-utils chromium")
    port = _free_port()
    kt = Path(sys.executable).with_name("kt")
    ui = subprocess.Popen(
        [str(kt), "ui", "--port", str(port)],
        env={**os.environ, "KEEPTRUSTS_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/graphql", 300)
        days = sorted((home / "lake" / "decision_events").glob("date=*"))
        written = photograph_ui(port, days[-1].name.removeprefix("date="))
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=60)
    report = newest_report(home)
    if report is None:
        print("no PDF report under the exports or evidence folders: report pages not rendered")
    else:
        written += render_report(report)
    for path in written:
        print(path.relative_to(DOCS.parent))


if __name__ == "__main__":
    main()
