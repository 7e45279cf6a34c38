"""One plain function per CLI verb, usable from Python and tests alike.

Each verb resolves its :class:`~tmplmig.migrating.target.Target` once and passes it down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from yoyo import read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList

from tmplmig.database import orphans, runlock
from tmplmig.database.urls import application_name, ensure_schema, named
from tmplmig.migrating.rollback_guard import RollbackBlocked, find_blockers
from tmplmig.migrating.target import CommandError, Target, for_rendering, resolve
from tmplmig.migrating.yoyo_bridge import open_backend, rendering_for
from tmplmig.rendering.config import available_envs, duration_seconds
from tmplmig.rendering.parts import Part, render_all
from tmplmig.reviewing.bundle import (
    build_bundle,
    bundle_contents,
    check_bundle,
    reviewable_sql,
    unified_diff,
    write_bundle,
)
from tmplmig.reviewing.verify import check_database

if TYPE_CHECKING:
    from tmplmig.reviewing.lint import Finding
    from tmplmig.reviewing.verify import Problem

#: how long a command waits for yoyo's migration lock (held by another run on the same
#: database) before giving up; the DDL's own lock waits are ``ddl.lock_timeout`` in config
YOYO_LOCK_WAIT_SECONDS = 60
#: verbs whose runs change a target; a backend of one of them outliving its run is an orphan
MIGRATING_VERBS = ("apply", "rollback", "mark")


def render(project: Path, env: str, tenant: str | None = None) -> list[Part]:
    """Render every part for an environment (and tenant) without touching a database."""
    return render_all(project, for_rendering(project, env, tenant).config)


def _bundle(target: Target) -> dict[str, str]:
    return bundle_contents(render_all(target.project, target.config), target.config)


def render_bundle(project: Path, env: str, tenant: str | None = None) -> dict[str, str]:
    """The DBA review bundle as file name to text."""
    return _bundle(for_rendering(project, env, tenant))


def write_render(project: Path, env: str, out: Path, tenant: str | None = None) -> list[Path]:
    """Write the bundle for review into ``out``."""
    return write_bundle(render_bundle(project, env, tenant), out)


def check_render(project: Path, env: str, committed: Path, tenant: str | None = None) -> str:
    """Unified diff between a committed bundle and a fresh render; empty when up to date."""
    return check_bundle(render_bundle(project, env, tenant), committed)


#: yoyo keeps a class-level registry of migrations by id that resolves ``__depends__`` while
#: loading: threads of a fan-out must not interleave reading and loading their lists.
_READING_MIGRATIONS = threading.Lock()


@contextmanager
def _migrations(target: Target, verb: str) -> Iterator[tuple[DatabaseBackend, MigrationList]]:
    """yoyo's backend for the target's database and its migrations, rendered for its config;
    every connection is named after ``verb`` and the target (see :func:`application_name`)."""
    if target.tracking_schema is not None and target.yoyo_url is not None:
        ensure_schema(
            named(target.yoyo_url, verb, target.env, target.tenant), target.tracking_schema
        )
    with rendering_for(target.config):
        backend = open_backend(named(target.tracked_url, verb, target.env, target.tenant))
        try:
            with _READING_MIGRATIONS:
                migrations = read_migrations(str(target.project / "migrations"))
                for migration in migrations:
                    migration.load()
            yield backend, migrations
        finally:
            backend.connection.close()


@contextmanager
def _locked(backend: DatabaseBackend, target: Target) -> Iterator[None]:
    """yoyo's lock, guarded so that a killed holder's row goes (:mod:`runlock`); once it is
    held, backends that earlier runs of the target left executing are settled (:mod:`orphans`)."""
    conn = backend.connection
    runlock.install_guard(conn)
    runlock.report_warnings(conn)
    with backend.lock(YOYO_LOCK_WAIT_SECONDS):
        names = [application_name(verb, target.env, target.tenant) for verb in MIGRATING_VERBS]
        orphans.settle(conn, names, duration_seconds(target.config.settings.ddl.orphan_wait))
        yield


@dataclass(frozen=True)
class MigrationStatus:
    """Whether one migration is recorded as applied."""

    id: str
    applied: bool


def apply_to(target: Target) -> list[str]:
    """Apply every pending migration to ``target``; return the ids applied."""
    with _migrations(target, "apply") as (backend, migrations), _locked(backend, target):
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return [m.id for m in pending]


def apply(project: Path, env: str, tenant: str | None = None, url: str | None = None) -> list[str]:
    """Apply every pending migration; return the ids applied."""
    return apply_to(resolve(project, env, tenant, url))


def rollback_to(target: Target, part: str | None = None) -> list[str]:
    """Roll back every applied migration of ``target``, or ``part`` and those after it."""
    with _migrations(target, "rollback") as (backend, migrations):
        if part is not None:
            ids = [m.id for m in migrations]
            if part not in ids:
                raise CommandError(f"unknown migration {part!r}; known: {', '.join(sorted(ids))}")
            migrations = migrations[ids.index(part) :]
        with _locked(backend, target):
            targets = backend.to_rollback(migrations)
            _refuse_blocked_rollback(target, backend, [m.id for m in targets])
            backend.rollback_migrations(targets)
            return [m.id for m in targets]


def _refuse_blocked_rollback(target: Target, backend: DatabaseBackend, ids: list[str]) -> None:
    """Raise :class:`RollbackBlocked` when anything would stop rolling back ``ids`` part-way."""
    if not ids:
        return
    parts = render_all(target.project, target.config)
    blockers = find_blockers(
        backend.connection,
        target.config.settings.roles.owner,
        parts,
        [p for p in parts if p.id in ids],
    )
    if blockers:
        raise RollbackBlocked(blockers)


def rollback(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    part: str | None = None,
) -> list[str]:
    """Roll back all applied migrations, or ``part`` and every migration after it."""
    return rollback_to(resolve(project, env, tenant, url), part)


def status_of(target: Target) -> list[MigrationStatus]:
    """Each migration of ``target`` and whether it is applied."""
    with _migrations(target, "status") as (backend, migrations):
        applied = backend.get_applied_migration_hashes()
        return [MigrationStatus(m.id, m.hash in applied) for m in migrations]


def status(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> list[MigrationStatus]:
    """Each migration and whether it is applied."""
    return status_of(resolve(project, env, tenant, url))


def _verify(target: Target) -> list[Problem]:
    """Check the target's database against a scratch apply of the same target elsewhere."""
    return check_database(
        named(target.tracked_url, "verify", target.env, target.tenant),
        apply_at=lambda url: apply_to(target.at(url)),
        rollback_at=lambda url: rollback_to(target.at(url)),
    )


def verify(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> list[Problem]:
    """Every expected object the live database lacks or holds differently; empty when it matches."""
    return _verify(resolve(project, env, tenant, url))


def mark(project: Path, env: str, tenant: str | None = None, url: str | None = None) -> list[str]:
    """Record hand-applied migrations as applied in yoyo, once verify finds nothing amiss."""
    target = resolve(project, env, tenant, url)
    problems = _verify(target)
    if problems:
        raise CommandError(
            "not marking: the database does not hold what the migrations create:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    with _migrations(target, "mark") as (backend, migrations), _locked(backend, target):
        pending = backend.to_apply(migrations)
        backend.mark_migrations(pending)
        return [m.id for m in pending]


def parse_target(text: str) -> tuple[str, str | None]:
    """``ENV`` or ``ENV:TENANT`` as (environment, tenant)."""
    env, _, tenant = text.partition(":")
    return env, tenant or None


def diff(project: Path, *targets: str) -> str:
    """Unified diff of the rendered SQL of two ``ENV[:TENANT]`` targets, headers left out."""
    if len(targets) != 2:
        raise CommandError("diff needs two targets: --env FROM --env TO")
    old, new = targets
    return unified_diff(
        reviewable_sql(render_bundle(project, *parse_target(old))),
        reviewable_sql(render_bundle(project, *parse_target(new))),
        old,
        new,
    )


def new(
    project: Path, name: str, transactional: bool = True, depends: str | None = None
) -> list[Path]:
    """Scaffold the next migration: its yoyo file and its template (see :mod:`.scaffold`)."""
    from tmplmig.migrating.scaffold import new_part  # only `new` needs the macro docs parser

    return new_part(project, name, transactional=transactional, depends=depends)


def lint(project: Path, env: str, tenant: str | None = None) -> list[Finding]:
    """Findings of :mod:`tmplmig.reviewing.lint` on the bundle rendered for ``env``/``tenant``."""
    try:
        from tmplmig.reviewing.lint import lint_bundle  # pglast comes with the optional lint extra
    except ImportError as exc:
        raise CommandError(f"lint needs pglast: pip install 'tmplmig[lint]' ({exc})") from None

    config = for_rendering(project, env, tenant).config
    parts = render_all(project, config)
    return lint_bundle(parts, build_bundle(parts, config))


def lint_envs(
    project: Path, env: str | None = None, tenant: str | None = None
) -> dict[str, list[Finding]]:
    """Findings per environment: ``env``, or every ``config/<env>.yaml`` when not given."""
    return {e: lint(project, e, tenant) for e in ([env] if env else available_envs(project))}
