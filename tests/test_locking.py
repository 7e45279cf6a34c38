"""Lock discipline on real PostgreSQL: steps wait at most lock_timeout and retry, boundedly."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.yaml_edits import edit

from tmplmig.database.locking import restarting, run_with_lock_discipline
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import ConfigError, Ddl, load_config
from tmplmig.rendering.parts import Guarded, render_all, render_part
from tmplmig.reviewing.bundle import MANIFEST, STEP_MARK, executable_sql, manifest_files

STEP_LINE = re.compile(f"^{STEP_MARK}.*$", re.MULTILINE)
#: the bundle's role switches: SET ROLE "name"; (group 1: the name) or RESET ROLE; (empty)
ROLE_LINE = re.compile(r'^(?:SET ROLE "([^"]+)"|RESET ROLE);\n?', re.MULTILINE)
BOUNDS = {"statement_timeout": "1min", "orphan_wait": "0s"}
QUICK = Ddl(lock_timeout="100ms", lock_retries=20, retry_backoff_ms=20, **BOUNDS)
ADD_COLUMN = "ALTER TABLE contended ADD COLUMN added integer"


@pytest.fixture
def holder(conn: psycopg.Connection[Any], database: str) -> Iterator[psycopg.Connection[Any]]:
    """A second session holding a lock on table ``contended`` that ALTER TABLE must wait for."""
    conn.execute("CREATE TABLE contended (id integer)")
    with psycopg.connect(database) as other:
        other.execute("LOCK TABLE contended IN ACCESS SHARE MODE")
        yield other


def retries_logged(caplog: pytest.LogCaptureFixture) -> int:
    return sum("lock not granted" in r.getMessage() for r in caplog.records)


def test_a_lock_refused_in_a_transaction_restarts_the_whole_transaction_not_the_statement(
    conn: psycopg.Connection[Any], holder: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The transaction would still hold what its earlier statements locked while the refused
    one waited again (and a deadlock would come back): it is rolled back and run again."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    runs: list[int] = []

    def transaction() -> None:
        runs.append(1)
        with conn.transaction():
            conn.execute("CREATE TABLE made_earlier_in_the_transaction (id integer)")
            run_with_lock_discipline(conn, [ADD_COLUMN], QUICK, "add column")

    threading.Timer(0.5, holder.commit).start()
    restarting(transaction)

    assert len(runs) >= 2 and len(runs) == retries_logged(caplog) + 1
    assert all("the whole transaction runs again" in r.getMessage() for r in caplog.records)
    assert conn.execute("SELECT to_regclass('made_earlier_in_the_transaction')").fetchone()[0]
    assert conn.execute("SELECT added FROM contended").fetchall() == []


def test_without_a_restart_a_refused_lock_is_retried_and_the_outer_transaction_survives(
    conn: psycopg.Connection[Any], holder: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """As plain ``yoyo apply`` runs a transactional part: nobody would run it again whole."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE made_earlier_in_the_transaction (id integer)")
    threading.Timer(0.5, holder.commit).start()

    run_with_lock_discipline(conn, [ADD_COLUMN], QUICK, "add column")
    conn.execute("COMMIT")

    assert retries_logged(caplog) >= 1
    assert not any("the whole transaction" in r.getMessage() for r in caplog.records)
    assert conn.execute("SELECT to_regclass('made_earlier_in_the_transaction')").fetchone()[0]
    assert conn.execute("SELECT added FROM contended").fetchall() == []


def test_retries_are_bounded_and_the_lock_error_surfaces(
    conn: psycopg.Connection[Any], holder: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    impatient = Ddl(lock_timeout="400ms", lock_retries=2, retry_backoff_ms=10, **BOUNDS)

    with pytest.raises(psycopg.errors.LockNotAvailable) as refused:
        run_with_lock_discipline(conn, [ADD_COLUMN], impatient, "add column")

    assert retries_logged(caplog) == 2
    assert str(refused.value).startswith(
        "add column: lock not granted within 400ms, waiting for ACCESS EXCLUSIVE lock on"
        " public.contended (3 tries); nothing of it was changed;"
        f" in the way:\n  pid {holder.info.backend_pid} (user "
    )
    columns = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'contended'"
    ).fetchone()
    assert columns == (1,)


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_a_retried_step_writes_what_follows_it_once_and_in_its_own_transaction(
    conn: psycopg.Connection[Any],
    holder: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
    in_transaction: bool,
) -> None:
    """``then`` (a step's record row) travels with the step's statements, in a transaction in
    one message: written once however often the lock is refused (the whole transaction runs
    again), and rolled back with the step. A statement ending in a line comment does not
    swallow what follows it."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    conn.execute("CREATE TABLE written (step text)")
    record_row = "INSERT INTO written VALUES ('add column')"
    threading.Timer(0.5, holder.commit).start()

    def step() -> None:
        run_with_lock_discipline(
            conn, [ADD_COLUMN + " -- a comment last"], QUICK, "add column", then=[record_row]
        )

    def in_a_transaction() -> None:
        conn.execute("BEGIN")
        try:
            step()
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    restarting(in_a_transaction if in_transaction else step)

    assert retries_logged(caplog) >= 1
    assert conn.execute("SELECT step FROM written").fetchall() == [("add column",)]
    assert conn.execute("SHOW lock_timeout").fetchone() == ("100ms",)
    if in_transaction:
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM written").fetchone() == (0,)
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT added FROM contended")


def test_a_failed_step_writes_nothing_that_follows_it(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TABLE written (step text)")
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT yoyo_step")
    with pytest.raises(psycopg.errors.DivisionByZero):
        run_with_lock_discipline(
            conn, ["SELECT 1 / 0"], QUICK, "fails", then=["INSERT INTO written VALUES ('x')"]
        )
    conn.execute("ROLLBACK TO SAVEPOINT yoyo_step")
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*) FROM written").fetchone() == (0,)


class CountingCursor(psycopg.Cursor[Any]):
    """A cursor that counts the messages its connection sends."""

    sent = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        CountingCursor.sent += 1
        return super().execute(*args, **kwargs)


def test_in_a_transaction_a_step_with_guards_is_one_message_and_each_guard_decides(
    conn: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Each guard is asked where its statement would run, and its statement runs only when it
    answers true (no row: not run; false: not run, its note logged); the guards, statements
    and what follows travel in one message, and a later guard sees what an earlier statement
    did."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    conn.execute("CREATE TABLE written (step text)")
    absent = "SELECT pg_catalog.to_regclass('made') IS NULL AS run"
    statements = [
        Guarded("CREATE TABLE made (id integer)", absent),
        Guarded("CREATE TABLE made (id integer); -- a comment last", absent),
        Guarded("INSERT INTO written VALUES ('no row')", "SELECT true AS run WHERE false"),
        Guarded("INSERT INTO written VALUES ('false')", "SELECT false AS run, 'not needed' AS n"),
        Guarded("INSERT INTO written VALUES ('true')", "SELECT 1 = 1 AS run, 'unused' AS note;"),
    ]
    conn.execute("BEGIN")
    conn.cursor_factory = CountingCursor
    CountingCursor.sent = 0
    run_with_lock_discipline(conn, statements, QUICK, "guarded", then=["SELECT 1"])
    assert CountingCursor.sent == 1
    conn.cursor_factory = psycopg.Cursor
    conn.execute("COMMIT")
    assert conn.execute("SELECT step FROM written").fetchall() == [("true",)]
    assert conn.execute("SELECT pg_catalog.to_regclass('made') IS NOT NULL").fetchone() == (True,)
    notes = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert notes == ["guarded: not needed"]


def test_index_build_refused_behind_an_old_snapshot_is_rebuilt_not_kept_invalid(
    project: Path, conn: psycopg.Connection[Any], database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """CREATE INDEX CONCURRENTLY waits for old snapshots under lock_timeout too; a refusal
    leaves an INVALID index, which the retry's repair drops before building again."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    config = load_config(project, "dev")
    for step in render_part(project, "001_baseline", config).steps:
        conn.execute(step.apply)
    first_index = render_part(project, "002a_indexes", config).steps[0]
    with psycopg.connect(database) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT count(*) FROM auth.users")
        threading.Timer(0.5, reader.rollback).start()

        run_with_lock_discipline(conn, first_index.apply_statements, QUICK, first_index.name)

    assert retries_logged(caplog) >= 1
    assert conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone() == (0,)
    built = conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass("
        "'experiments_v1.idx_experiments_v1_status_created')"
    ).fetchall()
    assert built == [(True,)]


@pytest.fixture
def step_owner(conn: psycopg.Connection[Any]) -> str:
    """A NOLOGIN role a step may run as (dropped by conftest by its comment)."""
    conn.execute("CREATE ROLE tmplmig_step_owner NOLOGIN")
    conn.execute("COMMENT ON ROLE tmplmig_step_owner IS 'tmplmig test login'")
    conn.execute("GRANT CREATE ON SCHEMA public TO tmplmig_step_owner")
    return "tmplmig_step_owner"


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_a_step_runs_as_its_role_and_the_session_is_the_login_again_even_after_a_failure(
    conn: psycopg.Connection[Any], step_owner: str, in_transaction: bool
) -> None:
    login = conn.execute("SELECT current_user").fetchone()
    if in_transaction:  # as yoyo runs a transactional part: each step inside its savepoint
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT yoyo_step")
    run_with_lock_discipline(
        conn, ["CREATE TABLE made_by_the_step (x int)"], QUICK, "ok", step_owner
    )
    assert conn.execute("SELECT current_user").fetchone() == login
    with pytest.raises(psycopg.errors.DivisionByZero):
        run_with_lock_discipline(conn, ["SELECT 1 / 0"], QUICK, "fails", step_owner)
    if in_transaction:
        conn.execute("ROLLBACK TO SAVEPOINT yoyo_step")
    assert conn.execute("SELECT current_user").fetchone() == login
    if in_transaction:
        conn.execute("COMMIT")
    owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_the_step'")
    assert owner.fetchall() == ([] if in_transaction else [(step_owner,)])


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("lock_retries", -1, "greater than or equal to 0"),
        ("lock_retries", "3", "valid integer"),
        ("retry_backoff_ms", 0, "greater than or equal to 1"),
        ("lock_timeout", "5 seconds", "should match pattern"),
        ("statement_timeout", 0, "valid string"),
        ("orphan_wait", "1h", "should match pattern"),
    ],
)
def test_bad_lock_settings_name_file_and_key(
    sandbox: Path, key: str, value: object, problem: str
) -> None:
    prod = sandbox / "config/prod.yaml"
    edit(prod, lambda d: d["ddl"].update({key: value}))

    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "prod")

    assert caught.value.file == str(prod) and caught.value.key_path == ("ddl", key)
    assert problem in caught.value.problem


def test_yoyo_runs_exactly_the_statements_the_bundle_shows(
    project: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Byte for byte, in order; yoyo skips only statements whose guard finds nothing to do
    (on an empty database: the repairs of 002a and 002b, the REVOKEs from PUBLIC of
    functions the owner's default privileges already keep from PUBLIC, and the GRANTs of
    EXECUTE that each function was created with)."""
    caplog.set_level(logging.DEBUG, "tmplmig.database.locking")
    commands.apply(resolve(project, "prod", url=db_url))
    executed = [r.args[1:] for r in caplog.records if r.levelno == logging.DEBUG]

    bundle = commands.render_bundle(for_rendering(project, "prod"))
    files = [bundle[name] for name in manifest_files(bundle[MANIFEST], "apply")]
    parts = render_all(project, load_config(project, "prod"))
    repairs = [g.sql for p in parts for s in p.steps for g in s.apply_statements[:-1]]
    repairs += [
        g.sql
        for p in parts
        for s in p.steps
        if s.name.startswith(("revoke PUBLIC execute ", "grant EXECUTE on "))
        for g in s.apply_statements
    ]
    repair_lines = {line for sql in repairs for line in sql.split("\n")}
    shown: list[tuple[str, str | None]] = []  # each step's SQL and the role the file runs it as
    for text in files:
        header, *chunks = re.split(STEP_LINE, text)
        role = ([None, *ROLE_LINE.findall(header)][-1]) or None
        for chunk in chunks:
            sql = executable_sql(ROLE_LINE.sub("", chunk)).removesuffix("COMMIT;").strip()
            kept = [line for line in sql.split("\n") if line not in repair_lines]
            shown.append(("\n".join(kept), role))
            role = ([role, *ROLE_LINE.findall(chunk)][-1]) or None
    assert len(shown) > 100 and len(repairs) > 20 and {r for _, r in shown} == {None, "app_owner"}
    remaining = iter(executed)
    for text, role in shown:  # a step may run several statements (scan bounds, the apply)
        ran: list[str] = []
        while "\n".join(ran) != text:
            statement, ran_as = next(remaining)
            assert ran_as == role, statement
            ran.append(statement)
    assert next(remaining, None) is None
    assert all(text.count("SET lock_timeout = '2s';") == 1 for text in files)
