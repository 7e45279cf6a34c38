"""Remembered drift checks: ``plan --all-tenants`` after a plan already verified every tenant,
with the remembered catalog fingerprint and with every check run in full; prints figures.

N tenants (default 30) share one database of a throwaway cluster: they are applied, the
one-value edit of issue 24 is made in config/base.yaml and planned once (every check passes
and is remembered). Then ``--rounds`` (default 5) pairs of ``plan --all-tenants`` run,
interleaved, their order alternating: one as tmplmig runs it, one whose checks never find
their fingerprint (:meth:`CatalogMemory.unchanged` answers no, so each check replays, renames
and compares as before it existed, and remembers again). It prints the median wall time per
tenant and the median of the tenants' own times of each, and their ratio per pair.

Run from the project root:
    python bench/drift_memory.py [--tenants 30] [--jobs 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fleet_edit import edit_base, fleet_project, name_tenants

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout
from tmplmig.reviewing.catalog_fingerprint import CatalogMemory

REMEMBERED = CatalogMemory.unchanged


def never_unchanged(memory: CatalogMemory, conn: Any) -> bool:
    """A check that never finds its fingerprint: the full check, every time."""
    return False


def plan(project: Path, url: str, jobs: int, remembered: bool) -> tuple[float, float]:
    """One ``plan --all-tenants``: its wall seconds and the median of the tenants' own."""
    CatalogMemory.unchanged = REMEMBERED if remembered else never_unchanged  # type: ignore[method-assign]
    start = time.perf_counter()
    outcomes = fanout.run_all(project, "dev", fanout.PLAN, jobs=jobs, url=url)
    wall = time.perf_counter() - start
    states = {o.state for o in outcomes}
    if states != {"planned"}:
        raise SystemExit(f"plan: {states}: {[o.detail for o in outcomes if o.failed][:1]}")
    return wall, statistics.median(o.seconds for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count = args.tenants
    figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        project = fleet_project(Path(tmp))
        name_tenants(project, "dm", count, 1)
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE drift_memory")
        url = cluster.dsn.rsplit("/", 1)[0] + "/drift_memory"
        fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=url)
        edit_base(project)
        plan(project, url, args.jobs, remembered=True)  # verifies and remembers every tenant
        for n in range(args.rounds):
            for remembered in (True, False) if n % 2 == 0 else (False, True):
                figures[remembered].append(plan(project, url, args.jobs, remembered))
    print(
        f"plan --all-tenants, {count} tenants in one database, --jobs {args.jobs}, after a"
        f" plan verified them; medians of {args.rounds} interleaved pairs\n"
    )
    print("| drift check | wall ms/tenant | own ms/tenant |")
    print("| --- | --- | --- |")
    for remembered, label in ((False, "in full (replay, rename, compare)"), (True, "remembered")):
        walls = [w / count * 1000 for w, _ in figures[remembered]]
        own = [o * 1000 for _, o in figures[remembered]]
        print(f"| {label} | {statistics.median(walls):.1f} | {statistics.median(own):.1f} |")
    ratios = [r[0] / f[0] for r, f in zip(figures[True], figures[False], strict=True)]
    print(
        f"\nremembered / in full, wall, per pair: {', '.join(f'{r:.2f}' for r in ratios)}"
        f" (median {statistics.median(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
