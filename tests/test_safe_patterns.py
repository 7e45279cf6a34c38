"""The safe-change macros on a real table with rows, while a writer inserts and another
transaction holds the table: each step waits at most lock_timeout, so the writer never
queues behind it for longer; each apply converges when repeated and its rollback restores
the catalog exactly.

Steps run as yoyo runs them (each through the lock discipline, outside a transaction).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from support.servers import PROJECT

from tmplmig.database.catalog import snapshot
from tmplmig.database.locking import run_with_lock_discipline
from tmplmig.rendering.config import Ddl
from tmplmig.rendering.macro_docs import example_template
from tmplmig.rendering.parts import Step, render_steps

ROWS = 50_000
DDL = Ddl(
    lock_timeout="200ms",
    lock_retries=40,
    retry_backoff_ms=20,
    statement_timeout="1min",
    orphan_wait="0s",
)
#: the writer may also wait for a brief lock once granted and for a busy 2-core machine
MARGIN_S = 0.3
BOUND_S = 0.2 + MARGIN_S
#: how long the other transaction holds the table: longer than the bound, so a step that
#: queued for its lock without lock_timeout would keep the writer waiting past it
HOLD_S = 1.5

#: pattern -> (macro call, does it take a lock that writers wait for, query proving it applied)
PATTERNS: dict[str, tuple[str, bool, str]] = {
    "add a nullable column": (
        'm.add_column(schema="app", table="widgets", column="note", type="text")',
        True,
        "SELECT count(*) = count(*) FILTER (WHERE note IS NULL) FROM app.widgets",
    ),
    "add a column with a constant default": (
        'm.add_column(schema="app", table="widgets", column="colour", type="text", default="red")',
        True,
        "SELECT bool_and(colour = 'red') FROM app.widgets",
    ),
    "make a column NOT NULL": (
        'm.set_not_null(schema="app", table="widgets", column="owner")',
        True,
        "SELECT attnotnull AND NOT EXISTS (SELECT FROM pg_constraint WHERE conname ="
        " 'owner_not_null') FROM pg_attribute"
        " WHERE attrelid = 'app.widgets'::regclass AND attname = 'owner'",
    ),
    "a unique constraint from a concurrent unique index": (
        'm.unique(schema="app", table="widgets", name="uq_widgets_name", columns=["name"])',
        True,
        "SELECT contype = 'u' AND convalidated FROM pg_constraint"
        " WHERE conname = 'uq_widgets_name'",
    ),
    "a CHECK constraint added NOT VALID, then validated": (
        'm.check(schema="app", table="widgets", name="ck_widgets_price", expression="price >= 0")',
        True,
        "SELECT convalidated FROM pg_constraint WHERE conname = 'ck_widgets_price'",
    ),
    "a view": (
        '{% call m.view(schema="app", name="owned_widgets") %}\n'
        "SELECT id, name, owner FROM app.widgets WHERE owner IS NOT NULL\n{% endcall %}",
        False,
        "SELECT count(*) > 0 FROM app.owned_widgets",
    ),
    "a comment": (
        'm.comment(on="TABLE", schema="app", name="widgets", text="things we sell")',
        False,
        "SELECT obj_description('app.widgets'::regclass) = 'things we sell'",
    ),
}


@dataclass
class Writer:
    """Inserts into app.widgets in a loop and records how long each insert took."""

    dsn: str
    waits: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                start = time.perf_counter()
                conn.execute(
                    "INSERT INTO app.widgets (name, owner, price)"
                    " VALUES (gen_random_uuid()::text, 'writer', 1)"
                )
                self.waits.append(time.perf_counter() - start)
                time.sleep(0.005)


@pytest.fixture
def widgets(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """A table with rows for the patterns to change."""
    conn.execute(
        "CREATE SCHEMA app; CREATE TABLE app.widgets (id bigint GENERATED ALWAYS AS IDENTITY"
        " PRIMARY KEY, name text NOT NULL, owner text, price numeric NOT NULL DEFAULT 0)"
    )
    conn.execute(
        "INSERT INTO app.widgets (name, owner, price)"
        " SELECT 'w' || i, 'owner' || i %% 100, i %% 50 FROM generate_series(1, %s) i",
        (ROWS,),
    )
    conn.execute("ANALYZE app.widgets")
    return conn


@dataclass
class Contention:
    """What one run under contention measured."""

    max_wait_s: float
    inserts: int
    retries: int


@pytest.fixture
def contended(database: str, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    """Run an action while a writer inserts and, for HOLD_S, another transaction holds the
    table with an uncommitted insert (ROW EXCLUSIVE, as any writer would)."""
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")

    def under_contention(action: Any) -> Contention:
        caplog.clear()
        writer = Writer(database)
        thread = threading.Thread(target=writer.run)
        with psycopg.connect(database) as holder:
            holder.execute("INSERT INTO app.widgets (name, owner) VALUES ('held', 'holder')")
            release = threading.Timer(HOLD_S, holder.rollback)
            thread.start()
            release.start()
            try:
                action()
                release.join()
                time.sleep(0.05)
            finally:
                release.cancel()
                writer.stop.set()
                thread.join()
        retries = sum("lock not granted" in r.getMessage() for r in caplog.records)
        return Contention(max(writer.waits), len(writer.waits), retries)

    yield under_contention


def steps_of(call: str) -> tuple[Step, ...]:
    return render_steps(PROJECT / "templates", example_template(call), {})


def apply_steps(conn: psycopg.Connection[Any], steps: tuple[Step, ...]) -> None:
    for step in steps:
        run_with_lock_discipline(conn, step.apply_statements, DDL, step.name)


def rollback_steps(conn: psycopg.Connection[Any], steps: tuple[Step, ...]) -> None:
    for step in reversed(steps):
        if step.rollback:
            run_with_lock_discipline(conn, [step.rollback], DDL, step.name)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_keeps_writers_within_lock_timeout_converges_and_rolls_back_exactly(
    widgets: psycopg.Connection[Any], contended: Any, pattern: str
) -> None:
    call, blocks_writers, applied = PATTERNS[pattern]
    steps = steps_of(call)
    before = snapshot(widgets)

    applying = contended(lambda: apply_steps(widgets, steps))
    assert widgets.execute(applied).fetchone() == (True,)
    after = snapshot(widgets)
    apply_steps(widgets, steps)  # again: converges, changes nothing
    assert snapshot(widgets) == after != before
    rolling_back = contended(lambda: rollback_steps(widgets, steps))
    assert snapshot(widgets) == before

    for run in (applying, rolling_back):
        assert run.inserts > 20, "the writer kept writing"
        assert run.max_wait_s < BOUND_S, f"a writer waited {run.max_wait_s:.3f} s"
    assert (applying.retries > 0) == blocks_writers, "the held table delayed the step"


def test_without_lock_timeout_the_writer_waits_for_the_whole_hold(
    widgets: psycopg.Connection[Any], contended: Any
) -> None:
    """The bound above can fail: the same column added with a plain ALTER TABLE, which waits
    for its lock as long as it takes, queues the writer behind it past the bound."""
    [step] = steps_of(PATTERNS["add a nullable column"][0])
    run = contended(lambda: widgets.execute(step.apply))
    assert run.max_wait_s > BOUND_S


def test_not_null_is_refused_while_the_column_holds_nulls_and_nothing_is_left(
    widgets: psycopg.Connection[Any],
) -> None:
    widgets.execute("UPDATE app.widgets SET owner = NULL WHERE id = 7")
    before = snapshot(widgets)
    steps = steps_of(PATTERNS["make a column NOT NULL"][0])
    with pytest.raises(psycopg.errors.CheckViolation):
        apply_steps(widgets, steps)
    rollback_steps(widgets, steps)
    assert snapshot(widgets) == before
