"""Scratch databases: made beside a live one to apply the migrations into, and kept for the
next check of a run when the last left them as it found them (:class:`ScratchDatabases`)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from tmplmig.database.urls import connect, libpq_url, with_param

T = TypeVar("T")
logger = logging.getLogger(__name__)
#: how scratch databases are named: a random suffix each
PREFIX = "tmplmig_verify_"
#: times a kept session is handed out before it is closed instead of kept. A backend keeps
#: what each tenant's run made it cache (PL/pgSQL functions and their plans, such as the yoyo
#: lock guard's; relation and type cache entries), and walks every kept plan (and its type
#: cache) on each catalog change any session commits: one backend serving all the tenants of a
#: first apply made each tenant's DDL cost more than the last's (2.2x at 1,000 tenants). A
#: check's reading connection runs no tenant's code and caches no plan of its own: it is kept
USES = 20
#: an idle connection of a pool and the times it was handed out
Kept = tuple[psycopg.Connection[Any], int]


def create(url: str) -> str:
    """A new, empty database on the server of ``url`` (the role needs CREATEDB); its name."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    with connect(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop(url: str, scratch: str) -> None:
    """Drop ``scratch`` from the server of ``url``, if it is there."""
    # not WITH (FORCE): for a non-superuser that fails on an autovacuum worker in the scratch
    # database, which a plain DROP stops and waits for; ours are closed
    with connect(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))


class ScratchDatabases:
    """Scratch databases kept from one check to the next of a run (a fan-out over tenants)
    instead of dropped: creating one costs more than replaying a tenant into it. A database
    is kept only when its check left the catalog as it found it; :meth:`close` drops them.
    What a replay found is remembered for the run too (:meth:`remember`). A kept session
    serves ``uses`` tenants, then is closed (:data:`USES`)."""

    def __init__(self, uses: int = USES) -> None:
        self._lock = threading.Lock()
        self._uses = uses
        self._readers: dict[str, list[Kept]] = {}  # libpq URL -> idle ones
        self._sessions: dict[str, list[Kept]] = {}  # the same, unnamed
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
        with self._pooled(self._readers, libpq_url(url), url) as conn:
            yield conn

    @contextmanager
    def session(self, url: str) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection to the database of ``url``, named as ``url`` names it
        (``application_name``: what the orphan check of a later run looks for), kept for the
        run's next tenant of that database with its session reset (``RESET ALL``), as
        :meth:`reading` keeps a check's; closed instead when the work left it in a
        transaction or broken (a backend terminated mid-evolve), or after ``uses`` tenants."""
        name = dict(parse_qsl(urlsplit(url).query)).get("application_name", "tmplmig")
        key = libpq_url(with_param(url, "application_name", None))
        reset = sql.SQL("RESET ALL; RESET ROLE; SET application_name TO {}").format(
            sql.Literal(name)
        )
        with self._pooled(self._sessions, key, url, reset, self._uses) as conn:
            yield conn

    @contextmanager
    def _pooled(
        self,
        pool: dict[str, list[Kept]],
        key: str,
        url: str,
        reset: sql.Composable | None = None,
        uses: int | None = None,
    ) -> Iterator[psycopg.Connection[Any]]:
        """An idle connection of ``pool`` under ``key`` (``reset`` first), else a new one to
        ``url``; given back to the pool after, unless the work left it in a transaction or
        broken or handed out ``uses`` times. An idle one that no longer answers (a server
        restarted, a session timed out) is closed and replaced."""
        with self._lock:
            idle = pool.get(key)
            conn, used = idle.pop() if idle else (None, 0)
        if conn is not None:
            try:
                conn.execute(reset if reset is not None else "SELECT")
            except psycopg.OperationalError:
                conn.close()
                conn, used = None, 0
        if conn is None:
            conn = connect(url)
        try:
            yield conn
        finally:
            used += 1
            if (
                (uses is not None and used >= uses)
                or conn.closed
                or conn.info.transaction_status != TransactionStatus.IDLE
            ):
                conn.close()
            else:
                with self._lock:
                    pool.setdefault(key, []).append((conn, used))

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
        for conn, _ in (c for idle in (*readers.values(), *sessions.values()) for c in idle):
            conn.close()
        for scratch, url in kept.items():
            drop(url, scratch)
