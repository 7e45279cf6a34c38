"""One plain function per CLI verb, usable from Python and tests alike.

Each verb takes the :class:`~tmplmig.migrating.target.Target` it works on first, as
Alembic's commands take their ``Config``: the caller resolves it once
(:func:`~tmplmig.migrating.target.resolve`, or
:func:`~tmplmig.migrating.target.for_rendering` for a verb that only renders), and the same
function runs for one target or, mapped by :mod:`.fanout`, for every tenant.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from tmplmig.database import presence
from tmplmig.database.locking import RESET_ROLE, one_message, quiet_notes, set_role_sql
from tmplmig.database.urls import application_name, connect, create_schema, named
from tmplmig.migrating import destructive, record, yoyo_tracking
from tmplmig.migrating.states import PartState, part_states, with_causes
from tmplmig.migrating.target import CommandError, Target, for_rendering
from tmplmig.migrating.tenants import tenant_names
from tmplmig.rendering import render_cache
from tmplmig.rendering.config import ConfigError, available_envs, duration_seconds, settings_of
from tmplmig.rendering.facts import DbObject
from tmplmig.rendering.parts import Part, part_ids, render_all, render_part, statement_sql
from tmplmig.rendering.sensitive import policy

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from yoyo.backends import DatabaseBackend
    from yoyo.migrations import MigrationList

    from tmplmig.migrating.plan import Dropped, PartPlan, Renames
    from tmplmig.reviewing.catalog_fingerprint import CatalogMemory
    from tmplmig.reviewing.expected import Naming
    from tmplmig.reviewing.lint import Finding
    from tmplmig.reviewing.review import PartSince, SinceApplied
    from tmplmig.reviewing.verify import Problem

#: how long a command waits for yoyo's migration lock (held by another run on the same
#: database) before giving up; the DDL's own lock waits are ``ddl.lock_timeout`` in config
YOYO_LOCK_WAIT_SECONDS = 60
#: verbs whose runs change a target; a backend of one of them outliving its run is an orphan
MIGRATING_VERBS = ("apply", "rollback", "mark")


def render(target: Target) -> list[Part]:
    """Render every part of ``target`` without touching a database."""
    return render_all(target.project, target.config)


def _rendered(target: Target, keep: bool = True) -> list[Part]:
    """Every part of ``target`` as :func:`render` gives it, read back when a render of the same
    templates and settings is kept (:mod:`~tmplmig.rendering.render_cache`), else rendered and
    (with ``keep``) kept for the commands that follow."""
    kept = render_cache.kept(target.project, target.config) or {}
    ids = part_ids(target.project / "templates")
    if all(pid in kept for pid in ids):
        return [kept[pid] for pid in ids]
    parts = render(target)
    if keep:
        render_cache.keep(target.project, target.config, parts)
    return parts


def _bundle(target: Target, since: SinceApplied | None = None) -> dict[str, str]:
    from tmplmig.reviewing.bundle import build_bundle, bundle_contents  # render verbs only
    from tmplmig.reviewing.review import REVIEW, review_markdown  # pglast: not for apply

    parts = _rendered(target)
    contents = bundle_contents(parts, target.config)
    files = build_bundle(parts, target.config)
    contents[REVIEW] = review_markdown(parts, files, target.config, since)
    return contents


def render_bundle(target: Target, since_applied: bool = False) -> dict[str, str]:
    """The DBA review bundle as file name to text; with ``since_applied``, REVIEW.md also says
    what changed since the last apply recorded in the target's database."""
    return _bundle(target, since_applied_of(target) if since_applied else None)


def write_render(target: Target, out: Path, since_applied: bool = False) -> list[Path]:
    """Write the bundle for review into ``out``."""
    from tmplmig.reviewing.bundle import write_bundle

    return write_bundle(render_bundle(target, since_applied), out)


def check_render(target: Target, committed: Path, since_applied: bool = False) -> str:
    """Unified diff between a committed bundle and a fresh render; empty when up to date."""
    from tmplmig.reviewing.bundle import check_bundle

    return check_bundle(render_bundle(target, since_applied), committed)


def _part_since(
    state: PartState, renames: Renames, settings: dict[str, Any], dropped: Dropped
) -> PartSince:
    """One part for REVIEW.md: each step new, changed or gone with the plan's actions for it,
    or the plan's refusals."""
    from tmplmig.migrating.plan import UnsafeChange, plan_part
    from tmplmig.reviewing.review import PartSince, StepSince

    actions: dict[str, list[str]] = {}
    refusals: tuple[str, ...] = ()
    if state.state == "changed":
        try:
            for action in plan_part(state, renames, settings, dropped).actions:
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
    render, and what ``tmplmig plan`` would do about it. It writes nothing, and leaves to
    ``plan`` the drift check it runs first in a scratch database."""
    from tmplmig.migrating.plan import Dropped, Renames
    from tmplmig.reviewing.review import SinceApplied

    with _reading(target, "render") as (conn, applied, parts):
        states = _states(conn, applied, parts, target)
    settings = target.config.settings.model_dump(mode="json")
    recorded = {
        record.sha256(json.dumps(s.record.settings, sort_keys=True)): s.record.settings
        for s in states
        if s.record is not None
    }
    changes = {str(c) for old in recorded.values() for c in record.config_changes(old, settings)}
    renames = Renames.between(states, settings)
    dropped = Dropped.between(states, renames)
    return SinceApplied(
        tuple(sorted(recorded)),
        tuple(sorted(changes)),
        tuple(_part_since(s, renames, settings, dropped) for s in states),
    )


#: yoyo keeps a class-level registry of migrations by id that resolves ``__depends__`` while
#: loading: threads of a fan-out must not interleave reading and loading their lists.
_READING_MIGRATIONS = threading.Lock()


@contextmanager
def _migrations(
    target: Target, verb: str, before: Callable[[psycopg.Connection[Any]], None] | None = None
) -> Iterator[tuple[DatabaseBackend, MigrationList, list[Part]]]:
    """For a verb of :data:`MIGRATING_VERBS`: yoyo's backend for the target's database, its
    migrations (loaded by :func:`_loaded` within the block, rendered for its config) and every
    part as rendered for it (in id order); every connection is named after ``verb`` and the
    target (see :func:`application_name`).
    ``before`` checks the database before the run's first statement (a tenant's tracking
    schema, yoyo's tables). Verbs that only read use :func:`_reading`."""
    from yoyo import read_migrations  # what only migrating verbs import

    from tmplmig.migrating.yoyo_bridge import open_backend, parts_only, rendering_for

    assert verb in MIGRATING_VERBS, verb
    schema = target.tracking_schema

    def prepare(conn: psycopg.Connection[Any]) -> None:
        if before is not None:
            before(conn)
        if schema is not None:
            create_schema(conn, schema)

    with rendering_for(target.config) as rendered:
        rendered.update(render_cache.kept(target.project, target.config) or {})
        url = named(target.tracked_url, verb, target.env, target.tenant)
        kept = target.scratch.session(url) if target.scratch is not None else nullcontext(None)
        with kept as session:
            backend = open_backend(url, before=prepare, session=session)
            try:
                with _READING_MIGRATIONS:
                    migrations = parts_only(read_migrations(str(target.project / "migrations")))
                parts = [
                    rendered.get(pid) or render_part(target.project, pid, target.config)
                    for pid in part_ids(target.project / "templates")
                ]
                render_cache.keep(target.project, target.config, parts)
                yield backend, migrations, parts
            except BaseException:
                backend.connection.close()  # not kept: it may hold what the run took
                raise
            finally:
                if session is None:
                    backend.connection.close()


@contextmanager
def _reading(
    target: Target, verb: str
) -> Iterator[tuple[psycopg.Connection[Any], set[str], list[Part]]]:
    """For a verb that only reads: a read-only session on the target's tracking schema, named
    after ``verb`` and the target (a fan-out's kept one for its database), the parts yoyo
    applied there, read from yoyo's table directly (:mod:`.yoyo_tracking`: no migration is
    loaded, no yoyo imported), and every part as rendered today. A tracking schema that does
    not exist yet stays so: nothing was applied there."""
    parts = _rendered(target)
    with _read_session(target, verb) as conn:
        yield conn, yoyo_tracking.applied_parts(conn, [p.id for p in parts]), parts


@contextmanager
def _read_session(target: Target, verb: str) -> Iterator[psycopg.Connection[Any]]:
    """A read-only session on the target's tracking schema, named after ``verb`` and the
    target (a fan-out's kept one for its database)."""
    url = named(target.tracked_url, verb, target.env, target.tenant)
    session = target.scratch.session(url) if target.scratch is not None else connect(url)
    settings = ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"]
    if target.tracking_schema is not None:  # as yoyo sets it from the URL's schema
        search_path = sql.SQL("SET search_path TO {}").format(
            sql.Identifier(target.tracking_schema)
        )
        settings.append(search_path.as_string(None))
    with session as conn:
        conn.execute(one_message(settings))
        yield conn


def _loaded(migrations: MigrationList) -> MigrationList:
    """``migrations`` with their steps handed to yoyo (each module run, its part read back or
    rendered): a verb loads those it may run, not every part (an evolve or an apply with
    nothing pending, none). yoyo resolves ``__depends__`` in a class-level registry, so a
    fan-out's threads load one at a time."""
    with _READING_MIGRATIONS:
        for migration in migrations:
            migration.load()
    return migrations


def _applied_by_yoyo(backend: DatabaseBackend, migrations: MigrationList) -> set[str]:
    """The ids of ``migrations`` that yoyo's tracking at ``backend`` holds applied."""
    hashes = set(backend.get_applied_migration_hashes())
    return {m.id for m in migrations if m.hash in hashes}


@contextmanager
def _locked(backend: DatabaseBackend, target: Target) -> Iterator[None]:
    """yoyo's lock, guarded so that a killed holder's row goes (:mod:`runlock`); once it is
    held, backends that earlier runs of the target left executing are settled (:mod:`orphans`).
    Not had within the wait, it says who holds it and what to do (:func:`runlock.why_locked`)."""
    from yoyo.exceptions import LockTimeout

    from tmplmig.database import orphans, runlock

    conn = backend.connection
    runlock.install_guard(conn)
    names = [application_name(verb, target.env, target.tenant) for verb in MIGRATING_VERBS]
    with ExitStack() as held:
        with runlock.reporting_warnings(conn):
            try:
                held.enter_context(backend.lock(YOYO_LOCK_WAIT_SECONDS))
            except LockTimeout as exc:
                raise runlock.LockHeld(runlock.why_locked(conn, names)) from exc
        orphans.settle(conn, names, duration_seconds(target.config.settings.ddl.orphan_wait))
        yield


def _states(
    conn: psycopg.Connection[Any],
    applied: set[str],
    parts: list[Part],
    target: Target,
    rec: record.Record | None = None,
    causes: bool = True,
) -> list[PartState]:
    """Each part against yoyo's tracking (the ids of the parts it holds ``applied``), the
    record of the tracking schema of ``conn`` (``rec`` when the caller read it) and today's
    render; a part whose recorded objects the catalog lacks is ``missing`` (one catalog query
    for all). ``causes``: name what made each step change, which renders each changed part
    again (status and plan show causes; apply does not)."""
    if rec is None:
        rec = record.read(conn)
    rec.check()
    settings = target.config.settings.model_dump(mode="json")
    states = part_states(parts, applied, rec, settings)
    if causes:
        states = [_with_causes(target, s, settings) for s in states]
    recorded = {s.id: s.record.objects for s in states if s.record is not None}
    gone = set(presence.missing(conn, (o for os in recorded.values() for o in os)))
    return [
        replace(s, state="missing" if s.state == "applied" else s.state, missing=lost)
        if (lost := tuple(o for o in recorded.get(s.id, ()) if o in gone))
        else s
        for s in states
    ]


def _with_causes(target: Target, state: PartState, settings: dict[str, Any]) -> PartState:
    """A changed part with the cause of each step change: its template renders the recorded
    config again for the comparison (see :func:`~tmplmig.migrating.states.with_causes`)."""
    if state.state != "changed" or state.record is None or not state.record.settings:
        return state
    try:
        recorded = settings_of(state.record.settings)
    except ValueError:  # a config today's validation refuses: no cause to name
        return state
    config = replace(target.config, settings=recorded)
    as_recorded = render_part(target.project, state.id, config)
    return with_causes(state, as_recorded, record.config_changes(state.record.settings, settings))


def _refuse_missing(states: list[PartState]) -> None:
    """Stop before planning or applying over parts whose recorded objects are all gone (a
    rollback run by hand); some gone is drift, which the drift check lists."""
    lost = [s for s in states if s.all_missing]
    if lost:
        raise CommandError(
            "the record says these parts are applied, but their objects are gone (rolled back"
            " by hand?):\n  "
            + "\n  ".join(f"{s.id}: {len(s.missing)} objects gone" for s in lost)
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
    problems = verify(target)
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


#: words of the statements PostgreSQL refuses in a transaction block (``CREATE INDEX
#: CONCURRENTLY``, ``VACUUM``, ``CREATE DATABASE`` ...): a replay runs SQL holding one on
#: its own, not in one message with its role switches (a message is one implicit transaction);
#: searched outside quoted names and literals (the ``"system"`` schema is no ``ALTER SYSTEM``)
_OUTSIDE_TRANSACTIONS = re.compile(
    r"\b(CONCURRENTLY|VACUUM|DATABASE|TABLESPACE|SYSTEM|SUBSCRIPTION|DISCARD|PREPARED|CLUSTER)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def _replaying(rec: record.Record, direction: str) -> Callable[[str], None]:
    """Run the recorded apply SQL (or, newest first, the rollback SQL) at a scratch URL, each
    statement after its recorded guard (roles are cluster-wide: they exist already). A step
    without a guard travels in one message with its role switches (one round trip, not
    three: a replay runs every step of a tenant)."""
    steps = rec.replayed()

    def run(url: str) -> None:
        with connect(url) as conn:
            for s in steps if direction == "apply" else reversed(steps):
                g = s.guarded(direction)
                if g is None:
                    continue
                if g.guard is None and not _OUTSIDE_TRANSACTIONS.search(_QUOTED.sub("", g.sql)):
                    conn.execute(one_message([set_role_sql(s.role), g.sql, RESET_ROLE]))
                    continue
                conn.execute(set_role_sql(s.role))
                if g.guard is None or (conn.execute(g.guard).fetchone() or (False,))[0]:
                    conn.execute(g.sql)
                conn.execute(RESET_ROLE)

    return run


def _rebuilt_by(touched: str, problem: Problem) -> bool:
    """Whether the plan's statements ``touched`` rebuild what ``problem`` is about: a function
    only by CREATE OR REPLACE (a body another tenant's evolve replaced in the shared
    ``tmplmig.keep_column``, for one), a role's attributes never (no plan sets them), anything
    else by any statement naming it."""
    if problem.kind == "role" and problem.state == "different":
        return False
    if problem.kind == "function":
        schema, _, name = problem.name.split("(", 1)[0].rpartition(".")
        return f'CREATE OR REPLACE FUNCTION "{schema}"."{name}"(' in touched
    return f'"{problem.name.rsplit(".", 1)[-1]}"' in touched


def _drift(target: Target, rec: record.Record) -> list[Problem]:
    """What differs between the live database and the record ``rec`` replayed in a scratch
    database (one of the run's, once per shape), unless it passed for this record and its
    catalog is as it was then (remembered); a passing check is remembered."""
    from tmplmig.reviewing.verify import check_database  # scratch databases: not for status

    naming = rec.naming()
    memory = _drift_memory(target, rec, naming)
    return check_database(
        target.tracked_url,
        apply_at=_replaying(rec, "apply"),
        rollback_at=_replaying(rec, "rollback"),
        shared=target.scratch,
        naming=naming,
        memory=memory,
        group_roles=memory.roles,  # the roles the record's configs name
    )


def _refuse_drift(target: Target, plans: list[PartPlan], rec: record.Record) -> None:
    """Refuse to plan over a database changed outside tmplmig since its record was written:
    the live database is checked against the recorded SQL replayed in a scratch database
    (:func:`_drift`).

    Differences in objects the plan itself rebuilds are left to it: they are what an
    interrupted evolve (an index swap cut short) leaves behind, and the plan converges them.
    """
    found = _drift(target, rec)
    touched = " ".join(statement_sql(s) for p in plans for a in p.actions for s in a.statements)
    problems = [p for p in found if not _rebuilt_by(touched, p)]
    if problems:
        raise CommandError(
            "not planning: the database differs from what tmplmig recorded as applied"
            " (changed outside tmplmig?):\n  " + "\n  ".join(str(p) for p in problems)
        )


def check_applied(target: Target) -> None:
    """Check the live database against the record an apply just wrote, so that the next
    plan's or apply's drift check finds it remembered (the versions of its rows, one cheap
    read: :mod:`~tmplmig.reviewing.catalog_fingerprint`) instead of replaying it. What it
    finds is logged, not raised: the apply is done; the next check reports it again."""
    try:
        with _read_session(target, "apply") as conn:
            rec = record.read(conn)
        problems = _drift(target, rec)
    except Exception:  # the apply stands; the next check runs in full
        logger.warning("checking what %s applied failed", target.tracked_url, exc_info=True)
        return
    if problems:
        logger.warning(
            "after apply, the database differs from its record: %s",
            "; ".join(str(p) for p in problems),
        )


def _drift_memory(target: Target, rec: record.Record, naming: Naming) -> CatalogMemory:
    """The remembered drift check, at the target's tracking schema, of the record ``rec``,
    whose replay ``naming`` describes."""
    from tmplmig.reviewing.catalog_fingerprint import MARK, CatalogMemory

    url, schema = target.tracked_url, target.tracking_schema
    memory = CatalogMemory.of(url, naming.texts, naming.names, schema, rec.versions)
    return replace(memory, record_rows=rec.renamed_digest(memory.prefix, MARK))


def share_drift_check(lead: Target, others: Iterable[Target]) -> bool:
    """Whether the drift check of ``lead`` passed and its catalog is as it was then; if so,
    it is remembered as passed for ``others`` too: tenants the caller found holding the
    record and the catalog of ``lead`` with their own names (:mod:`.fleet_plan`)."""
    with _read_session(lead, "plan") as conn:
        rec = record.read(conn)
        memory = _drift_memory(lead, rec, rec.naming())
        if not memory.unchanged(conn):
            return False
    memory.share(o.tracked_url for o in others)
    return True


def _checked_plans(
    target: Target,
    conn: psycopg.Connection[Any],
    states: list[PartState],
    rec: record.Record,
    drift: bool = True,
) -> list[PartPlan]:
    """The plan from the record ``rec`` (the states' own) to today's render, once the record
    is known to describe the live database: every part recorded, nothing changed outside
    tmplmig (``drift`` False: the caller checks that), and no role other databases use renamed
    or dropped unless the run acknowledges it."""
    _refuse_missing(states)
    if not any(s.state == "changed" for s in states):
        return []  # nothing to plan: the planner (and its imports) not needed
    from tmplmig.migrating.plan import Renames
    from tmplmig.migrating.plan import plan as plan_changes
    from tmplmig.migrating.shared_roles import refuse_shared_roles  # a plan's check only

    settings = target.config.settings.model_dump(mode="json")
    plans = plan_changes(states, settings)
    if not plans:
        return plans
    unrecorded = [s.id for s in states if s.state == "no record"]
    if unrecorded:
        raise CommandError(
            f"not planning: {', '.join(unrecorded)} applied without a record and the database "
            "differs from today's render; see tmplmig verify, then tmplmig mark"
        )
    renames = Renames.between(states, settings)
    refuse_shared_roles(conn, plans, renames, target.allow_shared_roles)
    if drift:
        _refuse_drift(target, plans, rec)
    return plans


def _refuse_unfit_roles(conn: psycopg.Connection[Any], target: Target) -> None:
    """Refuse an owner role that exists with members or attributes: its members and logins
    would own every object the run creates (docs/ownership.md); and a group role that exists
    able to log in, or with an attribute its members could take up through SET ROLE."""
    from tmplmig.database.roles import existing_roles  # apply's check only

    roles = target.config.settings.roles.model_dump()
    found = existing_roles(conn, sorted(roles.values()))
    for key, name in roles.items():
        role, owner = found.get(name), key == "owner"
        why = None if role is None else role.unfit_as_owner() if owner else role.unfit_as_group()
        if why is None:
            continue
        path = ("roles", key)
        whose = (
            "whoever is in it would own every object of this environment or tenant"
            if owner
            else "its members are the application's logins, and would hold it too"
        )
        raise ConfigError(
            target.config.source(path),
            path,
            f"the {'owner' if owner else 'group'} role {name!r} already exists and"
            f" {why} ({whose}); name a role of its own: nothing was applied",
        )


def apply(
    target: Target,
    allow_drop: destructive.Allowed | None = None,
    replay: bool = False,
    check_after: bool = False,
) -> list[str]:
    """Evolve the applied parts of ``target`` whose render changed since they were applied,
    then apply every pending migration; return the ids applied and ``<id> (evolved)`` for
    each part evolved. Evolving first lets parts applied after a partial rollback build on
    the renamed objects of the parts before them.

    A destructive action runs only when ``allow_drop`` names its object (with the most rows
    it may drop; None: as many as it holds when the plan is made); its pre-execution check
    aborts its part when the object holds more by then. The evolve may rename or drop the
    roles of ``target.allow_shared_roles`` although other databases use them. ``replay``: a
    scratch database's (verify's), whose roles the target's own apply made: they are the
    live target's to check (:func:`verify`), not the replay's to refuse. ``check_after``:
    when it applied or evolved anything, the database is checked against the record and
    remembered (:func:`check_applied`): after an evolve that changed no catalog row, a tenant
    of a shape already checked is answered by its versions
    (:meth:`~tmplmig.reviewing.catalog_fingerprint.CatalogMemory.unchanged`)."""
    from tmplmig.migrating.evolving import evolve  # apply only: status and plan run no plan

    refuse = None if replay else partial(_refuse_unfit_roles, target=target)
    loaded = _migrations(target, "apply", before=refuse)
    with loaded as (backend, migrations, parts), _locked(backend, target):
        rec = record.read(backend.connection)
        applied = _applied_by_yoyo(backend, migrations)
        states = _states(backend.connection, applied, parts, target, rec, causes=False)
        adopted = _adopt_unrecorded(target, backend, states)
        if adopted is not states:  # parts recorded now: the drift check replays them too
            rec = record.read(backend.connection)
        plans = _checked_plans(target, backend.connection, adopted, rec)
        losses = destructive.plan_losses(backend.connection, plans)
        limits = destructive.acknowledged_limits(losses, allow_drop or {})
        plans = destructive.checked(plans, losses, limits, "acknowledged")
        evolve(backend, plans, target, parts)
        _loaded([m for m in migrations if m.id not in applied])
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        done = [f"{p.part.id} (evolved)" for p in plans] + [m.id for m in pending]
    if check_after and done:
        check_applied(target)
    return done


def _from_part(migrations: MigrationList, part: str | None) -> MigrationList:
    """``part`` and the migrations after it (every one when None), as rollback takes them."""
    if part is None:
        return migrations
    ids = [m.id for m in migrations]
    if part not in ids:
        raise CommandError(f"unknown migration {part!r}; known: {', '.join(sorted(ids))}")
    return migrations[ids.index(part) :]


def rollback(target: Target, part: str | None = None, allow_data_loss: bool = False) -> list[str]:
    """Roll back every applied migration of ``target``, or ``part`` and those after it.

    The tables it would drop holding rows are listed first; in a protected environment
    (``protected: true``) it refuses them without ``allow_data_loss``."""
    from tmplmig.migrating.rolling_back import as_applied, prepare_rollback, refuse_data_loss
    from tmplmig.migrating.yoyo_bridge import record_known  # a migrating verb: yoyo is loaded

    with _migrations(target, "rollback") as (backend, migrations, rendered):
        migrations = _loaded(_from_part(migrations, part))
        with _locked(backend, target):
            targets = backend.to_rollback(migrations)
            ids = [m.id for m in targets]
            rec = record.read(backend.connection)
            applied = as_applied(target, rec, rendered)
            refuse_data_loss(target, backend.connection, applied, ids, allow_data_loss)
            backend.before_steps = prepare_rollback(target, backend.connection, rec, applied, ids)
            try:
                with record_known(rec):
                    backend.rollback_migrations(targets)
            finally:
                backend.before_steps = None
            return ids


def status(target: Target) -> list[PartState]:
    """Each part of ``target``: pending, applied, applied and changed since (with what
    changed), or applied with no record."""
    with _reading(target, "status") as (conn, applied, parts):
        states = _states(conn, applied, parts, target)
        losses = destructive.status_losses(conn, states)
    return [replace(s, losses=tuple(x for x in losses if x.part == s.id)) for s in states]


def planned(target: Target, drift: bool = True) -> tuple[list[PartState], list[PartPlan]]:
    """Where each part of ``target`` stands, and the plans that take the changed ones from
    their record to today's render (destructive actions checked against what they hold now).
    Raises :class:`~tmplmig.migrating.plan.UnsafeChange` for a change with no rule.
    ``drift`` False leaves the drift check to the caller (:mod:`.fleet_plan` compares the
    catalog with another tenant's, checked)."""
    with _reading(target, "plan") as (conn, applied, parts):
        rec = record.read(conn)
        states = _states(conn, applied, parts, target, rec)
        plans = _checked_plans(target, conn, states, rec, drift)
        losses = destructive.plan_losses(conn, plans)
    limits = {loss.name: loss.rows for loss in losses}
    return states, destructive.checked(plans, losses, limits, "this plan shows")


@dataclass(frozen=True)
class PlanBundle:
    """A plan as :func:`plan` gives it, and whether it is the same for every tenant of the
    target's shape, renamed: it renames, drops and loses nothing, so nothing in it was measured
    in this tenant's database or another's (rows, roles other databases use)."""

    contents: dict[str, str]
    portable: bool


def plan_bundle(target: Target, drift: bool = True) -> PlanBundle:
    """:func:`plan`, with whether it is :attr:`PlanBundle.portable`; ``drift``: as
    :func:`planned`."""
    from tmplmig.migrating.plan import Renames, UnsafeChange, plan_back, plan_contents
    from tmplmig.migrating.shared_roles import changed_roles

    states, plans = planned(target, drift)
    if not plans:
        return PlanBundle({}, portable=True)
    settings = target.config.settings.model_dump(mode="json")
    try:
        back = plan_back(states, settings)
    except UnsafeChange as exc:
        logger.warning("the plan has no rollback section: going back has no safe rule:\n%s", exc)
        back = []
    portable = not any(p.moves_others or any(a.drops for a in p.actions) for p in plans)
    portable = portable and not changed_roles(plans, Renames.between(states, settings))
    return PlanBundle(plan_contents(plans, target.config, back), portable)


def plan(target: Target) -> dict[str, str]:
    """The SQL that takes the applied parts of ``target`` from their record to today's render,
    as a psql-runnable bundle (file name to text, MANIFEST and REVIEW.md included, and a
    rollback section that undoes it); empty when nothing changed."""
    return plan_bundle(target).contents


def verify(target: Target) -> list[Problem]:
    """Every expected object the target's database lacks or holds differently, found against
    a scratch apply of the same target elsewhere; empty when it matches. The scratch run's
    notes (a role kept: the live database uses it) are not the user's news."""

    def rollback_at(url: str) -> None:
        with quiet_notes():
            rollback(target.at(url))

    from tmplmig.reviewing.verify import check_database

    return check_database(
        named(target.tracked_url, "verify", target.env, target.tenant),
        apply_at=lambda url: apply(target.at(url), replay=True),
        rollback_at=rollback_at,
        replayed=[g.sql for p in _rendered(target) for s in p.steps for g in s.apply_statements],
        group_roles=target.config.settings.roles.model_dump().values(),
    )


def mark(target: Target) -> list[str]:
    """Record hand-applied migrations (a bundle, or a plan run with psql) as applied in yoyo,
    and today's render in the record, once verify finds nothing amiss."""
    problems = verify(target)
    if problems:
        raise CommandError(
            "not marking: the database does not hold what the migrations create:\n  "
            + "\n  ".join(str(p) for p in problems)
        )
    loaded = _migrations(target, "mark")
    with loaded as (backend, migrations, parts), _locked(backend, target):
        pending = backend.to_apply(_loaded(migrations))
        backend.mark_migrations(pending)
        conn, recorder = backend.connection, record.Recorder.of(target.config)
        with conn.transaction():
            for part in parts:
                recorder.write_part(conn, part)
        return [m.id for m in pending]


def mark_rolled_back(target: Target, part: str | None = None) -> list[str]:
    """Record a rollback run by hand (the bundle's rollback files with psql): every applied
    part, or ``part`` and those after it, once the catalog holds none of the objects their
    record names (shared ones aside: they may be kept for others); return the ids
    no longer recorded as applied. The inverse of :func:`mark`."""
    loaded = _migrations(target, "mark")
    with loaded as (backend, migrations, parts), _locked(backend, target):
        applied = backend.to_rollback(_loaded(_from_part(migrations, part)))
        conn = backend.connection
        rec = record.read(conn)
        rec.check()
        named = {
            pid: rec.parts[pid].objects if pid in rec.parts else ()
            for pid in (m.id for m in applied)
        }
        unrecorded = [pid for pid, objects in named.items() if not objects]
        if unrecorded:
            # rows written before objects were recorded: today's render names them
            rendered = {p.id: p for p in parts}
            for pid in unrecorded:
                named[pid] = tuple(o for s in rendered[pid].steps for o in s.objects)
        checked = [o for objects in named.values() for o in objects if not o.shared]
        still = presence.present(conn, checked)
        left = {pid: [o for o in objects if still.get(o)] for pid, objects in named.items()}
        if any(left.values()):
            raise CommandError(
                "not marking as rolled back: the database still holds objects of these parts:\n  "
                + "\n  ".join(
                    f"{pid}: {_some(objects)}" for pid, objects in left.items() if objects
                )
            )
        backend.unmark_migrations(applied)
        with conn.transaction():
            for pid in named:
                if pid in rec.parts:
                    record.forget(conn, pid, [s.step for s in rec.parts[pid].steps])
        return [m.id for m in applied]


def _some(objects: list[DbObject], shown: int = 5) -> str:
    """The first ``shown`` objects, then how many more."""
    more = f", and {len(objects) - shown} more" if len(objects) > shown else ""
    return ", ".join(map(str, objects[:shown])) + more


def parse_target(text: str) -> tuple[str, str | None]:
    """``ENV`` or ``ENV:TENANT`` as (environment, tenant)."""
    env, _, tenant = text.partition(":")
    return env, tenant or None


def diff(old: Target, new: Target) -> str:
    """Unified diff of the SQL rendered for two targets, headers left out."""
    from tmplmig.reviewing.bundle import reviewable_sql, unified_diff

    return unified_diff(
        reviewable_sql(render_bundle(old)),
        reviewable_sql(render_bundle(new)),
        _name(old),
        _name(new),
    )


def _name(target: Target) -> str:
    """``ENV`` or ``ENV:TENANT``, as :func:`parse_target` reads it."""
    return f"{target.env}:{target.tenant}" if target.tenant else target.env


def new(
    project: Path, name: str, transactional: bool = True, depends: str | None = None
) -> list[Path]:
    """Scaffold the next migration: its yoyo file and its template (see :mod:`.scaffold`)."""
    from tmplmig.migrating.scaffold import new_part  # only `new` needs the macro docs parser

    return new_part(project, name, transactional=transactional, depends=depends)


def lint(target: Target) -> list[Finding]:
    """Findings of :mod:`tmplmig.reviewing.lint` on the bundle rendered for ``target``."""
    from tmplmig.reviewing.bundle import build_bundle
    from tmplmig.reviewing.lint import SquawkMissing, lint_bundle

    config = target.config
    # a render kept by another command is read back; lint keeps none of its own: linting a
    # fleet would write one for every environment and tenant (7 ms and 120 kB each)
    parts = _rendered(target, keep=False)
    try:
        return lint_bundle(parts, build_bundle(parts, config), policy(config.settings))
    except SquawkMissing as exc:
        raise CommandError(str(exc)) from None


def lint_envs(
    project: Path, env: str | None = None, tenant: str | None = None
) -> dict[str, list[Finding]]:
    """Findings per ``ENV`` or ``ENV:TENANT``: ``env`` (default: every ``config/<env>.yaml``),
    each without a tenant and with every tenant file (or only ``tenant`` when given)."""
    tenants = [tenant] if tenant else [None, *tenant_names(project)]
    return {
        f"{e}:{t}" if t else e: lint(for_rendering(project, e, t))
        for e in ([env] if env else available_envs(project))
        for t in tenants
    }
