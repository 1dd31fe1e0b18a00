"""Dagster's storage on the local PostgreSQL (KEEPTRUSTS_DAGSTER_PG_URL): lake days, ten
exports at once, `dagster dev` and `kt serve` on it, each read back from PostgreSQL's own tables;
and the deployment files (deploy/) that run the same code location on Kubernetes."""

import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest
import sqlalchemy as sa
import yaml
from dagster._config import process_config  # validates config as the instance loads it
from dagster_k8s.job import DagsterK8sJobConfig
from typer.testing import CliRunner

from keeptrusts_pipelines.cli.app import app
from keeptrusts_pipelines.defs.instance import ensure_pool, local_instance
from keeptrusts_pipelines.defs.instance_templates import (
    POSTGRES_TEMPLATE,
    PROJECT_ROOT,
    SQLITE_TEMPLATE,
)
from keeptrusts_pipelines_tests.conftest import free_port, fresh_database
from keeptrusts_pipelines_tests.lakes import demo_lake
from keeptrusts_pipelines_tests.served import lake_count as served_lake_count
from keeptrusts_pipelines_tests.served import running_server, served_home, wait_until_final
from keeptrusts_pipelines_tests.test_dagster_dev import (
    FORMATS,
    TEAMS,
    dagster_dev,  # noqa: F401  (the fixture, started here on PostgreSQL)
    loaded_location,
    records_in,
    run_lake_day,
)
from keeptrusts_pipelines_tests.test_export_pool import most_at_once

KT = str(Path(sys.executable).with_name("kt"))
PASSWORD = "keeptrusts"  # the test role's, as .ci/run creates it: must appear in no file or tag
runner = CliRunner()


@pytest.fixture
def storage_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """A new database `keeptrusts_dagster_<random>` as KEEPTRUSTS_DAGSTER_PG_URL (dropped after);
    the engine reads Dagster's tables in it directly."""
    with fresh_database("keeptrusts_dagster") as url:
        # As a user writes it: plain postgresql://, which kt opens through psycopg2.
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        monkeypatch.setenv("KEEPTRUSTS_DAGSTER_PG_URL", plain)
        reader = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            yield reader
        finally:
            reader.dispose()


def rows(engine: sa.Engine, query: str, **parameters: object) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query), parameters)]


def no_password_in_home_or_tags(home: Path, engine: sa.Engine) -> None:
    """The URL is a secret: not in any file kt writes under the Dagster home, nor in run tags."""
    dagster_files = [p for p in (home / "dagster").rglob("*") if p.is_file()]
    assert dagster_files
    for path in dagster_files:
        if path.suffix in (".yaml", ".json", ".log", ".txt"):
            assert f":{PASSWORD}@" not in path.read_text(errors="replace"), path
    tag_values = rows(engine, "select value from run_tags")
    assert tag_values and not any(f":{PASSWORD}@" in value for (value,) in tag_values)


def test_the_postgres_template_differs_from_the_sqlite_one_only_in_storage() -> None:
    sqlite, postgres = (yaml.safe_load(t.read_text()) for t in (SQLITE_TEMPLATE, POSTGRES_TEMPLATE))
    assert sqlite.pop("storage") == {
        "custom": {
            "module": "keeptrusts_pipelines.defs.sqlite_storage",
            "class": "SqliteStorageWithAtomicSlots",
            "config": {"base_dir": {"env": "DAGSTER_HOME"}},
        }
    }
    assert postgres.pop("storage") == {
        "postgres": {"postgres_url": {"env": "KEEPTRUSTS_DAGSTER_PG_URL"}}
    }
    assert sqlite == postgres


POOL = "exports"
STARTING_TOGETHER = 10


def initialize_at_once(start: object, own: bool, said: object) -> None:
    """One process: wait for the others, then give the pool its default limit."""
    instance = dg.DagsterInstance.get()
    start.wait()  # type: ignore[attr-defined]
    try:
        if own:
            ensure_pool(instance, POOL)
        else:
            instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
    except Exception as error:  # what each process met is the result
        said.put(type(error).__name__)  # type: ignore[attr-defined]
    else:
        said.put("ok")  # type: ignore[attr-defined]


def initialized_together(own: bool) -> list[str]:
    context = multiprocessing.get_context("fork")
    start, said = context.Barrier(STARTING_TOGETHER), context.Queue()
    workers = [
        context.Process(target=initialize_at_once, args=(start, own, said))
        for _ in range(STARTING_TOGETHER)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    return sorted(said.get(timeout=5) for _ in workers)


def pool_in(engine: sa.Engine) -> tuple[list[tuple], list[tuple]]:
    """The pool's limit row (limit, from default) and its live slots (claimed or not)."""
    limits = rows(
        engine,
        'select "limit", using_default_limit from concurrency_limits where concurrency_key = :pool',
        pool=POOL,
    )
    slots = rows(
        engine,
        "select run_id from concurrency_slots where concurrency_key = :pool and not deleted",
        pool=POOL,
    )
    return limits, slots


@pytest.fixture
def pg_instance(storage_database: sa.Engine, keeptrusts_home: Path) -> dg.DagsterInstance:
    return local_instance()  # creates Dagster's tables before the processes start


def test_dagsters_own_pool_initialisation_fails_processes_that_start_together(
    pg_instance: dg.DagsterInstance,
) -> None:
    """Why ensure_pool exists: the INSERT of all but one fails, and the UPDATE Dagster falls
    back to runs in the transaction PostgreSQL aborted with it."""
    said = initialized_together(own=False)
    assert said.count("ok") >= 1
    assert "InternalError" in said  # InFailedSqlTransaction, a run's step failure


def test_runs_starting_together_on_a_new_database_all_get_the_pool(
    pg_instance: dg.DagsterInstance, storage_database: sa.Engine
) -> None:
    assert initialized_together(own=True) == ["ok"] * STARTING_TOGETHER
    limits, slots = pool_in(storage_database)
    assert limits == [(4, True)]  # dagster-postgres.yaml's default_limit
    assert slots == [(None,)] * 4


def test_a_pool_limited_by_an_older_default_is_given_the_new_one(
    pg_instance: dg.DagsterInstance, storage_database: sa.Engine
) -> None:
    storage = pg_instance.event_log_storage
    storage.set_concurrency_slots(POOL, 2)
    with storage_database.begin() as connection:  # as the default of 2 left it
        connection.execute(sa.text("update concurrency_limits set using_default_limit = true"))
    with pytest.raises(sa.exc.InternalError):  # Dagster's own: every run would fail
        storage.initialize_concurrency_limit_to_default(POOL)

    assert initialized_together(own=True) == ["ok"] * STARTING_TOGETHER
    limits, slots = pool_in(storage_database)
    assert limits == [(4, True)]
    assert slots == [(None,)] * 4


def test_a_pool_limit_set_by_hand_is_kept(
    pg_instance: dg.DagsterInstance, storage_database: sa.Engine
) -> None:
    pg_instance.event_log_storage.set_concurrency_slots(POOL, 2)  # dagster instance concurrency set
    assert initialized_together(own=True) == ["ok"] * STARTING_TOGETHER
    limits, slots = pool_in(storage_database)
    assert limits == [(2, False)]
    assert slots == [(None,)] * 2


def test_kt_lake_ingest_records_its_runs_and_materializations_in_postgres(
    storage_database: sa.Engine, keeptrusts_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEPTRUSTS_SOURCE_URL", "demo://?seed=3&events_per_day=50")
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    flags = ["lake", "ingest", "--from", "2026-03-01", "--to", "2026-03-02", "--json"]
    ingested = subprocess.run(
        [KT, *flags, "--workers", "2"], env=environment, capture_output=True, text=True, timeout=600
    )
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert json.loads(ingested.stdout)["materialized_days"] == 2

    installed = keeptrusts_home / "dagster" / "dagster.yaml"
    assert installed.read_bytes() == POSTGRES_TEMPLATE.read_bytes()
    assert not list((keeptrusts_home / "dagster").rglob("*.db"))  # no SQLite storage beside it

    runs = rows(
        storage_database, "select partition, status from runs where pipeline_name = 'lake_job'"
    )
    assert sorted(runs) == [("2026-03-01", "SUCCESS"), ("2026-03-02", "SUCCESS")]
    materialized = rows(
        storage_database,
        "select asset_key, partition from event_logs "
        "where dagster_event_type = 'ASSET_MATERIALIZATION'",
    )
    assert sorted(materialized) == sorted(
        (json.dumps([table]), day)
        for table in ("config_versions", "decision_events", "escalations")
        for day in ("2026-03-01", "2026-03-02")
    )
    failed_checks = rows(
        storage_database,
        "select count(*) from event_logs where dagster_event_type = 'ASSET_CHECK_EVALUATION' "
        "and event like '%\"passed\": false%'",
    )
    assert failed_checks == [(0,)]

    # The instance kt opens reads the same storage: a second ingest finds both days recorded.
    again = subprocess.run(
        [KT, *flags], env=environment, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["already_present_days"] == 2
    assert len(rows(storage_database, "select run_id from runs")) == 2
    no_password_in_home_or_tags(keeptrusts_home, storage_database)


def lake_count(home: Path, team: str) -> int:
    files = str(home / "lake" / "decision_events" / "*" / "*.parquet")
    query = f"select count(*) from read_parquet('{files}') where team = ?"
    return duckdb.execute(query, [team]).fetchall()[0][0]


def why_failed(engine: sa.Engine, home: Path, views: list[dict]) -> str:
    """What a failed export's record, its run's failure events and its worker's log say."""
    said: list[str] = []
    for view in views:
        events = rows(
            engine,
            "select dagster_event_type, event from event_logs where run_id = :run_id "
            "and dagster_event_type in ('STEP_FAILURE', 'RUN_FAILURE', 'PIPELINE_FAILURE', "
            "'ENGINE_EVENT')",
            run_id=view.get("run_id") or "",
        )
        log = home / "dagster" / "worker-logs" / f"{view.get('run_id')}.log"
        worker = log.read_text(errors="replace")[-3000:] if log.exists() else "(no worker log)"
        said += [json.dumps(view), *(event[:4000] for _, event in events), worker]
    return "\n\n".join(said)


def test_ten_exports_at_once_on_postgres_storage_are_all_correct(
    storage_database: sa.Engine, keeptrusts_home: Path
) -> None:
    demo_lake(keeptrusts_home / "lake", date(2026, 3, 1), 2)
    submitted = {}
    for number in range(10):
        team, file_format = TEAMS[number % 5], FORMATS[number % 4]
        answer = runner.invoke(
            app,
            [
                *("export", "create", "--from", "2026-03-01", "--to", "2026-03-02"),
                *("--filter-team", team, "--format", file_format, "--json"),
            ],
        )
        assert answer.exit_code == 0, answer.output
        submitted[json.loads(answer.output)["export_id"]] = (team, file_format)

    # Each worker is its own process (Python, Dagster, the definitions): slow on a busy machine.
    deadline, ours = time.monotonic() + 1200, {}
    while time.monotonic() < deadline:
        listed = runner.invoke(app, ["export", "list", "--limit", "20", "--json"])
        ours = {v["export_id"]: v for v in json.loads(listed.output) if v["export_id"] in submitted}
        if len(ours) == 10 and all(v["status"] in ("completed", "failed") for v in ours.values()):
            break
        time.sleep(1)
    failed = [view for view in ours.values() if view["status"] != "completed"]
    if len(ours) != 10 or failed:
        pytest.fail(why_failed(storage_database, keeptrusts_home, failed) or f"{len(ours)} of 10")
    # The `exports` pool of dagster-postgres.yaml, its slots kept in PostgreSQL.
    assert 1 <= most_at_once(local_instance(), [v["run_id"] for v in ours.values()]) <= 4
    for export_id, (team, file_format) in submitted.items():
        view = ours[export_id]
        expected = lake_count(keeptrusts_home, team)
        assert expected > 0
        assert view["records"] == records_in(Path(view["artifact"]), file_format) == expected

    # The runs, their tags and their step events are PostgreSQL's, not a SQLite file's.
    runs = rows(
        storage_database, "select run_id, status from runs where pipeline_name = 'export_job'"
    )
    assert sorted(status for _, status in runs) == ["SUCCESS"] * 10
    assert {view["run_id"] for view in ours.values()} == {run_id for run_id, _ in runs}
    tagged = rows(storage_database, "select value from run_tags where key = 'keeptrusts/export_id'")
    assert {value for (value,) in tagged} == set(submitted)
    successes = rows(
        storage_database,
        "select count(*) from event_logs where dagster_event_type = 'PIPELINE_SUCCESS'",
    )
    assert successes == [(10,)]
    assert local_instance().get_runs_count() == 10
    assert not list((keeptrusts_home / "dagster").rglob("*.db"))
    no_password_in_home_or_tags(keeptrusts_home, storage_database)


@pytest.fixture
def dagster_dev_on_postgres(
    storage_database: sa.Engine,
    dagster_dev: tuple[str, Path],  # noqa: F811
) -> tuple[str, Path, sa.Engine]:
    """`dagster dev` started after KEEPTRUSTS_DAGSTER_PG_URL is set (fixture order matters)."""
    url, log = dagster_dev
    return url, log, storage_database


def test_dagster_dev_on_postgres_runs_a_lake_day_through_its_daemon(
    dagster_dev_on_postgres: tuple[str, Path, sa.Engine], keeptrusts_home: Path
) -> None:
    url, log, storage = dagster_dev_on_postgres
    entry = loaded_location(url)
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
    run_id, status = run_lake_day(url, "2026-05-04")
    assert status == "SUCCESS", log.read_text()[-3000:]
    assert rows(storage, "select status from runs where run_id = :run_id", run_id=run_id) == [
        ("SUCCESS",)
    ]
    # Queued by the webserver, launched by the daemon: both on PostgreSQL.
    events = {
        event
        for (event,) in rows(
            storage,
            "select dagster_event_type from event_logs where run_id = :run_id",
            run_id=run_id,
        )
    }
    assert {
        "PIPELINE_ENQUEUED",
        "PIPELINE_STARTING",
        "PIPELINE_START",
        "PIPELINE_SUCCESS",
    } <= events
    daemons = rows(storage, "select daemon_type from daemon_heartbeats")
    assert ("SCHEDULER",) in daemons and ("QUEUED_RUN_COORDINATOR",) in daemons
    partition = keeptrusts_home / "lake" / "decision_events" / "date=2026-05-04" / "part-0.parquet"
    assert partition.exists()
    assert not list((keeptrusts_home / "dagster").rglob("*.db"))
    no_password_in_home_or_tags(keeptrusts_home, storage)


def test_the_api_with_a_dagster_url_queues_its_exports_on_the_deployment(
    dagster_dev_on_postgres: tuple[str, Path, sa.Engine],
    keeptrusts_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`kt serve` with KEEPTRUSTS_DAGSTER_URL, as deploy/kubernetes/api.yaml runs it: exports go
    through the webserver's run queue and launcher, not to workers of the API's own."""
    url, log, storage = dagster_dev_on_postgres
    assert loaded_location(url)["loadStatus"] == "LOADED"
    tokens = served_home(keeptrusts_home)
    monkeypatch.setenv("KEEPTRUSTS_DAGSTER_URL", url.removesuffix("/graphql"))
    headers = {"Authorization": f"Bearer {tokens['compliance']}"}
    with (
        running_server(keeptrusts_home, free_port()) as api_url,
        httpx.Client(base_url=api_url, headers=headers, timeout=60) as api,
    ):
        answer = api.post(
            "/v1/exports/jobs",
            json={"format": "csv", "time_window": {"last": "7d"}, "filters": {"team": ["legal"]}},
        )
        assert answer.status_code == 201, answer.text
        view = wait_until_final(api, answer.json()["export_id"], seconds=300)
    assert view["status"] == "completed", log.read_text()[-3000:]
    expected = served_lake_count(keeptrusts_home, view["window"], "team = ?", ["legal"])
    assert view["records"] == expected > 0
    events = {
        event
        for (event,) in rows(
            storage,
            "select dagster_event_type from event_logs where run_id = :run_id",
            run_id=view["run_id"],
        )
    }
    assert {"PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_SUCCESS"} <= events
    assert not (keeptrusts_home / "dagster" / "worker-logs").exists()


def kt_alone(arguments: list[str], pg_url: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    environment["KEEPTRUSTS_DAGSTER_PG_URL"] = pg_url
    return subprocess.run(
        [KT, *arguments], env=environment, capture_output=True, text=True, timeout=120
    )


LAKE_INGEST = ["lake", "ingest", "--from", "2026-03-01", "--to", "2026-03-01"]
EXPORT_LIST = ["export", "list"]


@pytest.mark.parametrize(
    ("pg_url", "reason", "arguments"),
    [
        (
            "postgresql://keeptrusts:s3cret-pw@127.0.0.1:9/dagster",
            "cannot use PostgreSQL at 127.0.0.1:9/dagster",
            LAKE_INGEST,
        ),
        (
            "postgresql://keeptrusts:s3cret-pw@127.0.0.1:9/dagster",
            "cannot use PostgreSQL at 127.0.0.1:9/dagster",
            EXPORT_LIST,
        ),
        ("postgresql://keeptrusts:s3cret-pw@127.0.0.1:5432/", "names no database", EXPORT_LIST),
        ("mysql://keeptrusts:s3cret-pw@127.0.0.1/dagster", "has the scheme 'mysql'", EXPORT_LIST),
        (
            "postgresql+psycopg://keeptrusts:s3cret-pw@127.0.0.1/dagster",
            "names the driver psycopg (3)",
            EXPORT_LIST,
        ),
        ("s3cret-pw", "is not a URL", EXPORT_LIST),
    ],
)
def test_a_bad_pg_url_is_one_line_naming_the_variable(
    pg_url: str, reason: str, arguments: list[str], keeptrusts_home: Path
) -> None:
    answer = kt_alone(arguments, pg_url)
    assert answer.returncode == 1, answer.stdout + answer.stderr
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in answer.stderr, answer.stderr
    assert "KEEPTRUSTS_DAGSTER_PG_URL" in lines[0] and reason in lines[0], lines[0]
    assert "s3cret-pw" not in answer.stderr + answer.stdout


def test_a_database_the_role_cannot_use_is_one_line(
    storage_database: sa.Engine, keeptrusts_home: Path
) -> None:
    """Reachable server, wrong password: refused before any run starts, naming the variable."""
    wrong = storage_database.url.set(drivername="postgresql", password="not-the-password")
    answer = kt_alone(["export", "list"], wrong.render_as_string(hide_password=False))
    assert answer.returncode == 1
    assert answer.stderr.count("\n") == 1 and "password authentication failed" in answer.stderr
    assert "not-the-password" not in answer.stderr
    assert not rows(
        storage_database, "select 1 from information_schema.tables where table_name = 'runs'"
    )


def test_a_user_who_may_not_create_tables_is_one_line(
    storage_database: sa.Engine, keeptrusts_home: Path
) -> None:
    """The server answers but Dagster cannot create its tables (PostgreSQL 15 lets no one but
    the owner create in `public`): refused in one line naming the variable and the fix."""
    role = f"keeptrusts_reader_{uuid.uuid4().hex[:8]}"
    with storage_database.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw-123'")
        connection.commit()
    try:
        reader = storage_database.url.set(
            drivername="postgresql", username=role, password="reader-pw-123"
        )
        answer = kt_alone(["export", "list"], reader.render_as_string(hide_password=False))
    finally:
        with storage_database.connect() as connection:
            connection.exec_driver_sql(f"DROP ROLE {role}")
            connection.commit()
    assert answer.returncode == 1, answer.stdout + answer.stderr
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in answer.stderr, answer.stderr
    assert "KEEPTRUSTS_DAGSTER_PG_URL: Dagster cannot open its storage" in lines[0]
    assert "permission denied" in lines[0] and "create tables" in lines[0]
    assert "reader-pw-123" not in answer.stderr + answer.stdout


HELM_VALUES = PROJECT_ROOT / "deploy" / "helm" / "values.yaml"


def test_the_helm_values_make_an_instance_dagster_opens_on_postgres(
    storage_database: sa.Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """deploy/helm/values.yaml, rendered as the chart's instance ConfigMap renders it (storage
    with its scheme and params, the run queue, monitoring, retries, extra instance config, the
    K8sRunLauncher's fields), opened by this Dagster against the local PostgreSQL."""
    values = yaml.safe_load(HELM_VALUES.read_text())
    pg, daemon = values["postgresql"], values["dagsterDaemon"]
    queue = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    url = storage_database.url
    postgres_db = {
        "username": url.username,
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": url.host,
        "db_name": url.database,
        "port": url.port or pg["service"]["port"],
        # The local server offers no TLS: everything else as the values say.
        "params": {**pg["postgresqlParams"], "sslmode": "prefer"},
        "scheme": pg["postgresqlScheme"],
    }
    storages = {
        "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage"),
        "event_log_storage": ("dagster_postgres.event_log", "PostgresEventLogStorage"),
        "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
    }
    instance_config = {
        **{
            key: {"module": module, "class": name, "config": {"postgres_db": postgres_db}}
            for key, (module, name) in storages.items()
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": queue["maxConcurrentRuns"],
                "tag_concurrency_limits": queue["tagConcurrencyLimits"],
            },
        },
        "run_monitoring": {
            "enabled": daemon["runMonitoring"]["enabled"],
            "start_timeout_seconds": daemon["runMonitoring"]["startTimeoutSeconds"],
            "max_resume_run_attempts": daemon["runMonitoring"]["maxResumeRunAttempts"],
            "poll_interval_seconds": daemon["runMonitoring"]["pollIntervalSeconds"],
        },
        "run_retries": {
            "enabled": daemon["runRetries"]["enabled"],
            "max_retries": daemon["runRetries"]["maxRetries"],
            "retry_on_asset_or_op_failure": daemon["runRetries"]["retryOnAssetOrOpFailure"],
        },
        "telemetry": values["telemetry"],
        **values["additionalInstanceConfig"],
    }
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    with dg.DagsterInstance.get() as instance:
        assert instance.run_storage._engine.url.drivername == "postgresql+psycopg2"
        queue_config = instance.run_coordinator.get_run_queue_config()
        assert queue_config.max_concurrent_runs == queue["maxConcurrentRuns"]
        kinds = {limit["value"] for limit in queue_config.tag_concurrency_limits}
        assert kinds == {"lake", "export", "evidence"}  # values of the keeptrusts/kind tag
        assert instance.get_runs_count() == 0

    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s_config = launcher["runK8sConfig"]
    launcher_config = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "image_pull_policy": launcher["imagePullPolicy"],
        "fail_pod_on_run_failure": launcher["failPodOnRunFailure"],
        "run_k8s_config": {
            "container_config": run_k8s_config["containerConfig"],
            "pod_spec_config": run_k8s_config["podSpecConfig"],
            "job_spec_config": run_k8s_config["jobSpecConfig"],
        },
        # What the chart adds from its own names.
        "instance_config_map": "dagster-instance",
        "service_account_name": "dagster",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "dagster_home": "/opt/dagster/dagster_home",
    }
    checked = process_config(DagsterK8sJobConfig.config_type_run_launcher(), launcher_config)
    assert checked.success, [error.message for error in checked.errors or []]


def test_the_image_values_and_readme_run_the_same_code_location() -> None:
    """The Dockerfile's command is the one the README shows, its module is the one the Helm
    values and workspace.yaml load, and every deployment file parses."""
    dockerfile = (PROJECT_ROOT / "deploy" / "Dockerfile").read_text()
    command = json.loads(dockerfile.split("\nCMD ", 1)[1].replace("\\\n", ""))
    assert command[:3] == ["dagster", "code-server", "start"]
    module = command[command.index("-m") + 1]
    assert f"`{' '.join(command)}`" in (PROJECT_ROOT / "README.md").read_text()
    values = yaml.safe_load(HELM_VALUES.read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["--module-name", module]
    assert deployment["port"] == int(command[command.index("-p") + 1])
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == module
    manifests = sorted((PROJECT_ROOT / "deploy" / "kubernetes").glob("*.yaml"))
    kinds = [
        document["kind"]
        for path in manifests
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]
    assert sorted(kinds) == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service"]
    for line in dockerfile.splitlines():  # every file the image copies exists
        if line.startswith("COPY "):
            for name in line.split()[1:-1]:
                assert (PROJECT_ROOT / name).exists(), name
