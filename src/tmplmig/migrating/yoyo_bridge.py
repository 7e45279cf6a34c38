"""What a file in ``migrations/`` calls: render its part and hand the steps to yoyo.

Each step runs under :mod:`tmplmig.database.locking` (lock_timeout, bounded retry) and
records itself (:mod:`tmplmig.migrating.record`) in the same transaction; a rollback runs what
the record says was applied, and today's render only where there is no record. A first
step puts the guard of :mod:`tmplmig.database.runlock` on yoyo's lock table (plain yoyo
runs; tmplmig's commands put it there before taking the lock). yoyo loads
migration files itself, so the config reaches them from outside: tmplmig's own commands pass
their loaded config with :func:`rendering_for` (per thread); plain ``yoyo apply`` names it
with ``TMPLMIG_ENV`` (and ``TMPLMIG_TENANT``).
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from yoyo import default_migration_table, get_backend, step
from yoyo.backends import DatabaseBackend
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import parse_uri
from yoyo.exceptions import BadMigration
from yoyo.migrations import Migration, MigrationList, get_migration_hash

from tmplmig.database.locking import restarting, run_with_lock_discipline, step_statements
from tmplmig.database.runlock import install_guard
from tmplmig.database.urls import connect
from tmplmig.errors import REFUSED, TmplmigError
from tmplmig.migrating import record, tenants
from tmplmig.migrating.states import PartState, part_states
from tmplmig.rendering.config import LoadedConfig, load_config
from tmplmig.rendering.parts import Part, Step, part_ids, render_part

if TYPE_CHECKING:  # validates configs: only the checker imports pydantic here
    from tmplmig.rendering.models import Ddl

logger = logging.getLogger(__name__)

ENV_VAR = "TMPLMIG_ENV"
TENANT_VAR = "TMPLMIG_TENANT"
#: the migration file that checks, before plain ``yoyo apply`` runs anything, that no applied
#: part changed since (:func:`check_renders`); never applied, and left out by tmplmig's verbs
RENDER_CHECK = "000_tmplmig_check"

_rendering: ContextVar[tuple[LoadedConfig, dict[str, Part]] | None] = ContextVar(
    "tmplmig_rendering", default=None
)
#: the part whose rollback stopped on an error: yoyo then applies again, from today's render,
#: the steps of a non-transactional part it had rolled back, which would record today's steps
#: (their positions, their SQL) beside the rows of what ran before, unplanned; the part is left
#: as the record says instead, and rollback or apply finishes it
_rollback_stopped: ContextVar[str | None] = ContextVar("tmplmig_rollback_stopped", default=None)


@contextmanager
def rendering_for(config: LoadedConfig) -> Iterator[dict[str, Part]]:
    """Render migrations for ``config`` while yoyo loads them in this context; yields the
    parts rendered so far by id, so the command need not render them again."""
    rendered: dict[str, Part] = {}
    token = _rendering.set((config, rendered))
    try:
        yield rendered
    finally:
        _rendering.reset(token)


class NoEnvironment(TmplmigError):
    """Plain ``yoyo`` ran without ``TMPLMIG_ENV``: one line says what to set."""

    @property
    def report(self) -> list[str]:
        """The line, without ``error:``: it is an instruction."""
        return [f"tmplmig: {self}"]


class ChangedSinceApplied(TmplmigError):
    """Plain ``yoyo apply`` stopped before any part: ``problems`` are the applied parts whose
    render changed since (with the tmplmig commands that evolve them), or why the record
    cannot be trusted."""

    exit_code = REFUSED

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    @property
    def report(self) -> list[str]:
        """Each problem, then that nothing ran."""
        return [f"tmplmig: {p}" for p in self.problems] + ["tmplmig: nothing was applied"]


@contextmanager
def yoyo_command_line() -> Iterator[None]:
    """Where yoyo's command line is tmplmig's caller, end the process as ``tmplmig`` would:
    the error's report on stderr and its exit status. yoyo logs a traceback for an error
    while loading a migration file (and skips the file) and for one in a step; a
    ``SystemExit`` passes through both."""
    try:
        yield
    except TmplmigError as exc:
        sys.stderr.write("".join(f"{line}\n" for line in exc.report))
        raise SystemExit(exc.exit_code) from None


def config_from_environment(project: Path) -> LoadedConfig:
    """The config plain ``yoyo`` renders for: ``TMPLMIG_ENV`` and ``TMPLMIG_TENANT``; raises
    :class:`NoEnvironment` without ``TMPLMIG_ENV``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if not env:
        raise NoEnvironment(
            f"set {ENV_VAR} (dev, staging, prod, ...) to choose the config to render"
        )
    tenant = os.environ.get(TENANT_VAR, "").strip() or None
    config = load_config(project, env, tenant)
    if tenant is not None:  # the environment's own names, not every peer: loaded per part
        tenants.check_distinct([config], load_config(project, env))
    return config


class Backend(PostgresqlPsycopgBackend):
    """yoyo's psycopg 3 backend without the per-connection work that grows with the catalog,
    and without round trips that buy tmplmig nothing.

    With thousands of tenants in one database, yoyo's own checks dominated: a
    ``CREATE TABLE yoyo_tmp_<random>`` probe per connection, and an ``information_schema``
    listing (a scan of all of ``pg_class``) before every migration it applies or rolls back.
    yoyo also opens a connection per migration and a savepoint per step; see :meth:`copy`
    and :meth:`savepoint`.
    """

    #: a copy made by :meth:`copy`: it shares the connection of the backend it was made from
    shared = False
    #: the session :meth:`connect` takes instead of opening one (:func:`open_backend`'s)
    given: psycopg.Connection[Any] | None = None
    #: yoyo's bookkeeping of the migration whose steps this copy runs, done before they commit
    before_commit: Callable[[], None] | None = None
    #: what a command checks before a part's first step (its table locks, the rollback guard):
    #: called with the connection and the part's id, inside the part's transaction when it
    #: has one; raising stops the run before the part changes anything
    before_steps: Callable[[psycopg.Connection[Any], str], None] | None = None
    #: :attr:`before_steps` of the migration whose steps this copy runs, called at its BEGIN
    at_begin: Callable[[], None] | None = None

    def connect(self, dburi: Any) -> Any:
        """yoyo's, or the :attr:`given` session (autocommit), its ``search_path`` then set
        to the URL's tracking schema as yoyo sets a new one's."""
        if self.given is None:
            return super().connect(dburi)
        self.schema = dburi.args.get("schema")
        return self.given

    def copy(self) -> Backend:
        """A backend on the same connection, for one migration's steps (yoyo opens a new
        connection per migration and closes it after).

        The steps leave the session as they found it (``RESET ROLE``; the lock discipline's
        settings are set again by every step), so yoyo's bookkeeping can follow on the same
        connection, whose session also holds the advisory lock behind yoyo's lock row.
        """
        twin = copy.copy(self)
        twin.shared = True
        return twin

    def __exit__(self, *exc: object) -> None:
        if not self.shared:
            super().__exit__(*exc)

    def apply_one(self, migration: Migration, force: bool = False, mark: bool = True) -> None:
        """yoyo's apply of one migration; in a transactional part, logged and marked applied
        in the transaction of its steps (see :meth:`_run_one`)."""
        self._run_one(migration, "apply", force, mark)

    def rollback_one(self, migration: Migration, force: bool = False) -> None:
        """yoyo's rollback of one migration; in a transactional part, logged and unmarked in
        the transaction of its steps (see :meth:`_run_one`)."""
        self._run_one(migration, "rollback", force, True)

    def _run_one(self, migration: Migration, direction: str, force: bool, track: bool) -> None:
        """Run ``migration``'s steps in ``direction``, then yoyo's log row and (``track``) its
        mark or unmark: before the steps' commit when the part is transactional, so a run
        killed just after that commit leaves yoyo's tracking agreeing with the record (yoyo
        itself writes them after the commit, and a rollback killed there left a part marked
        applied with its record empty). A non-transactional part is tracked after, as yoyo does.

        A transactional part whose lock is refused (or which loses a deadlock) runs again whole,
        from its BEGIN (:func:`restarting`); :attr:`before_steps` runs first each time.
        """
        self.ensure_internal_schema_updated()
        migration.load()

        def track_it() -> None:
            self.log_migration(migration, direction)
            if track and direction == "apply":
                self.mark_one(migration, log=False)
            elif track:
                self.unmark_one(migration, log=False)

        gate = self.before_steps
        if not migration.use_transactions:
            if gate is not None:
                gate(self.connection, migration.id)
            stopped = _rollback_stopped.set(None)
            try:
                migration.process_steps(self.copy(), direction, force=force)
            finally:
                _rollback_stopped.reset(stopped)
            with self.transaction():
                track_it()
            return

        def attempt() -> None:
            steps = self.copy()
            steps.before_commit = track_it
            if gate is not None:
                steps.at_begin = lambda: gate(steps.connection, migration.id)
            migration.process_steps(steps, direction, force=force)

        restarting(attempt)

    def begin(self) -> None:
        """yoyo's ``BEGIN``, then what must hold before the part's first step (:attr:`at_begin`)."""
        super().begin()
        if self.at_begin is not None:
            try:
                self.at_begin()
            except BaseException:  # raised in yoyo's __enter__: its __exit__ will not roll back
                self.rollback()
                raise

    def commit(self) -> None:
        """yoyo's ``COMMIT``, after the migration's bookkeeping when this copy carries it."""
        if self.before_commit is not None:
            track, self.before_commit = self.before_commit, None
            track()
        super().commit()

    def rollback(self) -> None:
        """yoyo's ``ROLLBACK`` only when a transaction is open: it also sends one before each
        non-transactional migration, which on a shared session warns "no transaction in
        progress"."""
        if self.connection.info.transaction_status == TransactionStatus.IDLE:
            self._in_transaction = False
        else:
            super().rollback()

    def _delete_lock_row(self, pid: int) -> None:
        """yoyo's, unless the run's session is gone (terminated, server restarted): the
        advisory lock that guards the row went with it, so the next run removes the row, and
        the error that ended the run is the one reported."""
        if not self.connection.broken:
            super()._delete_lock_row(pid)

    def savepoint(self, id: str) -> None:
        """No savepoint per step: tmplmig's steps pass no ``ignore_errors`` and its commands no
        ``force``, so a failed step fails its migration, whose transaction yoyo rolls back
        whole; a step's own retry savepoint travels in the step's message."""

    def savepoint_rollback(self, id: str) -> None:
        """Nothing to roll back to (see :meth:`savepoint`): the transaction's rollback follows."""

    def init_database(self) -> None:
        """Create the lock table; PostgreSQL runs DDL in transactions, so skip yoyo's probe."""
        self.create_lock_table()
        self.has_transactional_ddl = True

    def create_lock_table(self) -> None:
        """Create the lock table when it is missing. yoyo creates it on every run and takes any
        error for "it exists": a CREATE TABLE that fails each time (an event trigger on DDL
        sees it), and one that fails for another cause (no CREATE on the tracking schema, say)
        surfaced a step later as ``relation "yoyo_lock" does not exist``. A failure stands
        unless another run made the table meanwhile."""
        if self.lock_table in self.list_tables():
            return
        try:
            with self.transaction():
                self.execute(self.format_sql(self.create_lock_table_sql))
        except self.DatabaseError:
            if self.lock_table not in self.list_tables():
                raise

    def ensure_internal_schema_updated(self) -> None:
        """Check (and upgrade) yoyo's tables once per backend, not before every migration."""
        if not self._internal_schema_updated:
            super().ensure_internal_schema_updated()
            self._internal_schema_updated = True

    def list_tables(self, **kwargs: object) -> list[str]:
        """yoyo's own tables in the tracking schema, found by name through pg_class's index.

        yoyo only asks this to learn which of its tables exist.
        """
        names = [self.migration_table, self.version_table, self.log_table, self.lock_table]
        cursor = self.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c"
            " WHERE c.relname = ANY(:names)"
            " AND c.relnamespace = pg_catalog.to_regnamespace(pg_catalog.current_schema())",
            {"names": names},
        )
        return [row[0] for row in cursor.fetchall()]


def open_backend(
    url: str,
    before: Callable[[psycopg.Connection[Any]], None] | None = None,
    session: psycopg.Connection[Any] | None = None,
) -> DatabaseBackend:
    """A connected yoyo backend for ``url``: a :class:`Backend` for ``postgresql+psycopg://``
    URLs, built directly (yoyo's lookup scans the entry points of every installed package),
    yoyo's own for any other scheme.

    (Verbs that only read need no backend: :mod:`tmplmig.migrating.yoyo_tracking`.)
    ``before`` runs on the backend's own session (autocommit, its ``search_path`` the tracking
    schema) before yoyo creates anything: a check that may refuse the run, the tracking
    schema itself. A run needs no second connection for them. ``session``: an autocommit
    connection to the URL's database, reset and named as the URL names it, to use instead of
    opening one (a fan-out's tenants of one database take turns with it); the caller gives it
    back to its pool, or closes it when the run failed, as it closes a backend's own.
    """
    if not url.startswith("postgresql+psycopg://"):
        if before is not None:
            with connect(url) as conn:
                before(conn)
        return get_backend(url)
    backend = Backend.__new__(Backend)
    backend.given = session
    backend.__init__(parse_uri(url), default_migration_table)  # type: ignore[misc]
    try:
        if before is not None:
            before(backend.connection)
        backend.init_database()
    except BaseException:
        backend.connection.close()
        raise
    return backend


def load_part(migration_file: str) -> tuple[set[str], bool]:
    """Register the steps of the part named like ``migration_file``.

    Returns yoyo's ``(__depends__, __transactional__)`` for the part.
    """
    path = Path(migration_file).resolve()
    project = path.parent.parent
    context = _rendering.get()
    if context is None:  # plain yoyo: guard yoyo's lock (tmplmig's commands have)
        with yoyo_command_line():
            config = config_from_environment(project)
        step(install_guard, install_guard)
    else:
        config = context[0]
    part = context[1].get(path.stem) if context is not None else None
    if part is None:
        part = render_part(project, path.stem, config, rendered=context[1] if context else None)
    if context is not None:
        context[1][part.id] = part
    recorder = record.Recorder.of(config)
    held = _Recorded(part.id)
    for position, s in enumerate(part.steps):
        step(
            applying(part, s, position, recorder),
            rolling_back(part, s, position, config.settings.ddl, held),
        )
    return set(part.depends), part.transactional


StepCallable = Callable[[psycopg.Connection[Any]], None]


def applying(part: Part, s: Step, position: int, recorder: record.Recorder) -> StepCallable:
    """The apply callable of one step: its SQL under lock discipline, then its record row, in
    the same attempt (one message in a transactional part)."""

    def run(conn: psycopg.Connection[Any]) -> None:
        if _rollback_stopped.get() == part.id:  # yoyo undoing a rollback that stopped
            return
        ddl = recorder.config.settings.ddl
        statements = step_statements(s, ddl, "apply")
        if position == 0:  # yoyo runs a part's steps from the first: later ones find the tables
            record.ensure(conn)
        row = recorder.row_sql(conn, part.id, s, position)
        run_with_lock_discipline(conn, statements, ddl, s.name, s.role, part.id, then=[row])

    return run


class _Recorded:
    """The record of one part while yoyo rolls its steps back, read once per rollback.

    yoyo calls a part's rollback callables one after another, under the run's lock, ending
    with the first step's; each forgets here what it forgets in the table, so every call
    sees what a fresh read would show. The first read takes the part's rows from the record
    the command read under the same lock (:func:`record_known`), when it gave one: no step
    has changed them since. Any failure, and the first step's call, drop what is held; a
    read after a failure asks the table.
    """

    def __init__(self, part: str) -> None:
        self.part = part
        self.rows: list[record.RecordedStep] | None = None
        self.seeded = False

    def read(self, conn: psycopg.Connection[Any]) -> list[record.RecordedStep]:
        if self.rows is None:
            known = _known_record.get()
            if known is not None and not self.seeded:
                recorded = known.parts.get(self.part)
                self.rows = list(recorded.steps) if recorded is not None else []
            else:
                self.rows = record.part_steps(conn, self.part)
            self.seeded = True
        return self.rows

    def forget(self, step: str) -> None:
        self.rows = [r for r in self.rows or [] if r.step != step]


#: the record a rollback command read under yoyo's lock, before its first change
_known_record: ContextVar[record.Record | None] = ContextVar("tmplmig_known_record", default=None)


@contextmanager
def record_known(rec: record.Record) -> Iterator[None]:
    """While the block runs (under yoyo's lock, with ``rec`` read under it before any change),
    a part's rollback starts from ``rec``'s rows of the part instead of reading them again."""
    token = _known_record.set(rec)
    try:
        yield
    finally:
        _known_record.reset(token)


def rolling_back(part: Part, s: Step, position: int, ddl: Ddl, held: _Recorded) -> StepCallable:
    """The rollback callable of one step: the recorded rollback SQL, newest first.

    yoyo calls the steps of today's render in reverse. This step's call runs its own recorded
    rollback and those of recorded steps after it that today's render no longer has; the
    first step's call runs whatever is left. Without any record of the part (applied before
    the record existed), today's render is rolled back, with a warning. A recorded row is
    forgotten in the same attempt as its rollback SQL.
    """

    def undo(conn: psycopg.Connection[Any]) -> None:
        recorded = held.read(conn)
        if not recorded:
            if s.rollback:
                if position == len(part.steps) - 1:
                    logger.warning(
                        "%s: no record of what was applied; rolling back today's render",
                        part.id,
                    )
                statements = s.rollback_statements
                run_with_lock_discipline(conn, statements, ddl, s.name, s.role, part.id)
            return
        own = next((r for r in recorded if r.step == s.identity), None)
        if own is None and position > 0:
            return
        floor = own.position if own is not None else -1
        for r in sorted(recorded, key=lambda r: r.position, reverse=True):
            if r.position < floor:
                break
            if (problem := r.problem()) is not None:
                raise record.RecordError(problem)
            forget = record.forget_sql(conn, part.id, [r.step])
            if (sql := r.guarded("rollback")) is not None:
                run_with_lock_discipline(conn, [sql], ddl, r.name, r.role, part.id, then=[forget])
            else:
                conn.execute(forget)
            held.forget(r.step)

    def run(conn: psycopg.Connection[Any]) -> None:
        try:
            undo(conn)
        except BaseException:
            held.rows = None
            if not part.transactional and _rollback_stopped.get() != part.id:
                _rollback_stopped.set(part.id)
                logger.warning(
                    "%s: its rollback stopped at %s; the steps it rolled back stay so (the record"
                    " says which): run rollback again to finish it, or apply to restore it",
                    part.id,
                    s.name,
                )
            raise
        if position == 0:
            held.rows = None

    return run


def parts_only(migrations: MigrationList) -> MigrationList:
    """``migrations`` without the render check: tmplmig's own verbs apply, roll back and mark
    parts, and evolve what changed instead of refusing it."""
    return migrations.filter(lambda m: m.id != RENDER_CHECK)


def changed_since_applied(
    conn: psycopg.Connection[Any], project: Path, config: LoadedConfig
) -> list[PartState]:
    """The parts applied in the connection's tracking schema whose render for ``config``
    differs from what the record says was applied."""
    hashes = {
        row[0]
        for row in conn.execute(
            sql.SQL("SELECT migration_hash FROM {}").format(sql.Identifier(default_migration_table))
        )
    }
    applied = {p for p in part_ids(project / "templates") if get_migration_hash(p) in hashes}
    rec = record.read(conn)
    rec.check()
    parts = [render_part(project, pid, config) for pid in sorted(applied)]
    settings = config.settings.model_dump(mode="json")
    return [s for s in part_states(parts, applied, rec, settings) if s.state == "changed"]


def _checking(project: Path, config: LoadedConfig) -> StepCallable:
    """The render check's one step: stop the run naming each changed part and the tmplmig
    commands that evolve it; else raise ``BadMigration``, which yoyo's apply skips without
    marking the check applied, so it runs again on the next ``yoyo apply``."""
    target = f"--env {config.env}" + (f" --tenant {config.tenant}" if config.tenant else "")

    def run(conn: psycopg.Connection[Any]) -> None:
        with yoyo_command_line():
            try:
                changed = changed_since_applied(conn, project, config)
            except record.RecordError as exc:
                raise ChangedSinceApplied([str(exc)]) from None
            if changed:
                raise ChangedSinceApplied(
                    [
                        f"{s.id}: applied, changed since ({len(s.steps)} step(s));"
                        f" yoyo apply does not evolve it: review `tmplmig plan {target}`,"
                        f" then run `tmplmig apply {target}`"
                        for s in changed
                    ]
                )
        raise BadMigration(f"{RENDER_CHECK}: no applied part changed since (never marked)")

    return run


def check_renders(migration_file: str) -> None:
    """Register the render check's step (``migrations/000_tmplmig_check.py``).

    yoyo tracks ids only: with every part applied, plain ``yoyo apply`` after a YAML edit ran
    nothing and exited 0. The check sorts first and is never marked applied, so every plain
    ``yoyo apply`` runs it before any part; tmplmig's own verbs leave it out
    (:func:`parts_only`), and ``yoyo rollback`` never sees it (it is not applied).
    """
    project = Path(migration_file).resolve().parent.parent
    with yoyo_command_line():
        config = config_from_environment(project)
    step(_checking(project, config))
