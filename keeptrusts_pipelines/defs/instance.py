"""The local Dagster instance under KEEPTRUSTS_HOME, shared by `kt` and `dagster dev`.

Its storage is SQLite beside the lake (`dagster.yaml`), or PostgreSQL when
KEEPTRUSTS_DAGSTER_PG_URL is set (`dagster-postgres.yaml`, which reads the URL from that
variable: the password is written in no file).
"""

import os
import shutil
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from keeptrusts_pipelines.defs.instance_templates import (
    POSTGRES_TEMPLATE,
    SQLITE_TEMPLATE,
)
from keeptrusts_pipelines.errors import ConfigurationError
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
        staging = target.with_name(f".dagster.yaml.{os.getpid()}")
        shutil.copyfile(template, staging)
        staging.replace(target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _storage_error(error: Exception) -> bool:
    """An error of the PostgreSQL storage itself (imported here: dagster_postgres is loaded by
    then, and costs half a second to load for commands that never open the instance)."""
    from dagster_postgres.utils import DagsterPostgresException

    return isinstance(error, sa.exc.SQLAlchemyError | DagsterPostgresException)


# One instance per Dagster home, held here: runs keep only weak references to theirs.
_instances: dict[Path, dg.DagsterInstance] = {}


def local_instance() -> dg.DagsterInstance:
    """The instance under KEEPTRUSTS_HOME (the same object for the life of the process)."""
    home = prepare_dagster_home()
    if home not in _instances:
        try:
            _instances[home] = dg.DagsterInstance.get()
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
    return _instances[home]
