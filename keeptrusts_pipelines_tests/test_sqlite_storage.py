"""The SQLite storage dagster.yaml names: processes claiming a pool's slots in the same instant
never hold more than the limit, and every slot freed goes to a waiting step."""

import multiprocessing
from pathlib import Path

import dagster as dg
import pytest

from keeptrusts_pipelines.defs.instance import local_instance, prepare_dagster_home
from keeptrusts_pipelines.defs.sqlite_storage import (
    SqliteEventLogWithAtomicSlots,
    SqliteStorageWithAtomicSlots,
)

POOL = "exports"
CLAIMERS = 12
LIMIT = 3


def claim_at_once(start: object, run_id: str, claimed: object) -> None:
    """One process: wait for the others, then claim a slot of the pool for `run_id`."""
    instance = dg.DagsterInstance.get()
    start.wait()  # type: ignore[attr-defined]
    status = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "export_artifact")
    if status.is_claimed:
        claimed.put(run_id)  # type: ignore[attr-defined]


@pytest.fixture
def instance(keeptrusts_home: Path) -> dg.DagsterInstance:
    prepare_dagster_home()
    return local_instance()


def test_the_instance_uses_the_storage_that_claims_under_a_lock(
    instance: dg.DagsterInstance,
) -> None:
    assert isinstance(instance.get_ref().storage, SqliteStorageWithAtomicSlots)
    assert isinstance(instance.event_log_storage, SqliteEventLogWithAtomicSlots)
    # The files lie where `storage: sqlite:` puts them, so existing homes keep their history.
    assert (Path(instance.root_directory) / "history" / "runs.db").is_file()


@pytest.mark.parametrize("round_", range(3))
def test_processes_claiming_together_never_hold_more_than_the_limit(
    instance: dg.DagsterInstance, round_: int
) -> None:
    instance.event_log_storage.set_concurrency_slots(POOL, LIMIT)
    context = multiprocessing.get_context("fork")
    start, claimed = context.Barrier(CLAIMERS), context.Queue()
    workers = [
        context.Process(target=claim_at_once, args=(start, f"run-{round_}-{n}", claimed))
        for n in range(CLAIMERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    winners = set()
    while not claimed.empty():
        winners.add(claimed.get())
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert len(winners) == LIMIT
    assert {slot.run_id for slot in info.claimed_slots} == winners
    assert len(info.pending_steps) == CLAIMERS  # the claimed ones, and the ones still queued

    # A winner's run ends: its slot goes to a step that waited, and only one does.
    instance.event_log_storage.free_concurrency_slots_for_run(sorted(winners)[0])
    waiting = [f"run-{round_}-{n}" for n in range(CLAIMERS) if f"run-{round_}-{n}" not in winners]
    statuses = [
        instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "export_artifact")
        for run_id in waiting
    ]
    assert sum(status.is_claimed for status in statuses) == 1


def test_threads_opening_a_new_home_together_share_one_instance(keeptrusts_home: Path) -> None:
    """`kt serve` answers requests in threads: the first ones on a new home must not each
    create Dagster's storage, nor trip over each other installing dagster.yaml."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(lambda _: local_instance(), range(8)))
    assert len({id(instance) for instance in opened}) == 1
    assert opened[0].get_runs_count() == 0
