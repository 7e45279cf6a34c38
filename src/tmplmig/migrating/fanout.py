"""Run apply, rollback or status for every tenant, in parallel across databases.

Tenants that share a database run one after another (their DDL touches shared catalogs,
e.g. ``CREATE EXTENSION``); different databases run side by side, at most ``jobs`` at once.
One tenant's failure is recorded and the others carry on; re-running finishes what is left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tmplmig.migrating import commands
from tmplmig.migrating.target import CommandError, for_config
from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import LoadedConfig

Verb = Literal["apply", "rollback", "status"]
FAILED = "failed"
MAX_REASON = 200


@dataclass(frozen=True)
class TenantOutcome:
    """What one verb did for one tenant: a state for the summary and its detail."""

    tenant: str
    database: str
    state: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == FAILED


def _reason(exc: Exception) -> str:
    """One line naming the error: enough to tell a missing database from a broken step."""
    text = " ".join(str(exc).split()) or "no message"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def run_tenant(
    project: Path, config: LoadedConfig, verb: Verb, url: str | None, part: str | None = None
) -> TenantOutcome:
    """Run ``verb`` for one already-checked tenant; any error becomes a failed outcome."""
    assert config.tenant is not None and config.placement is not None
    tenant, database = config.tenant, config.placement.target

    def outcome(state: str, detail: str) -> TenantOutcome:
        return TenantOutcome(tenant, database, state, detail)

    try:
        target = for_config(project, config, url)
        if verb == "apply":
            ids = commands.apply_to(target)
            return outcome("applied", ", ".join(ids)) if ids else outcome("up to date", "")
        if verb == "rollback":
            ids = commands.rollback_to(target, part)
            return outcome("rolled back", ", ".join(ids)) if ids else outcome("nothing to do", "")
        rows = commands.status_of(target)
        pending = [r.id for r in rows if not r.applied]
        return outcome("pending", ", ".join(pending)) if pending else outcome("up to date", "")
    except Exception as exc:  # one tenant's failure (any cause) must not stop the others
        return outcome(FAILED, _reason(exc))


def run_all(
    project: Path,
    env: str,
    verb: Verb,
    *,
    jobs: int = 4,
    url: str | None = None,
    part: str | None = None,
    tenant: str | None = None,
    on_start: Callable[[int], None] = lambda _: None,
    on_done: Callable[[TenantOutcome], None] = lambda _: None,
) -> list[TenantOutcome]:
    """Run ``verb`` for every tenant of ``env``; outcomes in tenant order.

    Config of all tenants is loaded and checked first: a config error stops everything
    before any database is touched. Then ``on_start`` gets the number of tenants, and
    ``on_done`` is called once per tenant, from one thread at a time. Naming one ``tenant``
    as well is a contradiction and refused.
    """
    if tenant is not None:
        raise CommandError("give --tenant or --all-tenants, not both")
    if jobs < 1:
        raise CommandError(f"--jobs must be at least 1, got {jobs}")
    configs = load_tenants(project, env)
    if not configs:
        raise CommandError(f"no tenants: add a file under {project / 'config/tenants'}")
    groups: dict[str, list[LoadedConfig]] = {}
    for config in configs:
        assert config.placement is not None
        groups.setdefault(config.placement.target, []).append(config)
    reporting = threading.Lock()
    on_start(len(configs))

    def run_group(group: list[LoadedConfig]) -> list[TenantOutcome]:
        outcomes = []
        for config in group:
            outcomes.append(run_tenant(project, config, verb, url, part))
            with reporting:
                on_done(outcomes[-1])
        return outcomes

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="tmplmig-tenant") as pool:
        results = pool.map(run_group, groups.values())
        outcomes = [o for group in results for o in group]
    return sorted(outcomes, key=lambda o: o.tenant)


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
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    totals = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    lines.append(f"{len(outcomes)} tenants: {totals or 'none found'}")
    return "\n".join(line.rstrip() for line in lines) + "\n"
