"""What a file in ``migrations/`` calls: render its part and hand the steps to yoyo.

Each step runs through :func:`tmplmig.locking.disciplined` (lock_timeout, bounded retry).
Plain ``yoyo apply`` picks the config from ``TMPLMIG_ENV`` (and ``TMPLMIG_TENANT``);
tmplmig's own commands set the same choice per thread with :func:`selected`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from yoyo import default_migration_table, step
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import parse_uri

from tmplmig.config import load_config
from tmplmig.locking import disciplined
from tmplmig.parts import render_part

ENV_VAR = "TMPLMIG_ENV"
TENANT_VAR = "TMPLMIG_TENANT"

_selection: ContextVar[tuple[str, str | None] | None] = ContextVar(
    "tmplmig_selection", default=None
)


@contextmanager
def selected(env: str, tenant: str | None = None) -> Iterator[None]:
    """Render migrations for ``env``/``tenant`` while yoyo loads them in this context."""
    token = _selection.set((env, tenant))
    try:
        yield
    finally:
        _selection.reset(token)


def current_selection() -> tuple[str, str | None]:
    """The (environment, tenant) to render: :func:`selected`, else the environment variables."""
    chosen = _selection.get()
    if chosen is not None:
        return chosen
    env = os.environ.get(ENV_VAR, "").strip()
    if not env:
        raise RuntimeError(
            f"set {ENV_VAR} (dev, staging, prod, ...) to choose the config to render"
        )
    return env, os.environ.get(TENANT_VAR, "").strip() or None


class Backend(PostgresqlPsycopgBackend):
    """yoyo's psycopg 3 backend without the per-connection work that grows with the catalog.

    With thousands of tenants in one database, yoyo's own checks dominated: a
    ``CREATE TABLE yoyo_tmp_<random>`` probe per connection, and an ``information_schema``
    listing (a scan of all of ``pg_class``) before every migration it applies or rolls back.
    """

    def init_database(self) -> None:
        """Create the lock table; PostgreSQL runs DDL in transactions, so skip yoyo's probe."""
        self.create_lock_table()
        self.has_transactional_ddl = True

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


def open_backend(url: str) -> Backend:
    """A connected :class:`Backend` for a ``postgresql+psycopg://`` URL, set up like yoyo's own."""
    backend = Backend(parse_uri(url), default_migration_table)
    backend.init_database()
    return backend


def load_part(migration_file: str) -> tuple[set[str], bool]:
    """Register the steps of the part named like ``migration_file``.

    Returns yoyo's ``(__depends__, __transactional__)`` for the part.
    """
    path = Path(migration_file).resolve()
    project = path.parent.parent
    env, tenant = current_selection()
    config = load_config(project, env, tenant)
    part = render_part(project, path.stem, config)
    ddl = config.settings.ddl
    for s in part.steps:
        rollback = disciplined([s.rollback], ddl, s.name) if s.rollback else None
        step(disciplined(s.apply_statements, ddl, s.name), rollback)
    return set(part.depends), part.transactional
