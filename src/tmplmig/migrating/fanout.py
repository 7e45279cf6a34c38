"""Map apply, rollback, status or plan over many tenants side by side, at most ``jobs`` at
once: the same command function that runs for one target runs for each tenant's.

``status`` reads every tenant of a database at once (:mod:`fleet_status`); only the tenants
that read cannot answer run one by one. ``plan`` reads them so too; of the tenants that read
finds something to plan for, one per group of a shape is planned and its plan renamed for the
others the server finds alike (:mod:`fleet_plan`), and only the rest run one by one.

Tenants of one database run in parallel too: each has its own tracking schema and yoyo
lock, its own schemas and roles, so none waits for another's run. What they share (the
database-wide steps, such as the pgcrypto extension) is applied once per database, just
before its first tenant starts. A :class:`~tmplmig.migrating.rollout.Rollout` picks the
tenants, runs canaries first and says whether a failure stops the rest; re-running the
command finishes what is left.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from tmplmig.database.locking import run_with_lock_discipline, step_statements
from tmplmig.database.scratch import ScratchDatabases
from tmplmig.database.urls import connect, named
from tmplmig.migrating import commands, fleet_plan, fleet_status
from tmplmig.migrating.rollout import EVERY_TENANT, Rollout
from tmplmig.migrating.states import PartState
from tmplmig.migrating.target import CommandError, Target, for_config
from tmplmig.migrating.tenants import database_of, load_tenants
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.parts import render_all
from tmplmig.reviewing.bundle import MANIFEST, manifest_files, write_bundle
from tmplmig.reviewing.catalog_fingerprint import CatalogMemory

FAILED = "failed"
SKIPPED = "skipped"
MAX_REASON = 200


@dataclass(frozen=True)
class TenantOutcome:
    """What one verb did for one tenant: a state for the summary, its detail, its duration."""

    tenant: str
    database: str
    state: str
    detail: str
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.state == FAILED


Result = TypeVar("Result")


@dataclass(frozen=True)
class TenantVerb(Generic[Result]):
    """A command as the fan-out maps it over tenants: the function that runs it for one
    target, what its result reads as in the summary (state, detail), whether each
    database's shared steps are applied before its first tenant runs; whether the
    database-wide read (:mod:`fleet_status`) answers it for every tenant it can vouch for
    (``status``), and what it says, without running, for a tenant whose every part that read
    finds applied as rendered today or not applied at all (None: it runs for the tenant)."""

    command: Callable[[Target], Result]
    outcome: Callable[[Result], tuple[str, str]]
    prepares_database: bool = False
    answered_wide: bool = False
    settled: tuple[str, str] | None = None
    #: for ``plan``: its result from a plan bundle made for another tenant of the target's
    #: shape and renamed (:mod:`fleet_plan`); None: every tenant is planned on its own
    reuse: Callable[[Target, dict[str, str]], Result] | None = None

    def given(self, **options: Any) -> TenantVerb[Result]:
        """This verb with options of its command bound (rollback's ``part``, say)."""
        return replace(self, command=partial(self.command, **options))


def _ids(done: str, nothing: str) -> Callable[[list[str]], tuple[str, str]]:
    """The outcome of a command that returns the ids it changed."""
    return lambda ids: (done, ", ".join(ids)) if ids else (nothing, "")


def _planned(contents: dict[str, str]) -> tuple[str, str]:
    applying = manifest_files(contents[MANIFEST], "apply") if contents else []
    parts = [name.split(".", 1)[0] for name in applying]
    return ("planned", ", ".join(parts)) if parts else ("up to date", "")


def _standing(rows: list[PartState]) -> tuple[str, str]:
    return fleet_status.summary([(r.id, r.state) for r in rows])


#: a tenant's apply checks what it applied or evolved (one replay per shape and run): the next
#: plan's drift check reads its row versions only
APPLY = TenantVerb(
    partial(commands.apply, check_after=True), _ids("applied", "up to date"), prepares_database=True
)
ROLLBACK = TenantVerb(commands.rollback, _ids("rolled back", "nothing to do"))
STATUS = TenantVerb(commands.status, _standing, answered_wide=True)
#: a plan covers applied parts that changed; pending ones are apply's
PLAN = TenantVerb(
    commands.plan, _planned, settled=_planned({}), reuse=lambda _target, contents: contents
)


def writing_plans(out: Path) -> TenantVerb[dict[str, str]]:
    """``plan`` for each tenant, each tenant's plan bundle written under ``out/<tenant>/``."""

    def written(target: Target, contents: dict[str, str]) -> dict[str, str]:
        if contents:
            write_bundle(contents, out / str(target.tenant))
        return contents

    return replace(
        PLAN, command=lambda target: written(target, commands.plan(target)), reuse=written
    )


def _reason(exc: Exception) -> str:
    """One line naming the error: enough to tell a missing database from a broken step."""
    text = " ".join(str(exc).split()) or "no message"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def run_tenant(
    project: Path,
    config: LoadedConfig,
    verb: TenantVerb[Any],
    url: str | None,
    scratch: ScratchDatabases | None = None,
    allow_shared_roles: frozenset[str] = frozenset(),
) -> TenantOutcome:
    """Run ``verb`` for one already-checked tenant; any error becomes a failed outcome.

    Drift checks take their scratch database from ``scratch`` when given; ``apply`` and
    ``plan`` may rename or drop the roles of ``allow_shared_roles`` other databases use.
    """
    assert config.tenant is not None
    tenant, database, started = config.tenant, database_of(config), time.perf_counter()
    try:
        target = _tenant_target(project, config, url, scratch, allow_shared_roles)
        state, detail = verb.outcome(verb.command(target))
    except Exception as exc:  # one tenant's failure (any cause) must not stop the others
        state, detail = FAILED, _reason(exc)
    return TenantOutcome(tenant, database, state, detail, time.perf_counter() - started)


def _tenant_target(
    project: Path,
    config: LoadedConfig,
    url: str | None,
    scratch: ScratchDatabases | None,
    allow_shared_roles: frozenset[str],
) -> Target:
    """The target of one tenant in a fan-out: its drift checks take their scratch databases
    from ``scratch``, and it may rename or drop the roles of ``allow_shared_roles``."""
    target = for_config(project, config, url)
    return replace(target, scratch=scratch, allow_shared_roles=allow_shared_roles)


def prepare_database(project: Path, config: LoadedConfig, url: str | None) -> None:
    """Apply the database-wide steps (``step(..., database_wide=true)``) of ``config``'s
    parts to its database, so tenants running side by side find them done.

    Each runs as a tenant's migration would run it: as its role, under the session settings,
    on a connection named for the environment (no tenant: it serves them all).
    """
    shared = [(p.id, s) for p in render_all(project, config) for s in p.steps if s.database_wide]
    database = for_config(project, config, url).yoyo_url
    if not shared or database is None:
        return
    ddl = config.settings.ddl
    with connect(named(database, "apply", config.env, None)) as conn:
        for part, s in shared:
            statements = step_statements(s, ddl, "apply")
            run_with_lock_discipline(conn, statements, ddl, s.name, s.role, part)


class _Prepared:
    """Each database's shared steps, applied once, when its first tenant is about to run."""

    def __init__(self, project: Path, url: str | None) -> None:
        self._project, self._url = project, url
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, str | None] = {}

    def failure(self, config: LoadedConfig) -> str | None:
        """None once the database of ``config`` is prepared, else why it could not be."""
        key = database_of(config)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._failures:
                try:
                    prepare_database(self._project, config, self._url)
                    self._failures[key] = None
                except Exception as exc:  # reported on every tenant of that database
                    self._failures[key] = "database-wide steps: " + _reason(exc)
            return self._failures[key]


def run_all(
    project: Path,
    env: str,
    verb: TenantVerb[Any],
    *,
    jobs: int = 4,
    url: str | None = None,
    tenant: str | None = None,
    rollout: Rollout = EVERY_TENANT,
    allow_shared_roles: frozenset[str] = frozenset(),
    on_start: Callable[[int], None] = lambda _: None,
    on_done: Callable[[TenantOutcome], None] = lambda _: None,
) -> list[TenantOutcome]:
    """Run ``verb`` for the tenants of ``env`` that ``rollout`` selects; outcomes by name.

    Config of all tenants is loaded and checked first: a config error stops everything
    before any database is touched. Then ``on_start`` gets the number of selected tenants,
    and ``on_done`` is called once per tenant (skipped ones too), one call at a time.
    Canaries run first; when one fails, or with ``stop_on_failure`` when any fails, the
    tenants not yet started are skipped. Naming one ``tenant`` as well is refused.
    """
    if tenant is not None:
        raise CommandError("give --tenant or --all-tenants, not both")
    if jobs < 1:
        raise CommandError(f"--jobs must be at least 1, got {jobs}")
    configs = {c.tenant: c for c in load_tenants(project, env) if c.tenant is not None}
    if not configs:
        raise CommandError(f"no tenants: add a file under {project / 'config/tenants'}")
    selected = rollout.select(list(configs))
    canaries = rollout.canaries(selected)
    prepared, scratch = _Prepared(project, url), ScratchDatabases()
    reporting = threading.Lock()
    outcomes: dict[str, TenantOutcome] = {}
    halted: list[str] = []  # why tenants not yet started are skipped; empty: carry on
    on_start(len(selected))

    def halt(reason: str) -> None:
        with reporting:
            if not halted:
                halted.append(reason)

    def run_one(name: str) -> None:
        config = configs[name]
        problem = prepared.failure(config) if verb.prepares_database and not halted else None
        if halted:
            outcome = TenantOutcome(name, database_of(config), SKIPPED, f"not started: {halted[0]}")
        elif problem is not None:
            outcome = TenantOutcome(name, database_of(config), FAILED, problem)
        else:
            outcome = run_tenant(project, config, verb, url, scratch, allow_shared_roles)
        if outcome.failed and rollout.stop_on_failure:
            halt(f"{name} failed")
        report(outcome)

    def report(outcome: TenantOutcome) -> None:
        with reporting:
            outcomes[outcome.tenant] = outcome
            on_done(outcome)

    with scratch, ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tmplmig-tenant") as pool:
        list(pool.map(run_one, canaries))
        failed_canaries = [n for n in canaries if outcomes[n].failed]
        if failed_canaries:
            halt(f"canary {', '.join(failed_canaries)} failed")
        rest = [n for n in selected if n not in canaries]
        if (verb.answered_wide or verb.settled is not None) and not halted:
            planning = None
            if verb.reuse is not None and not rollout.stop_on_failure:
                planning = _Planning(project, url, verb, scratch, allow_shared_roles, pool)
                rest = planning.by_vouching([configs[n] for n in rest], report, jobs)
            rest, standing = _status_by_database(
                project, [configs[n] for n in rest], url, report, verb, readers=jobs
            )
            if planning is not None:
                rest = planning.by_shape([configs[n] for n in rest], standing, report, jobs)
        list(pool.map(run_one, rest))
    return sorted(outcomes.values(), key=lambda o: o.tenant)


@dataclass(frozen=True)
class _Planning:
    """``plan --all-tenants`` by shape (:mod:`fleet_plan`): what planning one tenant takes."""

    project: Path
    url: str | None
    verb: TenantVerb[Any]
    scratch: ScratchDatabases
    allow_shared_roles: frozenset[str]
    pool: Executor

    def _target(self, config: LoadedConfig) -> Target:
        return _tenant_target(self.project, config, self.url, self.scratch, self.allow_shared_roles)

    def _database(self, config: LoadedConfig) -> str | None:
        return _database_url(self.project, config, self.url)

    def _plan_bundle(self, config: LoadedConfig, drift: bool) -> commands.PlanBundle:
        return commands.plan_bundle(self._target(config), drift)

    def _tracked(self, config: LoadedConfig) -> str:
        return self._target(config).tracked_url

    def _share(self, lead: LoadedConfig, others: list[LoadedConfig]) -> bool:
        targets = [self._target(o) for o in others]
        return commands.share_drift_check(self._target(lead), targets)

    def by_vouching(
        self,
        configs: list[LoadedConfig],
        report: Callable[[TenantOutcome], None],
        readers: int,
    ) -> list[str]:
        """Report the plans of the tenants of ``configs`` whose remembered drift checks vouch
        for them, one plan per group renamed (:func:`fleet_plan.plan_vouched`: no wide read);
        return the others, for status's wide read and :meth:`by_shape`."""
        tenants: dict[str, list[tuple[fleet_plan.Member, str]]] = {}
        left: list[str] = []
        for config in configs:
            assert config.tenant is not None
            found, database = fleet_plan.member(config), self._database(config)
            if found is None or database is None:
                left.append(config.tenant)
                continue
            key = CatalogMemory.key_at(self._target(config).tracked_url)
            tenants.setdefault(database, []).append((found[1], key))
        for database, held in tenants.items():
            try:
                vouched = fleet_plan.vouch_all(database, held[0][0].config.env, held, readers)
            except Exception:  # the wide read and each tenant's own plan say what is wrong
                left += [m.tenant for m, _ in held]
                continue
            groups, alone = fleet_plan.vouched_groups([m for m, _ in held], vouched)
            left += alone
            for group in groups:
                left += self._report(
                    fleet_plan.plan_vouched(group, self.pool, self._plan_bundle), report
                )
        return sorted(left)

    def _report(
        self,
        planned: Iterator[tuple[fleet_plan.Member, fleet_plan.Planned]],
        report: Callable[[TenantOutcome], None],
    ) -> list[str]:
        """Report what each member got; return those left to plan on their own."""
        left: list[str] = []
        started = time.perf_counter()
        for m, got in planned:
            if got is None:
                left.append(m.tenant)
                continue
            report(self._outcome(m.config, got, started))
            started = time.perf_counter()
        return left

    def by_shape(
        self,
        configs: list[LoadedConfig],
        standing: dict[str, list[tuple[str, str]]],
        report: Callable[[TenantOutcome], None],
        readers: int,
    ) -> list[str]:
        """Report the plans of the tenants of ``configs`` that one plan per group of a shape
        answers (``standing``: their parts' states); return the others, to run one by one."""
        groups, left = fleet_plan.groups(configs, standing, self._database)
        for group in groups:
            planned = fleet_plan.plan_group(
                group, self.pool, self._plan_bundle, self._share, self._tracked, readers
            )
            left += self._report(planned, report)
        return sorted(left)

    def _outcome(
        self, config: LoadedConfig, got: dict[str, str] | Exception, started: float
    ) -> TenantOutcome:
        assert config.tenant is not None and self.verb.reuse is not None
        try:
            if isinstance(got, Exception):
                raise got
            state, detail = self.verb.outcome(self.verb.reuse(self._target(config), got))
        except Exception as exc:  # one tenant's failure stops no other
            state, detail = FAILED, _reason(exc)
        seconds = time.perf_counter() - started
        return TenantOutcome(config.tenant, database_of(config), state, detail, seconds)


def _database_url(project: Path, config: LoadedConfig, url: str | None) -> str | None:
    """The yoyo URL of the database of ``config``; None where the tenant's own run is to say
    why there is none."""
    try:
        return for_config(project, config, url).yoyo_url
    except CommandError:
        return None


#: the part states after which a plan has nothing to do for a tenant
_SETTLED = frozenset({"applied", "pending"})


def _status_by_database(
    project: Path,
    configs: list[LoadedConfig],
    url: str | None,
    report: Callable[[TenantOutcome], None],
    verb: TenantVerb[Any] = STATUS,
    readers: int = 1,
) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Report the status of the tenants of ``configs`` database by database, each database's
    tracking schemas read at once (:mod:`fleet_status`); return the tenants only their own
    run can answer (an unreachable database, a record the server cannot vouch for, ...).
    For another ``verb``, report ``verb.settled`` for the tenants whose parts are all
    settled, and return the rest to run, with the states read of those it read.
    ``readers``: connections reading a database at once (:data:`fleet_status.READERS` at
    most)."""
    left: list[str] = []
    standing: dict[str, list[tuple[str, str]]] = {}
    databases: dict[str, list[LoadedConfig]] = {}
    for config in configs:
        assert config.tenant is not None
        database = _database_url(project, config, url)
        if database is None:
            left.append(config.tenant)
        else:
            databases.setdefault(database, []).append(config)
    renders = fleet_status.Renders(project)
    for database, tenants in databases.items():
        started = time.perf_counter()
        try:
            states = fleet_status.tenant_states(project, tenants, database, renders, readers)
            answered = list(states)
        except Exception:  # any cause: each tenant's own run reports what it meets
            left += [c.tenant for c in tenants if c.tenant is not None]
            continue
        seconds = (time.perf_counter() - started) / len(tenants)
        for config, states in answered:
            assert config.tenant is not None
            if states is None:
                left.append(config.tenant)
                continue
            if verb.answered_wide:
                state, detail = fleet_status.summary(states)
            elif verb.settled is not None and {s for _, s in states} <= _SETTLED:
                state, detail = verb.settled
            else:
                left.append(config.tenant)
                standing[config.tenant] = states
                continue
            report(TenantOutcome(config.tenant, database_of(config), state, detail, seconds))
    renders.save()
    return sorted(left), standing


def _counts(outcomes: list[TenantOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in sorted(outcomes, key=lambda o: o.state):
        counts[o.state] = counts.get(o.state, 0) + 1
    return counts


def summary_json(outcomes: list[TenantOutcome]) -> str:
    """The summary for machines (CI): every tenant's outcome and a count of each state."""
    summary = {
        "tenants": [asdict(o) | {"seconds": round(o.seconds, 3)} for o in outcomes],
        "counts": _counts(outcomes),
        "failed": sum(o.failed for o in outcomes),
    }
    return json.dumps(summary, indent=2) + "\n"


def summary_table(outcomes: list[TenantOutcome]) -> str:
    """A plain-text table, one row per tenant, and a count of each state."""
    header = ("tenant", "database", "result", "detail")
    rows = [header, *((o.tenant, o.database, o.state, o.detail) for o in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    totals = ", ".join(f"{n} {state}" for state, n in _counts(outcomes).items())
    lines.append(f"{len(outcomes)} tenants: {totals or 'none found'}")
    return "\n".join(line.rstrip() for line in lines) + "\n"
