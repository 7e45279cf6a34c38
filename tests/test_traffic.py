"""Rollback and evolve under ordinary traffic: they finish, or stop before a change naming the
session in the way; and whoever holds what a run waits for is named, with the right remedy.

Sessions in the way are real LOGINs (a report left in a transaction, a login squatting on
yoyo's lock key or on a run's application_name), as in production; the deploying login of
conftest runs every migration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support.logins import create_login
from support.servers import ALL_PARTS, DEPLOYER, dsn_for, poll
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands, record
from tmplmig.migrating.rollback_guard import RollbackBlocked
from tmplmig.migrating.target import resolve

#: every row of yoyo's tracking and of tmplmig's record, to show a refused run wrote none
TRACKING = (
    "SELECT (SELECT array_agg(migration_id ORDER BY migration_id) FROM _yoyo_migration),"
    " (SELECT count(*) FROM _yoyo_log),"
    f" (SELECT array_agg(row_sha256 ORDER BY row_sha256) FROM {record.STEPS_TABLE})"
)
#: the sessions that keep a run's session waiting, as the server sees it
BLOCKED_BY = """
    SELECT 1 FROM pg_catalog.pg_stat_activity
    WHERE application_name = %s AND %s = ANY(pg_catalog.pg_blocking_pids(pid))"""


def with_ddl(project: Path, **ddl: object) -> Path:
    """``project`` whose dev config sets these lock settings."""
    edit(project / "config/dev.yaml", lambda d: d.update(ddl={**d.get("ddl", {}), **ddl}))
    return project


@dataclass
class Login:
    """A LOGIN of its own, connected to the test's database (not in autocommit)."""

    name: str
    conn: psycopg.Connection[Any]

    @property
    def pid(self) -> int:
        return self.conn.info.backend_pid


@pytest.fixture
def login(database: str, conn: psycopg.Connection[Any]) -> Iterator[Callable[..., Login]]:
    """Make a LOGIN (in ``group``, named ``application`` in pg_stat_activity) and connect it."""
    opened: list[psycopg.Connection[Any]] = []

    def make(group: str | None = None, application: str = "report") -> Login:
        user, password = create_login(conn, group)
        dsn = dsn_for(database, conninfo_to_dict(database)["dbname"], user=user)
        session = psycopg.connect(
            make_conninfo(dsn, password=password), application_name=application
        )
        opened.append(session)
        return Login(user, session)

    yield make
    for session in opened:
        session.close()


def join(conn: psycopg.Connection[Any], group: str, member: Login) -> None:
    """Make ``member`` a member of ``group`` (a role the migrations created)."""
    conn.execute(
        sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(member.name))
    )


def cli_run(project: Path, db_url: str, *args: str) -> int:
    return cli.main(["--project", str(project), *args, "--env", "dev", "--database", db_url])


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``call()`` started in a thread; the list gets what it returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # reported by the test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


# -- issue 20, observation 7: rollback completes or changes nothing, even under traffic


def test_a_reader_left_in_a_transaction_stops_rollback_before_its_first_change_named(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    login: Callable[..., Login],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The reader holds a table only 002b's and 001's rollbacks lock: today's rollback
    rolled back 002e-002c, then failed at 002b."""
    project = with_ddl(sandbox, lock_timeout="1s", lock_retries=1, retry_backoff_ms=20)
    reader = login(application="monthly report")
    empty = snapshot(conn)
    commands.apply(resolve(project, "dev", url=db_url))
    join(conn, "app_readonly", reader)
    reader.conn.execute("SELECT count(*) FROM production.projects")  # its transaction stays open
    before, tracked = snapshot(conn), conn.execute(TRACKING).fetchone()
    capsys.readouterr()

    assert cli_run(project, db_url, "rollback", "--all") == 1
    err = capsys.readouterr().err
    assert (
        "rollback, before its first change: lock not granted within 1s, waiting for ACCESS"
        " EXCLUSIVE lock on production.projects (2 tries); nothing of it was changed;"
        " in the way:\n"
        f"  pid {reader.pid} (user {reader.name}, application 'monthly report';" in err
    )
    assert f"SELECT pg_terminate_backend(pid) for pid {reader.pid}" in err
    assert difference(before, snapshot(conn)) == {}
    assert conn.execute(TRACKING).fetchone() == tracked

    reader.conn.commit()
    assert cli_run(project, db_url, "rollback", "--all") == 0
    assert difference(empty, snapshot(conn)) == {}


def test_an_object_made_while_rollback_waits_stops_it_before_the_part_it_would_block(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    login: Callable[..., Login],
) -> None:
    """The guard ran before the rollback waited for a reader; a grant to a role 002d drops,
    made meanwhile, stops it before 002d's first statement (002e done, 002d whole), not
    with an error half-way through 002d."""
    project = with_ddl(sandbox, lock_timeout="1s", lock_retries=10, retry_backoff_ms=50)
    reader, planter = login(), login()
    empty = snapshot(conn)
    commands.apply(resolve(project, "dev", url=db_url))
    join(conn, "app_readonly", reader)
    reader.conn.execute("SELECT count(*) FROM production.projects")
    conn.execute(
        sql.SQL("CREATE SCHEMA reports AUTHORIZATION {}").format(sql.Identifier(planter.name))
    )

    thread, outcome = in_thread(lambda: commands.rollback(resolve(project, "dev", url=db_url)))
    poll(conn, BLOCKED_BY, ["tmplmig rollback dev", reader.pid])
    planter.conn.execute("CREATE TABLE reports.daily (x int)")
    planter.conn.execute("GRANT SELECT ON reports.daily TO app_readonly")
    planter.conn.commit()
    reader.conn.commit()
    thread.join(120)

    (stopped,) = outcome
    assert isinstance(stopped, RollbackBlocked), stopped
    assert (stopped.stopped_before, stopped.done) == ("002d_roles_grants", ("002e_functions",))
    assert [str(b) for b in stopped.blockers] == [
        f"table reports.daily (owner {planter.name}): granted to role app_readonly,"
        " which the rollback drops"
    ]
    applied = [s.id for s in commands.status(resolve(project, "dev", url=db_url)) if s.applied]
    assert applied == ALL_PARTS[:-1]

    planter.conn.execute("DROP TABLE reports.daily")
    planter.conn.commit()
    conn.execute("DROP SCHEMA reports")
    assert commands.rollback(resolve(project, "dev", url=db_url)) == list(reversed(ALL_PARTS[:-1]))
    assert difference(empty, snapshot(conn)) == {}


def test_a_deadlock_with_a_writer_restarts_the_parts_whole_transaction(
    sandbox: Path,
    database: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """002e's rollback holds audits.audit_log and waits for providers.provider_health, which a
    writer holds and wants audit_log next: the server breaks the deadlock by cancelling the
    rollback's statement. Retrying that statement inside the transaction that still holds
    audit_log deadlocks again; the part's whole transaction runs again, after the writer.

    A reader of quarantine.quarantined_records first keeps the rollback waiting before its
    first change, so the writer can take provider_health before the part locks it."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    project = with_ddl(sandbox, lock_timeout="5s", lock_retries=3, retry_backoff_ms=100)
    commands.apply(resolve(project, "dev", url=db_url))
    with (
        psycopg.connect(database, application_name="reader") as reader,
        psycopg.connect(database, application_name="writer") as writer,
    ):
        writer.execute("SET lock_timeout = '10s'")  # on today's code: fail, not hang
        reader.execute("SELECT count(*) FROM quarantine.quarantined_records")
        thread, outcome = in_thread(
            lambda: commands.rollback(resolve(project, "dev", url=db_url), part="002e_functions")
        )
        poll(conn, BLOCKED_BY, ["tmplmig rollback dev", reader.info.backend_pid])
        # the lock an INSERT takes, held by the writer's transaction
        writer.execute("LOCK TABLE providers.provider_health IN ROW EXCLUSIVE MODE")
        reader.commit()
        poll(conn, BLOCKED_BY, ["tmplmig rollback dev", writer.info.backend_pid])
        writer.execute("LOCK TABLE audits.audit_log IN ROW EXCLUSIVE MODE")
        writer.commit()
        thread.join(120)

    assert outcome == [["002e_functions"]]
    restarted = [r.getMessage() for r in caplog.records if "runs again" in r.getMessage()]
    assert len(restarted) == 1
    assert restarted[0].startswith(
        "002e_functions: chosen to break a deadlock with another transaction"
    )
    assert restarted[0].endswith(": the whole transaction runs again; retry 1 of 3 in 0.1 s")
    applied = [s.id for s in commands.status(resolve(project, "dev", url=db_url)) if s.applied]
    assert applied == ALL_PARTS[:-1]


def test_an_evolve_stops_before_its_first_change_naming_who_holds_a_table_it_needs(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The plan rebuilds an index of audits.audit_log concurrently; a session building an
    index of its own there (SHARE) is in the way of that. Nothing of the plan runs until it
    is gone."""
    project = with_ddl(sandbox, lock_timeout="1s", lock_retries=1, retry_backoff_ms=20)
    commands.apply(resolve(project, "dev", url=db_url))
    indexes = project / "templates/002a_indexes.sql.j2"
    text = indexes.read_text()
    indexes.write_text(text.replace('"entity_type, entity_id"', '"entity_id, entity_type"'))
    before, tracked = snapshot(conn), conn.execute(TRACKING).fetchone()
    with psycopg.connect(database, application_name="index by hand") as maintenance:
        maintenance.execute("LOCK TABLE audits.audit_log IN SHARE MODE")

        with pytest.raises(psycopg.errors.LockNotAvailable) as refused:
            commands.apply(resolve(project, "dev", url=db_url))
        assert str(refused.value).startswith(
            "evolve, before its first change: lock not granted within 1s, waiting for SHARE"
            " UPDATE EXCLUSIVE lock on audits.audit_log (2 tries); nothing of it was changed;"
            " in the way:\n"
            f"  pid {maintenance.info.backend_pid} (user "
        )
        assert difference(before, snapshot(conn)) == {}
        assert conn.execute(TRACKING).fetchone() == tracked

    assert commands.apply(resolve(project, "dev", url=db_url)) == ["002a_indexes (evolved)"]
    assert commands.verify(resolve(project, "dev", url=db_url)) == []


# -- issue 21, "anyone can stall a deploy": lock waits name the holder


def test_a_login_holding_yoyo_lock_key_is_named_and_break_lock_is_not_advised(
    project: Path,
    db_url: str,
    login: Callable[..., Login],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    squatter = login(application="squatter")
    squatter.conn.execute(
        "SELECT pg_advisory_lock(hashtextextended("
        "'tmplmig yoyo_lock ' || current_database() || '.public', 0))"
    )
    squatter.conn.commit()
    monkeypatch.setattr(commands, "YOYO_LOCK_WAIT_SECONDS", 1)
    capsys.readouterr()

    assert cli_run(project, db_url, "apply") == 1
    err = capsys.readouterr().err
    assert "tmplmig: failed: LockTimeout: This database is locked; the lock is held by:\n" in err
    assert f"  pid {squatter.pid} (user {squatter.name}, application 'squatter';" in err
    assert "not a tmplmig run of this target" in err
    assert f"SELECT pg_terminate_backend(pid) for pid {squatter.pid}" in err
    assert "run yoyo break-lock" not in err


def test_another_login_named_like_a_run_is_neither_waited_for_nor_cancelled(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], login: Callable[..., Login]
) -> None:
    """A session left in a transaction (no snapshot kept: it holds up no index build) under a
    run's application_name; today's apply took it for an orphan, waited, and failed to cancel
    it (InsufficientPrivilege)."""
    project = with_ddl(sandbox, orphan_wait="1s")
    impostor = login(application="tmplmig apply dev")
    impostor.conn.execute("SELECT 1")

    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS
    state = "SELECT state FROM pg_stat_activity WHERE pid = %s"
    assert conn.execute(state, [impostor.pid]).fetchone() == ("idle in transaction",)
    assert impostor.conn.execute("SELECT 2").fetchone() == (2,)


def test_an_index_build_kept_waiting_by_an_old_snapshot_names_the_session(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    login: Callable[..., Login],
) -> None:
    """With pg_read_all_stats (docs/security.md) the deploying login also sees what the
    session is doing and since when."""
    project = with_ddl(sandbox, lock_timeout="1s", lock_retries=1, retry_backoff_ms=20)
    snapshot_holder = login(application="nightly export")
    snapshot_holder.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    snapshot_holder.conn.execute("SELECT 1")
    conn.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(DEPLOYER)))
    try:
        with pytest.raises(psycopg.errors.LockNotAvailable) as refused:
            commands.apply(resolve(project, "dev", url=db_url))
    finally:
        conn.execute(sql.SQL("REVOKE pg_read_all_stats FROM {}").format(sql.Identifier(DEPLOYER)))
    message = str(refused.value)
    assert message.startswith(
        "index idx_experiments_v1_status_created: lock not granted within 1s, waiting for"
        " older transactions to end (2 tries); nothing of it was changed; in the way:\n"
        f"  pid {snapshot_holder.pid} (user {snapshot_holder.name},"
        " application 'nightly export', idle in transaction, query started 20"
    )
    assert message.endswith(
        f"): SELECT 1\ncommit or end their transactions, or end the sessions"
        f" (SELECT pg_terminate_backend(pid) for pid {snapshot_holder.pid}), then run again"
    )

    snapshot_holder.conn.commit()
    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS[1:]
