"""Lock discipline for DDL on a live database: every step runs under ``lock_timeout`` and is
retried with backoff when its lock is not granted, so writers never queue behind it for long.
Inside a transaction that :func:`restarting` runs, a refused lock (or a deadlock the server
broke) is not retried statement by statement: the transaction still holds what its earlier
statements locked, so the same wait (or the same deadlock) would come back; the whole
transaction runs again instead. (yoyo calls a step with its connection only, so whether a
restart will follow travels in a context variable; plain ``yoyo apply`` has none, and its
steps keep retrying statement by statement.)
When the retries run out, :class:`LockRefused` names the sessions that were in the way.

A step also runs as its role (``SET ROLE`` to the owner of the objects), reset after the
step, so yoyo's own bookkeeping on the same session stays with the deploying login.
Every statement is bounded by ``statement_timeout`` too, except index builds and validations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

from tmplmig.database.interrupts import Interrupted
from tmplmig.errors import REFUSED, TmplmigError
from tmplmig.rendering.config import duration_seconds
from tmplmig.rendering.parts import Guarded, Step, scans_table

if TYPE_CHECKING:
    from tmplmig.database.blockers import Session
    from tmplmig.rendering.models import Ddl  # validates configs: only the checker imports it

logger = logging.getLogger(__name__)
#: the server's WARNINGs and NOTICEs raised by steps (a role kept on rollback, say); the CLI
#: prints them on stderr
server_log = logging.getLogger("tmplmig.server")

SAVEPOINT = "tmplmig_attempt"
RESET_ROLE = "RESET ROLE;"
#: a statement that has waited this long (or a quarter of its lock_timeout, if sooner) has its
#: blockers read; a deadlock is broken after the server's deadlock_timeout (1 s by default)
WATCH_AFTER_SECONDS = 0.5
T = TypeVar("T")
#: set while :func:`restarting` runs a transaction: a refusal inside it is left to the restart
_RESTARTED: ContextVar[bool] = ContextVar("tmplmig_restarted", default=False)
#: set while a scratch database is migrated (verify, the drift check): why a guard skipped a
#: statement there (a role kept for the live database) is not news for the user
_QUIET_NOTES: ContextVar[bool] = ContextVar("tmplmig_quiet_notes", default=False)


@contextmanager
def quiet_notes() -> Iterator[None]:
    """Log the guards' notes (``role … kept``) at debug level only, in this context."""
    token = _QUIET_NOTES.set(True)
    try:
        yield
    finally:
        _QUIET_NOTES.reset(token)


class LockRefused(TmplmigError, errors.LockNotAvailable):
    """A lock not granted within ``lock_timeout``, or a deadlock the server broke by cancelling
    our statement, after every retry; names the sessions that were in the way."""

    exit_code = REFUSED

    def __init__(
        self,
        label: str,
        deadlock: bool,
        ddl: Ddl,
        blockers: Sequence[Session],
        waiting_for: str | None = None,
        tries: int = 1,
    ) -> None:
        super().__init__(label)
        self.label, self.deadlock, self.ddl = label, deadlock, ddl
        self.blockers, self.waiting_for = list(blockers), waiting_for
        self.tries = tries

    @property
    def refused(self) -> str:
        """What happened to the lock (and which lock it was, when it was seen)."""
        what = f", waiting for {self.waiting_for}" if self.waiting_for else ""
        if self.deadlock:
            return f"chosen to break a deadlock with another transaction{what}"
        return f"lock not granted within {self.ddl.lock_timeout}{what}"

    @property
    def report(self) -> list[str]:
        """One line naming the error, as for the other failed runs, then the sessions."""
        return [f"tmplmig: failed: LockRefused: {self}"]

    def __str__(self) -> str:
        tries = f"{self.tries} {'try' if self.tries == 1 else 'tries'}"
        head = f"{self.label}: {self.refused} ({tries}); nothing of it was changed"
        if not self.blockers:
            return head + "; no session was seen in the way (it may have ended): run again"
        from tmplmig.database.blockers import terminate_hint

        named = "\n  ".join(str(s) for s in self.blockers)
        return f"{head}; in the way:\n  {named}\n{terminate_hint(self.blockers)}"


#: a backend notices within this time that its client has gone and stops the statement,
#: so a killed run leaves no index build behind it running on the server
CLIENT_CHECK_INTERVAL = "2s"


@lru_cache(maxsize=64)
def _set(setting: str, value: str) -> str:
    """``SET`` of one of the constant setting names above to a config value, quoted."""
    return sql.SQL("SET " + setting + " = {};").format(sql.Literal(value)).as_string(None)


def session_settings_sql(ddl: Ddl) -> str:
    """What runs before every step attempt; the psql bundle heads each file with the same text."""
    return "\n".join(
        [
            _set("lock_timeout", ddl.lock_timeout),
            _set("statement_timeout", ddl.statement_timeout),
            _set("client_connection_check_interval", CLIENT_CHECK_INTERVAL),
        ]
    )


def step_statements(step: Step, ddl: Ddl, direction: str) -> tuple[Guarded, ...]:
    """What one direction of ``step`` runs, in order, as yoyo runs it and the bundle shows it.

    A step that scans its table (see :attr:`Step.scans_table`) runs with ``statement_timeout``
    0 and puts the configured bound back after itself.
    """
    if direction == "rollback":
        return step.rollback_statements
    if not step.scans_table:
        return step.apply_statements
    unbounded = Guarded(_set("statement_timeout", "0"))
    bounded = Guarded(_set("statement_timeout", ddl.statement_timeout))
    return (unbounded, *step.apply_statements, bounded)


def unbounded_scans(statements: Sequence[Guarded | str], ddl: Ddl) -> list[Guarded | str]:
    """``statements``, each that scans its table between ``statement_timeout`` 0 and the
    configured bound, as :func:`step_statements` runs a step's (a plan's index rebuild)."""
    out: list[Guarded | str] = []
    for statement in statements:
        text = statement.sql if isinstance(statement, Guarded) else statement
        if scans_table(text):
            out += [_set("statement_timeout", "0"), statement]
            out.append(_set("statement_timeout", ddl.statement_timeout))
        else:
            out.append(statement)
    return out


@lru_cache(maxsize=64)
def set_role_sql(role: str | None) -> str:
    """The statement a step runs as ``role`` after (None: as the deploying login itself);
    composed once per role, not per step."""
    if role is None:
        return RESET_ROLE
    return sql.SQL("SET ROLE {};").format(sql.Identifier(role)).as_string(None)


def backoff_seconds(ddl: Ddl, retry: int) -> float:
    """Pause before retry number ``retry`` (from 0): ``retry_backoff_ms``, doubled each time."""
    return ddl.retry_backoff_ms * 2**retry / 1000


def one_message(statements: Sequence[str]) -> str:
    """``statements`` as one simple-query message: each ends its line with its own ``;``, so a
    trailing ``--`` comment cannot swallow the next one."""
    return "\n".join(s if s.rstrip().endswith(";") else s + "\n;" for s in statements)


def _send(cur: psycopg.Cursor[Any], statements: Sequence[str]) -> None:
    """Run ``statements`` in one round trip (no parameters: psycopg's simple query protocol)."""
    if statements:
        cur.execute(one_message(statements))


def _ask(cur: psycopg.Cursor[Any], before: Sequence[str], guard: str) -> tuple[Any, ...]:
    """Run ``before`` and then ``guard`` in one round trip; the guard's first row."""
    cur.execute(one_message([*before, guard]))
    while cur.nextset():
        pass
    return cur.fetchone() or (False,)


#: the session variable (transaction-local) that carries a guard's answer to its statement,
#: and the column that shows the client the same answer
_GUARD_ANSWER = "tmplmig.guard_run"
_ANSWER_COLUMN = "tmplmig_guard_run"


def _asked(guard: str) -> str:
    """``guard``'s first row (all NULL when it has none) and, last, its first column as text,
    also kept in :data:`_GUARD_ANSWER` for the statement that follows in the same message."""
    first = "(SELECT value FROM pg_catalog.json_each_text(pg_catalog.to_json(g)) LIMIT 1)"
    return (
        f"SELECT g.*, pg_catalog.set_config('{_GUARD_ANSWER}', COALESCE({first}, 'false'), true)"
        f" AS {_ANSWER_COLUMN} FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM"
        f" (\n{guard.rstrip().rstrip(';')}\n) AS asked LIMIT 1) AS g ON true;"
    )


def _when_asked(statement: str) -> str:
    """``statement``, run by the server only when the guard just asked said ``true``."""
    body = (
        f"BEGIN IF pg_catalog.current_setting('{_GUARD_ANSWER}') = 'true' THEN EXECUTE "
        + sql.Literal(statement).as_string(None)
        + "; END IF; END"
    )
    return "DO " + sql.Literal(body).as_string(None) + ";"


def _answers(cur: psycopg.Cursor[Any]) -> list[tuple[Any, ...]]:
    """The rows of the guards asked in the message just sent (:func:`_asked`), in order."""
    rows = []
    while True:
        if cur.description is not None and cur.description[-1].name == _ANSWER_COLUMN:
            rows.append(cur.fetchone() or (None, "false"))
        if not cur.nextset():
            return rows


def _note(label: str, note: Any) -> None:
    """Log why a guard skipped its statement, when it says."""
    if note:
        level = logging.DEBUG if _QUIET_NOTES.get() else logging.WARNING
        logger.log(level, "%s: %s", label, note)


def _attempt(
    conn: psycopg.Connection[Any],
    statements: Sequence[Guarded | str],
    ddl: Ddl,
    label: str,
    role: str | None,
    in_transaction: bool,
    then: Sequence[str],
) -> None:
    """One try of a step, as ``role``; the session's role is the login's again afterwards.

    In a transaction the try is a savepoint, the session settings, ``SET ROLE``, the statements,
    ``RESET ROLE`` and ``then``, sent together in one round trip: a guard is asked where its
    statement would run, and the server runs the statement (in a ``DO`` block) only when the
    guard's answer, which the guard leaves in the transaction's settings, is true. A failure
    rolls back to the savepoint, which undoes ``SET ROLE`` too. In autocommit every statement
    travels alone (``CREATE INDEX CONCURRENTLY`` refuses a multi-statement message, which is
    a transaction block, and a function), each guard asked first, and nothing would undo
    ``SET ROLE``, so the role is reset explicitly after a failure or an interrupt (yoyo's
    bookkeeping follows on the same session).
    """
    if in_transaction:
        _attempt_in_transaction(conn, statements, ddl, label, role, then)
        return
    pending = [session_settings_sql(ddl)]
    if role is not None:
        pending.append(set_role_sql(role))
    with conn.cursor() as cur:
        try:
            for statement in statements:
                if isinstance(statement, str):
                    statement = Guarded(statement)
                if statement.guard is not None:
                    run, *note = _ask(cur, pending, statement.guard)
                    pending = []
                    if not run:
                        _note(label, note[0] if note else None)
                        continue
                logger.debug("%s: executing %s as %s", label, statement.sql, role)
                _send(cur, pending)
                _send(cur, [statement.sql])
                pending = []
            if role is not None:
                pending.append(RESET_ROLE)
            pending.extend(then)
            _send(cur, pending)
        except BaseException:  # an error, or Interrupted once psycopg cancelled the statement
            idle = conn.info.transaction_status == TransactionStatus.IDLE
            if role is not None and idle:
                cur.execute(RESET_ROLE)
            raise


def _attempt_in_transaction(
    conn: psycopg.Connection[Any],
    statements: Sequence[Guarded | str],
    ddl: Ddl,
    label: str,
    role: str | None,
    then: Sequence[str],
) -> None:
    """:func:`_attempt` in an open transaction: the whole try in one message."""
    message = [f"SAVEPOINT {SAVEPOINT};", session_settings_sql(ddl)]
    if role is not None:
        message.append(set_role_sql(role))
    sent = [Guarded(s) if isinstance(s, str) else s for s in statements]
    for statement in sent:
        if statement.guard is None:
            message.append(statement.sql)
        else:
            message += [_asked(statement.guard), _when_asked(statement.sql)]
    if role is not None:
        message.append(RESET_ROLE)
    message.extend(then)
    message.append(f"RELEASE SAVEPOINT {SAVEPOINT};")
    with conn.cursor() as cur:
        cur.execute(one_message(message))
        answers = iter(_answers(cur))
    for statement in sent:  # what ran, in order, once the server says which guards let it
        if statement.guard is not None:
            row = next(answers)
            if row[-1] != "true":
                _note(label, row[1] if len(row) > 2 else None)
                continue
        logger.debug("%s: executing %s as %s", label, statement.sql, role)


def _relay(notice: psycopg.errors.Diagnostic) -> None:
    """WARNINGs reach the user; NOTICEs (``already exists, skipping``) only the debug log."""
    level = logging.WARNING if notice.severity_nonlocalized == "WARNING" else logging.DEBUG
    server_log.log(level, "server %s: %s", notice.severity, notice.message_primary)


@contextmanager
def relaying_notices(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Pass the server's WARNINGs and NOTICEs on to the log while the block runs (yoyo runs
    steps on a connection of its own, so the handler goes where the step runs)."""
    conn.add_notice_handler(_relay)
    try:
        yield
    finally:
        conn.remove_notice_handler(_relay)


def run_with_lock_discipline(
    conn: psycopg.Connection[Any],
    statements: Sequence[Guarded | str],
    ddl: Ddl,
    label: str,
    role: str | None = None,
    part: str | None = None,
    then: Sequence[str] = (),
) -> None:
    """Run ``statements`` in order under lock_timeout, as ``role`` (``SET ROLE``) when given,
    then ``then`` as the login (a step's record row); in autocommit, redo them all when a lock
    is refused (or the server broke a deadlock by aborting this step).

    Inside a transaction each attempt has its own savepoint, and ``then`` commits or rolls back
    with the statements; a refusal rolls back to the savepoint and, when :func:`restarting`
    runs the transaction, raises :class:`LockRefused` at once for it to run the whole
    transaction again.
    An :class:`Interrupted` run learns here which ``part`` and step (``label``) it stopped in.
    Each guard is asked again on every attempt (as ``role``), just before its statement.
    """
    from tmplmig.database.blockers import watching  # statements that wait: not status's

    in_transaction = conn.info.transaction_status == TransactionStatus.INTRANS
    restarted = in_transaction and _RESTARTED.get()
    timeout = duration_seconds(ddl.lock_timeout)
    seen: tuple[list[Session], str | None] = ([], None)  # of the latest attempt that saw any
    for retry in range(ddl.lock_retries + 1):
        watch = watching(conn, min(timeout / 4, WATCH_AFTER_SECONDS) if timeout else None)
        try:
            with watch, relaying_notices(conn):
                _attempt(conn, statements, ddl, label, role, in_transaction, then)
            return
        except Interrupted as exc:
            if exc.step is None:
                exc.part, exc.step = part, label
            raise
        except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
            if in_transaction:
                conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            deadlock = isinstance(exc, errors.DeadlockDetected)
            if watch.blockers:
                seen = (watch.blockers, watch.waiting_for)
            refused = LockRefused(label, deadlock, ddl, *seen, tries=retry + 1)
            if restarted or retry == ddl.lock_retries:
                raise refused from exc
            _pause(refused, retry, "")


def _pause(refused: LockRefused, retry: int, again: str) -> None:
    """Log a refusal and wait the backoff of retry number ``retry`` (from 0)."""
    pause = backoff_seconds(refused.ddl, retry)
    logger.warning(
        "%s: %s%s; retry %d of %d in %.1f s",
        refused.label,
        refused.refused,
        again,
        retry + 1,
        refused.ddl.lock_retries,
        pause,
    )
    time.sleep(pause)


def restarting(attempt: Callable[[], T]) -> T:
    """``attempt()``, which runs one transaction whole, called again after the backoff each time
    a lock in it is refused (:class:`LockRefused`), up to ``lock_retries`` times: the aborted
    transaction has released everything, so the other side of a deadlock goes on first."""
    token = _RESTARTED.set(True)
    try:
        return _restart(attempt)
    finally:
        _RESTARTED.reset(token)


def _restart(attempt: Callable[[], T]) -> T:
    retry = 0
    seen: tuple[list[Session], str | None] = ([], None)  # of the latest attempt that saw any
    while True:
        try:
            return attempt()
        except LockRefused as refused:
            refused.tries = retry + 1
            if refused.blockers:
                seen = (refused.blockers, refused.waiting_for)
            refused.blockers, refused.waiting_for = seen
            if retry >= refused.ddl.lock_retries:
                raise
            _pause(refused, retry, ": the whole transaction runs again")
            retry += 1
