"""Destructive changes are never silent: what a plan or a rollback would drop that holds data.

An action is destructive when the objects its step recorded (:mod:`tmplmig.rendering.facts`)
hold data: a table, a schema, a column, a seeded row. Each is measured live (rows: an exact
count where the table is small, else ``pg_class.reltuples``; size: ``pg_total_relation_size``),
shown by ``status`` and ``plan``, and refused by ``apply`` unless acknowledged by name
(``--allow-drop``). Right before the drop, in its transaction, a pre-execution check counts
again and aborts when the object holds more than was shown or acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from tmplmig.database.locking import RESET_ROLE, set_role_sql
from tmplmig.migrating.states import PartState, removed_objects
from tmplmig.migrating.target import CommandError
from tmplmig.rendering.facts import DbObject

if TYPE_CHECKING:
    from tmplmig.migrating.plan import PartPlan
    from tmplmig.rendering.parts import Part

logger = logging.getLogger(__name__)

#: a table no larger than this (its heap, pg_relation_size) is counted exactly; a larger one
#: shows pg_class.reltuples, the planner's estimate as of the last VACUUM or ANALYZE
EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024
#: the dollar-quote tag of the pre-execution check
_TAG = "$tmplmig_check$"
#: acknowledged objects: name -> the most rows the run may drop (None: as measured)
Allowed = Mapping[str, int | None]


def _lit(value: object) -> str:
    return sql.Literal(value).as_string(None)


def _count_query(obj: DbObject) -> str:
    """One SELECT of (rows, exact, bytes) for ``obj``, 0 rows when it is not there: each table
    counted exactly when small, else the planner's estimate; a seeded row found by its
    table's one-column primary key; a column's rows are those holding a value."""
    exact = f"pg_catalog.pg_relation_size(c.oid) <= {EXACT_COUNT_MAX_BYTES}"
    size = "pg_catalog.pg_total_relation_size(c.oid)"
    joins, counted, args = "", "'SELECT count(*) AS n FROM %I.%I'", "n.nspname, c.relname"
    where = f"n.nspname = {_lit(obj.schema)} AND c.relname = {_lit(obj.table or obj.name)}"
    if obj.kind == "schema":
        where = f"n.nspname = {_lit(obj.name)}"
    elif obj.kind == "column":
        joins = "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND NOT a.attisdropped"
        where += f" AND a.attname = {_lit(obj.name)}"
        counted, args = "'SELECT count(%I) AS n FROM %I.%I'", "a.attname, n.nspname, c.relname"
        size = "NULL::bigint"
    elif obj.kind == "row":
        joins = (
            "JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary"
            " AND i.indnatts = 1"
            " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]"
        )
        counted = "'SELECT count(*) AS n FROM %I.%I WHERE %I::text = %L'"
        args, exact = f"n.nspname, c.relname, a.attname, {_lit(obj.name)}", "true"
        size = "NULL::bigint"
    count = (
        "(pg_catalog.xpath('/row/n/text()', pg_catalog.query_to_xml("
        f"pg_catalog.format({counted}, {args}), false, true, '')))[1]::text::bigint"
    )
    return (
        f"SELECT coalesce(sum(CASE WHEN {exact}\n"
        f"    THEN {count}\n"
        "    ELSE greatest(c.reltuples, 0)::bigint END), 0)::bigint AS rows,\n"
        f"  coalesce(bool_and({exact}), true) AS exact, sum({size})::bigint AS bytes\n"
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
        + (f"{joins}\n" if joins else "")
        + f"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {where}"
    )


def acknowledgement(obj: DbObject) -> str:
    """The name ``--allow-drop`` takes for ``obj``: ``schema``, ``schema.table``,
    ``schema.table.column`` or ``schema.table.key``."""
    if obj.kind == "schema":
        return obj.name
    parts = [obj.schema or "?", obj.table, obj.name] if obj.table else [obj.schema, obj.name]
    return ".".join(p for p in parts if p is not None)


@dataclass(frozen=True)
class Loss:
    """One object a destructive action drops, as the database holds it now."""

    obj: DbObject
    part: str
    #: the identity of the step whose removal drops it
    identity: str
    rows: int
    #: False: ``rows`` is pg_class.reltuples, an estimate
    exact: bool
    #: pg_total_relation_size, pretty (None for a column or a row)
    size: str | None

    @property
    def name(self) -> str:
        return acknowledgement(self.obj)

    @property
    def counted(self) -> str:
        noun = "row" if self.rows == 1 else "rows"
        return f"{self.rows} {noun}" if self.exact else f"~{self.rows} {noun} (estimate)"

    def __str__(self) -> str:
        return ", ".join(filter(None, [f"{self.obj.kind} {self.name}", self.counted, self.size]))


def _role_exists(conn: psycopg.Connection[Any], role: str) -> bool:
    return conn.execute("SELECT FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).rowcount > 0


def measure(
    conn: psycopg.Connection[Any], dropped: Iterable[tuple[str, str, DbObject, str | None]]
) -> tuple[Loss, ...]:
    """Measure each (part, step identity, object, role it is read as) now: one query for all
    the objects read as one role (a rollback measures a dozen tables), in a transaction that
    a failed count rolls back with its ``SET ROLE``."""
    dropped = list(dropped)
    by_role: dict[str | None, list[int]] = {}
    for i, (_, _, obj, role) in enumerate(dropped):
        if obj.kind == "schema" or obj.schema is not None:  # else a row from an old record
            by_role.setdefault(role, []).append(i)
    found: dict[int, tuple[int, bool, str | None]] = {}
    for role, indexes in by_role.items():
        counts = "\nUNION ALL\n".join(
            f"SELECT {i} AS i, rows, exact, pg_catalog.pg_size_pretty(bytes)"
            f" FROM ({_count_query(dropped[i][2])}) m"
            for i in indexes
        )
        with conn.transaction():
            if role is not None and _role_exists(conn, role):  # gone: a partial rollback
                conn.execute(set_role_sql(role))
            for i, rows, exact, size in conn.execute(counts):
                found[i] = (rows, exact, size)
            conn.execute(RESET_ROLE)
    return tuple(
        Loss(obj, part, identity, *found.get(i, (1, True, None)))
        for i, (part, identity, obj, _) in enumerate(dropped)
    )


def plan_losses(conn: psycopg.Connection[Any], plans: Sequence[PartPlan]) -> tuple[Loss, ...]:
    """What each destructive action of ``plans`` would drop, measured now."""
    return measure(
        conn,
        ((p.part.id, a.identity, o, a.role) for p in plans for a in p.actions for o in a.drops),
    )


def status_losses(conn: psycopg.Connection[Any], states: Sequence[PartState]) -> tuple[Loss, ...]:
    """What the removed steps of ``states`` would drop, as ``status`` shows it (without
    planning: what belongs to a table that goes is not listed apart, as the plan skips it)."""
    removed = [
        (s.id, c.old, removed_objects(c.old))
        for s in states
        for c in s.steps
        if c.change == "removed" and c.old is not None
    ]
    tables = {o.relation for _, _, objects in removed for o in objects if o.kind == "table"}
    return measure(
        conn,
        (
            (part, old.step, o, old.role)
            for part, old, objects in removed
            for o in objects
            if o.holds_data and (o.kind == "table" or o.relation not in tables)
        ),
    )


def pre_check(loss: Loss, limit: int, why: str) -> str:
    """A statement that aborts its transaction when ``loss``'s object holds more than
    ``limit`` rows: run right before the drop, after the same count as the plan's."""
    message = _lit(
        f"tmplmig: pre-execution check: {loss.obj.kind} % holds % rows, more than the "
        f"{limit} {why}: not dropped, and this part's transaction is rolled back"
    )
    body = (
        f"DECLARE found bigint := (SELECT rows FROM (\n{_count_query(loss.obj)}) m);\n"
        f"BEGIN\n    IF found > {limit} THEN\n"
        f"        RAISE EXCEPTION {message}, {_lit(loss.name)}, found;\n"
        "    END IF;\nEND"
    )
    assert _TAG not in body
    return f"DO {_TAG}\n{body}\n{_TAG};"


def checked(
    plans: Sequence[PartPlan], losses: Sequence[Loss], limits: Mapping[str, int], why: str
) -> list[PartPlan]:
    """``plans`` with each destructive action noted and preceded by its pre-execution check
    (at most ``limits[name]`` rows), and each part's header listing what it drops."""
    out = []
    for plan in plans:
        mine = [loss for loss in losses if loss.part == plan.part.id]
        actions = []
        for action in plan.actions:
            own = [loss for loss in mine if loss.identity == action.identity]
            if own:
                notes = tuple(f"-- DESTRUCTIVE: drops {loss}" for loss in own)
                checks = tuple(pre_check(loss, limits[loss.name], why) for loss in own)
                action = replace(action, notes=notes, statements=(*checks, *action.statements))
            actions.append(action)
        header = tuple(
            f"-- DESTRUCTIVE: {loss}; tmplmig apply needs --allow-drop {loss.name}" for loss in mine
        )
        out.append(replace(plan, actions=tuple(actions), notes=header))
    return out


class DestructiveRefused(CommandError):
    """The plan drops what holds data and the run did not acknowledge it."""


def parse_allowed(values: Iterable[str]) -> dict[str, int | None]:
    """``--allow-drop NAME`` or ``NAME=ROWS`` (the most rows the run may drop)."""
    allowed: dict[str, int | None] = {}
    for value in values:
        name, sep, rows = value.partition("=")
        if not name or (sep and not rows.isdigit()):
            raise CommandError(f"--allow-drop {value!r}: give NAME or NAME=ROWS (ROWS a number)")
        allowed[name] = int(rows) if sep else None
    return allowed


def acknowledged_limits(losses: Sequence[Loss], allowed: Allowed) -> dict[str, int]:
    """The most rows each dropped object may hold at its drop: the acknowledged count, or
    the one measured now. Raises :class:`DestructiveRefused` listing what was not
    acknowledged, before anything runs."""
    missing = [loss for loss in losses if loss.name not in allowed]
    if missing:
        raise DestructiveRefused(
            "not applying: the plan drops what holds data, and the run did not acknowledge it;"
            " nothing was changed:\n  "
            + "\n  ".join(f"{loss.part}: {loss}: pass --allow-drop {loss.name}" for loss in missing)
        )
    for name in sorted(set(allowed) - {loss.name for loss in losses}):
        logger.warning("--allow-drop %s: the plan drops no such object", name)
    limits = {}
    for loss in losses:
        pinned = allowed[loss.name]
        limits[loss.name] = loss.rows if pinned is None else pinned
    return limits


class DataLossRefused(CommandError):
    """A rollback in a protected environment would drop tables holding rows."""


def rollback_losses(conn: psycopg.Connection[Any], parts: Sequence[Part]) -> tuple[Loss, ...]:
    """The tables rolling back ``parts`` drops that hold rows beyond those its seeded-row
    steps wrote (tmplmig's own rows come back with the next apply)."""
    seeded: dict[str | None, int] = {}
    tables = []
    for part in parts:
        for step in part.steps:
            for o in step.objects:
                if o.kind == "row":
                    seeded[o.relation] = seeded.get(o.relation, 0) + 1
                elif o.kind == "table" and step.kind == "table":
                    tables.append((part.id, step.identity, o, step.role))
    return tuple(
        loss for loss in measure(conn, tables) if loss.rows > seeded.get(loss.obj.relation, 0)
    )
