"""One plain function per CLI verb, usable from Python and tests alike.

Each verb resolves its :class:`~tmplmig.migrating.target.Target` once and passes it down.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from yoyo import read_migrations
from yoyo.backends import DatabaseBackend
from yoyo.migrations import MigrationList

from tmplmig.database import orphans, presence, runlock
from tmplmig.database.locking import RESET_ROLE, run_with_lock_discipline, set_role_sql
from tmplmig.database.urls import application_name, connect, ensure_schema, named
from tmplmig.migrating import record
from tmplmig.migrating.plan import (
    PartPlan,
    PartState,
    Renames,
    UnsafeChange,
    part_states,
    plan_contents,
    plan_part,
)
from tmplmig.migrating.plan import plan as plan_changes
from tmplmig.migrating.rollback_guard import RollbackBlocked, find_blockers
from tmplmig.migrating.target import CommandError, Target, for_rendering, resolve
from tmplmig.migrating.tenants import tenant_names
from tmplmig.migrating.yoyo_bridge import open_backend, rendering_for
from tmplmig.rendering.config import Settings, available_envs, duration_seconds
from tmplmig.rendering.facts import DbObject
from tmplmig.rendering.parts import Part, part_ids, render_all, render_part, statement_sql
from tmplmig.reviewing.bundle import (
    build_bundle,
    bundle_contents,
    check_bundle,
    reviewable_sql,
    unified_diff,
    write_bundle,
)
from tmplmig.reviewing.verify import check_database

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from tmplmig.reviewing.lint import Finding
    from tmplmig.reviewing.review import PartSince, SinceApplied
    from tmplmig.reviewing.verify import Problem

#: how long a command waits for yoyo's migration lock (held by another run on the same
#: database) before giving up; the DDL's own lock waits are ``ddl.lock_timeout`` in config
YOYO_LOCK_WAIT_SECONDS = 60
#: verbs whose runs change a target; a backend of one of them outliving its run is an orphan
MIGRATING_VERBS = ("apply", "rollback", "mark")


def render(project: Path, env: str, tenant: str | None = None) -> list[Part]:
    """Render every part for an environment (and tenant) without touching a database."""
    return render_all(project, for_rendering(project, env, tenant).config)


def _bundle(target: Target, since: SinceApplied | None = None) -> dict[str, str]:
    from tmplmig.reviewing.review import REVIEW, review_markdown  # pglast: not for apply

    parts = render_all(target.project, target.config)
    contents = bundle_contents(parts, target.config)
    files = build_bundle(parts, target.config)
    contents[REVIEW] = review_markdown(parts, files, target.config, since)
    return contents


def render_bundle(
    project: Path,
    env: str,
    tenant: str | None = None,
    since_applied: bool = False,
    url: str | None = None,
) -> dict[str, str]:
    """The DBA review bundle as file name to text; with ``since_applied``, REVIEW.md also says
    what changed since the last apply recorded in the target's database (at ``url``)."""
    if not since_applied:
        return _bundle(for_rendering(project, env, tenant))
    target = resolve(project, env, tenant, url)
    return _bundle(target, since_applied_of(target))


def write_render(
    project: Path,
    env: str,
    out: Path,
    tenant: str | None = None,
    since_applied: bool = False,
    url: str | None = None,
) -> list[Path]:
    """Write the bundle for review into ``out``."""
    return write_bundle(render_bundle(project, env, tenant, since_applied, url), out)


def check_render(
    project: Path,
    env: str,
    committed: Path,
    tenant: str | None = None,
    since_applied: bool = False,
    url: str | None = None,
) -> str:
    """Unified diff between a committed bundle and a fresh render; empty when up to date."""
    return check_bundle(render_bundle(project, env, tenant, since_applied, url), committed)


def _part_since(state: PartState, renames: Renames, settings: dict[str, Any]) -> PartSince:
    """One part for REVIEW.md: each step new, changed or gone with the plan's actions for it,
    or the plan's refusals."""
    from tmplmig.reviewing.review import PartSince, StepSince

    actions: dict[str, list[str]] = {}
    refusals: tuple[str, ...] = ()
    if state.state == "changed":
        try:
            for action in plan_part(state, renames, settings).actions:
                actions.setdefault(action.identity, []).append(action.label)
        except UnsafeChange as exc:
            refusals = tuple(exc.lines)
    elif state.state == "no record":
        refusals = ("applied without a record: see tmplmig verify, then tmplmig mark",)
    words = {"added": "new", "changed": "changed", "removed": "gone"}
    steps = tuple(
        StepSince(words[c.change], step.name, tuple(actions.get(c.identity, ())))
        for c in state.steps
        if (step := c.new or c.old) is not None
    )
    return PartSince(state.id, state.label, steps, refusals)


def since_applied_of(target: Target) -> SinceApplied:
    """What changed between the last apply recorded in ``target``'s database and today's
    render, and what ``tmplmig plan`` would do about it. It writes nothing ``status`` does not
    (yoyo's lock table, a tenant's tracking schema), and leaves to ``plan`` the drift check
    it runs first in a scratch database."""
    from tmplmig.reviewing.review import SinceApplied

    with _migrations(target, "render") as (backend, migrations, parts):
        states = _states(backend, migrations, parts, target)
    settings = target.config.settings.model_dump(mode="json")
    recorded = {
        record.sha256(json.dumps(s.record.settings, sort_keys=True)): s.record.settings
        for s in states
        if s.record is not None
    }
    changes = {str(c) for old in recorded.values() for c in record.config_changes(old, settings)}
    renames = Renames.between(states, settings)
    return SinceApplied(
        tuple(sorted(recorded)),
        tuple(sorted(changes)),
        tuple(_part_since(s, renames, settings) for s in states),
    )


#: yoyo keeps a class-level registry of migrations by id that resolves ``__depends__`` while
#: loading: threads of a fan-out must not interleave reading and loading their lists.
_READING_MIGRATIONS = threading.Lock()


@contextmanager
def _migrations(
    target: Target, verb: str
) -> Iterator[tuple[DatabaseBackend, MigrationList, list[Part]]]:
    """yoyo's backend for the target's database, its migrations, rendered for its config, and
    every part as rendered then (in id order); every connection is named after ``verb`` and
    the target (see :func:`application_name`)."""
    if target.tracking_schema is not None and target.yoyo_url is not None:
        ensure_schema(
            named(target.yoyo_url, verb, target.env, target.tenant), target.tracking_schema
        )
    with rendering_for(target.config) as rendered:
        backend = open_backend(named(target.tracked_url, verb, target.env, target.tenant))
        try:
            with _READING_MIGRATIONS:
                migrations = read_migrations(str(target.project / "migrations"))
                for migration in migrations:
                    migration.load()
            parts = [
                rendered.get(pid) or render_part(target.project, pid, target.config)
                for pid in part_ids(target.project / "templates")
            ]
            yield backend, migrations, parts
        finally:
            backend.connection.close()


@contextmanager
def _locked(backend: DatabaseBackend, target: Target) -> Iterator[None]:
    """yoyo's lock, guarded so that a killed holder's row goes (:mod:`runlock`); once it is
    held, backends that earlier runs of the target left executing are settled (:mod:`orphans`)."""
    conn = backend.connection
    runlock.install_guard(conn)
    with ExitStack() as held:
        with runlock.reporting_warnings(conn):
            held.enter_context(backend.lock(YOYO_LOCK_WAIT_SECONDS))
        names = [application_name(verb, target.env, target.tenant) for verb in MIGRATING_VERBS]
        orphans.settle(conn, names, duration_seconds(target.config.settings.ddl.orphan_wait))
        yield


def _states(
    backend: DatabaseBackend, migrations: MigrationList, parts: list[Part], target: Target
) -> list[PartState]:
    """Each part against yoyo's tracking, the record and today's render; a part whose
    recorded objects the catalog lacks is ``missing`` (one catalog query for all)."""
    hashes = backend.get_applied_migration_hashes()
    applied = {m.id for m in migrations if m.hash in hashes}
    rec = record.read(backend.connection)
    rec.check()
    settings = target.config.settings.model_dump(mode="json")
    states = part_states(parts, applied, rec, settings)
    recorded = {s.id: _recorded_objects(s.record) for s in states if s.record is not None}
    gone = set(presence.missing(backend.connection, (o for os in recorded.values() for o in os)))
    return [
        replace(s, state="missing" if s.state == "applied" else s.state, missing=lost)
        if (lost := tuple(o for o in recorded.get(s.id, ()) if o in gone))
        else s
        for s in states
    ]


def _recorded_objects(part: record.PartRecord) -> tuple[DbObject, ...]:
    """The objects the record says ``part``'s steps made (rows written before objects were
    recorded name none)."""
    return tuple(o for s in part.steps for o in (s.objects or ()))


def _refuse_missing(states: list[PartState]) -> None:
    """Stop before planning or applying over parts whose recorded objects are all gone (a
    rollback run by hand); some gone is drift, which the drift check lists."""
    lost = [
        s
        for s in states
        if s.missing
        and s.record is not None
        and set(s.missing) >= set(presence.checked(_recorded_objects(s.record)))
    ]
    if lost:
        raise CommandError(
            "the record says these parts are applied, but their objects are gone (rolled back"
            " by hand?):\n  "
            + "\n  ".join(f"{s.id}: {', '.join(map(str, s.missing))}" for s in lost)
            + "\nif they were rolled back: tmplmig mark --rolled-back --part "
            + lost[0].id
        )


def _adopt_unrecorded(
    target: Target, backend: DatabaseBackend, states: list[PartState]
) -> list[PartState]:
    """Record parts applied before the record existed, once verify confirms the live database
    holds exactly today's render; otherwise leave them as "no record" with a warning."""
    unrecorded = [s for s in states if s.state == "no record"]
    if not unrecorded:
        return states
    problems = _verify(target)
    if problems:
        logger.warning(
            "%s: applied before tmplmig recorded applies, and the database differs from today's "
            "render (%d problem(s), see tmplmig verify): left without a record",
            ", ".join(s.id for s in unrecorded),
            len(problems),
        )
        return states
    conn, recorder = backend.connection, record.Recorder.of(target.config)
    with conn.transaction():
        for state in unrecorded:
            recorder.write_part(conn, state.part)
    return [PartState(s.part, "applied") if s.state == "no record" else s for s in states]


def _replaying(rec: record.Record, direction: str) -> Callable[[str], None]:
    """Run the recorded apply SQL (or, newest first, the rollback SQL) at a scratch URL, each
    statement after its recorded guard (roles are cluster-wide: they exist already)."""
    steps = rec.replayed()

    def run(url: str) -> None:
        with connect(url) as conn:
            for s in steps if direction == "apply" else reversed(steps):
                g = s.guarded(direction)
                if g is not None:
                    conn.execute(set_role_sql(s.role))
                    if g.guard is None or (conn.execute(g.guard).fetchone() or (False,))[0]:
                        conn.execute(g.sql)
                    conn.execute(RESET_ROLE)

    return run


def _refuse_drift(target: Target, plans: list[PartPlan], rec: record.Record) -> None:
    """Refuse to plan over a database changed outside tmplmig since its record was written:
    the live database is checked against the recorded SQL replayed in a scratch database.

    Differences in objects the plan itself rebuilds are left to it: they are what an
    interrupted evolve (an index swap cut short) leaves behind, and the plan converges them.
    """
    found = check_database(
        target.tracked_url,
        apply_at=_replaying(rec, "apply"),
        rollback_at=_replaying(rec, "rollback"),
        shared=target.scratch,
        naming=rec.naming(),
    )
    touched = " ".join(statement_sql(s) for p in plans for a in p.actions for s in a.statements)
    problems = [p for p in found if f'"{p.name.rsplit(".", 1)[-1]}"' not in touched]
    if problems:
        raise CommandError(
            "not planning: the database differs from what tmplmig recorded as applied"
            " (changed outside tmplmig?):\n  " + "\n  ".join(str(p) for p in problems)
        )


def _checked_plans(
    target: Target, backend: DatabaseBackend, states: list[PartState]
) -> list[PartPlan]:
    """The plan from the record to today's render, once the record is known to describe the
    live database: every part recorded, and nothing changed outside tmplmig."""
    _refuse_missing(states)
    plans = plan_changes(states, target.config.settings.model_dump(mode="json"))
    if not plans:
        return plans
    unrecorded = [s.id for s in states if s.state == "no record"]
    if unrecorded:
        raise CommandError(
            f"not planning: {', '.join(unrecorded)} applied without a record and the database "
            "differs from today's render; see tmplmig verify, then tmplmig mark"
        )
    _refuse_drift(target, plans, record.read(backend.connection))
    return plans


@contextmanager
def _second_connection(backend: DatabaseBackend) -> Iterator[psycopg.Connection[Any]]:
    """Another connection to the tracking schema of ``backend``: work that may be cut short
    (a backend terminated mid-evolve) must not take the holder of yoyo's lock row with it."""
    row = backend.connection.execute("SELECT current_schema()").fetchone()
    with connect(str(backend.uri)) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(row[0])))
        yield conn


def _evolve(backend: DatabaseBackend, plans: list[PartPlan], target: Target) -> None:
    """Run each part's plan and record its new render: a transactional part in one
    transaction; otherwise action by action, each recorded as it completes, so an
    interrupted evolve is planned again from where it stopped."""
    if not plans:
        return
    recorder, ddl = record.Recorder.of(target.config), target.config.settings.ddl
    with _second_connection(backend) as conn:
        for p in plans:
            if p.part.transactional:
                with conn.transaction():
                    for action in p.actions:
                        run_with_lock_discipline(
                            conn, action.statements, ddl, action.label, action.role, p.part.id
                        )
                    recorder.write_part(conn, p.part)
                continue
            positions = {s.identity: i for i, s in enumerate(p.part.steps)}
            for action in p.actions:
                for statement in action.statements:
                    run_with_lock_discipline(
                        conn, [statement], ddl, action.label, action.role, p.part.id
                    )
                if action.identity in positions:
                    position = positions[action.identity]
                    recorder.write(conn, p.part.id, p.part.steps[position], position)
                else:
                    record.forget(conn, p.part.id, [action.identity])
            recorder.write_part(conn, p.part)


def apply_to(target: Target) -> list[str]:
    """Evolve the applied parts of ``target`` whose render changed since they were applied,
    then apply every pending migration; return the ids applied and ``<id> (evolved)`` for
    each part evolved. Evolving first lets parts applied after a partial rollback build on
    the renamed objects of the parts before them."""
    loaded = _migrations(target, "apply")
    with loaded as (backend, migrations, parts), _locked(backend, target):
        states = _adopt_unrecorded(target, backend, _states(backend, migrations, parts, target))
        plans = _checked_plans(target, backend, states)
        _evolve(backend, plans, target)
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return [f"{p.part.id} (evolved)" for p in plans] + [m.id for m in pending]


def apply(project: Path, env: str, tenant: str | None = None, url: str | None = None) -> list[str]:
    """Apply every pending migration and evolve what changed; return what was done."""
    return apply_to(resolve(project, env, tenant, url))


def rollback_to(target: Target, part: str | None = None) -> list[str]:
    """Roll back every applied migration of ``target``, or ``part`` and those after it."""
    with _migrations(target, "rollback") as (backend, migrations, rendered):
        if part is not None:
            ids = [m.id for m in migrations]
            if part not in ids:
                raise CommandError(f"unknown migration {part!r}; known: {', '.join(sorted(ids))}")
            migrations = migrations[ids.index(part) :]
        with _locked(backend, target):
            targets = backend.to_rollback(migrations)
            _refuse_blocked_rollback(target, backend, rendered, [m.id for m in targets])
            backend.rollback_migrations(targets)
            return [m.id for m in targets]


@dataclass(frozen=True)
class _AppliedPart:
    """A part as it was applied: rendered from the config its record holds (today's config
    where there is no record), and the owner role of that config."""

    part: Part
    owner: str | None

    @property
    def id(self) -> str:
        return self.part.id


def _as_applied(
    target: Target, backend: DatabaseBackend, rendered: list[Part]
) -> list[_AppliedPart]:
    """Every part rendered as it was applied, so a rollback after a YAML edit checks the
    objects that are there, not those today's config names."""
    rec = record.read(backend.connection)
    parts = []
    for part in rendered:
        recorded = rec.parts.get(part.id)
        if recorded is None or not recorded.settings:
            parts.append(_AppliedPart(part, None))
            continue
        settings = Settings.model_validate(recorded.settings)
        if settings != target.config.settings:  # edited since: render as it was applied
            part = render_part(target.project, part.id, replace(target.config, settings=settings))
        parts.append(_AppliedPart(part, settings.roles.owner))
    return parts


def _refuse_blocked_rollback(
    target: Target, backend: DatabaseBackend, rendered: list[Part], ids: list[str]
) -> None:
    """Raise :class:`RollbackBlocked` when anything would stop rolling back ``ids`` part-way."""
    if not ids:
        return
    parts = _as_applied(target, backend, rendered)
    owner = next((p.owner for p in parts if p.owner), target.config.settings.roles.owner)
    blockers = find_blockers(
        backend.connection, owner, [p.part for p in parts], [p.part for p in parts if p.id in ids]
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


def status_of(target: Target) -> list[PartState]:
    """Each part of ``target``: pending, applied, applied and changed since (with what
    changed), or applied with no record."""
    with _migrations(target, "status") as (backend, migrations, parts):
        return _states(backend, migrations, parts, target)


def status(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> list[PartState]:
    """Each part and where it stands against the record and today's config."""
    return status_of(resolve(project, env, tenant, url))


def plan_of(target: Target) -> dict[str, str]:
    """The SQL that takes the applied parts of ``target`` from their record to today's render,
    as a psql-runnable bundle (file name to text, MANIFEST included); empty when nothing
    changed. Raises :class:`~tmplmig.migrating.plan.UnsafeChange` for a change with no rule."""
    with _migrations(target, "plan") as (backend, migrations, parts):
        plans = _checked_plans(target, backend, _states(backend, migrations, parts, target))
    return plan_contents(plans, target.config) if plans else {}


def plan(
    project: Path, env: str, tenant: str | None = None, url: str | None = None
) -> dict[str, str]:
    """The plan bundle for an environment (and tenant); see :func:`plan_of`."""
    return plan_of(resolve(project, env, tenant, url))


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
    """Record hand-applied migrations (a bundle, or a plan run with psql) as applied in yoyo,
    and today's render in the record, once verify finds nothing amiss."""
    target = resolve(project, env, tenant, url)
    problems = _verify(target)
    if problems:
        raise CommandError(
            "not marking: the database does not hold what the migrations create:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    loaded = _migrations(target, "mark")
    with loaded as (backend, migrations, parts), _locked(backend, target):
        pending = backend.to_apply(migrations)
        backend.mark_migrations(pending)
        conn, recorder = backend.connection, record.Recorder.of(target.config)
        with conn.transaction():
            for part in parts:
                recorder.write_part(conn, part)
        return [m.id for m in pending]


#: objects other databases or tenants may share: a rollback keeps them while they are used
#: elsewhere, so ``mark --rolled-back`` does not ask for them to be gone
SHARED_KINDS = frozenset({"role", "extension"})


def mark_rolled_back_of(target: Target, part: str | None = None) -> list[str]:
    """Record a rollback run by hand (the bundle's rollback files with psql): every applied
    part, or ``part`` and those after it, once the catalog holds none of the objects their
    record names (roles and extensions aside: they may be kept for others); return the ids
    no longer recorded as applied. The inverse of :func:`mark`."""
    loaded = _migrations(target, "mark")
    with loaded as (backend, migrations, parts), _locked(backend, target):
        if part is not None:
            ids = [m.id for m in migrations]
            if part not in ids:
                raise CommandError(f"unknown migration {part!r}; known: {', '.join(sorted(ids))}")
            migrations = migrations[ids.index(part) :]
        applied = backend.to_rollback(migrations)
        conn = backend.connection
        rec = record.read(conn)
        rec.check()
        named = {
            pid: _recorded_objects(rec.parts[pid]) if pid in rec.parts else ()
            for pid in (m.id for m in applied)
        }
        unrecorded = [pid for pid, objects in named.items() if not objects]
        if unrecorded:
            # rows written before objects were recorded: today's render names them
            rendered = {p.id: p for p in parts}
            for pid in unrecorded:
                named[pid] = tuple(o for s in rendered[pid].steps for o in s.objects)
        checked = [o for objects in named.values() for o in objects if o.kind not in SHARED_KINDS]
        still = presence.present(conn, checked)
        left = {pid: [o for o in objects if still.get(o)] for pid, objects in named.items()}
        if any(left.values()):
            raise CommandError(
                "not marking as rolled back: the database still holds objects of these parts:\n  "
                + "\n  ".join(
                    f"{pid}: {', '.join(map(str, objects))}"
                    for pid, objects in left.items()
                    if objects
                )
            )
        backend.unmark_migrations(applied)
        with conn.transaction():
            for pid in named:
                if pid in rec.parts:
                    record.forget(conn, pid, [s.step for s in rec.parts[pid].steps])
        return [m.id for m in applied]


def mark_rolled_back(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    part: str | None = None,
) -> list[str]:
    """Record a rollback run by hand; see :func:`mark_rolled_back_of`."""
    return mark_rolled_back_of(resolve(project, env, tenant, url), part)


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
    from tmplmig.reviewing.lint import SquawkMissing, lint_bundle

    config = for_rendering(project, env, tenant).config
    parts = render_all(project, config)
    try:
        return lint_bundle(parts, build_bundle(parts, config))
    except SquawkMissing as exc:
        raise CommandError(str(exc)) from None


def lint_envs(
    project: Path, env: str | None = None, tenant: str | None = None
) -> dict[str, list[Finding]]:
    """Findings per ``ENV`` or ``ENV:TENANT``: ``env`` (default: every ``config/<env>.yaml``),
    each without a tenant and with every tenant file (or only ``tenant`` when given)."""
    tenants = [tenant] if tenant else [None, *tenant_names(project)]
    return {
        f"{e}:{t}" if t else e: lint(project, e, t)
        for e in ([env] if env else available_envs(project))
        for t in tenants
    }
