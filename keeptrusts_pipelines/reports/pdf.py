"""The PDF report: HTML from a jinja2 template, charts from matplotlib, PDF/A-3b by weasyprint,
with the machine-readable summary attached.

A report inside a bundle must be reproducible, so it carries no export id or generation time:
its dates are the window's end and it shows the lake's content hash instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import jinja2
import weasyprint

from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.model.export_request import rfc3339
from keeptrusts_pipelines.reports import charts
from keeptrusts_pipelines.reports.scope import Scope
from keeptrusts_pipelines.reports.summary import report_summary

TEMPLATES = Path(__file__).with_name("templates")
SUMMARY_ATTACHMENT = "report-summary.json"
DEFAULT_TITLE = "AI Governance Evidence Report"


def generator() -> str:
    return f"keeptrusts-pipelines {version('keeptrusts-pipelines')}"


def lake_hash(scope: Scope) -> str:
    """One hash over every partition read (table, day, sha256): the lake's content as read."""
    lines = sorted(f"{p.table} {p.day} {p.sha256}\n" for p in scope.partitions)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Stamp:
    """Who and when, for a standalone report; None inside a bundle (reproducible)."""

    export_id: str
    generated_at: datetime
    signed: bool = False  # the export signs the file once written (PAdES)


def environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.globals["share"] = lambda part, whole: (
        f"{100 * part / whole:.1f}%" if whole else "n/a"
    )
    environment.filters["number"] = lambda value: f"{value:,}"
    return environment


def filters_text(filters: dict[str, object]) -> str:
    return (
        "; ".join(
            f"{name}: {', '.join(v) if isinstance(v, list) else v}" for name, v in filters.items()
        )
        or "none (every event of the period)"
    )


def redaction_facts(redaction: Redaction | None) -> dict[str, object] | None:
    """What a report says of its redaction: rule set and pseudonyms (the counts of the whole
    export are in its record)."""
    if redaction is None:
        return None
    facts = redaction.facts()
    return {key: facts[key] for key in ("rules", "validators", "phone_regions", "pseudonyms")}


def shown_text(text: str | None, redaction: Redaction | None) -> str | None:
    """A title or description as a report shows it: redacted like any text."""
    if text is None or redaction is None:
        return text
    return redaction.text([text])[0]


def write_report_pdf(
    scope: Scope, target: Path, stamp: Stamp | None = None, redaction: Redaction | None = None
) -> dict:
    """Write the report to `target`; return its summary (also attached inside it).

    With `redaction`, everything it shows from the data is redacted, and it says so.
    """
    summary = report_summary(scope, redaction)
    summary["redaction"] = redaction_facts(redaction)
    request = scope.request
    stamped = stamp.generated_at if stamp else request.window.end
    html = (
        environment()
        .get_template("report.html.j2")
        .render(
            title=shown_text(request.title, redaction) or DEFAULT_TITLE,
            description=shown_text(request.description, redaction),
            period=request.window.describe(),
            window_start=rfc3339(request.window.start),
            window_end=rfc3339(request.window.end),
            filters_text=filters_text(summary["filters"]),
            redaction_statement=redaction.statement() if redaction else None,
            export_id=stamp.export_id if stamp else None,
            # A standalone report is signed by the export when a key is set; a bundle's is not.
            signed=stamp is not None and stamp.signed,
            generated_at=stamped.isoformat().replace("+00:00", "Z") if stamp else None,
            stamped_at=stamped.strftime("%Y-%m-%dT%H:%M:%SZ"),
            lake_hash=lake_hash(scope),
            generator=generator(),
            summary=summary,
            charts={
                "actions": charts.actions_per_day(summary["actions_by_day"]),
                "violations": charts.interventions_by_policy(
                    summary["violations_by_policy_severity"]
                ),
                "escalations": charts.escalation_timeline(summary["escalation_timeline"]),
            },
        )
    )
    attachment = weasyprint.Attachment(
        string=json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False),
        name=SUMMARY_ATTACHMENT,
        description="Machine-readable summary of this report",
        created=stamped,
        modified=stamped,
        relationship="Data",
    )
    write_pdfa(html, target, stamped, attachments=[attachment])
    return summary


def write_pdfa(html: str, target: Path, moment: datetime, **options) -> None:
    """Render `html` as PDF/A-3b whose bytes depend only on `html` and `moment`."""
    identifier = hashlib.sha256(html.encode()).hexdigest()[:32].encode()
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    with fonts_dated(moment):
        document.write_pdf(target, pdf_variant="pdf/a-3b", pdf_identifier=identifier, **options)


@contextmanager
def fonts_dated(moment: datetime) -> Iterator[None]:
    """Embedded font subsets carry a modification time; fontTools takes it from
    SOURCE_DATE_EPOCH when set, from the clock otherwise."""
    # The one place below the doors that touches the environment, and it writes, not reads a
    # setting: fontTools offers no other way to pin the date, and without it the same report
    # would not give the same bytes. The previous value is put back.
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
