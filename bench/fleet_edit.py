"""Fleet-edit benchmark: one value edited in base.yaml, evolved over N tenants; prints figures.

N tenants (default 40, files that only name them) share one database of a throwaway cluster.
A round runs, in a database of its own: the first ``apply --all-tenants`` (everything
created), ``status``, then the edit of issue 24 (``retention.experiments`` 730 -> 731 in
config/base.yaml), ``status`` (every tenant changed), ``plan --all-tenants``, ``apply
--all-tenants`` (the evolve: one row upsert per tenant), ``status`` and ``plan`` again (nothing to
plan: the database-wide read answers every tenant), then a second edit (731 -> 732) and its
``status`` and ``plan`` (the plan a day-2 edit gets after an evolve), each with ``--jobs``
(default 2). Over ``--rounds`` (default 3) it prints, per command, the median wall time, wall
time per tenant, one tenant's own time, and the wall time per tenant of the first and of the
last 10 % of tenants to finish; then the ratios the issue's done-when names, evolve / first
apply and plan / status (of the first edit and of the second), per round (both terms from the
same round) and their median.

Run from the project root (``--rounds 1`` for large N):
    python bench/fleet_edit.py [--tenants 40] [--jobs 2] [--rounds 3] [--shapes 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tenants import FANNED, tenth_done, tenths

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout

PROJECT = Path(__file__).resolve().parent.parent
#: the edit: key path in config/base.yaml, its value as shipped, then as each edit leaves it
EDIT = ("retention.experiments", "experiments: 730", "experiments: 731", "experiments: 732")
#: the verbs a round runs (bench/tenants.py's, and plan)
VERBS = {**FANNED, "plan": fanout.PLAN}


def fleet_project(root: Path) -> Path:
    """A copy of the project (tenants written by :func:`name_tenants`)."""
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(PROJECT / folder, root / folder)
    return root


def name_tenants(project: Path, prefix: str, count: int, shapes: int) -> None:
    """``count`` tenants <prefix>0000...; with ``shapes`` > 1 they carry that many distinct
    values of ``retention.audit_log`` (so that many distinct records). Roles are cluster-wide:
    a round names its tenants afresh, so its first apply creates its roles as the first did."""
    folder = project / "config" / "tenants"
    shutil.rmtree(folder)
    folder.mkdir()
    width = max(4, len(str(count - 1)))
    for i in range(count):
        text = f"retention:\n  audit_log: {30 + i % shapes}\n" if shapes > 1 else ""
        (folder / f"{prefix}{i:0{width}d}.yaml").write_text(text)


def edit_base(project: Path, old: str, new: str) -> None:
    """Change the one value of issue 24 in config/base.yaml from ``old`` to ``new``."""
    base = project / "config" / "base.yaml"
    text = base.read_text()
    if old not in text:
        sys.exit(f"{base}: no {old!r} to edit ({EDIT[0]})")
    base.write_text(text.replace(old, new, 1))


@dataclass
class Row:
    """One command's figures over the rounds: wall seconds, median own seconds per tenant,
    and the wall seconds per tenant of the first and of the last 10 % to finish."""

    walls: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    failed: int = 0
    states: set[str] = field(default_factory=set)


def run(project: Path, url: str, verb: str, jobs: int, row: Row, count: int) -> None:
    """One fan-out of ``verb``, its figures added to ``row``."""
    finished: list[float] = []
    start = time.perf_counter()
    outcomes = fanout.run_all(
        project,
        "dev",
        VERBS[verb],
        jobs=jobs,
        url=url,
        on_done=lambda _: tenth_done(finished, start, jobs, verb, count),
    )
    row.walls.append(time.perf_counter() - start)
    row.own.append(statistics.median(o.seconds for o in outcomes))
    steps = [b - a for a, b in zip([start, *finished], finished, strict=False)]
    first, last = tenths(steps)
    row.first.append(first)
    row.last.append(last)
    row.failed += sum(o.failed for o in outcomes)
    row.states |= {o.state for o in outcomes}
    for o in [o for o in outcomes if o.failed][:3]:
        print(f"  {o.tenant}: {o.detail}", file=sys.stderr)


COMMANDS = (
    ("first apply", "apply"),
    ("status (up to date)", "status"),
    ("status (changed)", "status"),
    ("plan", "plan"),
    ("apply (evolve)", "apply"),
    ("status (after)", "status"),
    ("plan (up to date)", "plan"),
    ("status (second edit)", "status"),
    ("plan (second edit)", "plan"),
)
#: the commands each edit is made before
EDITS = {"status (changed)": EDIT[1:3], "status (second edit)": EDIT[2:4]}


def one_round(
    project: Path,
    cluster_dsn: str,
    n: int,
    count: int,
    shapes: int,
    jobs: int,
    rows: dict[str, Row],
) -> None:
    """The issue's sequence in a database of its own; the edit made after the first status."""
    base = project / "config" / "base.yaml"
    base.write_text(base.read_text().replace(EDIT[3], EDIT[1], 1).replace(EDIT[2], EDIT[1], 1))
    name_tenants(project, f"r{n}t", count, shapes)
    with connect(cluster_dsn) as admin:
        admin.execute(f"CREATE DATABASE fleet_edit_{n}")
    url = cluster_dsn.rsplit("/", 1)[0] + f"/fleet_edit_{n}"
    for label, verb in COMMANDS:
        if label in EDITS:
            edit_base(project, *EDITS[label])
        run(
            project, url, verb, jobs, rows[label], len(list((project / "config/tenants").iterdir()))
        )


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="databases, one sequence each")
    parser.add_argument("--shapes", type=int, default=1, help="distinct tenant configs")
    args = parser.parse_args()
    count, jobs = args.tenants, args.jobs
    rows = {label: Row() for label, _ in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        project = fleet_project(Path(tmp))
        for n in range(args.rounds):
            one_round(project, cluster.dsn, n, count, args.shapes, jobs, rows)
    print(
        f"{count} tenants in one database, --jobs {jobs}, dev, {args.shapes} distinct tenant"
        f" config(s); edits: {EDIT[0]} "
        + " -> ".join(value.split()[-1] for value in EDIT[1:])
        + ";"
        f" medians of {args.rounds} round(s), each in a database of its own\n"
    )
    print(
        "| command | wall s | wall ms/tenant | own ms/tenant | first 10 % ms | last 10 % ms"
        " | last / first | failed | states |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    median = statistics.median
    for label, row in rows.items():
        wall, first, last = median(row.walls), median(row.first), median(row.last)
        cells = [label, f"{wall:.1f}", ms(wall / count), ms(median(row.own)), ms(first)]
        cells += [ms(last), f"{last / first:.2f}", str(row.failed), "/".join(sorted(row.states))]
        print("| " + " | ".join(cells) + " |")
    walls = {label: row.walls for label, row in rows.items()}
    evolve = [e / a for e, a in zip(walls["apply (evolve)"], walls["first apply"], strict=True)]
    plan = [p / s for p, s in zip(walls["plan"], walls["status (changed)"], strict=True)]
    again = zip(walls["plan (second edit)"], walls["status (second edit)"], strict=True)
    second = [p / s for p, s in again]
    settled = zip(walls["plan (up to date)"], walls["status (after)"], strict=True)
    idle = [p / s for p, s in settled]
    print(
        f"\nevolve / first apply: {median(evolve):.2f}x (rounds: "
        + ", ".join(f"{r:.2f}" for r in evolve)
        + "; done when <= 0.3x)"
    )
    print(
        f"plan / status (changed): {median(plan):.2f}x (rounds: "
        + ", ".join(f"{r:.2f}" for r in plan)
        + "; done when <= 2x)"
    )
    print(
        f"plan / status (second edit, after the evolve): {median(second):.2f}x (rounds: "
        + ", ".join(f"{r:.2f}" for r in second)
        + ")"
    )
    print(
        f"plan / status, nothing changed: {median(idle):.2f}x (rounds: "
        + ", ".join(f"{r:.2f}" for r in idle)
        + ")"
    )


if __name__ == "__main__":
    main()
