"""The custody ledger: append-only, hash-chained, tamper-evident, on SQLite and PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.custody.ledger import CustodyLedger, LedgerError, entries_table


def filled(url: str, count: int = 5) -> CustodyLedger:
    ledger = CustodyLedger(url)
    for number in range(count):
        ledger.append(
            "created" if number % 2 == 0 else "completed",
            f"exp_{number:03d}",
            actor="test",
            run_id=f"run-{number}",
            artifact_sha256=f"{number:064x}",
            detail={"records": number},
        )
    return ledger


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'custody.db'}"


def test_an_intact_chain_verifies(tmp_path: Path) -> None:
    report = filled(sqlite_url(tmp_path)).verify()
    assert report.intact and report.entries == 5


def test_an_edited_entry_is_named(tmp_path: Path) -> None:
    ledger = filled(sqlite_url(tmp_path))
    with ledger.engine.begin() as connection:
        connection.execute(
            entries_table.update().where(entries_table.c.sequence == 3).values(actor="mallory")
        )
    report = ledger.verify()
    assert report.first_bad_sequence == 3 and "edited" in report.problem


def test_a_deleted_entry_is_named(tmp_path: Path) -> None:
    ledger = filled(sqlite_url(tmp_path))
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete().where(entries_table.c.sequence == 2))
    report = ledger.verify()
    assert report.first_bad_sequence == 2 and "missing" in report.problem


def test_an_inserted_entry_is_named(tmp_path: Path) -> None:
    ledger = filled(sqlite_url(tmp_path))
    rows = [dict(entry.__dict__) for entry in ledger.entries()]
    forged = {**rows[2], "actor": "mallory", "idempotency_key": None}
    with ledger.engine.begin() as connection:
        connection.execute(entries_table.delete())
        # The forged entry goes in at 3; the genuine ones after it shift up by one.
        renumbered = [*rows[:2], forged, *rows[2:]]
        for sequence, row in enumerate(renumbered, 1):
            connection.execute(entries_table.insert().values(**{**row, "sequence": sequence}))
    report = ledger.verify()
    assert report.first_bad_sequence == 3 and not report.intact


def test_reordered_entries_are_named(tmp_path: Path) -> None:
    ledger = filled(sqlite_url(tmp_path))
    with ledger.engine.begin() as connection:
        connection.execute(
            entries_table.update().where(entries_table.c.sequence == 2).values(sequence=-2)
        )
        connection.execute(
            entries_table.update().where(entries_table.c.sequence == 4).values(sequence=2)
        )
        connection.execute(
            entries_table.update().where(entries_table.c.sequence == -2).values(sequence=4)
        )
    report = ledger.verify()
    assert report.first_bad_sequence == 2


def test_a_reader_reports_a_missing_database_or_table_and_creates_neither(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with pytest.raises(LedgerError, match=r"custody\.db does not exist"):
        CustodyLedger(url, create=False).verify()
    assert not (tmp_path / "custody.db").exists()
    ledger = filled(url)
    assert CustodyLedger(url, create=False).hashes_at([2, 5, 9]) == {
        entry.sequence: entry.entry_hash for entry in ledger.entries() if entry.sequence in (2, 5)
    }
    entries_table.drop(ledger.engine)
    with pytest.raises(LedgerError, match="it has no custody_ledger table"):
        CustodyLedger(url, create=False).head()
    assert not sa.inspect(ledger.engine).has_table("custody_ledger")


def test_an_idempotency_key_records_an_action_once(tmp_path: Path) -> None:
    ledger = CustodyLedger(sqlite_url(tmp_path))
    first = ledger.append("completed", "exp_a", actor="t", idempotency_key="completed:exp_a:x")
    again = ledger.append("completed", "exp_a", actor="t", idempotency_key="completed:exp_a:x")
    assert first == again and len(list(ledger.entries())) == 1


def test_kt_custody_verify_names_the_first_bad_sequence(
    keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{keeptrusts_home / 'ledger.db'}"
    keeptrusts_home.mkdir(parents=True)
    monkeypatch.setenv("KEEPTRUSTS_CUSTODY_URL", url)
    ledger = filled(url)
    ok = CliRunner().invoke(app, ["custody", "verify"])
    assert ok.exit_code == 0 and "intact: 5 entries" in ok.output
    with ledger.engine.begin() as connection:
        connection.execute(
            entries_table.update().where(entries_table.c.sequence == 4).values(export_id="exp_x")
        )
    broken = CliRunner().invoke(app, ["custody", "verify"])
    assert broken.exit_code == 1 and "broken at sequence 4" in broken.output


def test_postgres_ledger_takes_concurrent_appends_in_one_chain(postgres_url: str) -> None:
    schema = f"ledger_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    ledger = CustodyLedger(url.render_as_string(hide_password=False))

    def append(number: int) -> None:
        ledger.append("downloaded", f"exp_{number % 4}", actor=f"worker-{number}")

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(append, range(400)))
    report = ledger.verify()
    assert report.intact and report.entries == 400
    assert [entry.sequence for entry in ledger.entries()] == list(range(1, 401))
    ledger.close()
    admin.dispose()
