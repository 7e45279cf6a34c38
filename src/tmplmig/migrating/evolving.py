"""The evolve: ``apply`` running the plans that take applied parts from their record to
today's render (:mod:`.plan`), before it applies what is pending.

Every plan's table locks are tried before the first change (:mod:`.preflight`); each part's
actions then run and are recorded on a connection of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from tmplmig.database.locking import restarting, run_with_lock_discipline, unbounded_scans
from tmplmig.database.urls import connect
from tmplmig.migrating import preflight, record
from tmplmig.migrating.target import Target
from tmplmig.rendering.parts import Part, statement_sql

if TYPE_CHECKING:
    from yoyo.backends import DatabaseBackend

    from tmplmig.migrating.plan import PartPlan


@contextmanager
def _second_connection(
    backend: DatabaseBackend, target: Target
) -> Iterator[psycopg.Connection[Any]]:
    """Another connection to the tracking schema of ``backend``: work that may be cut short
    (a backend terminated mid-evolve) must not take the holder of yoyo's lock row with it.
    In a fan-out the tenants of one database take turns with the run's (its catalog caches
    warm: a new backend reads them afresh for every tenant)."""
    row = backend.connection.execute("SELECT current_schema()").fetchone()
    url = str(backend.uri)
    with target.scratch.session(url) if target.scratch is not None else connect(url) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(row[0])))
        yield conn


def _evolve_locks(plans: list[PartPlan], parts: list[Part]) -> dict[str, list[preflight.TableLock]]:
    """The tables each part's plan locks (:mod:`preflight`)."""
    applied = [(s.kind, g.sql) for part in parts for s in part.steps for g in s.apply_statements]
    return {
        p.part.id: preflight.table_locks(
            [(a.role, statement_sql(s)) for a in p.actions for s in a.statements], applied, parts
        )
        for p in plans
    }


def evolve(
    backend: DatabaseBackend, plans: list[PartPlan], target: Target, parts: list[Part]
) -> None:
    """Run each part's plan and record its new render: a transactional part in one
    transaction, which takes its tables' locks first and runs again whole when a lock is
    refused; otherwise action by action, each recorded as it completes, so an interrupted
    evolve is planned again from where it stopped (a destructive action in one transaction,
    its pre-execution check with its drop). Before the first change every plan's locks are
    tried (:func:`preflight.probe`), so a session in the way stops it there, named; a lone
    transactional part's own transaction takes them first thing, which is the same."""
    if not plans:
        return
    recorder, ddl = record.Recorder.of(target.config), target.config.settings.ddl
    locks = _evolve_locks(plans, parts)
    with _second_connection(backend, target) as conn:
        if len(plans) > 1 or not plans[0].part.transactional:
            every = preflight.strongest(lock for each in locks.values() for lock in each)
            preflight.probe(conn, every, ddl, "evolve, before its first change")
        for p in plans:
            if p.part.transactional:
                restarting(partial(_evolve_in_transaction, conn, p, locks[p.part.id], target))
                continue
            positions = {s.identity: i for i, s in enumerate(p.part.steps)}
            for action in p.actions:
                with conn.transaction() if action.drops else ExitStack():
                    for statement in action.statements:
                        run_with_lock_discipline(
                            conn,
                            unbounded_scans([statement], ddl),
                            ddl,
                            action.label,
                            action.role,
                            p.part.id,
                        )
                if action.identity in positions:
                    position = positions[action.identity]
                    recorder.write(conn, p.part.id, p.part.steps[position], position)
                else:
                    record.forget(conn, p.part.id, [action.identity])
            _record_part(conn, recorder, p)


def _evolve_in_transaction(
    conn: psycopg.Connection[Any],
    p: PartPlan,
    locks: list[preflight.TableLock],
    target: Target,
) -> None:
    """One transactional part's plan and its record, whole: its locks first, then its actions."""
    ddl = target.config.settings.ddl
    with conn.transaction():
        preflight.take(conn, locks, ddl, p.part.id)
        for action in p.actions:
            run_with_lock_discipline(
                conn,
                unbounded_scans(action.statements, ddl),
                ddl,
                action.label,
                action.role,
                p.part.id,
            )
        _record_part(conn, record.Recorder.of(target.config), p)


def _record_part(conn: psycopg.Connection[Any], recorder: record.Recorder, p: PartPlan) -> None:
    """Record the evolved part as rendered today, and the other parts' steps as they read once
    it ran (a rename, a table dropped), in the caller's transaction: a run stopped next leaves
    no reader of the record stale names."""
    recorder.write_part(conn, p.part)
    if p.moves_others:
        record.rewrite_others(conn, p.part.id, recorder, p.as_now, p.went_with)
