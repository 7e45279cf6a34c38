"""How long ``tmplmig plan`` takes after a YAML edit; prints figures and real output, asserts
nothing.

On a throwaway cluster: apply ``dev``, make the edit of issue 9 (rename schemas.quarantine and
roles.readonly, lengthen retention.audit_log), then print ``tmplmig status`` and ``tmplmig
plan`` as a user sees them and time ``plan``, the evolving ``apply`` and ``rollback --all``.
Then the same edit for N tenants in one database (default 100): ``plan --all-tenants``.

Run from the project root:  python bench/plan.py [--tenants 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from tmplmig import cli
from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands, fanout
from tmplmig.migrating.target import resolve

PROJECT = Path(__file__).resolve().parent.parent


def copy_project(root: Path, tenants: int) -> Path:
    """A copy of the project; with ``tenants`` > 0 its tenants are generated (t0000, ...)."""
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(PROJECT / folder, root / folder)
    if tenants:
        folder = root / "config" / "tenants"
        shutil.rmtree(folder)
        folder.mkdir()
        for i in range(tenants):
            (folder / f"t{i:04d}.yaml").write_text(f"retention:\n  audit_log: {30 + i % 300}\n")
    return root


def issue_edit(project: Path) -> None:
    """Rename a schema and a role in base.yaml, lengthen a retention in dev.yaml."""
    base, dev = project / "config/base.yaml", project / "config/dev.yaml"
    data = yaml.safe_load(base.read_text())
    data["schemas"]["quarantine"] = "quarantine_v2"
    data["roles"]["readonly"] = "app_ro"
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    data = yaml.safe_load(dev.read_text())
    data["retention"]["audit_log"] = 45
    dev.write_text(yaml.safe_dump(data, sort_keys=False))


def seconds(action: object, runs: int) -> float:
    """Median wall-clock seconds of ``runs`` calls of ``action``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_output(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(list(argv))
    return out.getvalue()


def new_database(dsn: str, name: str) -> str:
    with connect(dsn) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return dsn.rsplit("/", 1)[0] + "/" + name


def one_database(dsn: str, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp), 0)
        url = new_database(dsn, "plan_single")
        commands.apply(resolve(project, "dev", url=url))
        issue_edit(project)
        args = ("--project", str(project))
        print("$ tmplmig status --env dev")
        print(cli_output(*args, "status", "--env", "dev", "--database", url))
        print("$ tmplmig plan --env dev")
        print(cli_output(*args, "plan", "--env", "dev", "--database", url))
        took = seconds(lambda: commands.plan(resolve(project, "dev", url=url)), runs)
        print(f"plan, one database:         {1000 * took:8.1f} ms (median of {runs})")
        took = seconds(lambda: commands.status(resolve(project, "dev", url=url)), runs)
        print(f"status (no drift check):    {1000 * took:8.1f} ms (median of {runs})")
        start = time.perf_counter()
        commands.apply(resolve(project, "dev", url=url))
        print(f"apply (evolve):             {1000 * (time.perf_counter() - start):8.1f} ms")
        start = time.perf_counter()
        commands.rollback(resolve(project, "dev", url=url))
        print(f"rollback --all:             {1000 * (time.perf_counter() - start):8.1f} ms")


def many_tenants(dsn: str, count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp), count)
        url = new_database(dsn, "plan_tenants")
        fanout.run_all(project, "dev", fanout.APPLY, url=url)
        issue_edit(project)
        one = seconds(lambda: commands.plan(resolve(project, "dev", "t0000", url=url)), runs)
        print(f"\nplan, one tenant of {count}:    {1000 * one:8.1f} ms (median of {runs})")
        start = time.perf_counter()
        fanout.run_all(project, "dev", fanout.STATUS, url=url)
        took = time.perf_counter() - start
        print(
            f"status --all-tenants ({count}): {took:6.2f} s  {1000 * took / count:6.1f} ms/tenant"
        )
        start = time.perf_counter()
        outcomes = fanout.run_all(project, "dev", fanout.PLAN, url=url)
        took = time.perf_counter() - start
        states = sorted({o.state for o in outcomes})
        print(
            f"plan --all-tenants ({count}):  {took:8.2f} s  {1000 * took / count:6.1f} ms/tenant"
            f"  states: {', '.join(states)}"
        )
        start = time.perf_counter()
        outcomes = fanout.run_all(project, "dev", fanout.APPLY, url=url)
        took = time.perf_counter() - start
        print(
            f"apply --all-tenants (evolve): {took:6.2f} s  {1000 * took / count:6.1f} ms/tenant"
            f"  failed: {sum(o.failed for o in outcomes)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with throwaway_cluster() as cluster:
        one_database(cluster.dsn, args.runs)
        many_tenants(cluster.dsn, args.tenants, args.runs)


if __name__ == "__main__":
    main()
