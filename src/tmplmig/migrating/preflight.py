"""The table locks a rollback or an evolve will take, tried before its first change.

Each part's statements are read for the tables they lock and in which mode (the lock notes of
:mod:`tmplmig.reviewing.locks`, checked against ``pg_locks`` by the tests). Before the run's
first change each of those locks is taken in a transaction of its own, under ``lock_timeout``
with the configured retries, and let go (:func:`probe`): a session in the way stops the run
there, named. A transactional part then takes its own locks first thing in its transaction, in one
order (:func:`take`), so it never holds some tables while it waits for another half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from tmplmig.database.locking import restarting, run_with_lock_discipline
from tmplmig.rendering.config import Ddl
from tmplmig.rendering.parts import Guarded, Part

#: the kinds of step whose apply SQL says which table an index is on or a key references
_CONTEXT_KINDS = ("table", "index", "foreign key")


@dataclass(frozen=True)
class TableLock:
    """One table and the strongest mode a run's statements lock it in, as the role they run as."""

    relation: str
    schema: str
    name: str
    mode: str
    role: str | None

    def statement(self) -> Guarded:
        """``LOCK TABLE`` in the mode, skipped when the table is not there."""
        table = sql.Identifier(self.schema, self.name)
        lock = sql.SQL("LOCK TABLE {} IN " + self.mode + " MODE;").format(table)
        regclass = sql.Literal(table.as_string(None))
        guard = sql.SQL("SELECT pg_catalog.to_regclass({}) IS NOT NULL").format(regclass)
        return Guarded(lock.as_string(None), guard.as_string(None))


def _tables(parts: Iterable[Part]) -> dict[str, tuple[str, str]]:
    """``schema.name`` (as the lock notes name a table) -> (schema, name) for the parts' tables."""
    out = {}
    for p in parts:
        for s in p.steps:
            for about in (s.about, *s.creates):
                if about[:1] == ("table",) and len(about) == 3:
                    out[f"{about[1]}.{about[2]}"] = (about[1], about[2])
    return out


def table_locks(
    statements: Iterable[tuple[str | None, str]],
    applied: Iterable[tuple[str, str]],
    parts: Sequence[Part],
) -> list[TableLock]:
    """The tables ``statements`` (role, SQL) lock, each in its strongest mode, in name order.

    ``applied``: (kind, apply SQL) of every step applied, which says an index's table and what
    a foreign key references.
    """
    from tmplmig.reviewing.locks import MODES, BundleContext, split_statements, statement_locks

    context = BundleContext()
    for kind, text in applied:
        if kind in _CONTEXT_KINDS:
            context.learn(text)
    tables = _tables(parts)
    found: dict[str, tuple[str, str | None]] = {}
    for role, text in statements:
        for statement in split_statements(text):
            for lock in statement_locks(statement.node, context):
                held = found.get(lock.relation)
                if held is None or MODES.index(lock.mode) > MODES.index(held[0]):
                    found[lock.relation] = (lock.mode, role)
    locks = []
    for relation, (mode, role) in sorted(found.items()):
        schema, dot, name = relation.partition(".")
        if relation in tables or dot:
            locks.append(TableLock(relation, *tables.get(relation, (schema, name)), mode, role))
    return locks


def strongest(locks: Iterable[TableLock]) -> list[TableLock]:
    """One lock per table, the strongest of ``locks``, in name order."""
    from tmplmig.reviewing.locks import MODES

    out: dict[str, TableLock] = {}
    for lock in locks:
        held = out.get(lock.relation)
        if held is None or MODES.index(lock.mode) > MODES.index(held.mode):
            out[lock.relation] = lock
    return [out[relation] for relation in sorted(out)]


def take(conn: psycopg.Connection[Any], locks: Sequence[TableLock], ddl: Ddl, what: str) -> None:
    """In ``conn``'s open transaction, each of ``locks`` in order under lock discipline; a
    refusal raises :class:`~tmplmig.database.locking.LockRefused` naming who is in the way."""
    for lock in locks:
        label = f"{what}: {lock.mode} lock on {lock.relation}"
        run_with_lock_discipline(conn, [lock.statement()], ddl, label, lock.role, what)


def probe(conn: psycopg.Connection[Any], locks: Sequence[TableLock], ddl: Ddl, what: str) -> None:
    """Take each of ``locks`` in a transaction of its own and let it go at once, retried as a
    part is: a probe waiting for one table holds no other, so writers never queue behind it on
    tables it is not waiting for. Raises :class:`~tmplmig.database.locking.LockRefused` for the
    first table that cannot be had."""
    for lock in locks:

        def once(lock: TableLock = lock) -> None:
            with conn.transaction(force_rollback=True):
                take(conn, [lock], ddl, what)

        restarting(once)
