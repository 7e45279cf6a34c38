"""The table locks a rollback or an evolve will take, tried before its first change.

Each part's statements are read for the tables they lock and in which mode (the lock notes of
:mod:`tmplmig.reviewing.locks`, checked against ``pg_locks`` by the tests). Before the run's
first change each of those locks is taken under ``lock_timeout`` with the configured retries
and let go at once (:func:`probe`): a session in the way stops the run there, named. A
transactional part then takes its own locks first thing in its transaction, in one order
(:func:`take`), so it never holds some tables while it waits for another half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from tmplmig.database.locking import restarting, run_with_lock_discipline
from tmplmig.database.lockmodes import MODES
from tmplmig.rendering.parts import Part

if TYPE_CHECKING:  # validates configs: only the checker imports pydantic here
    from tmplmig.rendering.models import Ddl

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

    @property
    def qualified(self) -> str:
        """The table's name as SQL spells it, each part quoted."""
        return sql.Identifier(self.schema, self.name).as_string(None)

    def statement(self) -> str:
        """``LOCK TABLE`` in the mode."""
        return f"LOCK TABLE {self.qualified} IN {self.mode} MODE;"


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
    a foreign key references; it is parsed only when one of ``statements`` needs to know
    (:func:`~tmplmig.reviewing.locks.needs_context`): an evolve's upsert of one row does not.
    """
    from tmplmig.reviewing.locks import (
        BundleContext,
        needs_context,
        split_statements,
        statement_locks,
    )

    parsed = [(role, s.node) for role, text in statements for s in split_statements(text)]
    context = BundleContext()
    if any(needs_context(node) for _, node in parsed):
        for kind, text in applied:
            if kind in _CONTEXT_KINDS:
                context.learn(text)
    tables = _tables(parts)
    found: dict[str, tuple[str, str | None]] = {}
    for role, node in parsed:
        for lock in statement_locks(node, context):
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
    out: dict[str, TableLock] = {}
    for lock in locks:
        held = out.get(lock.relation)
        if held is None or MODES.index(lock.mode) > MODES.index(held.mode):
            out[lock.relation] = lock
    return [out[relation] for relation in sorted(out)]


#: the qualified names (as given) of the tables among them that exist
_EXISTING = """
    SELECT COALESCE(pg_catalog.array_agg(name), '{}') FROM pg_catalog.unnest(%s::text[]) name
    WHERE pg_catalog.to_regclass(name) IS NOT NULL"""
#: a savepoint of the probe: rolling back to it lets go of the lock taken after it
_PROBE = "tmplmig_probe"


def _existing(conn: psycopg.Connection[Any], locks: Sequence[TableLock]) -> list[TableLock]:
    """``locks`` on the tables that are there (a part may lock one an earlier part dropped)."""
    names = [lock.qualified for lock in locks]
    found = set(conn.execute(_EXISTING, [names]).fetchone()[0])  # type: ignore[index]
    return [lock for lock in locks if lock.qualified in found]


def _by_role(locks: Sequence[TableLock]) -> dict[str | None, list[TableLock]]:
    out: dict[str | None, list[TableLock]] = {}
    for lock in locks:
        out.setdefault(lock.role, []).append(lock)
    return out


def take(conn: psycopg.Connection[Any], locks: Sequence[TableLock], ddl: Ddl, what: str) -> None:
    """In ``conn``'s open transaction, ``locks`` in order under lock discipline, in one round
    trip per role; a refusal raises :class:`~tmplmig.database.locking.LockRefused` naming the
    lock and who is in the way."""
    for role, held in _by_role(_existing(conn, locks)).items():
        statements = [lock.statement() for lock in held]
        run_with_lock_discipline(conn, statements, ddl, what, role, what)


def probe(conn: psycopg.Connection[Any], locks: Sequence[TableLock], ddl: Ddl, what: str) -> None:
    """Take each of ``locks`` and let it go at once (a savepoint rolled back), in one
    transaction of one round trip per role, retried as a part is: waiting for one table the
    probe holds no other, so writers never queue behind it on tables it is not waiting for.
    Raises :class:`~tmplmig.database.locking.LockRefused` for a table that cannot be had."""
    if not locks:
        return

    def once() -> None:
        with conn.transaction(force_rollback=True):
            for role, held in _by_role(_existing(conn, locks)).items():
                statements = [
                    f"SAVEPOINT {_PROBE};\n{lock.statement()}\nROLLBACK TO SAVEPOINT {_PROBE};"
                    for lock in held
                ]
                run_with_lock_discipline(conn, statements, ddl, what, role, what)

    restarting(once)
