"""Scale benchmark for tenants; prints figures, asserts nothing.

1. Render every migration for 10 / 100 / 1,000 tenants in one process (config load and
   render timed separately; per-tenant cost shows whether it stays linear).
2. Apply, status and roll back N tenants (--apply-tenants, default 100) in one database on
   a throwaway cluster, once with --jobs 1 and once with --jobs = cores (each in its own
   database). For the first and the last 10 % of tenants (by name, which is start order) it
   prints the mean seconds one tenant took (latency) and the wall time the fan-out spent per
   tenant finishing them (throughput); last/first compares the marginal cost at full size
   with the cost in a near-empty database.
   With --database URL the tenants (t<--first-tenant> on) fan out over that database
   instead, once per --jobs value: given one that already holds t0000 ... t9999 (a kept
   cluster of a 10,000-tenant run), --first-tenant 10000 measures the marginal cost at that
   size with any --jobs.
3. Apply and roll back 20 tenants spread over 4 databases with --jobs 1 and --jobs 4.

Run from the project root:
    python bench/tenants.py [--apply-tenants 100] [--jobs 1 2] [--verbs apply status rollback]
                            [--skip-apply] [--skip-render] [--skip-parallel]
                            [--database URL --first-tenant N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout
from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all

PROJECT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
#: the verbs a run may map over the tenants, by the name it prints
FANNED: dict[str, fanout.TenantVerb[Any]] = {
    "apply": fanout.APPLY,
    "status": fanout.STATUS,
    "rollback": fanout.ROLLBACK,
}
VERBS = tuple(FANNED)


def project_with_tenants(root: Path, count: int, databases: int = 0, first: int = 0) -> Path:
    """A copy of the project whose config/tenants/ holds ``count`` generated tenants (t<first>
    on), spread round-robin over ``databases`` databases named bench_N (0: the default one)."""
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(PROJECT / folder, root / folder)
    tenants = root / "config" / "tenants"
    shutil.rmtree(tenants)
    tenants.mkdir()
    width = max(4, len(str(first + count - 1)))
    for i in range(first, first + count):
        text = f"retention:\n  audit_log: {30 + i % 300}\n"
        if databases:
            text += f"tenant:\n  database: bench_{i % databases}\n"
        (tenants / f"t{i:0{width}d}.yaml").write_text(text)
    return root


def timed(action: Callable[[], T]) -> tuple[T, float]:
    """The result and the wall-clock seconds it took."""
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def cpu_timed(action: Callable[[], T]) -> tuple[T, float, float]:
    """The result, wall-clock seconds and this process's CPU seconds (immune to other load)."""
    cpu = time.process_time()
    result, wall = timed(action)
    return result, wall, time.process_time() - cpu


def bench_render(counts: list[int]) -> None:
    print("render: every part for N tenants, one process (dev); wall and CPU seconds")
    columns = ("tenants", "load s", "render s", "wall s", "cpu s", "ms/tenant", "cpu ms/t", "steps")
    columns += ("cpu µs/st",)
    print(" ".join(f"{c:>9}" for c in columns))
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            project = project_with_tenants(Path(tmp), count)
            render_all(project, load_config(project, "dev"))  # compile the templates once
            configs, load_s, load_cpu = cpu_timed(lambda p=project: load_tenants(p, "dev"))
            # each tenant's parts are dropped once counted, as a fan-out drops them once applied
            steps, render_s, render_cpu = cpu_timed(
                lambda p=project, c=configs: sum(
                    len(part.steps) for x in c for part in render_all(p, x)
                )
            )
        wall, cpu = load_s + render_s, load_cpu + render_cpu
        figures = (load_s, render_s, wall, cpu, 1000 * wall / count, 1000 * cpu / count)
        cells = (str(count), *(f"{f:.2f}" for f in figures), str(steps), f"{1e6 * cpu / steps:.1f}")
        print(" ".join(f"{c:>9}" for c in cells))


def tenths(values: list[float]) -> tuple[float, float]:
    """Mean of the first and of the last 10 % of ``values`` (at least one each)."""
    n = max(1, len(values) // 10)
    return sum(values[:n]) / n, sum(values[-n:]) / n


def tenth_done(finished: list[float], start: float, jobs: int, verb: str, count: int) -> None:
    """Note one more finished tenant; after each tenth of ``count``, print its wall ms per
    tenant (on stderr, so that a long run shows its curve before the table)."""
    finished.append(time.perf_counter())
    tenth = max(1, count // 10)
    done = len(finished)
    if done % tenth == 0:
        since = finished[done - tenth - 1] if done > tenth else start
        ms = 1000 * (finished[-1] - since) / tenth
        print(
            f"  jobs {jobs} {verb}: tenants {done - tenth}-{done - 1}: {ms:.0f} ms wall per"
            f" tenant ({finished[-1] - start:.0f} s in)",
            file=sys.stderr,
            flush=True,
        )


def bench_apply(
    count: int,
    jobs_list: list[int],
    verbs: list[str],
    database: str | None = None,
    first: int = 0,
) -> None:
    where = "the given database" if database else "throwaway cluster"
    print(
        f"\n{count} tenants in one database ({where}, dev); ms per tenant for the"
        " first and the last 10 % of tenants"
    )
    columns = ("jobs", "verb", "own 1st", "own last", "own x", "wall 1st", "wall last")
    columns += ("wall x", "wall s", "failed")
    print(" ".join(f"{c:>10}" for c in columns))
    with tempfile.TemporaryDirectory() as tmp:
        project = project_with_tenants(Path(tmp), count, first=first)
        if database:
            for jobs in jobs_list:
                fan_out(project, database, jobs, verbs, count)
            return
        with throwaway_cluster() as cluster:
            for jobs in jobs_list:
                with connect(cluster.dsn) as admin:
                    admin.execute(f"CREATE DATABASE bench_jobs_{jobs}")
                url = cluster.dsn.rsplit("/", 1)[0] + f"/bench_jobs_{jobs}"
                fan_out(project, url, jobs, verbs, count)


def fan_out(project: Path, url: str, jobs: int, verbs: list[str], count: int) -> None:
    """Run each verb over the project's tenants in ``url``; print its row."""
    for verb in verbs:
        finished: list[float] = []
        start = time.perf_counter()
        outcomes = fanout.run_all(
            project,
            "dev",
            FANNED[verb],
            jobs=jobs,
            url=url,
            on_done=lambda _, f=finished, s=start, j=jobs, v=verb: tenth_done(f, s, j, v, count),
        )
        wall = time.perf_counter() - start
        own_first, own_last = tenths([o.seconds for o in outcomes])
        n = max(1, count // 10)
        wall_first = (finished[n - 1] - start) / n
        wall_last = (finished[-1] - finished[-n - 1]) / n if count > n else wall_first
        figures = (1000 * own_first, 1000 * own_last, own_last / own_first)
        figures += (1000 * wall_first, 1000 * wall_last, wall_last / wall_first, wall)
        cells = [str(jobs), verb, *(f"{f:.2f}" if f < 10 else f"{f:.0f}" for f in figures)]
        cells.append(str(sum(o.failed for o in outcomes)))
        print(" ".join(f"{c:>10}" for c in cells), flush=True)


def bench_parallel(count: int, databases: int, jobs: list[int]) -> None:
    print(f"\napply + roll back {count} tenants spread over {databases} databases, by --jobs")
    with throwaway_cluster() as cluster:
        base = cluster.dsn.rsplit("/", 1)[0]
        with connect(cluster.dsn) as admin:
            for n in range(databases):
                admin.execute(f"CREATE DATABASE bench_{n}")
        for job_count in jobs:
            with tempfile.TemporaryDirectory() as tmp:
                project = project_with_tenants(Path(tmp), count, databases)
                for verb in ("apply", "rollback"):
                    outcomes, seconds = timed(
                        lambda p=project, v=verb, j=job_count: fanout.run_all(
                            p, "dev", FANNED[v], jobs=j, url=f"{base}/postgres"
                        )
                    )
                    failed = sum(o.failed for o in outcomes)
                    print(
                        f"  --jobs {job_count}  {verb:8} {seconds:6.2f} s"
                        f"  {1000 * seconds / count:6.1f} ms/tenant  failed: {failed}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render-counts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--apply-tenants", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    parser.add_argument(
        "--verbs", nargs="+", default=["apply", "status", "rollback"], choices=VERBS
    )
    parser.add_argument("--skip-render", action="store_true")
    parser.add_argument("--skip-apply", action="store_true")
    parser.add_argument("--skip-parallel", action="store_true")
    parser.add_argument(
        "--database",
        help="fan out over this database, which may already hold tenants (t0000 ...), instead"
        " of a throwaway cluster: the marginal cost at full size",
    )
    parser.add_argument("--first-tenant", type=int, default=0, help="number of the first tenant")
    parser.add_argument("--parallel-tenants", type=int, default=20)
    parser.add_argument("--parallel-databases", type=int, default=4)
    args = parser.parse_args()
    if not args.skip_render:
        bench_render(args.render_counts)
    if not args.skip_apply:
        bench_apply(args.apply_tenants, args.jobs, args.verbs, args.database, args.first_tenant)
    if not args.skip_parallel:
        bench_parallel(args.parallel_tenants, args.parallel_databases, [1, 4])


if __name__ == "__main__":
    main()
