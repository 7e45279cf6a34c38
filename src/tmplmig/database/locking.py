"""Lock discipline for DDL on a live database: every step runs under ``lock_timeout`` and is
retried with backoff when its lock is not granted, so writers never queue behind it for long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

from tmplmig.rendering.config import Ddl
from tmplmig.rendering.parts import Guarded

logger = logging.getLogger(__name__)

SAVEPOINT = "tmplmig_attempt"


def lock_timeout_sql(ddl: Ddl) -> str:
    """The statement that bounds every lock wait; yoyo and the psql bundle run this same text."""
    return sql.SQL("SET lock_timeout = {};").format(sql.Literal(ddl.lock_timeout)).as_string(None)


def backoff_seconds(ddl: Ddl, retry: int) -> float:
    """Pause before retry number ``retry`` (from 0): ``retry_backoff_ms``, doubled each time."""
    return ddl.retry_backoff_ms * 2**retry / 1000


def _run_guarded(cur: psycopg.Cursor[Any], statement: Guarded | str, label: str) -> None:
    """Execute ``statement`` unless its guard says it would change nothing (or must not run)."""
    if isinstance(statement, str):
        statement = Guarded(statement)
    if statement.guard is not None:
        run, *note = cur.execute(statement.guard).fetchone() or (False,)
        if not run:
            if note and note[0]:
                logger.warning("%s: %s", label, note[0])
            return
    logger.debug("%s: executing %s", label, statement.sql)
    cur.execute(statement.sql)


def run_with_lock_discipline(
    conn: psycopg.Connection[Any], statements: Sequence[Guarded | str], ddl: Ddl, label: str
) -> None:
    """Run ``statements`` one by one under lock_timeout; redo them all when a lock is refused.

    Inside a transaction each attempt has its own savepoint, so a refusal keeps the transaction.
    Each guard is asked again on every attempt, just before its statement.
    """
    in_transaction = conn.info.transaction_status == TransactionStatus.INTRANS
    for retry in range(ddl.lock_retries + 1):
        try:
            with conn.cursor() as cur:
                if in_transaction:
                    cur.execute(f"SAVEPOINT {SAVEPOINT}")
                cur.execute(lock_timeout_sql(ddl))
                for statement in statements:
                    _run_guarded(cur, statement, label)
                if in_transaction:
                    cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return
        except errors.LockNotAvailable:
            if in_transaction:
                conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            if retry == ddl.lock_retries:
                raise
            pause = backoff_seconds(ddl, retry)
            logger.warning(
                "%s: lock not granted within %s; retry %d of %d in %.1f s",
                label,
                ddl.lock_timeout,
                retry + 1,
                ddl.lock_retries,
                pause,
            )
            time.sleep(pause)


def disciplined(
    statements: Sequence[Guarded | str], ddl: Ddl, label: str
) -> Callable[[psycopg.Connection[Any]], None]:
    """A yoyo step callable (it receives the raw connection) that runs ``statements`` politely."""
    return partial(run_with_lock_discipline, statements=tuple(statements), ddl=ddl, label=label)
