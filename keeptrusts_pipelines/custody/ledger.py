"""The custody ledger: an append-only, hash-chained record of every export action.

Each entry's hash covers its own fields and the previous entry's hash, so an edited, deleted,
inserted or reordered entry breaks the chain at a sequence number `verify` names. Stored
through SQLAlchemy: SQLite under KEEPTRUSTS_HOME by default, PostgreSQL in production.

A chain cannot see its own tail: deleted newest entries, rows, table or database leave
nothing that fails to link. Checkpoints and provenance statements record heads outside the
ledger (`custody.checkpoints`); readers opened with `create=False` report a missing database
or table instead of making a fresh, empty one that would verify.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError

ACTIONS = (
    "created",
    "completed",
    "failed",
    "delivered",
    "downloaded",
    "deleted",
    "expired",
    "verified",
    "revealed",
    # The HTTP door's actions: previews, raw-content reasons, refusals, tokens, settings.
    *("previewed", "raw_requested", "refused", "token_created", "token_revoked"),
    *("settings_changed", "scheduled", "unscheduled"),
)
GENESIS = "0" * 64
# PostgreSQL writers queue on a table lock; elsewhere concurrent writers race for the next
# sequence number, and the loser reads the new head and retries.
APPEND_ATTEMPTS = 20
# Sequences asked for in one IN (...) query when looking up anchored entries.
LOOKUP_BATCH = 500

metadata = sa.MetaData()
entries_table = sa.Table(
    "custody_ledger",
    metadata,
    sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("export_id", sa.String(100), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    # Once per key: a re-executed step records its action once, not twice.
    sa.Column("idempotency_key", sa.String(300), unique=True, nullable=True),
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)


@dataclass(frozen=True)
class Entry:
    sequence: int
    recorded_at: str
    actor: str
    action: str
    export_id: str
    run_id: str
    artifact_sha256: str
    detail: str
    idempotency_key: str | None
    previous_hash: str
    entry_hash: str

    def expected_hash(self) -> str:
        fields = asdict(self)
        fields.pop("entry_hash")
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    head: str
    first_bad_sequence: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_bad_sequence is None


class LedgerError(KeeptrustsError):
    """The ledger's database cannot be opened, read or written; names the URL and why."""


def display_url(url: str | sa.URL) -> str:
    """The URL with its password hidden: safe for files, logs and messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def _reason(error: Exception) -> str:
    """The database's own first line (`file is not a database`), without SQLAlchemy's dress."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


class CustodyLedger:
    """The ledger at a SQLAlchemy URL.

    With `create` (writers), the table is made when missing. Without it (readers that check),
    nothing is made: a missing SQLite file or table is a LedgerError on the first read.
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        try:
            self.engine = sa.create_engine(url)
        except sa.exc.ArgumentError as error:
            # The URL itself is not shown: it may hold a password.
            raise ConfigurationError(
                f"KEEPTRUSTS_CUSTODY_URL: not a usable SQLAlchemy URL ({error}); use "
                "sqlite:///path/custody.db or postgresql+psycopg://user:password@host/db"
            ) from None
        self.url = display_url(self.engine.url)
        self.create = create
        if create:
            try:
                metadata.create_all(self.engine)
            except sa.exc.SQLAlchemyError as error:
                raise self._error("cannot be opened", error) from None

    def _error(self, what: str, error: Exception | str) -> LedgerError:
        reason = error if isinstance(error, str) else _reason(error)
        return LedgerError(f"custody ledger at {self.url} {what}: {reason}")

    def _sqlite_file(self) -> Path | None:
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.query.get("uri"):
            return None
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A connection for reads; what the database says when it cannot, as a LedgerError."""
        if not self.create:
            file = self._sqlite_file()
            # Connecting would create an empty file, which then looks like an empty ledger.
            if file is not None and not file.exists():
                raise self._error("cannot be read", f"{file} does not exist")
        try:
            with self.engine.connect() as connection:
                if not self.create and not sa.inspect(connection).has_table(entries_table.name):
                    raise self._error("cannot be read", f"it has no {entries_table.name} table")
                yield connection
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot be read", error) from None

    def append(
        self,
        action: str,
        export_id: str,
        *,
        actor: str,
        run_id: str = "",
        artifact_sha256: str = "",
        detail: dict[str, object] | None = None,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> Entry:
        """Add an entry at the head; with `idempotency_key`, an earlier entry with it is returned.

        `detail` holds ids, counts and hashes only, never event content.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown custody action {action!r}; use one of {', '.join(ACTIONS)}")
        try:
            return self._append(
                action, export_id, actor, run_id, artifact_sha256, detail, idempotency_key, now
            )
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot be written", error) from None

    def _append(
        self,
        action: str,
        export_id: str,
        actor: str,
        run_id: str,
        artifact_sha256: str,
        detail: dict[str, object] | None,
        idempotency_key: str | None,
        now: datetime | None,
    ) -> Entry:
        for _ in range(APPEND_ATTEMPTS):
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    # Readers (verify, entries) go on; only other appends wait.
                    connection.exec_driver_sql(
                        f"LOCK TABLE {entries_table.name} IN SHARE ROW EXCLUSIVE MODE"
                    )
                if idempotency_key is not None:
                    earlier = connection.execute(
                        sa.select(entries_table).where(
                            entries_table.c.idempotency_key == idempotency_key
                        )
                    ).first()
                    if earlier is not None:
                        return Entry(**earlier._mapping)
                head = connection.execute(
                    sa.select(entries_table.c.sequence, entries_table.c.entry_hash)
                    .order_by(entries_table.c.sequence.desc())
                    .limit(1)
                ).first()
                sequence, previous = (head[0] + 1, head[1]) if head else (1, GENESIS)
                draft = Entry(
                    sequence=sequence,
                    recorded_at=(now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
                    actor=actor,
                    action=action,
                    export_id=export_id,
                    run_id=run_id,
                    artifact_sha256=artifact_sha256,
                    detail=json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
                    idempotency_key=idempotency_key,
                    previous_hash=previous,
                    entry_hash="",
                )
                entry = Entry(**{**asdict(draft), "entry_hash": draft.expected_hash()})
                try:
                    connection.execute(entries_table.insert().values(**asdict(entry)))
                except sa.exc.IntegrityError:
                    continue  # another writer took this sequence number (or this key)
                return entry
        raise RuntimeError(f"custody ledger: could not append after {APPEND_ATTEMPTS} attempts")

    def entries(self, export_id: str | None = None) -> Iterator[Entry]:
        query = sa.select(entries_table).order_by(entries_table.c.sequence)
        if export_id is not None:
            query = query.where(entries_table.c.export_id == export_id)
        with self._reading() as connection:
            for row in connection.execute(query):
                yield Entry(**row._mapping)

    def head(self) -> tuple[int, str]:
        """(sequence, hash) of the newest entry; (0, GENESIS) when empty."""
        with self._reading() as connection:
            row = connection.execute(
                sa.select(entries_table.c.sequence, entries_table.c.entry_hash)
                .order_by(entries_table.c.sequence.desc())
                .limit(1)
            ).first()
        return (row[0], row[1]) if row else (0, GENESIS)

    def hashes_at(self, sequences: Iterable[int]) -> dict[int, str]:
        """The entry hash at each of `sequences` the ledger holds; absent ones are left out."""
        wanted = sorted(set(sequences))
        found: dict[int, str] = {}
        with self._reading() as connection:
            for start in range(0, len(wanted), LOOKUP_BATCH):
                batch = wanted[start : start + LOOKUP_BATCH]
                rows = connection.execute(
                    sa.select(entries_table.c.sequence, entries_table.c.entry_hash).where(
                        entries_table.c.sequence.in_(batch)
                    )
                )
                found.update({row[0]: row[1] for row in rows})
        return found

    def verify(self) -> ChainReport:
        """Walk the chain from the first entry; name the first sequence number that breaks it."""
        previous, count = GENESIS, 0
        for count, entry in enumerate(self.entries(), 1):
            problem = None
            if entry.sequence != count:
                problem = f"expected sequence {count}, found {entry.sequence} (entry missing)"
            elif entry.previous_hash != previous:
                problem = "previous_hash does not match the entry before (removed or reordered)"
            elif entry.entry_hash != entry.expected_hash():
                problem = "entry_hash does not match its fields (edited)"
            if problem:
                return ChainReport(count - 1, previous, min(entry.sequence, count), problem)
            previous = entry.entry_hash
        return ChainReport(count, previous, None, None)

    def close(self) -> None:
        self.engine.dispose()
