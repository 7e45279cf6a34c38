"""One plain function per CLI verb, usable from Python and tests alike."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yoyo import read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList

from tmplmig import tenants
from tmplmig.bundle import (
    build_bundle,
    bundle_contents,
    check_bundle,
    reviewable_sql,
    unified_diff,
    write_bundle,
)
from tmplmig.config import load_config
from tmplmig.parts import Part, render_all
from tmplmig.yoyo_glue import open_backend, selected

if TYPE_CHECKING:
    from tmplmig.lint import Finding
    from tmplmig.verify import Problem

DATABASE_URL_VAR = "TMPLMIG_DATABASE_URL"
LOCK_TIMEOUT_SECONDS = 60


class CommandError(Exception):
    """A command cannot run as asked (missing URL, unknown part, ...)."""


def database_url(explicit: str | None = None) -> str:
    """The yoyo URL: the argument, else $TMPLMIG_DATABASE_URL; forces the psycopg 3 driver."""
    url = explicit or os.environ.get(DATABASE_URL_VAR, "")
    if not url:
        raise CommandError(f"no database: set {DATABASE_URL_VAR} (never put it in config files)")
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    raise CommandError(f"{DATABASE_URL_VAR} must be a postgresql:// URL")


def render(project: Path, env: str, tenant: str | None = None) -> list[Part]:
    """Render every part for an environment (and tenant) without touching a database."""
    return render_all(project, load_config(project, env, tenant))


def render_bundle(project: Path, env: str, tenant: str | None = None) -> dict[str, str]:
    """The DBA review bundle as file name to text."""
    config = load_config(project, env, tenant)
    return bundle_contents(render_all(project, config), config)


def write_render(project: Path, env: str, out: Path, tenant: str | None = None) -> list[Path]:
    """Write the bundle for review into ``out``."""
    return write_bundle(render_bundle(project, env, tenant), out)


def check_render(project: Path, env: str, committed: Path, tenant: str | None = None) -> str:
    """Unified diff between a committed bundle and a fresh render; empty when up to date."""
    return check_bundle(render_bundle(project, env, tenant), committed)


#: yoyo keeps a class-level registry of migrations by id that resolves ``__depends__`` while
#: loading: threads of a fan-out must not interleave reading and loading their lists.
_READING_MIGRATIONS = threading.Lock()


def target_database(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    tenants_checked: bool = False,
) -> str:
    """The yoyo URL of the database ``env`` (and ``tenant``, by its placement) migrates.

    For a tenant, every tenant of the environment is checked first, unless the caller (a
    fan-out) has done that already (``tenants_checked``).
    """
    if tenant is None:
        return database_url(url)
    config = load_config(project, env, tenant)
    if not tenants_checked:
        tenants.load_tenants(project, env)
    default = url or os.environ.get(DATABASE_URL_VAR) or None
    try:
        return database_url(tenants.database_url(config, default))
    except tenants.TenantError as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def _migrations(
    project: Path,
    env: str,
    tenant: str | None,
    url: str | None,
    tenants_checked: bool = False,
    at_url: bool = False,
) -> Iterator[tuple[DatabaseBackend, MigrationList]]:
    load_config(project, env, tenant)  # fail on bad config before connecting
    if at_url:
        database = database_url(url)
    else:
        database = target_database(project, env, tenant, url, tenants_checked=tenants_checked)
    target = database if tenant is None else tenants.prepare_tracking(database, tenant)
    with selected(env, tenant):
        backend = open_backend(target)
        try:
            with _READING_MIGRATIONS:
                migrations = read_migrations(str(project / "migrations"))
                for migration in migrations:
                    migration.load()
            yield backend, migrations
        finally:
            backend.connection.close()


@dataclass(frozen=True)
class MigrationStatus:
    """Whether one migration is recorded as applied."""

    id: str
    applied: bool


def apply(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    tenants_checked: bool = False,
    at_url: bool = False,
) -> list[str]:
    """Apply every pending migration; return the ids applied.

    ``tenants_checked``: the caller (a fan-out) has already checked all tenants together.
    ``at_url``: migrate ``url`` itself, not the database the tenant's placement names.
    """
    with (
        _migrations(project, env, tenant, url, tenants_checked, at_url) as (backend, migrations),
        backend.lock(timeout=LOCK_TIMEOUT_SECONDS),
    ):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return [m.id for m in pending]


def rollback(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    part: str | None = None,
    *,
    tenants_checked: bool = False,
    at_url: bool = False,
) -> list[str]:
    """Roll back all applied migrations, or ``part`` and those that depend on it."""
    with _migrations(project, env, tenant, url, tenants_checked, at_url) as (
        backend,
        migrations,
    ):
        if part is not None:
            ids = {m.id for m in migrations}
            if part not in ids:
                raise CommandError(f"unknown migration {part!r}; known: {', '.join(sorted(ids))}")
            index = [m.id for m in migrations].index(part)
            migrations = migrations[index:]
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            targets = backend.to_rollback(migrations)
            backend.rollback_migrations(targets)
            return [m.id for m in targets]


def status(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    tenants_checked: bool = False,
) -> list[MigrationStatus]:
    """Each migration and whether it is applied."""
    with _migrations(project, env, tenant, url, tenants_checked) as (backend, migrations):
        applied = backend.get_applied_migration_hashes()
        return [MigrationStatus(m.id, m.hash in applied) for m in migrations]


def connect(url: str) -> Any:
    """A psycopg connection for a yoyo-style or libpq URL."""
    import psycopg

    return psycopg.connect(tenants.libpq_url(url), autocommit=True)


def verify(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> list[Problem]:
    """Every expected object the live database lacks or holds differently; empty when it matches."""
    from tmplmig.verify import verify as verify_database  # verify applies through this module

    return verify_database(project, env, tenant, url)


def mark(project: Path, env: str, tenant: str | None = None, url: str | None = None) -> list[str]:
    """Record hand-applied migrations as applied in yoyo, once verify finds nothing amiss."""
    problems = verify(project, env, tenant, url)
    if problems:
        raise CommandError(
            "not marking: the database does not hold what the migrations create:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    with (
        _migrations(project, env, tenant, url) as (backend, migrations),
        backend.lock(timeout=LOCK_TIMEOUT_SECONDS),
    ):
        pending = backend.to_apply(migrations)
        backend.mark_migrations(pending)
        return [m.id for m in pending]


def parse_target(text: str) -> tuple[str, str | None]:
    """``ENV`` or ``ENV:TENANT`` as (environment, tenant)."""
    env, _, tenant = text.partition(":")
    return env, tenant or None


def diff(project: Path, old: str, new: str) -> str:
    """Unified diff of the rendered SQL of two ``ENV[:TENANT]`` targets, headers left out."""
    return unified_diff(
        reviewable_sql(render_bundle(project, *parse_target(old))),
        reviewable_sql(render_bundle(project, *parse_target(new))),
        old,
        new,
    )


def lint(project: Path, env: str, tenant: str | None = None) -> list[Finding]:
    """Findings of :mod:`tmplmig.lint` on the bundle rendered for ``env`` (and ``tenant``)."""
    try:
        from tmplmig.lint import lint_bundle  # pglast comes with the optional lint extra
    except ImportError as exc:
        raise CommandError(f"lint needs pglast: pip install 'tmplmig[lint]' ({exc})") from None

    config = load_config(project, env, tenant)
    parts = render_all(project, config)
    return lint_bundle(parts, build_bundle(parts, config))
