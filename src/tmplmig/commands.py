"""One plain function per CLI verb, usable from Python and tests alike."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList

from tmplmig import tenants
from tmplmig.bundle import (
    build_bundle,
    bundle_contents,
    check_bundle,
    plan_contents,
    reviewable_sql,
    unified_diff,
    write_bundle,
)
from tmplmig.config import LoadedConfig, load_config
from tmplmig.locking import run_with_lock_discipline
from tmplmig.migrating import record
from tmplmig.migrating.plan import PartPlan, PartState, part_states
from tmplmig.migrating.plan import plan as plan_changes
from tmplmig.parts import Part, render_all
from tmplmig.yoyo_glue import selected

if TYPE_CHECKING:
    from tmplmig.lint import Finding
    from tmplmig.verify import Problem

logger = logging.getLogger(__name__)

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
        backend = get_backend(target)
        try:
            with _READING_MIGRATIONS:
                migrations = read_migrations(str(project / "migrations"))
                for migration in migrations:
                    migration.load()
            yield backend, migrations
        finally:
            backend.connection.close()


def _states(
    backend: DatabaseBackend, migrations: MigrationList, config: LoadedConfig, project: Path
) -> list[PartState]:
    """Each part against yoyo's tracking, the record and today's render."""
    hashes = backend.get_applied_migration_hashes()
    applied = {m.id for m in migrations if m.hash in hashes}
    rec = record.read(backend.connection)
    rec.check()
    settings = config.settings.model_dump(mode="json")
    return part_states(render_all(project, config), applied, rec, settings)


def _adopt_unrecorded(
    project: Path,
    config: LoadedConfig,
    url: str | None,
    backend: DatabaseBackend,
    states: list[PartState],
) -> list[PartState]:
    """Record parts applied before the record existed, once verify confirms the live database
    holds exactly today's render; otherwise leave them as "no record" with a warning."""
    unrecorded = [s for s in states if s.state == "no record"]
    if not unrecorded:
        return states
    problems = verify(project, config.env, config.tenant, url)
    if problems:
        logger.warning(
            "%s: applied before tmplmig recorded applies, and the database differs from today's "
            "render (%d problem(s), see tmplmig verify): left without a record",
            ", ".join(s.id for s in unrecorded),
            len(problems),
        )
        return states
    conn = backend.connection
    recorder = record.Recorder.of(config)
    with conn.transaction():
        for state in unrecorded:
            recorder.write_part(conn, state.part)
    return [PartState(s.part, "applied") if s.state == "no record" else s for s in states]


def _checked_plans(
    project: Path,
    config: LoadedConfig,
    url: str | None,
    at_url: bool,
    backend: DatabaseBackend,
    states: list[PartState],
) -> list[PartPlan]:
    """The plan from the record to today's render, once the record is known to describe the
    live database: every part recorded, and nothing changed outside tmplmig."""
    plans = plan_changes(states, config.settings.model_dump(mode="json"))
    if not plans:
        return plans
    unrecorded = [s.id for s in states if s.state == "no record"]
    if unrecorded:
        raise CommandError(
            f"not planning: {', '.join(unrecorded)} applied without a record and the database "
            "differs from today's render; see tmplmig verify, then tmplmig mark"
        )
    _refuse_drift(project, config, url, at_url, plans, record.read(backend.connection))
    return plans


def _refuse_drift(
    project: Path,
    config: LoadedConfig,
    url: str | None,
    at_url: bool,
    plans: list[PartPlan],
    rec: record.Record,
) -> None:
    """Refuse to plan over a database changed outside tmplmig since its record was written.

    Differences in objects the plan itself rebuilds are left to it: they are what an
    interrupted evolve (an index swap cut short) leaves behind, and the plan converges them.
    """
    from tmplmig.verify import drift  # verify applies through this module

    live_url = (
        database_url(url)
        if at_url
        else target_database(project, config.env, config.tenant, url, tenants_checked=True)
    )
    touched = " ".join(" ".join(a.statements) for p in plans for a in p.actions)
    problems = [p for p in drift(live_url, rec) if f'"{p.name.rsplit(".", 1)[-1]}"' not in touched]
    if problems:
        raise CommandError(
            "not planning: the database differs from what tmplmig recorded as applied"
            " (changed outside tmplmig?):\n  " + "\n  ".join(str(p) for p in problems)
        )


@contextmanager
def _second_connection(backend: DatabaseBackend) -> Iterator[psycopg.Connection[Any]]:
    """Another connection to the tracking schema of ``backend``: work that may be cut short
    (a backend terminated mid-evolve) must not take the holder of yoyo's lock row with it."""
    schema = backend.connection.execute("SELECT current_schema()").fetchone()[0]
    with psycopg.connect(tenants.libpq_url(str(backend.uri)), autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield conn


def _evolve(backend: DatabaseBackend, plans: list[PartPlan], config: LoadedConfig) -> None:
    """Run each part's plan and record its new render: a transactional part in one
    transaction; otherwise step by step, each recorded as it completes, so an interrupted
    evolve is planned again from where it stopped."""
    if plans:
        with _second_connection(backend) as conn:
            _run_plans(conn, plans, config)


def _run_plans(conn: psycopg.Connection[Any], plans: list[PartPlan], config: LoadedConfig) -> None:
    recorder = record.Recorder.of(config)
    ddl = config.settings.ddl
    for p in plans:
        positions = {s.identity: i for i, s in enumerate(p.part.steps)}
        if p.part.transactional:
            with conn.transaction():
                for action in p.actions:
                    run_with_lock_discipline(conn, action.statements, ddl, action.label)
                recorder.write_part(conn, p.part)
            continue
        for action in p.actions:
            for statement in action.statements:
                run_with_lock_discipline(conn, [statement], ddl, action.label)
            if action.identity in positions:
                position = positions[action.identity]
                recorder.write(conn, p.part.id, p.part.steps[position], position)
            else:
                record.forget(conn, p.part.id, [action.identity])
        recorder.write_part(conn, p.part)


def apply(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    tenants_checked: bool = False,
    at_url: bool = False,
) -> list[str]:
    """Apply every pending migration, then evolve applied parts whose render changed since.

    Returns the ids applied, and ``<id> (evolved)`` for each part brought to today's render.
    ``tenants_checked``: the caller (a fan-out) has already checked all tenants together.
    ``at_url``: migrate ``url`` itself, not the database the tenant's placement names.
    """
    config = load_config(project, env, tenant)
    with (
        _migrations(project, env, tenant, url, tenants_checked, at_url) as (backend, migrations),
        backend.lock(timeout=LOCK_TIMEOUT_SECONDS),
    ):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        states = _states(backend, migrations, config, project)
        if not at_url:
            states = _adopt_unrecorded(project, config, url, backend, states)
        plans = _checked_plans(project, config, url, at_url, backend, states)
        _evolve(backend, plans, config)
        return [m.id for m in pending] + [f"{p.part.id} (evolved)" for p in plans]


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
) -> list[PartState]:
    """Each part: pending, applied, applied and changed since (with what changed), or applied
    with no record."""
    config = load_config(project, env, tenant)
    with _migrations(project, env, tenant, url, tenants_checked) as (backend, migrations):
        return _states(backend, migrations, config, project)


def plan(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    tenants_checked: bool = False,
) -> dict[str, str]:
    """The SQL that takes the applied parts from their record to today's render, as a
    psql-runnable bundle (file name to text, MANIFEST included); empty when nothing changed.

    Raises :class:`tmplmig.migrating.plan.UnsafeChange` when a change has no safe rule.
    """
    config = load_config(project, env, tenant)
    with _migrations(project, env, tenant, url, tenants_checked) as (backend, migrations):
        states = _states(backend, migrations, config, project)
        plans = _checked_plans(project, config, url, False, backend, states)
    return plan_contents(plans, config) if plans else {}


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
    """Record hand-applied migrations (a bundle, or a plan run with psql) as applied in yoyo and
    today's render in the record, once verify finds nothing amiss."""
    problems = verify(project, env, tenant, url)
    if problems:
        raise CommandError(
            "not marking: the database does not hold what the migrations create:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    config = load_config(project, env, tenant)
    with (
        _migrations(project, env, tenant, url) as (backend, migrations),
        backend.lock(timeout=LOCK_TIMEOUT_SECONDS),
    ):
        pending = backend.to_apply(migrations)
        backend.mark_migrations(pending)
        conn, recorder = backend.connection, record.Recorder.of(config)
        with conn.transaction():
            for part in render_all(project, config):
                recorder.write_part(conn, part)
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
