"""Event content never reaches Dagster: not its event log, run tags, metadata, captured logs or
the webhook bodies, whatever the format and content mode, and not through an error message."""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from keeptrusts_pipelines.definitions import build_definitions
from keeptrusts_pipelines.defs import ops
from keeptrusts_pipelines.defs.instance import local_instance
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG
from keeptrusts_pipelines.sources.demo import generate_day
from keeptrusts_pipelines_tests.lakes import demo_lake, replace_day_with_records
from keeptrusts_pipelines_tests.webhooks import Receiver, notify_run, running_receiver

DAY = date(2026, 3, 1)
CANARY_EMAIL = "canary.q7x2@leak-test.example"
CANARY_CARD = "4539 1488 0343 6467"  # passes the Luhn check
CANARIES = (CANARY_EMAIL, CANARY_CARD, CANARY_CARD.replace(" ", ""))


@pytest.fixture
def receiver() -> Iterator[str]:
    with running_receiver() as url:
        yield url


@pytest.fixture
def canary_home(keeptrusts_home: Path) -> Path:
    layout = demo_lake(keeptrusts_home / "lake", DAY, 1)
    rows = generate_day(4, DAY, 200)["decision_events"].to_pylist()
    rows[5] = dict(
        rows[5],
        event_id="evt_canary",
        user=CANARY_EMAIL,
        input=f"Charge {CANARY_CARD} and mail {CANARY_EMAIL}",
        output=f"Charged {CANARY_CARD}",
    )
    replace_day_with_records(layout, keeptrusts_home / "landing", DAY, rows)
    return keeptrusts_home


def run(export_id: str, **config) -> dg.ExecuteInProcessResult:
    request = {"window_from": "2026-03-01", "window_to": "2026-03-01", **config}
    return (
        build_definitions()
        .resolve_job_def("export_job")
        .execute_in_process(
            run_config={"ops": {"export_artifact": {"config": request}}},
            instance=local_instance(),
            tags={EXPORT_ID_TAG: export_id},
            raise_on_error=False,
        )
    )


def test_no_event_content_reaches_dagster_or_the_webhook(
    canary_home: Path, receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = []
    for number, file_format in enumerate(["csv", "json", "jsonl", "parquet"]):
        for raw in (False, True):
            result = run(f"exp_canary{number}{int(raw)}", format=file_format, raw_content=raw)
            assert result.success
            results.append(result)
    # The raw exports do hold the canaries: they are the evidence, kept out of Dagster.
    raw_csv = next(
        (canary_home / "exports" / "exp_canary01" / "artifact").glob("*.csv")
    ).read_text()
    assert CANARY_EMAIL in raw_csv and CANARY_CARD in raw_csv

    def leaks(*args, **kwargs):
        raise ValueError(f"cannot encode {CANARY_EMAIL} near {CANARY_CARD}")

    monkeypatch.setattr(ops, "run_export", leaks)
    failed = run("exp_canaryfail", format="csv")
    assert not failed.success
    results.append(failed)

    for result in results:
        notify_run(result, receiver, secret="k")
    assert len(Receiver.bodies) == len(results)

    instance = local_instance()
    seen = [body.decode() for _, body in Receiver.bodies]
    for result in results:
        seen.append(json.dumps(dict(instance.get_run_by_id(result.run_id).tags)))
        seen.extend(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))
    # Everything Dagster stored on disk: run and event databases, captured stdout and stderr.
    for path in Path(instance.root_directory).rglob("*"):
        if path.is_file():
            seen.append(path.read_bytes().decode("utf-8", errors="replace"))
    for text in seen:
        for canary in CANARIES:
            assert canary not in text
    assert any("the export stopped with ValueError" in text for text in seen)
