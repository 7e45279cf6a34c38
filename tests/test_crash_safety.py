"""Crash safety on real PostgreSQL: killed holders, orphaned backends, signals, timeouts.

A run is made to stop deterministically inside ``002a_indexes``: a transaction that wrote to
the table stays open, so the first ``CREATE INDEX CONCURRENTLY`` waits for it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import ALL_PARTS, WRITE_ROWS, deployer_dsn, lock_rows, poll, run_tmplmig
from yoyo import get_backend
from yoyo.exceptions import LockTimeout

from tmplmig.database.locking import (
    RESET_ROLE,
    run_with_lock_discipline,
    set_role_sql,
    step_statements,
)
from tmplmig.database.runlock import install_guard
from tmplmig.database.urls import ensure_schema
from tmplmig.migrating import commands, yoyo_bridge
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import Ddl, load_config
from tmplmig.rendering.parts import render_part

INVALID_INDEXES = "SELECT count(*) FROM pg_catalog.pg_index WHERE NOT indisvalid"
FIRST_INDEX = "index idx_experiments_v1_status_created"
APPLY_DEV = "tmplmig apply dev"


def waiting_index_build(conn: psycopg.Connection[Any], name: str = APPLY_DEV) -> int:
    """The pid of ``name``'s backend once its CREATE INDEX CONCURRENTLY waits for a writer."""
    return int(
        poll(
            conn,
            "SELECT pid FROM pg_catalog.pg_stat_activity WHERE application_name = %s"
            " AND wait_event_type = 'Lock' AND query LIKE '%%CREATE INDEX CONCURRENTLY%%'",
            [name],
        )
    )


NONE_RUNNING = """
    SELECT 1 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity
                               WHERE application_name = %s AND state <> 'idle')"""


def running_backends(conn: psycopg.Connection[Any], name: str = APPLY_DEV) -> bool:
    return conn.execute(NONE_RUNNING, [name]).fetchone() is None


@pytest.fixture
def baseline(project: Path, conn: psycopg.Connection[Any]) -> None:
    """001's tables, made as a DBA's psql run of its file makes them, with rows in them;
    yoyo has recorded nothing yet (001's steps are idempotent)."""
    for step in render_part(project, ALL_PARTS[0], load_config(project, "dev")).steps:
        conn.execute(set_role_sql(step.role) + step.apply + RESET_ROLE)
    conn.execute(WRITE_ROWS, [500])


@pytest.fixture
def open_writer(baseline: None, database: str) -> Iterator[psycopg.Connection[Any]]:
    """A transaction that wrote to experiments and stays open: index builds wait for it."""
    with psycopg.connect(database) as writer:
        writer.execute(
            "INSERT INTO experiments_v1.experiments (user_id, name) VALUES (gen_random_uuid(), 'w')"
        )
        yield writer


def test_killed_apply_leaves_no_lock_and_no_running_backend_and_the_next_apply_finishes(
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    open_writer: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    killed = run_tmplmig(project, db_url, "apply", "--env", "dev")
    waiting_index_build(conn)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    assert len(lock_rows(conn)) == 1  # yoyo's row outlives the process

    poll(conn, NONE_RUNNING, [APPLY_DEV], seconds=5)  # the server noticed its client is gone
    open_writer.rollback()
    caplog.set_level(logging.WARNING, "tmplmig")
    monkeypatch.setattr(commands, "YOYO_LOCK_WAIT_SECONDS", 1)  # a lock left in place would fail
    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS[1:]

    removed = [r.getMessage() for r in caplog.records if "stale yoyo lock" in r.getMessage()]
    assert len(removed) == 1 and f"process {killed.pid} " in removed[0], removed
    assert lock_rows(conn) == [] and conn.execute(INVALID_INDEXES).fetchone() == (0,)
    assert commands.verify(resolve(project, "dev", url=db_url)) == []


def test_plain_yoyo_removes_the_lock_of_a_killed_run_too(
    project: Path, db_url: str, conn: psycopg.Connection[Any], open_writer: psycopg.Connection[Any]
) -> None:
    killed = run_tmplmig(project, db_url, "apply", "--env", "dev")
    waiting_index_build(conn)
    killed.kill()
    killed.wait(10)
    open_writer.rollback()

    env = {**os.environ, "TMPLMIG_ENV": "dev", "TMPLMIG_DATABASE_URL": db_url}
    yoyo = subprocess.run(["yoyo", "apply"], cwd=project, env=env, capture_output=True, text=True)

    assert yoyo.returncode == 0, yoyo.stderr
    assert lock_rows(conn) == [] and conn.execute(INVALID_INDEXES).fetchone() == (0,)
    assert all(s.applied for s in commands.status(resolve(project, "dev", url=db_url)))


def test_a_live_run_still_holds_the_lock(
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    open_writer: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = run_tmplmig(project, db_url, "apply", "--env", "dev")
    try:
        waiting_index_build(conn)
        monkeypatch.setattr(commands, "YOYO_LOCK_WAIT_SECONDS", 1)
        with pytest.raises(LockTimeout, match=f"Process {live.pid} has locked") as refused:
            commands.apply(resolve(project, "dev", url=db_url))
        assert "(user tmplmig_deployer, application 'tmplmig apply dev'," in str(refused.value)
        assert str(refused.value).endswith(
            "another run of this target is in progress: wait for it to finish, then run again"
        )
    finally:
        open_writer.rollback()
        assert live.wait(60) == 0, live.stderr.read() if live.stderr else ""
    assert lock_rows(conn) == []


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_cancels_the_statement_releases_the_lock_and_names_the_step(
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    open_writer: psycopg.Connection[Any],
    signum: int,
    code: int,
) -> None:
    run = run_tmplmig(project, db_url, "apply", "--env", "dev")
    waiting_index_build(conn)
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=20)

    assert run.returncode == code
    assert stderr.splitlines() == [stderr.strip()], stderr
    assert (
        f"in 002a_indexes, step {FIRST_INDEX}" in stderr and signal.Signals(signum).name in stderr
    )
    assert not running_backends(conn) and lock_rows(conn) == []
    open_writer.rollback()
    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS[1:]
    assert conn.execute(INVALID_INDEXES).fetchone() == (0,)


@pytest.mark.parametrize("verb", ["apply", "rollback"])
def test_a_run_dying_right_after_a_part_commits_leaves_yoyo_agreeing_with_the_record(
    project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, verb: str
) -> None:
    """yoyo's mark (unmark) of a transactional part commits with its steps and their record
    rows; yoyo alone writes it after the commit, where a killed rollback used to leave a part
    marked applied with no record, which the next rollback could not undo."""
    if verb == "rollback":
        commands.apply(resolve(project, "dev", url=db_url))
    commit = yoyo_bridge.Backend.commit

    def commit_then_die(self: yoyo_bridge.Backend) -> None:
        carries_tracking = self.before_commit is not None
        commit(self)
        if carries_tracking:
            raise KeyboardInterrupt  # killed right after the first part committed

    monkeypatch.setattr(yoyo_bridge.Backend, "commit", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        getattr(commands, verb)(resolve(project, "dev", url=db_url))
    monkeypatch.undo()

    states = {s.part.id: s.state for s in commands.status(resolve(project, "dev", url=db_url))}
    first = ALL_PARTS[0] if verb == "apply" else ALL_PARTS[-1]
    assert states[first] == ("applied" if verb == "apply" else "pending"), states
    getattr(commands, verb)(resolve(project, "dev", url=db_url))  # the next run finishes the rest
    done = {s.state for s in commands.status(resolve(project, "dev", url=db_url))}
    assert done == {"applied" if verb == "apply" else "pending"}


def orphan(
    database: str, name: str, seconds: float, outcome: list[BaseException | None]
) -> threading.Thread:
    """A backend of the deploying login named like a run of the target, busy for ``seconds``,
    as a killed run leaves it."""

    def busy() -> None:
        try:
            with psycopg.connect(
                deployer_dsn(database), application_name=name, autocommit=True
            ) as c:
                c.execute("SELECT pg_sleep(%s)", [seconds])
            outcome.append(None)
        except psycopg.Error as exc:
            outcome.append(exc)

    thread = threading.Thread(target=busy)
    thread.start()
    return thread


def with_orphan_wait(sandbox: Path, wait: str) -> None:
    dev = sandbox / "config/dev.yaml"
    dev.write_text(dev.read_text() + f"ddl:\n  orphan_wait: {wait}\n")


def test_backend_of_an_earlier_run_is_cancelled_after_orphan_wait(
    sandbox: Path,
    database: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_orphan_wait(sandbox, "300ms")
    outcome: list[BaseException | None] = []
    thread = orphan(database, "tmplmig rollback dev", 60, outcome)
    poll(conn, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'")
    caplog.set_level(logging.WARNING, "tmplmig")

    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ALL_PARTS
    thread.join(10)

    assert isinstance(outcome[0], psycopg.errors.QueryCanceled)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "of an earlier run (tmplmig rollback dev) is still active" in messages
    assert "cancelling backend" in messages


def test_backend_of_an_earlier_run_that_ends_within_orphan_wait_is_left_to_finish(
    sandbox: Path,
    database: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_orphan_wait(sandbox, "30s")
    outcome: list[BaseException | None] = []
    thread = orphan(database, APPLY_DEV, 3, outcome)
    poll(conn, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'")
    other = orphan(database, "tmplmig status dev", 5, outcome)  # not a migrating run

    caplog.set_level(logging.WARNING, "tmplmig")
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ALL_PARTS
    thread.join(10)
    other.join(10)

    assert outcome == [None, None]  # both ended by themselves, the status run still later
    waited = [r.getMessage() for r in caplog.records if "earlier run" in r.getMessage()]
    assert len(waited) == 1 and "(tmplmig apply dev) is still active" in waited[0]


def test_tenants_in_one_database_do_not_wait_for_each_others_lock(
    project: Path, db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = get_backend(ensure_schema(db_url, "tmplmig_acme"))
    install_guard(acme.connection)
    monkeypatch.setattr(commands, "YOYO_LOCK_WAIT_SECONDS", 1)
    with acme.lock():
        assert commands.apply(resolve(project, "dev", "globex", url=db_url)) == ALL_PARTS
        with pytest.raises(LockTimeout, match="has locked this database"):
            commands.apply(resolve(project, "dev", "acme", url=db_url))
    acme.connection.close()


GUARDS = """
    SELECT n.nspname, p.proname,
           (SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgfoid = p.oid
              AND t.tgrelid = pg_catalog.to_regclass(n.nspname || '.yoyo_lock'))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.proname LIKE 'tmplmig\\_yoyo\\_lock\\_guard%' ORDER BY 1"""


def test_each_tracking_schema_has_a_guard_function_no_other_schema_shares_the_name_of(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """PostgreSQL finds a trigger's function by name among every schema of the database, so a
    name each tenant shared made each new tenant's CREATE TRIGGER cost more than the last."""
    for tenant in ("acme", "globex"):
        commands.apply(resolve(project, "dev", tenant, url=db_url))
    guards = conn.execute(GUARDS).fetchall()
    assert [(schema, triggers) for schema, _, triggers in guards] == [
        ("tmplmig_acme", 2),
        ("tmplmig_globex", 2),
    ]
    assert len({name for _, name, _ in guards}) == 2


def test_a_guard_under_the_old_shared_name_is_replaced_by_the_next_run(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    (name,) = conn.execute(
        "SELECT proname FROM pg_proc WHERE proname LIKE 'tmplmig_yoyo%'"
    ).fetchone()
    conn.execute(f"ALTER FUNCTION public.{name}() RENAME TO tmplmig_yoyo_lock_guard")  # as before

    assert (
        commands.apply(resolve(project, "dev", url=db_url)) == []
    )  # nothing to do, under the lock
    assert conn.execute(GUARDS).fetchall() == [("public", name, 2)]


def test_steps_that_scan_a_table_run_unbounded_and_others_within_statement_timeout(
    project: Path, conn: psycopg.Connection[Any]
) -> None:
    config = load_config(project, "dev")
    ddl = config.settings.ddl
    index = render_part(project, "002a_indexes", config).steps[0]
    statements = [g.sql for g in step_statements(index, ddl, "apply")]
    assert statements[0] == "SET statement_timeout = '0';"
    assert statements[-1] == f"SET statement_timeout = '{ddl.statement_timeout}';"
    table = render_part(project, "001_baseline", config).steps[1]
    assert [g.sql for g in step_statements(table, ddl, "apply")] == [table.apply]

    bounded = Ddl(**{**ddl.model_dump(), "statement_timeout": "200ms"})
    with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
        run_with_lock_discipline(conn, ["SELECT pg_sleep(2)"], bounded, "slow step")
