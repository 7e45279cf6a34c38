"""Check a live database against what the rendered migrations create, object by object.

"Expected" has one source: the same migrations, applied by yoyo to a scratch database on
the same server and read back with :func:`tmplmig.catalog.snapshot`. The server itself
spells index definitions, ACLs and function settings, so there is no hand-kept object list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from psycopg import sql

from tmplmig import commands
from tmplmig.catalog import Snapshot, difference, snapshot
from tmplmig.migrating.record import Record

#: snapshot kind -> (singular noun, names of the columns of its rows)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "schemas": ("schema", ("name", "acl")),
    "tables": ("table", ("schema", "name", "relkind", "acl")),
    "indexes": ("index", ("schema", "name", "definition", "valid")),
    "constraints": ("constraint", ("schema", "table", "name", "type", "validated", "definition")),
    "functions": (
        "function",
        ("schema", "name", "arguments", "security definer", "settings", "acl", "body md5"),
    ),
    "triggers": ("trigger", ("table", "name", "enabled", "definition")),
    "roles": ("role", ("name", "can login")),
    "default_privileges": ("default privileges", ("role", "schema", "object type", "acl")),
}
#: snapshot kind -> the columns that name one object (the rest describe it)
KEY_COLUMNS: dict[str, tuple[int, ...]] = {
    "schemas": (0,),
    "tables": (0, 1),
    "indexes": (0, 1),
    "constraints": (1, 2),
    "functions": (0, 1, 2),
    "triggers": (0, 1),
    "roles": (0,),
    "default_privileges": (0, 1, 2),
}


@dataclass(frozen=True)
class Problem:
    """One expected object that is missing, INVALID, not validated or different."""

    kind: str
    name: str
    state: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.state}" + (
            f" ({self.detail})" if self.detail else ""
        )


def _name(kind: str, row: tuple[Any, ...]) -> str:
    """How a report names the object of a snapshot row."""
    if kind == "functions":
        return f"{row[0]}.{row[1]}({row[2]})"
    return ".".join(str(row[i]) for i in KEY_COLUMNS[kind])


def _acl_items(value: Any) -> Any:
    """ACLs compare as sets of grants: the order PostgreSQL lists them in carries no meaning."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return frozenset(value[1:-1].split(","))
    return value


def _compare_row(kind: str, expected: tuple[Any, ...], found: tuple[Any, ...]) -> Problem | None:
    noun, names = COLUMNS[kind]
    name = _name(kind, expected)
    if kind == "indexes" and not found[3]:
        return Problem(
            noun, name, "INVALID", "a failed CREATE INDEX CONCURRENTLY; drop and rebuild"
        )
    if kind == "constraints" and expected[4] and not found[4]:
        return Problem(noun, name, "not validated", "run ALTER TABLE ... VALIDATE CONSTRAINT")
    changed = [
        f"{names[i]}: expected {expected[i]!r}, found {found[i]!r}"
        for i in range(len(expected))
        if _acl_items(expected[i]) != _acl_items(found[i])
    ]
    return Problem(noun, name, "different", "; ".join(changed)) if changed else None


def compare(expected: Snapshot, live: Snapshot) -> list[Problem]:
    """Every row of ``expected`` that ``live`` lacks or holds differently, in a stable order."""
    problems: list[Problem] = []
    for kind in COLUMNS:
        keys = KEY_COLUMNS[kind]
        found = {tuple(row[i] for i in keys): row for row in live.get(kind, frozenset())}
        for row in sorted(expected.get(kind, frozenset()), key=repr):
            match = found.get(tuple(row[i] for i in keys))
            if match is None:
                problems.append(Problem(COLUMNS[kind][0], _name(kind, row), "missing"))
            elif (problem := _compare_row(kind, row, match)) is not None:
                problems.append(problem)
    return problems


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def _scratch_database(url: str) -> Iterator[str]:
    """A new empty database beside ``url``, dropped afterwards; yields its URL."""
    scratch = f"tmplmig_verify_{uuid.uuid4().hex[:12]}"
    with commands.connect(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            yield _with_database(url, scratch)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )


def expected_objects(project: Path, env: str, tenant: str | None, url: str) -> Snapshot:
    """What the migrations create: applied to a scratch database beside ``url``, then removed.

    The scratch apply is rolled back before its database is dropped, so roles (cluster-wide)
    that only it created do not outlive it. Needs CREATEDB for the connecting role.
    """
    with _scratch_database(url) as scratch_url, commands.connect(scratch_url) as conn:
        before = snapshot(conn)
        commands.apply(project, env, tenant, scratch_url, at_url=True)
        after = snapshot(conn)
        commands.rollback(project, env, tenant, scratch_url, at_url=True)
    return {kind: frozenset(rows["added"]) for kind, rows in difference(before, after).items()}


def recorded_objects(url: str, rec: Record) -> Snapshot:
    """What the recorded apply SQL creates, replayed step by step in a scratch database (and
    undone with the recorded rollbacks, so cluster-wide roles it made go again)."""
    steps = [s for part in sorted(rec.parts) for s in rec.parts[part].steps]
    with _scratch_database(url) as scratch_url, commands.connect(scratch_url) as conn:
        before = snapshot(conn)
        done = []
        try:
            for s in steps:
                conn.execute(s.apply_sql)
                done.append(s)
            after = snapshot(conn)
        finally:
            for s in reversed(done):
                if s.rollback_sql:
                    conn.execute(s.rollback_sql)
    return {kind: frozenset(rows["added"]) for kind, rows in difference(before, after).items()}


def drift(live_url: str, rec: Record) -> list[Problem]:
    """Where the live database differs from what its record says was applied: changes made
    outside tmplmig, which a plan computed from the record would not know about."""
    with commands.connect(live_url) as conn:
        live = snapshot(conn)
    return compare(recorded_objects(live_url, rec), live)


def verify(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> list[Problem]:
    """Problems of the live database at ``url``; empty when it holds every expected object."""
    live_url = commands.target_database(project, env, tenant, url)
    with commands.connect(live_url) as conn:
        live = snapshot(conn)
    return compare(expected_objects(project, env, tenant, live_url), live)
