"""Server CPU of a first ``apply --all-tenants`` by tenth of its tenants; prints figures.

N tenants (default 300) share one database of a throwaway cluster; the fan-out runs with
``--jobs`` (default 2) and its kept sessions serve ``--uses`` tenants each (0: the
default, :data:`tmplmig.database.scratch.USES`). For each tenth of the tenants to finish it
prints the wall, this process's CPU and the cluster's CPU (its processes, read from
``/proc``) in ms per tenant: a cost that grows with the tenants a backend has served shows
in the server's column, apart from the client's. A backend that ends (a session closed
after its uses) may read as nothing until the postmaster reaps it: its time then shows one
tenth late (a dip, then a peak); the sum over the run is exact.

Run from the project root:
    python bench/session_growth.py [--tenants 300] [--jobs 2] [--uses 20]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import tempfile
import time
from pathlib import Path

from fleet_edit import fleet_project, name_tenants

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.scratch import ScratchDatabases
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the cluster: the postmaster's with its ended children's, and its live
    children's own."""
    fields = _stat(postmaster)
    ticks = sum(int(f) for f in fields[11:15])
    for entry in Path("/proc").iterdir():
        child = _stat(int(entry.name)) if entry.name.isdigit() else []
        if child and int(child[1]) == postmaster:
            ticks += int(child[11]) + int(child[12])
    return ticks / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--uses", type=int, default=0, help="tenants a kept session serves")
    args = parser.parse_args()
    if args.uses:
        fanout.ScratchDatabases = functools.partial(ScratchDatabases, uses=args.uses)  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        project = fleet_project(Path(tmp))
        name_tenants(project, "t", args.tenants, 1)
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE session_growth")
        url = cluster.dsn.rsplit("/", 1)[0] + "/session_growth"
        with connect(url) as conn:
            postmaster = int(_stat(conn.info.backend_pid)[1])
        tenth = max(1, args.tenants // 10)
        marks = [(time.perf_counter(), time.process_time(), server_cpu(postmaster))]

        done = [0]

        def on_done(_: fanout.TenantOutcome) -> None:
            done[0] += 1
            if done[0] % tenth == 0:
                marks.append((time.perf_counter(), time.process_time(), server_cpu(postmaster)))

        outcomes = fanout.run_all(
            project, "dev", fanout.APPLY, jobs=args.jobs, url=url, on_done=on_done
        )
    rows = [
        [1000 * (b - a) / tenth for a, b in zip(x, y, strict=True)]
        for x, y in itertools.pairwise(marks)
    ]
    print(
        f"first apply, {args.tenants} tenants, --jobs {args.jobs}, sessions serve"
        f" {args.uses or 'the default'}; failed {sum(o.failed for o in outcomes)}"
    )
    for label, column in (("wall", 0), ("client CPU", 1), ("server CPU", 2)):
        cells = " ".join(f"{row[column]:5.0f}" for row in rows)
        print(
            f"{label:>10} ms/tenant: {cells}  last/first {rows[-1][column] / rows[0][column]:.2f}"
        )


if __name__ == "__main__":
    main()
