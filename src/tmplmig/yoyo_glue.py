"""What a file in ``migrations/`` calls: render its part and hand the steps to yoyo.

Each step runs through :func:`tmplmig.locking.disciplined` (lock_timeout, bounded retry); a first
step puts the guard of :mod:`tmplmig.database.runlock` on yoyo's lock table.
Plain ``yoyo apply`` picks the config from ``TMPLMIG_ENV`` (and ``TMPLMIG_TENANT``);
tmplmig's own commands set the same choice per thread with :func:`selected`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from yoyo import step

from tmplmig.config import load_config
from tmplmig.database.runlock import install_guard
from tmplmig.locking import disciplined, step_statements
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
    step(install_guard, install_guard)  # so that plain yoyo runs guard yoyo's lock, too
    for s in part.steps:
        rollback = step_statements(s, ddl, "rollback")
        undo = disciplined(rollback, ddl, s.name, part.id) if rollback else None
        step(disciplined(step_statements(s, ddl, "apply"), ddl, s.name, part.id), undo)
    return set(part.depends), part.transactional
