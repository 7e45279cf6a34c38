"""Fleet-edit benchmark: one value edited in base.yaml, evolved over N tenants; prints figures.

N tenants (default 40, files that only name them) share one database of a throwaway cluster.
In one run: the first ``apply --all-tenants`` (everything created), ``status``, then the
edit of issue 24 (``retention.experiments`` 730 -> 731 in config/base.yaml), ``status``
(every tenant changed), ``plan --all-tenants`` and ``apply --all-tenants`` (the evolve: one
row upsert per tenant), each with ``--jobs`` (default 2). For each it prints the wall time,
the wall time per tenant, the median of one tenant's own time, and for N >= 20 the wall time
per tenant of the first and of the last 10 % of tenants to finish (``x``: last / first);
then the ratios the issue's done-when names: evolve / first apply and plan / status.

Run from the project root:
    python bench/fleet_edit.py [--tenants 40] [--jobs 2] [--shapes 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tenants import tenth_done, tenths

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout

PROJECT = Path(__file__).resolve().parent.parent
#: the edit: key path in config/base.yaml, old and new value
EDIT = ("retention.experiments", "experiments: 730", "experiments: 731")


def fleet_project(root: Path, count: int, shapes: int) -> Path:
    """A copy of the project with ``count`` tenants t0000...; with ``shapes`` > 1 they carry
    that many distinct values of ``retention.audit_log`` (so that many distinct records)."""
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(PROJECT / folder, root / folder)
    folder = root / "config" / "tenants"
    shutil.rmtree(folder)
    folder.mkdir()
    width = max(4, len(str(count - 1)))
    for i in range(count):
        text = f"retention:\n  audit_log: {30 + i % shapes}\n" if shapes > 1 else ""
        (folder / f"t{i:0{width}d}.yaml").write_text(text)
    return root


def edit_base(project: Path) -> None:
    """Change the one value of issue 24 in config/base.yaml."""
    base = project / "config" / "base.yaml"
    text = base.read_text()
    if EDIT[1] not in text:
        sys.exit(f"{base}: no {EDIT[1]!r} to edit ({EDIT[0]})")
    base.write_text(text.replace(EDIT[1], EDIT[2], 1))


def run(project: Path, url: str, verb: fanout.Verb, jobs: int, label: str, count: int) -> float:
    """One fan-out of ``verb``; print its row; return its wall seconds."""
    finished: list[float] = []
    start = time.perf_counter()
    outcomes = fanout.run_all(
        project,
        "dev",
        verb,
        jobs=jobs,
        url=url,
        on_done=lambda _: tenth_done(finished, start, jobs, label, count),
    )
    wall = time.perf_counter() - start
    failed = [o for o in outcomes if o.failed]
    states = sorted({o.state for o in outcomes})
    own = statistics.median(o.seconds for o in outcomes)
    cells = [label, f"{wall:.1f}", f"{1000 * wall / count:.0f}", f"{1000 * own:.0f}"]
    if count >= 20:
        steps = [b - a for a, b in zip([start, *finished], finished, strict=False)]
        first, last = tenths(steps)
        cells += [f"{1000 * first:.0f}", f"{1000 * last:.0f}", f"{last / first:.2f}"]
    else:
        cells += ["", "", ""]
    cells += [str(len(failed)), "/".join(states)]
    print("| " + " | ".join(cells) + " |", flush=True)
    for o in failed[:3]:
        print(f"  {o.tenant}: {o.detail}", file=sys.stderr)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shapes", type=int, default=1, help="distinct tenant configs")
    args = parser.parse_args()
    count, jobs = args.tenants, args.jobs
    print(
        f"{count} tenants in one database, --jobs {jobs}, dev, {args.shapes} distinct tenant"
        f" config(s); edit: {EDIT[0]} {EDIT[1].split()[-1]} -> {EDIT[2].split()[-1]}\n"
    )
    print(
        "| command | wall s | wall ms/tenant | median own ms | first 10 % ms | last 10 % ms"
        " | x | failed | states |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        project = fleet_project(Path(tmp), count, args.shapes)
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE fleet_edit")
        url = cluster.dsn.rsplit("/", 1)[0] + "/fleet_edit"
        first = run(project, url, "apply", jobs, "first apply", count)
        run(project, url, "status", jobs, "status (up to date)", count)
        edit_base(project)
        status = run(project, url, "status", jobs, "status (changed)", count)
        plan = run(project, url, "plan", jobs, "plan", count)
        evolve = run(project, url, "apply", jobs, "apply (evolve)", count)
        run(project, url, "status", jobs, "status (after)", count)
    print(f"\nevolve / first apply: {evolve / first:.2f}x (done when <= 0.3x)")
    print(f"plan / status (changed): {plan / status:.2f}x (done when <= 2x)")


if __name__ == "__main__":
    main()
