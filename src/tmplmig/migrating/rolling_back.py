"""What ``rollback`` checks before yoyo rolls back: the parts as they were applied, the
tables it would drop with rows in them, what would stop it half-way (:mod:`.rollback_guard`)
and the table locks it takes, tried before its first change (:mod:`.preflight`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg

from tmplmig.migrating import destructive, preflight, record
from tmplmig.migrating.rollback_guard import RollbackBlocked, find_blockers
from tmplmig.migrating.target import Target
from tmplmig.rendering import cache
from tmplmig.rendering.config import settings_of
from tmplmig.rendering.parts import Part, render_part

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppliedPart:
    """A part as it was applied: rendered from the config its record holds (today's config
    where there is no record), and the owner role of that config."""

    part: Part
    owner: str | None

    @property
    def id(self) -> str:
        return self.part.id


def as_applied(target: Target, rec: record.Record, rendered: list[Part]) -> list[AppliedPart]:
    """Every part rendered as it was applied (``rec``), so a rollback after a YAML edit checks
    the objects that are there, not those today's config names; and with the recorded steps
    a template edit since has removed (the rollback drops what they made too)."""
    parts = []
    today = target.config.settings
    as_today = today.model_dump(mode="json")
    for part in rendered:
        recorded = rec.parts.get(part.id)
        if recorded is None or not recorded.settings:
            parts.append(AppliedPart(part, None))
            continue
        settings = today if recorded.settings == as_today else settings_of(recorded.settings)
        if settings != today:  # edited since: render as it was applied
            part = render_part(target.project, part.id, replace(target.config, settings=settings))
        rendered_steps = {s.identity for s in part.steps}
        gone = tuple(r.as_step() for r in recorded.steps if r.step not in rendered_steps)
        if gone:
            part = replace(part, steps=part.steps + gone)
        parts.append(AppliedPart(part, settings.roles.owner))
    return parts


def refuse_data_loss(
    target: Target,
    conn: psycopg.Connection[Any],
    applied: list[AppliedPart],
    ids: list[str],
    allow: bool,
) -> None:
    """List the tables rolling back ``ids`` drops with rows in them; in a protected
    environment refuse them without ``allow`` (:class:`destructive.DataLossRefused`)."""
    if not ids:
        return
    parts = [p.part for p in applied if p.id in ids]
    losses = destructive.rollback_losses(conn, parts)
    if not losses:
        return
    listed = "\n  ".join(f"{loss.part}: {loss}" for loss in losses)
    if target.config.settings.protected and not allow:
        raise destructive.DataLossRefused(
            f"rollback refused: {target.env} is protected and the rollback drops tables holding"
            f" rows; nothing was changed:\n  {listed}\npass --allow-data-loss to drop them"
        )
    logger.warning("the rollback drops tables holding rows:\n  %s", listed)


def _rollback_locks(
    rec: record.Record, parts: list[Part], ids: list[str]
) -> dict[str, list[preflight.TableLock]]:
    """The tables each part of ``ids`` locks as it rolls back: what its record ``rec`` says it
    runs (today's render where there is no record)."""
    applied = [
        (s.kind, g.sql)
        for part in parts
        for s in part.steps
        for g in s.apply_statements
        if part.id not in rec.parts
    ] + [(r.kind, r.apply_sql) for p in rec.parts.values() for r in p.steps]
    statements = {}
    for part in parts:
        if part.id not in ids:
            continue
        recorded = rec.parts.get(part.id)
        statements[part.id] = (
            [(r.role, r.rollback_sql) for r in recorded.steps if r.rollback_sql]
            if recorded is not None and recorded.steps
            else [(s.role, g.sql) for s in part.steps for g in s.rollback_statements]
        )
    return _table_locks_kept(statements, applied, parts)


#: the code that finds the tables statements lock (its source is part of a kept answer's key)
_LOCK_FINDERS = ("migrating/preflight.py", "reviewing/locks.py", "database/lockmodes.py")


def _table_locks_kept(
    statements: dict[str, list[tuple[str | None, str]]],
    applied: list[tuple[str, str]],
    parts: list[Part],
) -> dict[str, list[preflight.TableLock]]:
    """:func:`preflight.table_locks` of each part's ``statements``, kept between processes
    (:mod:`tmplmig.rendering.cache`): parsing them with pglast was most of a rollback's own
    time, and the answer depends on nothing but the SQL and the code that reads it."""
    package = Path(__file__).parent.parent
    tables = [(s.about, s.creates) for p in parts for s in p.steps]
    key = cache.digest(
        cache.source_stamp(*(str(package / m) for m in _LOCK_FINDERS)),
        cache.installed_stamp("pglast"),
        json.dumps([statements, applied, tables], sort_keys=True),
    )
    kept = cache.read("table_locks", key)
    if isinstance(kept, dict) and kept.keys() == statements.keys():
        try:
            return {pid: [preflight.TableLock(*lock) for lock in kept[pid]] for pid in kept}
        except TypeError:  # not what is written below: find them again
            pass
    locks = {pid: preflight.table_locks(s, applied, parts) for pid, s in statements.items()}
    fields = ("relation", "schema", "name", "mode", "role")
    plain = {pid: [[getattr(x, f) for f in fields] for x in held] for pid, held in locks.items()}
    cache.write("table_locks", key, plain)
    return locks


def prepare_rollback(
    target: Target,
    conn: psycopg.Connection[Any],
    rec: record.Record,
    applied: list[AppliedPart],
    ids: list[str],
) -> Callable[[psycopg.Connection[Any], str], None] | None:
    """Make sure rolling back ``ids`` can finish before it changes anything, and return what
    each part checks again before its own first statement.

    ``applied``: every part as its record ``rec`` says it was applied.

    Before the first change: nothing would stop it part-way (:func:`find_blockers`, else
    :class:`RollbackBlocked`), and every table lock of every part can be had under
    lock_timeout (:func:`preflight.probe`, else ``LockRefused`` naming the sessions in the
    way). Before each part: its locks taken in its own transaction, and the guard asked again
    for what the part drops, for an object made since.
    """
    if not ids:
        return None
    ddl = target.config.settings.ddl
    owner = next((p.owner for p in applied if p.owner), target.config.settings.roles.owner)
    parts = [p.part for p in applied]
    blockers = find_blockers(conn, owner, parts, [p for p in parts if p.id in ids])
    if blockers:
        raise RollbackBlocked(blockers)
    locks = _rollback_locks(rec, parts, ids)
    every = preflight.strongest(lock for each in locks.values() for lock in each)
    preflight.probe(conn, every, ddl, "rollback, before its first change")
    by_id = {p.id: p for p in parts}

    def before_part(conn: psycopg.Connection[Any], part: str) -> None:
        if by_id[part].transactional:
            preflight.take(conn, locks[part], ddl, part)
        else:
            preflight.probe(conn, locks[part], ddl, part)
        found = find_blockers(conn, owner, parts, [by_id[part]])
        if found:
            raise RollbackBlocked(found, stopped_before=part, done=ids[: ids.index(part)])

    return before_part
