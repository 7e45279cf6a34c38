"""A yoyo lock that dies with its holder.

yoyo marks a run with a row in ``yoyo_lock`` and a killed run leaves that row behind, so every
later run waits and fails until someone runs ``yoyo break-lock``. The guard installed here (a
trigger function and two triggers on ``yoyo_lock``) makes the session that inserts the row,
yoyo's main connection, open for the whole run, also take a session-level advisory lock, which
PostgreSQL releases when that session ends, however it ends. An insert that finds a row whose
holder no longer holds the advisory lock removes it with a WARNING naming the old process and
time, and goes on; a live holder still makes the insert fail, and yoyo retries as before.

Key: ``hashtextextended('tmplmig yoyo_lock <database>.<schema>', 0)`` where ``<schema>`` holds
``yoyo_lock`` (one tracking schema per tenant), so tenants in one database never wait for each
other. A row without a recorded holder predates the guard and is never removed automatically.

The trigger function's name ends in a digest of its schema, so no two tracking schemas share
it: PostgreSQL finds the function a trigger executes by its name across every schema of the
database (a list it builds again after any change to ``pg_proc``), and with one same-named
guard per tenant each new tenant's ``CREATE TRIGGER`` read one guard per tenant already there
(0.45 s at 10,000 tenants; docs/benchmarks-tenants.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from yoyo.exceptions import LockTimeout

from tmplmig.database.blockers import sessions, terminate_hint
from tmplmig.errors import REFUSED, TmplmigError

logger = logging.getLogger(__name__)

#: the trigger function's name before it carried its schema's digest (removed on upgrade)
GUARD = "tmplmig_yoyo_lock_guard"
HOLDER = "tmplmig_holder"
LOCK_TABLE = "yoyo_lock"

_BODY = f"""
DECLARE
    key bigint := pg_catalog.hashtextextended(
        'tmplmig yoyo_lock ' || pg_catalog.current_database() || '.' || TG_TABLE_SCHEMA, 0);
    stale record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- yoyo deleting its own row; not a stale row of a reused pid removed below
        IF OLD.{HOLDER} = pg_catalog.pg_backend_pid() AND pg_catalog.pg_trigger_depth() = 1 THEN
            PERFORM pg_catalog.pg_advisory_unlock(key);
        END IF;
        RETURN OLD;
    END IF;
    IF NOT pg_catalog.pg_try_advisory_lock(key) THEN
        RAISE EXCEPTION 'yoyo_lock is held by a live run' USING ERRCODE = 'lock_not_available';
    END IF;
    FOR stale IN EXECUTE pg_catalog.format(
        'DELETE FROM %I.%I WHERE {HOLDER} IS NOT NULL RETURNING pid, ctime',
        TG_TABLE_SCHEMA, TG_TABLE_NAME)
    LOOP
        RAISE WARNING 'removed the stale yoyo lock of process % (taken at % UTC): %',
            stale.pid, stale.ctime, 'its session is gone';
    END LOOP;
    FOR stale IN EXECUTE pg_catalog.format('SELECT pid FROM %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)
    LOOP
        PERFORM pg_catalog.pg_advisory_unlock(key);
        RAISE EXCEPTION 'yoyo_lock row of process % predates the guard', stale.pid
            USING ERRCODE = 'lock_not_available';
    END LOOP;
    NEW.{HOLDER} := pg_catalog.pg_backend_pid();
    RETURN NEW;
END
"""

_INSTALLED = """
    SELECT count(*) FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
    WHERE t.tgrelid = pg_catalog.to_regclass(%s) AND p.proname = %s AND p.prosrc = %s"""


_OLD_GUARD = """
    SELECT 1 FROM pg_catalog.pg_proc
    WHERE proname = %s AND proargtypes = ''::pg_catalog.oidvector
      AND pronamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %s)"""


#: the sessions holding the advisory lock key of the current schema's yoyo_lock (bigint keys
#: show in pg_locks as their high and low halves)
_KEY_HOLDERS = """
    WITH k(key) AS (SELECT pg_catalog.hashtextextended(
        'tmplmig yoyo_lock ' || pg_catalog.current_database() || '.'
        || pg_catalog.current_schema(), 0))
    SELECT l.pid FROM pg_catalog.pg_locks l, k
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_catalog.pg_database
                        WHERE datname = pg_catalog.current_database())
      AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
      AND l.pid <> pg_catalog.pg_backend_pid()
    ORDER BY l.pid"""


class LockHeld(TmplmigError, LockTimeout):
    """yoyo's lock was not had within the wait; the message is :func:`why_locked`'s."""

    exit_code = REFUSED

    @property
    def report(self) -> list[str]:
        """One line naming yoyo's error, as for the other failed runs, then why."""
        return [f"tmplmig: failed: LockTimeout: {self}"]


def why_locked(conn: psycopg.Connection[Any], ours: Sequence[str]) -> str:
    """Why yoyo's lock of the connection's schema could not be had, and what to do about it.

    ``yoyo break-lock`` is the remedy only for a row no live session guards (one written
    before the guard); a session holding the key is named, and told apart by whether it is a
    run of this target (the deploying login, one of the ``ours`` application names).
    """
    table = sql.Identifier(LOCK_TABLE).as_string(conn)
    row = conn.execute(f"SELECT pid, ctime, {HOLDER} FROM {table}").fetchone()
    head = (
        f"Process {row[0]} has locked this database (since {row[1]} UTC)"
        if row
        else "This database is locked"
    )
    holders = sessions(conn, [pid for (pid,) in conn.execute(_KEY_HOLDERS)])
    if holders:
        login = conn.execute("SELECT session_user").fetchone()
        own = all((s.user,) == login and s.application in ours for s in holders)
        named = "\n  ".join(str(s) for s in holders)
        remedy = (
            "another run of this target is in progress: wait for it to finish, then run again"
            if own
            else "not a tmplmig run of this target (another login or program holds the lock's"
            " advisory key; yoyo break-lock would not help): if it is a migration run, wait for"
            f" it; otherwise {terminate_hint(holders, transactions=False)}"
        )
        return f"{head}; the lock is held by:\n  {named}\n{remedy}"
    if row is not None and row[2] is None:
        return (
            f"{head} with a lock row from before tmplmig's guard, and no session holds the lock:"
            " run yoyo break-lock, then run again"
        )
    return f"{head}, and its holder has let go of it since: run again"


def guard_name(schema: str) -> str:
    """The guard function of ``schema``: unique in the database, stable for the schema."""
    return f"{GUARD}_{hashlib.sha256(schema.encode()).hexdigest()[:12]}"


def _qualified(schema: str, name: str) -> sql.Composed:
    return sql.SQL(".").join([sql.Identifier(schema), sql.Identifier(name)])


def install_guard(conn: psycopg.Connection[Any]) -> None:
    """Put the guard on ``yoyo_lock`` of the connection's current schema, unless it is there.

    Runs in its own transaction, or savepoint when a migration's transaction is open; it is also
    a yoyo step callable, which is how plain ``yoyo apply`` installs the guard.
    """
    schema = conn.execute("SELECT pg_catalog.current_schema()").fetchone()[0]  # type: ignore[index]
    table, guard = _qualified(schema, LOCK_TABLE), guard_name(schema)
    installed = [table.as_string(conn), guard, _BODY]
    if conn.execute(_INSTALLED, installed).fetchone() == (2,):
        return
    with conn.transaction():
        conn.execute(
            "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
            "'tmplmig guard ' || pg_catalog.current_database() || '.' || %s, 0))",
            [schema],
        )
        if conn.execute(_INSTALLED, installed).fetchone() == (2,):
            return
        function = _qualified(schema, guard)
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} integer").format(
                table, sql.Identifier(HOLDER)
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql"
                " SET search_path = pg_catalog, pg_temp AS {}"
            ).format(function, sql.Literal(_BODY))
        )
        for name, when in (
            ("tmplmig_guard_take", "BEFORE INSERT"),
            ("tmplmig_guard_free", "AFTER DELETE"),
        ):
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} "
                    + when
                    + " ON {} FOR EACH ROW EXECUTE FUNCTION {}()"
                ).format(sql.Identifier(name), table, function)
            )
        # a guard installed under the old shared name goes; asked by the full key of pg_proc's
        # index first, as DROP FUNCTION would look it up among every schema's
        if conn.execute(_OLD_GUARD, [GUARD, schema]).fetchone():
            conn.execute(sql.SQL("DROP FUNCTION {}()").format(_qualified(schema, GUARD)))
    logger.debug(
        "guarded %s: a killed run's lock is removed by the next run", table.as_string(conn)
    )


@contextmanager
def reporting_warnings(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Log the server's WARNINGs on ``conn`` (such as a removed stale lock) as this module's
    while the block runs (taking yoyo's lock: the steps after relay their own)."""

    def forward(diagnostic: psycopg.errors.Diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            logger.warning("%s", diagnostic.message_primary)

    conn.add_notice_handler(forward)
    try:
        yield
    finally:
        conn.remove_notice_handler(forward)
