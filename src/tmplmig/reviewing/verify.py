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
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from tmplmig.database.catalog import (
    COLUMNS,
    KEY_COLUMNS,
    Snapshot,
    difference,
    object_name,
    snapshot,
)
from tmplmig.database.urls import connect, libpq_url, with_database, with_param
from tmplmig.reviewing.expected import Naming, Renaming, Unsure, reserved

T = TypeVar("T")
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


def _drop(url: str, scratch: str) -> None:
    # not WITH (FORCE): for a non-superuser that fails on an autovacuum worker in the scratch
    # database, which a plain DROP stops and waits for; ours are closed
    with connect(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))


class ScratchDatabases:
    """Scratch databases kept from one check to the next of a run (a fan-out over tenants)
    instead of dropped: creating one costs more than replaying a tenant into it. A database
    is kept only when its check left the catalog as it found it; :meth:`close` drops them.
    What a replay found is remembered for the run too (:meth:`remember`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers: dict[str, list[psycopg.Connection[Any]]] = {}  # libpq URL -> idle ones
        self._sessions: dict[str, list[psycopg.Connection[Any]]] = {}  # the same, unnamed
        self._free: dict[str, list[str]] = {}  # server and login (URL netloc) -> names
        self._kept: dict[str, str] = {}  # name -> a URL on its server, to drop it from
        self._computing: dict[Hashable, threading.Lock] = {}
        self._remembered: dict[Hashable, Any] = {}
        self._cleaning: list[threading.Thread] = []

    def later(self, clean: Callable[[], None]) -> None:
        """Run ``clean`` (a replay's rollback, which gives its database back) beside the
        checks that wait for the replay's catalog; :meth:`close` waits for it. A failure is
        logged: the catalog it cleans up after was read already."""

        def run() -> None:
            try:
                clean()
            except Exception:
                logger.warning("a scratch database's clean-up failed", exc_info=True)

        thread = threading.Thread(target=run, name="tmplmig-scratch-clean-up")
        with self._lock:
            self._cleaning.append(thread)
        thread.start()

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` for the run; a check asking meanwhile waits for it.
        A failure is not remembered: the next check asking computes again."""
        with self._lock:
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            if key not in self._remembered:
                self._remembered[key] = compute()
            return self._remembered[key]  # type: ignore[no-any-return]

    @contextmanager
    def reading(self, url: str) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection to the database of ``url`` for a check's catalog reads,
        kept for the run's next check of that database: a new backend reads the catalog of
        every tenant's objects into its caches afresh (indexes, triggers, functions), which
        costs a check more than its queries."""
        key = libpq_url(url)
        with self._lock:
            idle = self._readers.get(key)
            conn = idle.pop() if idle else None
        if conn is None:
            conn = connect(url)
        try:
            yield conn
        finally:
            if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                conn.close()
            else:
                with self._lock:
                    self._readers.setdefault(key, []).append(conn)

    @contextmanager
    def session(self, url: str) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection to the database of ``url``, named as ``url`` names it
        (``application_name``: what the orphan check of a later run looks for), kept for the
        run's next tenant of that database with its session reset (``RESET ALL``), as
        :meth:`reading` keeps a check's; closed instead when the work left it in a
        transaction or broken (a backend terminated mid-evolve)."""
        name = dict(parse_qsl(urlsplit(url).query)).get("application_name", "tmplmig")
        key = libpq_url(with_param(url, "application_name", None))
        with self._lock:
            idle = self._sessions.get(key)
            conn = idle.pop() if idle else None
        if conn is None:
            conn = connect(url)
        else:
            conn.execute(sql.SQL("RESET ALL; SET application_name TO {}").format(sql.Literal(name)))
        try:
            yield conn
        finally:
            if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                conn.close()
            else:
                with self._lock:
                    self._sessions.setdefault(key, []).append(conn)

    def __enter__(self) -> ScratchDatabases:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def take(self, url: str) -> str | None:
        """A kept scratch database on the server of ``url``, now the caller's; None if none
        is kept or being given back (a clean-up under way is waited for: it may)."""
        with self._lock:
            cleaning = list(self._cleaning)
            free = self._free.get(urlsplit(url).netloc)
        if not free:
            for thread in cleaning:
                thread.join()
        with self._lock:
            free = self._free.get(urlsplit(url).netloc)
            if not free:
                return None
            scratch = free.pop()
            del self._kept[scratch]
            return scratch

    def keep(self, url: str, scratch: str) -> None:
        """Give ``scratch`` (on the server of ``url``) back for a later check."""
        with self._lock:
            self._free.setdefault(urlsplit(url).netloc, []).append(scratch)
            self._kept[scratch] = url

    def close(self) -> None:
        """Wait for the clean-ups under way, then drop every kept database (each is idle:
        its check gave it back)."""
        with self._lock:
            cleaning, self._cleaning = self._cleaning, []
        for thread in cleaning:
            thread.join()
        with self._lock:
            kept, self._kept, self._free = self._kept, {}, {}
            readers, self._readers = self._readers, {}
            sessions, self._sessions = self._sessions, {}
        for conn in (c for idle in (*readers.values(), *sessions.values()) for c in idle):
            conn.close()
        for scratch, url in kept.items():
            _drop(url, scratch)


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
        scratch = f"tmplmig_verify_{uuid.uuid4().hex[:12]}"
        with connect(url) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    scratch_url = with_database(url, scratch)
    try:
        conn = connect(scratch_url)
    except BaseException:
        _drop(url, scratch)
        raise
    try:
        before = snapshot(conn, bodies)
        apply_at(scratch_url)
        after = snapshot(conn, bodies)
    except BaseException:
        conn.close()
        _drop(url, scratch)
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
                _drop(url, scratch)

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


def check_database(
    url: str,
    apply_at: MigrateAt,
    rollback_at: MigrateAt,
    shared: ScratchDatabases | None = None,
    naming: Naming | None = None,
) -> list[Problem]:
    """Problems of the live database at ``url``; empty when it holds every expected object.

    ``apply_at``/``rollback_at`` migrate a scratch database on the same server (one of
    ``shared`` when it has one). The live database is read after the scratch one: a role
    (cluster-wide) that runs for other tenants create meanwhile is then in both. With
    ``shared`` and ``naming`` (what the migrations replay), a record of a shape already
    replayed in this run is not replayed again (:mod:`tmplmig.reviewing.expected`).
    The live database is read on a connection of ``shared`` (:meth:`ScratchDatabases.reading`)
    when given, else on one of its own.
    """
    with shared.reading(url) if shared is not None else connect(url) as conn:
        renamed = None
        if shared is not None and naming is not None:
            renamed = _renamed(conn, url, apply_at, rollback_at, shared, naming)
        if renamed is None:
            renamed = expected_objects(url, apply_at, rollback_at, shared, bodies=True), []
        expected, roles = renamed
        present = expected.get("roles", frozenset()) | {(role, None) for role in roles}
        live = snapshot(conn, bodies=True, like=expected | {"roles": present})
    found = {row[0] for row in live.get("roles", ())}
    missing = [Problem(COLUMNS["roles"][0], r, "missing") for r in sorted(roles) if r not in found]
    return compare(_digested(expected), _digested(live)) + missing
