"""The local Dagster instance under KEEPTRUSTS_HOME, shared by `kt` and `dagster dev`.

Its storage is SQLite beside the lake (`dagster.yaml`), or PostgreSQL when
KEEPTRUSTS_DAGSTER_PG_URL is set (`dagster-postgres.yaml`, which reads the URL from that
variable: the password is written in no file).
"""

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from keeptrusts_pipelines.defs.instance_templates import (
    POSTGRES_TEMPLATE,
    SQLITE_TEMPLATE,
)
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.settings import dagster_home

PG_URL_VARIABLE = "KEEPTRUSTS_DAGSTER_PG_URL"
PG_URL_EXAMPLE = "postgresql://user:password@host:5432/database"
# dagster-postgres 0.29 sends `NOTIFY run_events, <bound parameter>`, which PostgreSQL refuses
# from psycopg 3 (server-side binding); SQLAlchemy 2.1 opens postgresql:// with psycopg 3, so
# the storage is opened through psycopg2.
PSYCOPG2_SCHEME = "postgresql+psycopg2://"
CONNECT_TIMEOUT_SECONDS = 5


def _parsed_pg_url(text: str) -> sa.URL:
    """The URL checked for what dagster-postgres needs; errors never repeat the URL (a secret)."""
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigurationError(f"{PG_URL_VARIABLE} is not a URL; use {PG_URL_EXAMPLE}") from None
    if url.drivername == "postgresql+psycopg":
        raise ConfigurationError(
            f"{PG_URL_VARIABLE} names the driver psycopg (3), on which Dagster's PostgreSQL "
            f"storage fails; use {PG_URL_EXAMPLE} (opened with psycopg2)"
        )
    if url.drivername not in ("postgresql", "postgresql+psycopg2"):
        raise ConfigurationError(
            f"{PG_URL_VARIABLE} has the scheme {url.drivername!r}; use {PG_URL_EXAMPLE}"
        )
    if not url.host or not url.database:
        missing = "host" if not url.host else "database"
        raise ConfigurationError(f"{PG_URL_VARIABLE} names no {missing}; use {PG_URL_EXAMPLE}")
    return url


def dagster_pg_url() -> str | None:
    """`KEEPTRUSTS_DAGSTER_PG_URL`: PostgreSQL for Dagster's runs, event logs and schedules.

    A postgresql:// URL is rewritten to postgresql+psycopg2:// in this process's environment,
    which the instance config reads and every process `kt` starts inherits.
    """
    text = os.environ.get(PG_URL_VARIABLE)
    if not text:
        return None
    _parsed_pg_url(text)
    if text.startswith("postgresql://"):
        text = PSYCOPG2_SCHEME + text.removeprefix("postgresql://")
        os.environ[PG_URL_VARIABLE] = text
    return text


def _server(url: sa.URL) -> str:
    return f"{url.host}:{url.port or 5432}/{url.database}"


def _reason(error: BaseException, url: sa.URL) -> str:
    """The driver's first line, without the password should a driver ever repeat it."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0].strip()
    return reason.replace(url.password, "***") if url.password else reason


# URLs this process has reached: one round trip per process, not one per instance lookup.
_reachable: set[str] = set()


def check_pg_storage(text: str) -> None:
    """Fail with one line naming KEEPTRUSTS_DAGSTER_PG_URL when it cannot serve as storage."""
    if text in _reachable:
        return
    url = _parsed_pg_url(text)
    engine = sa.create_engine(
        url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as error:
        raise ConfigurationError(
            f"{PG_URL_VARIABLE}: cannot use PostgreSQL at {_server(url)} for Dagster's storage "
            f"({_reason(error, url)}); start the server or fix the URL's host, user, password "
            "and database"
        ) from None
    finally:
        engine.dispose()
    _reachable.add(text)


def instance_template() -> Path:
    """The dagster.yaml `kt` installs: PostgreSQL storage with KEEPTRUSTS_DAGSTER_PG_URL set."""
    return POSTGRES_TEMPLATE if dagster_pg_url() else SQLITE_TEMPLATE


def prepare_dagster_home() -> Path:
    """Export DAGSTER_HOME (default `$KEEPTRUSTS_HOME/dagster`) holding the project's instance.

    `$KEEPTRUSTS_HOME/dagster/dagster.yaml` is kept equal to the template for the storage in use.
    A DAGSTER_HOME elsewhere that already has a dagster.yaml is a deployment's (the Helm chart
    mounts one): it is left as it is. With KEEPTRUSTS_DAGSTER_PG_URL set, the server must answer.
    """
    pg_url = dagster_pg_url()
    if pg_url:
        check_pg_storage(pg_url)
    own_home = dagster_home()
    home = Path(os.environ.get("DAGSTER_HOME") or own_home)
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    template = instance_template()
    managed = home.resolve() == own_home or not target.exists()
    if (
        managed
        and template.exists()
        and (not target.exists() or target.read_bytes() != template.read_bytes())
    ):
        # Through a temporary file: a process opening the instance meanwhile reads a whole one.
        with atomic_path(target) as staging:
            shutil.copyfile(template, staging)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _storage_error(error: Exception) -> bool:
    """An error of the PostgreSQL storage itself (imported here: dagster_postgres is loaded by
    then, and costs half a second to load for commands that never open the instance)."""
    from dagster_postgres.utils import DagsterPostgresException

    return isinstance(error, sa.exc.SQLAlchemyError | DagsterPostgresException)


# One instance per Dagster home, held here: runs keep only weak references to theirs. Made
# under a lock: `kt serve`'s threads answering together would each create the storage.
_instances: dict[Path, dg.DagsterInstance] = {}
_making = threading.Lock()


def local_instance() -> dg.DagsterInstance:
    """The instance under KEEPTRUSTS_HOME (the same object for the life of the process)."""
    home = prepare_dagster_home()
    with _making:
        if home not in _instances:
            _instances[home] = _opened()
        return _instances[home]


def _opened() -> dg.DagsterInstance:
    try:
        return dg.DagsterInstance.get()
    except Exception as error:
        pg_url = dagster_pg_url()
        if not pg_url or not _storage_error(error):
            raise
        # dagster-postgres creates its tables on first use: a user who may connect but not
        # create tables gets here.
        url = _parsed_pg_url(pg_url)
        raise ConfigurationError(
            f"{PG_URL_VARIABLE}: Dagster cannot open its storage at {_server(url)} "
            f"({_reason(error, url)}); let the URL's user create tables in that database"
        ) from None


def home_with_storage() -> Path:
    """`prepare_dagster_home`, then the instance's storage created in this process.

    For a command that starts Dagster's processes (webserver, daemon, code server): started
    together on a new home they each create the storage, and two stamping SQLite's schema
    version at once leave it unreadable to all (`alembic_version` with two heads).
    """
    home = prepare_dagster_home()
    local_instance()
    return home


# The session advisory lock that keeps pool changes (ensure_pool) apart on PostgreSQL.
POOLS_LOCK_KEY = 0x6B74_706F_6F6C  # "ktpool"


def ensure_pool(instance: dg.DagsterInstance, pool: str) -> None:
    """Give `pool` its limit from dagster.yaml before a run claims one of its slots.

    An executor that finds a pool missing, or limited by an older default, initialises it; on
    PostgreSQL Dagster does so with an INSERT whose fallback UPDATE runs in the transaction the
    failed INSERT aborted. Runs starting together on a new database then all fail but one, and
    after a change of the default every run fails. Here one process at a time makes the pool,
    replacing a limit left by an older default, and the executors find it made.
    """
    storage = instance.event_log_storage
    default = instance.global_op_concurrency_default_limit
    if not storage.supports_global_concurrency_limits or default is None:
        return
    if not _to_make(_pool_limit(storage, pool), default):
        return
    postgres_url = getattr(storage, "postgres_url", None)
    with _pools_locked(postgres_url):
        found = _pool_limit(storage, pool)  # again: another process may have made it
        if not _to_make(found, default):
            return
        if found is not None and postgres_url:
            storage.delete_concurrency_limit(pool)  # its claimed slots stay until freed
        try:
            storage.initialize_concurrency_limit_to_default(pool)
        except sa.exc.DBAPIError:
            # Only an executor outside this lock (a run the daemon launched) can have made it.
            if _to_make(_pool_limit(storage, pool), default):
                raise


def _to_make(found: tuple[int, bool] | None, default: int) -> bool:
    """As the executor judges it: no limit, or one an older default left (not one set by hand)."""
    return found is None or (found[1] and found[0] != default)


def _pool_limit(storage: object, pool: str) -> tuple[int, bool] | None:
    """(limit, whether it is dagster.yaml's default) of `pool`; None when it has none."""
    for limit in storage.get_pool_limits():  # type: ignore[attr-defined]
        if limit.name == pool:
            return limit.limit, limit.from_default
    return None


@contextmanager
def _pools_locked(postgres_url: str | None) -> Iterator[None]:
    """Pool changes one process at a time: on PostgreSQL by an advisory lock on the storage's
    own database; SQLite's storage (defs/sqlite_storage.py) already takes turns."""
    if not postgres_url:
        yield
        return
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select pg_advisory_lock(:key)"), {"key": POOLS_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    sa.text("select pg_advisory_unlock(:key)"), {"key": POOLS_LOCK_KEY}
                )
    finally:
        engine.dispose()
