"""What a file in ``migrations/`` calls: render its part and hand the steps to yoyo.

Each step runs through :func:`tmplmig.database.locking.disciplined` (lock_timeout, bounded
retry); a first step puts the guard of :mod:`tmplmig.database.runlock` on yoyo's lock table.
yoyo loads migration files itself, so the config reaches them from outside:
tmplmig's own commands pass their loaded config with :func:`rendering_for` (per thread);
plain ``yoyo apply`` names it with ``TMPLMIG_ENV`` (and ``TMPLMIG_TENANT``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from yoyo import step

from tmplmig.database.locking import disciplined, step_statements
from tmplmig.database.runlock import install_guard
from tmplmig.rendering.config import LoadedConfig, load_config
from tmplmig.rendering.parts import render_part

ENV_VAR = "TMPLMIG_ENV"
TENANT_VAR = "TMPLMIG_TENANT"

_rendering: ContextVar[LoadedConfig | None] = ContextVar("tmplmig_rendering", default=None)


@contextmanager
def rendering_for(config: LoadedConfig) -> Iterator[None]:
    """Render migrations for ``config`` while yoyo loads them in this context."""
    token = _rendering.set(config)
    try:
        yield
    finally:
        _rendering.reset(token)


def config_from_environment(project: Path) -> LoadedConfig:
    """The config plain ``yoyo`` renders for: ``TMPLMIG_ENV`` and ``TMPLMIG_TENANT``.

    Without ``TMPLMIG_ENV`` this ends the process with one line saying what to set: the
    only caller is yoyo's own command line, where a traceback would bury it.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if not env:
        print(
            f"tmplmig: set {ENV_VAR} (dev, staging, prod, ...) to choose the config to render",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return load_config(project, env, os.environ.get(TENANT_VAR, "").strip() or None)


def load_part(migration_file: str) -> tuple[set[str], bool]:
    """Register the steps of the part named like ``migration_file``.

    Returns yoyo's ``(__depends__, __transactional__)`` for the part.
    """
    path = Path(migration_file).resolve()
    project = path.parent.parent
    config = _rendering.get() or config_from_environment(project)
    part = render_part(project, path.stem, config)
    ddl = config.settings.ddl
    step(install_guard, install_guard)  # so that plain yoyo runs guard yoyo's lock, too
    for s in part.steps:
        rollback = step_statements(s, ddl, "rollback")
        undo = disciplined(rollback, ddl, s.name, s.role, part.id) if rollback else None
        step(disciplined(step_statements(s, ddl, "apply"), ddl, s.name, s.role, part.id), undo)
    return set(part.depends), part.transactional
