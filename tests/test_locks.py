"""The ``-- lock:`` notes of the bundle against the locks PostgreSQL really takes.

Every statement of every part (apply, then rollback) runs as the psql bundle runs it; while
it holds its locks (an open transaction, or a CONCURRENTLY build kept waiting by an old
snapshot), another session reads ``pg_locks`` and the strongest mode per table must be the
one the note names.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import ast

from tmplmig.database.locking import unbounded_scans
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import Guarded
from tmplmig.reviewing.bundle import bundle_context
from tmplmig.reviewing.locks import (
    MODES,
    PG_LOCKS_MODE,
    BundleContext,
    ParsedStatement,
    lock_lines,
    split_statements,
    statement_locks,
    strongest_per_relation,
)

TABLE_LOCKS = """
SELECT n.nspname || '.' || c.relname, l.mode
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = %s AND l.granted AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def strongest(rows: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for relation, mode in rows:
        name = PG_LOCKS_MODE[mode]
        if MODES.index(name) >= MODES.index(out.get(relation, MODES[0])):
            out[relation] = name
    return out


def held_in_transaction(conn: psycopg.Connection[Any], sql: str) -> dict[str, str]:
    """Run ``sql`` in an open transaction and read its table locks before committing.

    Read from the running session itself, which alone sees the tables it just created; the
    same rows are what another session sees in pg_locks (pg_locks is not transactional)."""
    conn.execute("BEGIN")
    conn.execute(sql)
    pid = conn.info.backend_pid
    seen = strongest(conn.execute(TABLE_LOCKS, (pid,)).fetchall())
    conn.execute("COMMIT")
    return seen


def held_while_waiting(
    database: str, conn: psycopg.Connection[Any], sql: str, table: str
) -> dict[str, str]:
    """Run a CONCURRENTLY statement while an old snapshot on ``table`` keeps it waiting, and
    read its locks from another session meanwhile."""
    with (
        psycopg.connect(database, autocommit=True) as blocker,
        psycopg.connect(database, autocommit=True) as observer,
    ):
        blocker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        blocker.execute(f"SELECT count(*) FROM {table}")
        failure: list[BaseException] = []

        def run() -> None:
            try:
                conn.execute(sql)
            except BaseException as exc:  # reported by the test thread
                failure.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        pid = conn.info.backend_pid
        deadline = time.monotonic() + 10
        waiting = False
        while not waiting and time.monotonic() < deadline:
            state = observer.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            waiting = state is not None and state[0] == "Lock"
            time.sleep(0.01)
        seen = strongest(observer.execute(TABLE_LOCKS, (pid,)).fetchall())
        blocker.execute("ROLLBACK")
        worker.join()
        assert not failure, failure
        assert waiting, f"never saw {sql!r} wait"
        return seen


def _concurrent(statement: ParsedStatement) -> bool:
    return bool(getattr(statement.node, "concurrent", False))


def run_and_compare(
    database: str, conn: psycopg.Connection[Any], g: Guarded, context: BundleContext
) -> list[str]:
    """Run ``g`` as psql does; one line per statement whose note differs from pg_locks."""
    if g.psql == "by hand":
        return []
    if g.psql == "if":
        assert g.guard is not None
        if not conn.execute(g.guard).fetchone()[0]:
            return []
    wrong = []
    for statement in split_statements(g.sql):
        if isinstance(statement.node, ast.DoStmt):  # noted as not derived
            conn.execute(statement.sql)
            continue
        locks = statement_locks(statement.node, context)
        noted = strongest_per_relation(locks)
        if _concurrent(statement) and not locks:  # IF EXISTS of an index not built yet
            conn.execute(statement.sql)
            continue
        if _concurrent(statement):
            seen = held_while_waiting(database, conn, statement.sql, locks[0].relation)
        else:
            seen = held_in_transaction(conn, statement.sql)
        no_op = "IF EXISTS" in statement.sql or "IF NOT EXISTS" in statement.sql
        differs = any(noted.get(rel) != mode for rel, mode in seen.items()) or (
            not no_op and set(noted) - set(seen)
        )
        if differs:
            wrong.append(f"{statement.sql[:90]!r}: noted {lock_lines(locks)}, seen {seen}")
    return wrong


def test_every_lock_note_names_the_strongest_lock_pg_locks_shows(
    project: Path, database: str, conn: psycopg.Connection[Any]
) -> None:
    parts = commands.render(for_rendering(project, "dev"))
    context = bundle_context(parts)
    wrong: list[str] = []
    for part in parts:
        for step in part.steps:
            for g in step.apply_statements:
                wrong += run_and_compare(database, conn, g, context)
    for part in reversed(parts):
        for step in reversed(part.steps):
            for g in step.rollback_statements:
                wrong += run_and_compare(database, conn, g, context)
    assert wrong == [], "\n".join(wrong)


def test_a_plans_lock_notes_name_the_strongest_lock_pg_locks_shows(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The plan of a schema rename plus an index rebuild, statement by statement as its files
    run them, against pg_locks: its notes come from the same code as the bundle's."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    base = sandbox / "config/base.yaml"
    base.write_text(base.read_text().replace("quarantine: quarantine\n", "quarantine: q2\n"))
    indexes = sandbox / "templates/002a_indexes.sql.j2"
    indexes.write_text(indexes.read_text().replace('"entity_type, entity_id"', '"entity_id"'))
    _, plans = commands.planned(resolve(sandbox, "dev", None, db_url))
    assert {p.part.id for p in plans} >= {"001_baseline", "002a_indexes"}
    context = bundle_context([p.part for p in plans])
    ddl = load_config(sandbox, "dev").settings.ddl
    wrong: list[str] = []
    for plan in plans:
        for action in plan.actions:
            for statement in unbounded_scans(action.statements, ddl):
                g = statement if isinstance(statement, Guarded) else Guarded(statement)
                wrong += run_and_compare(database, conn, g, context)
    assert wrong == [], "\n".join(wrong)
    assert conn.execute("SELECT to_regnamespace('q2') IS NOT NULL").fetchone() == (True,)


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        (
            "ALTER TABLE experiments_v1.experiments VALIDATE CONSTRAINT fk;",
            "-- lock: SHARE UPDATE EXCLUSIVE on experiments_v1.experiments;"
            " reads and writes continue (while the rows are checked)",
        ),
        (
            "ALTER TABLE a.b ADD CONSTRAINT fk FOREIGN KEY (x)"
            " REFERENCES auth.users (id) NOT VALID;",
            "-- lock: SHARE ROW EXCLUSIVE on a.b, auth.users; blocks writes; reads continue"
            " (catalog update only: NOT VALID, no scan)",
        ),
        ("GRANT SELECT ON a.b TO r;", "-- lock: no table lock"),
        (
            "ALTER TABLE a.b ALTER COLUMN c SET NOT NULL;",
            "-- lock: ACCESS EXCLUSIVE on a.b; blocks reads and writes (scans every row, or none"
            " when a validated CHECK (column IS NOT NULL) holds)",
        ),
    ],
)
def test_a_lock_note_reads_mode_relations_and_what_waits(sql: str, line: str) -> None:
    (statement,) = split_statements(sql)
    assert lock_lines(statement_locks(statement.node, BundleContext()))[0] == line
