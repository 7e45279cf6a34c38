"""Check a live database against what the rendered migrations create, object by object.

"Expected" has one source: the same migrations, applied by yoyo to a scratch database on
the same server and read back with :func:`tmplmig.database.catalog.snapshot`. The server itself
spells index definitions, ACLs and function settings, so there is no hand-kept object list.
A fan-out replays one tenant per shape and renames the result for the others
(:mod:`tmplmig.reviewing.expected`); the live side reads only the rows the expected ones name.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tmplmig.database.catalog import (
    COLUMNS,
    KEY_COLUMNS,
    Snapshot,
    difference,
    object_name,
    snapshot,
)
from tmplmig.database.scratch import ScratchDatabases, create, drop
from tmplmig.database.urls import connect, replaying, with_database
from tmplmig.reviewing.catalog_fingerprint import CatalogMemory
from tmplmig.reviewing.expected import Naming, Renaming, Unsure, reserved

logger = logging.getLogger(__name__)


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


def _acl_items(value: Any) -> Any:
    """ACLs compare as sets of grants: the order PostgreSQL lists them in carries no meaning."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return frozenset(value[1:-1].split(","))
    return value


def _compare_row(kind: str, expected: tuple[Any, ...], found: tuple[Any, ...]) -> Problem | None:
    noun, names = COLUMNS[kind]
    name = object_name(kind, expected)
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
                problems.append(Problem(COLUMNS[kind][0], object_name(kind, row), "missing"))
            elif (problem := _compare_row(kind, row, match)) is not None:
                problems.append(problem)
    return problems


#: runs one migrating verb against the database at a URL; given by the caller, so this module
#: needs nothing from the migrating layer
MigrateAt = Callable[[str], object]


def expected_objects(
    url: str,
    apply_at: MigrateAt,
    rollback_at: MigrateAt,
    shared: ScratchDatabases | None = None,
    bodies: bool = False,
) -> Snapshot:
    """What the migrations create: applied to a scratch database beside ``url``, then removed.

    The scratch apply is rolled back before its database is dropped (or kept in ``shared``), so
    roles (cluster-wide) that only it created do not outlive it. With ``shared``, when it
    created no role, that rollback runs beside the caller (:meth:`ScratchDatabases.later`):
    the checks waiting for this catalog need not wait for it too. Needs CREATEDB for the
    connecting role. ``bodies``: functions with their body text (see ``snapshot``).
    """
    scratch = shared.take(url) if shared is not None else None
    if scratch is None:
        scratch = create(url)
    scratch_url = replaying(with_database(url, scratch))
    try:
        conn = connect(scratch_url)
    except BaseException:
        drop(url, scratch)
        raise
    try:
        before = snapshot(conn, bodies)
        apply_at(scratch_url)
        after = snapshot(conn, bodies)
    except BaseException:
        conn.close()
        drop(url, scratch)
        raise
    added = {kind: frozenset(rows["added"]) for kind, rows in difference(before, after).items()}

    def clean() -> None:
        reusable = False
        try:
            with conn:
                rollback_at(scratch_url)
                reusable = shared is not None and snapshot(conn, bodies) == before
        finally:
            if shared is not None and reusable:
                shared.keep(url, scratch)
            else:
                drop(url, scratch)

    if shared is not None and not added.get("roles"):
        shared.later(clean)
    else:
        clean()
    return added


def _digested(rows: Snapshot) -> Snapshot:
    """Function bodies (read as text) as their md5, both sides alike."""
    if "functions" not in rows:
        return rows
    bodies = frozenset(
        (*r[:-1], hashlib.md5(r[-1].encode()).hexdigest()) for r in rows["functions"]
    )
    return rows | {"functions": bodies}


def _renamed(
    conn: psycopg.Connection[Any],
    url: str,
    apply_at: MigrateAt,
    rollback_at: MigrateAt,
    shared: ScratchDatabases,
    naming: Naming,
) -> tuple[Snapshot, list[str]] | None:
    """The expected catalog of ``naming``'s record, from the replay of a record of its shape
    in this run (replayed now when it is the first), and the roles that must exist besides:
    a replay of its own would create those the cluster lacks, and so expect them, where a
    renamed catalog cannot. None when this record must be replayed."""
    server = urlsplit(url).netloc
    renaming = Renaming.of(naming, shared.remember(("reserved", server), lambda: reserved(conn)))
    if renaming is None:
        return None
    replayed: list[Snapshot] = []

    def replay() -> Snapshot | None:
        replayed.append(expected_objects(url, apply_at, rollback_at, shared, bodies=True))
        try:
            return renaming.snapshot_out(replayed[0])
        except Unsure:
            return None

    try:
        shaped = shared.remember(("shape", server, renaming.shape(naming)), replay)
        if replayed:
            return replayed[0], []
        if shaped is None:
            return None
        expected = renaming.snapshot_back(shaped)
    except Unsure:
        return None
    return expected, [name for path, name in renaming.names.items() if path.startswith("roles.")]


def _roles_named(expected: Snapshot, texts: Iterable[str | None]) -> Snapshot:
    """``expected`` with only the roles ``texts`` (the SQL the replay ran) name: a role is
    cluster-wide, so one another session made during the replay is among those it added
    (and may be dropped again before the live read), but the migrations never named it."""
    if not expected.get("roles"):
        return expected
    sql = "\n".join(t for t in texts if t)

    def named(role: str) -> bool:
        word = rf"(?<![\w$]){re.escape(role)}(?![\w$])"
        return re.search(word, sql, re.IGNORECASE) is not None

    return expected | {"roles": frozenset(r for r in expected["roles"] if named(r[0]))}


def _as_group_roles(expected: Snapshot, names: frozenset[str]) -> Snapshot:
    """``expected`` with each of ``names`` a role that cannot log in and holds no attribute
    (:data:`catalog.QUERIES`' roles row), whatever the replay found."""
    if not names:
        return expected
    others = frozenset(r for r in expected.get("roles", ()) if r[0] not in names)
    return expected | {"roles": others | {(name, False, False) for name in names}}


def check_database(
    url: str,
    apply_at: MigrateAt,
    rollback_at: MigrateAt,
    shared: ScratchDatabases | None = None,
    naming: Naming | None = None,
    replayed: Iterable[str | None] | None = None,
    memory: CatalogMemory | None = None,
    group_roles: Iterable[str] = (),
) -> list[Problem]:
    """Problems of the live database at ``url``; empty when it holds every expected object.

    ``apply_at``/``rollback_at`` migrate a scratch database on the same server (one of
    ``shared`` when it has one). The live database is read after the scratch one: a role
    (cluster-wide) that runs for other tenants create meanwhile is then in both. With
    ``shared`` and ``naming`` (what the migrations replay), a record of a shape already
    replayed in this run is not replayed again (:mod:`tmplmig.reviewing.expected`).
    The live database is read on a connection of ``shared`` (:meth:`ScratchDatabases.reading`)
    when given, else on one of its own. Only roles the replayed SQL (``naming``'s texts, else
    ``replayed``) names are expected. With ``memory``, a check that finds nothing is
    remembered, and one whose record and catalog are as when it last passed is answered
    from it (:mod:`tmplmig.reviewing.catalog_fingerprint`). ``group_roles``, the roles the
    configs name, are expected as tmplmig creates them where they exist: NOLOGIN, with no
    attribute a member could use through SET ROLE. A replay on the same cluster finds them
    made already (by the live apply), so it cannot say so: one made a login by hand would go
    unseen.
    """
    with shared.reading(url) if shared is not None else connect(url) as conn:
        if memory is not None and memory.unchanged(conn):
            return []
        renamed = None
        if shared is not None and naming is not None:
            renamed = _renamed(conn, url, apply_at, rollback_at, shared, naming)
        if renamed is None:
            renamed = expected_objects(url, apply_at, rollback_at, shared, bodies=True), []
        expected, roles = renamed
        texts = naming.texts if naming is not None else replayed
        if texts is not None:
            expected = _roles_named(expected, texts)
        groups = frozenset(group_roles)
        present = expected.get("roles", frozenset()) | {(r, None) for r in (*roles, *groups)}
        like = expected | {"roles": present}
        versions: dict[str, str] = {}
        if memory is not None:
            like = memory.widened(conn, like, texts or ())
            live, versions = memory.read(conn, like)
        else:
            live = snapshot(conn, bodies=True, like=like)
    found = {row[0] for row in live.get("roles", ())}
    # a group role is held to its attributes where it exists; whether it should exist is the
    # replay's and the grants' to say (a record's older configs name it before a rename)
    expected = _as_group_roles(expected, groups & found)
    missing = [Problem(COLUMNS["roles"][0], r, "missing") for r in sorted(roles) if r not in found]
    problems = compare(_digested(expected), _digested(live)) + missing
    if memory is not None and not problems:
        memory.remember(like, live, versions)
    return problems
