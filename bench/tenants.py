"""Scale benchmark for tenants; prints figures, asserts nothing.

1. Render every migration for 10 / 100 / 1,000 tenants in one process (config load and
   render timed separately; per-tenant cost shows whether it stays linear).
2. Apply and roll back 100 tenant schemas in one database on a throwaway cluster.

Run from the project root:  python bench/tenants.py [--apply-tenants 100] [--skip-apply]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tmplmig import commands, fanout
from tmplmig.cluster import throwaway_cluster
from tmplmig.config import load_config
from tmplmig.parts import render_all
from tmplmig.tenants import load_tenants

PROJECT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def project_with_tenants(root: Path, count: int) -> Path:
    """A copy of the project whose config/tenants/ holds ``count`` generated tenants."""
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(PROJECT / folder, root / folder)
    tenants = root / "config" / "tenants"
    shutil.rmtree(tenants)
    tenants.mkdir()
    for i in range(count):
        (tenants / f"t{i:04d}.yaml").write_text(f"retention:\n  audit_log: {30 + i % 300}\n")
    return root


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def bench_render(counts: list[int]) -> None:
    print("render: every part for N tenants, one process (dev)")
    columns = ("tenants", "load s", "render s", "total s", "ms/tenant", "steps")
    print(" ".join(f"{c:>9}" for c in columns))
    render_all(PROJECT, load_config(PROJECT, "dev"))  # compile templates once, as a process would
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            project = project_with_tenants(Path(tmp), count)
            configs, load_s = timed(lambda p=project: load_tenants(p, "dev"))
            parts, render_s = timed(lambda p=project, c=configs: [render_all(p, x) for x in c])
        steps = sum(len(part.steps) for tenant in parts for part in tenant)
        total = load_s + render_s
        figures = (load_s, render_s, total, 1000 * total / count)
        print(" ".join(f"{c:>9}" for c in (str(count), *(f"{f:.2f}" for f in figures), str(steps))))


def bench_apply(count: int) -> None:
    print(f"\napply + roll back {count} tenants in one database (throwaway cluster, dev)")
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        project = project_with_tenants(Path(tmp), count)
        with commands.connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE tmplmig_bench")
        url = cluster.dsn.rsplit("/", 1)[0] + "/tmplmig_bench"
        for verb in ("apply", "status", "rollback"):
            outcomes, seconds = timed(lambda v=verb: fanout.run_all(project, "dev", v, url=url))
            states = sorted({o.state for o in outcomes})
            print(
                f"  {verb:8} {seconds:7.2f} s total  {1000 * seconds / count:7.1f} ms/tenant"
                f"  states: {', '.join(states)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render-counts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--apply-tenants", type=int, default=100)
    parser.add_argument("--skip-apply", action="store_true")
    args = parser.parse_args()
    bench_render(args.render_counts)
    if not args.skip_apply:
        bench_apply(args.apply_tenants)


if __name__ == "__main__":
    main()
