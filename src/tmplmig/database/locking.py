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

logger = logging.getLogger(__name__)

SAVEPOINT = "tmplmig_attempt"


def lock_timeout_sql(ddl: Ddl) -> str:
    """The statement that bounds every lock wait; yoyo and the psql bundle run this same text."""
    return sql.SQL("SET lock_timeout = {};").format(sql.Literal(ddl.lock_timeout)).as_string(None)


def backoff_seconds(ddl: Ddl, retry: int) -> float:
    """Pause before retry number ``retry`` (from 0): ``retry_backoff_ms``, doubled each time."""
    return ddl.retry_backoff_ms * 2**retry / 1000


def run_with_lock_discipline(
    conn: psycopg.Connection[Any], statements: Sequence[str], ddl: Ddl, label: str
) -> None:
    """Run ``statements`` one by one under lock_timeout; redo them all when a lock is refused.

    Inside a transaction each attempt has its own savepoint, so a refusal keeps the transaction.
    """
    in_transaction = conn.info.transaction_status == TransactionStatus.INTRANS
    for retry in range(ddl.lock_retries + 1):
        try:
            with conn.cursor() as cur:
                if in_transaction:
                    cur.execute(f"SAVEPOINT {SAVEPOINT}")
                cur.execute(lock_timeout_sql(ddl))
                for statement in statements:
                    logger.debug("%s: executing %s", label, statement)
                    cur.execute(statement)
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
    statements: Sequence[str], ddl: Ddl, label: str
) -> Callable[[psycopg.Connection[Any]], None]:
    """A yoyo step callable (it receives the raw connection) that runs ``statements`` politely."""
    return partial(run_with_lock_discipline, statements=tuple(statements), ddl=ddl, label=label)
