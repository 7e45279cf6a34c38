"""Backends that a killed earlier run left executing: wait for them a while, then cancel them.

A killed client's backend keeps running its statement until the server notices the client is
gone (``client_connection_check_interval``), or indefinitely when the client's host dropped off
the network. Such a backend still holds its locks, and an index build it leaves unfinished is
INVALID. Every connection of a run names its verb and target in ``application_name``; a run
that holds the target's lock knows that other backends with those names belong to runs that
no longer hold it. Any login may choose that name, so only backends of the deploying login
itself (its ``session_user``) count: another login's is never waited for or cancelled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

#: a cancelled backend that has not ended after this long is terminated
CANCEL_GRACE_SECONDS = 5.0
POLL_SECONDS = 0.1

_RUNNING = """
    SELECT pid, application_name, state, query_start, pg_catalog.left(query, 80)
    FROM pg_catalog.pg_stat_activity
    WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid()
      AND usename = session_user
      AND application_name = ANY(%s) AND state IS DISTINCT FROM 'idle'
    ORDER BY pid"""


def running(conn: psycopg.Connection[Any], names: Sequence[str]) -> list[tuple[Any, ...]]:
    """Other backends of this login named ``names`` that are not idle: (pid, name, state, since,
    query)."""
    return conn.execute(_RUNNING, [list(names)]).fetchall()


def _wait_gone(conn: psycopg.Connection[Any], names: Sequence[str], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while pids := [row[0] for row in running(conn, names)]:
        if time.monotonic() >= deadline:
            return pids
        time.sleep(POLL_SECONDS)
    return []


def settle(conn: psycopg.Connection[Any], names: Sequence[str], wait_seconds: float) -> list[int]:
    """Wait up to ``wait_seconds`` for earlier runs' backends to finish; cancel those left
    (``pg_cancel_backend``, then ``pg_terminate_backend`` if that is not enough).

    Call it only while holding the target's lock. Returns the pids that had to be stopped.
    """
    found = running(conn, names)
    for pid, name, state, since, query in found:
        logger.warning(
            "backend %d of an earlier run (%s) is still %s since %s: %s; waiting up to %g s",
            pid,
            name,
            state,
            since,
            query,
            wait_seconds,
        )
    if not found:
        return []
    left = _wait_gone(conn, names, wait_seconds)
    for pid in left:
        logger.warning("cancelling backend %d of an earlier run", pid)
        conn.execute("SELECT pg_catalog.pg_cancel_backend(%s)", [pid])
    for pid in _wait_gone(conn, names, CANCEL_GRACE_SECONDS):
        logger.warning("terminating backend %d of an earlier run: the cancel did not stop it", pid)
        conn.execute("SELECT pg_catalog.pg_terminate_backend(%s, %s)", [pid, 10_000])
    return left
