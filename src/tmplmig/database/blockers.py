"""Who is in the way: the sessions a statement of ours waits for, named so a person can act.

A statement refused its lock after ``lock_timeout`` no longer waits, and the server's error
does not say for what or for whom. So while a statement runs, one watcher thread per process
asks ``pg_blocking_pids`` from a side connection once the statement has waited long enough
(a quarter of its ``lock_timeout``, at most 0.5 s): relation locks, advisory locks and a
``CREATE INDEX CONCURRENTLY`` waiting for old snapshots all show there. Arming and disarming
cost a dict update; only a statement that really waits opens a side connection, for as long
as it waits.
"""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

#: how often a waiting statement's blockers are read again
POLL_SECONDS = 0.05
#: the side connection's application_name
NAME = "tmplmig lock watch"
#: the due time of a wait whose blockers a thread of its own already reads (and of no wait)
_FOLLOWED = float("inf")

_SESSIONS = """
    SELECT pid, usename, application_name, state, query_start, pg_catalog.left(query, 80)
    FROM pg_catalog.pg_stat_activity WHERE pid = ANY(%s) ORDER BY pid"""
#: who blocks a backend, and the lock it waits for (the first not granted)
_BLOCKING = """
    SELECT pg_catalog.pg_blocking_pids(%(pid)s),
           (SELECT ARRAY[l.mode, l.locktype, n.nspname || '.' || c.relname]
            FROM pg_catalog.pg_locks l
            LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE l.pid = %(pid)s AND NOT l.granted LIMIT 1)"""
#: what a wait on a lock of this type is, said for a person
_LOCKTYPES = {
    "virtualxid": "older transactions to end",
    "transactionid": "another transaction to end",
    "advisory": "an advisory lock",
}


@dataclass(frozen=True)
class Session:
    """A server session as a person finds it again in ``pg_stat_activity``."""

    pid: int
    user: str | None
    application: str
    state: str | None
    query_start: datetime | None
    query: str

    def __str__(self) -> str:
        who = f"pid {self.pid} (user {self.user}, application {self.application!r}"
        if self.state is None:  # another login's, seen without pg_read_all_stats
            return f"{who}; its state and query are shown only to pg_read_all_stats)"
        start = f"{self.query_start:%Y-%m-%d %H:%M:%S %Z}" if self.query_start else "-"
        return f"{who}, {self.state}, query started {start}): {self.query}"


def waited_for(mode: str, locktype: str, relation: str | None) -> str:
    """A lock as ``pg_locks`` shows it (``AccessExclusiveLock``, ``relation``), for a person."""
    if locktype == "relation" and relation:
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", mode.removesuffix("Lock")).upper()
        return f"{words} lock on {relation}"
    return _LOCKTYPES.get(locktype, f"a {locktype} lock")


def sessions(conn: psycopg.Connection[Any], pids: Sequence[int]) -> list[Session]:
    """The sessions of ``pids`` that still exist."""
    return [Session(*row) for row in conn.execute(_SESSIONS, [list(pids)])]


def terminate_hint(found: Sequence[Session], transactions: bool = True) -> str:
    """The remedy for sessions holding what we wait for: end their transactions (a lock of
    a transaction) or the sessions themselves (a session-level advisory lock)."""
    pids = ", ".join(str(s.pid) for s in found)
    first = "commit or end their transactions, or " if transactions else ""
    return (
        f"{first}end the sessions (SELECT pg_terminate_backend(pid) for pid {pids}), then run again"
    )


@dataclass
class Wait:
    """One statement of ours in flight: who blocked it, as last seen while it waited."""

    conninfo: str
    password: str | None
    pid: int
    due: float
    blockers: list[Session] = field(default_factory=list)
    #: the lock it waited for, as :func:`waited_for` says it
    waiting_for: str | None = None
    #: the thread reading its blockers, once it is due
    follower: threading.Thread | None = None


class _Watcher:
    """The process's one watcher thread: it hands each armed wait that is due to a follower
    thread, which reads its blockers on a side connection of its own."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, Wait] = {}
        self._thread: threading.Thread | None = None
        #: when the watcher thread wakes next by itself: an arm due later need not wake it
        self._wakes = _FOLLOWED
        #: each connection's conninfo, read once (libpq builds it anew each time: 0.4 ms)
        self._dsn: weakref.WeakKeyDictionary[psycopg.Connection[Any], str] = (
            weakref.WeakKeyDictionary()
        )

    def arm(self, conn: psycopg.Connection[Any], after: float) -> Wait:
        with self._cond:
            dsn = self._dsn.get(conn)
            if dsn is None:
                dsn = self._dsn[conn] = conn.info.dsn
            info = conn.info
            wait = Wait(dsn, info.password, info.backend_pid, time.monotonic() + after)
            self._armed[id(wait)] = wait
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="blockers")
                self._thread.start()
            if wait.due < self._wakes:
                self._cond.notify()
        return wait

    def disarm(self, wait: Wait) -> None:
        """Stop watching ``wait``; its side connection, if any, is closed on return."""
        with self._cond:
            self._armed.pop(id(wait), None)
            follower = wait.follower
        if follower is not None:
            follower.join()

    def _armed_now(self, wait: Wait) -> bool:
        with self._cond:
            return id(wait) in self._armed

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [w for w in self._armed.values() if w.due <= now]
                if not due:
                    pending = [w.due for w in self._armed.values() if w.due != _FOLLOWED]
                    self._wakes = min(pending, default=_FOLLOWED)
                    self._cond.wait(max(self._wakes - now, 0.001) if pending else None)
                    self._wakes = time.monotonic()  # awake: any arm is noticed
                    continue
                for wait in due:  # read by a thread of its own until the wait ends
                    wait.due = _FOLLOWED
                    wait.follower = threading.Thread(target=self._follow, args=(wait,))
                    wait.follower.daemon = True
                    wait.follower.start()

    def _follow(self, wait: Wait) -> None:
        """Read ``wait``'s blockers on a side connection until it is disarmed (then closed: it
        must not keep the database busy, say for a DROP DATABASE of a scratch database)."""
        try:
            with psycopg.connect(
                wait.conninfo, password=wait.password, autocommit=True, application_name=NAME
            ) as side:
                while self._armed_now(wait):
                    row = side.execute(_BLOCKING, {"pid": wait.pid}).fetchone()
                    if row and row[0]:
                        wait.blockers = sessions(side, row[0])
                        wait.waiting_for = waited_for(*row[1]) if row[1] else None
                    time.sleep(POLL_SECONDS)
        except psycopg.Error:  # naming blockers is a courtesy: never fail the run for it
            return


_WATCHER = _Watcher()


class watching:
    """Within the block, the blockers of ``conn``'s statement are read once it waited ``after``
    seconds (None: never, as nothing will refuse it); :attr:`blockers` holds the last seen."""

    def __init__(self, conn: psycopg.Connection[Any], after: float | None) -> None:
        self._conn, self._after = conn, after
        self._wait: Wait | None = None

    def __enter__(self) -> watching:
        if self._after is not None:
            self._wait = _WATCHER.arm(self._conn, self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._wait is not None:
            _WATCHER.disarm(self._wait)

    @property
    def blockers(self) -> list[Session]:
        return list(self._wait.blockers) if self._wait is not None else []

    @property
    def waiting_for(self) -> str | None:
        return self._wait.waiting_for if self._wait is not None else None
