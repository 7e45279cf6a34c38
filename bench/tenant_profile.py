"""Where one tenant's apply and rollback spend their server time, by size of the database.

For each size N (--sizes, default 100 1000): a database on a throwaway cluster (with
pg_stat_statements loaded) receives N tenants through the fan-out (--jobs = cores), then
--probes more tenants are applied and rolled back one at a time, pg_stat_statements reset
before each. Prints the mean server milliseconds per probe tenant for each kind of
statement, so a kind whose cost grows with N stands out, and the probe's wall time.

With --database URL an existing database is probed as it is: it must load
pg_stat_statements (shared_preload_libraries) and already hold its tenants, such as the
10,000 tenants of ``bench/tenants.py --apply-tenants 10000`` kept on a cluster of its own.

Run from the project root:
    python bench/tenant_profile.py [--sizes 100 1000] [--probes 3]
    python bench/tenant_profile.py --database postgresql://postgres@127.0.0.1:PORT/DB
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from tenants import project_with_tenants

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands, fanout, record
from tmplmig.migrating.target import resolve

#: kind of statement -> pattern over its normalised text; the first match names it
KINDS = (
    ("GRANT/REVOKE ... ON FUNCTION", r"^(GRANT|REVOKE) .* ON FUNCTION "),
    ("CREATE TRIGGER", r"^CREATE (OR REPLACE )?TRIGGER "),
    ("CREATE FUNCTION", r"^CREATE (OR REPLACE )?FUNCTION "),
    ("DROP FUNCTION", r"^DROP FUNCTION "),
    ("rollback pre-check (pg_depend, pg_shdepend)", r"pg_depend|pg_shdepend"),
    ("guard on pg_proc / to_regprocedure", r"pg_proc\b|to_regprocedure"),
    ("tmplmig record", re.escape(record.STEPS_TABLE)),
    ("yoyo bookkeeping", r"yoyo"),
    ("CREATE TABLE", r"^CREATE TABLE "),
    ("DROP TABLE", r"^DROP TABLE "),
    ("CREATE INDEX", r"^CREATE (UNIQUE )?INDEX "),
    ("DROP INDEX", r"^DROP INDEX "),
    ("other GRANT/REVOKE", r"^(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) "),
    ("role guard or DDL", r"ROLE\b|pg_roles|to_regrole"),
    ("other", r""),
)
STATEMENTS = """
    SELECT s.query, s.total_exec_time FROM pg_stat_statements s
    WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"""


def kind_of(query: str) -> str:
    text = " ".join(query.split())
    return next(name for name, pattern in KINDS if re.search(pattern, text))


def profile_one(url: str, action: Callable[[], object]) -> tuple[dict[str, float], float]:
    """Server ms per kind of statement while ``action()`` runs, and its wall seconds."""
    with connect(url) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    by_kind: dict[str, float] = defaultdict(float)
    with connect(url) as conn:
        for query, ms in conn.execute(STATEMENTS):
            by_kind[kind_of(query)] += ms
    return by_kind, wall


def probe(project: Path, url: str, count: int) -> dict[str, tuple[dict[str, float], float]]:
    """Apply, then roll back, ``count`` new tenants one at a time; mean per verb."""
    names = [f"zprobe_{os.getpid()}_{i}" for i in range(count)]
    for name in names:
        tenant_file = project / "config" / "tenants" / f"{name}.yaml"
        tenant_file.write_text("retention:\n  audit_log: 45\n")
    runs: dict[str, list[tuple[dict[str, float], float]]] = {"apply": [], "rollback": []}
    for name in names:
        runs["apply"].append(
            profile_one(url, lambda n=name: commands.apply(resolve(project, "dev", n, url=url)))
        )
    for name in names:
        runs["rollback"].append(
            profile_one(url, lambda n=name: commands.rollback(resolve(project, "dev", n, url=url)))
        )
    means: dict[str, tuple[dict[str, float], float]] = {}
    for verb, results in runs.items():
        kinds = {kind for by_kind, _ in results for kind in by_kind}
        means[verb] = (
            {k: statistics.mean(by_kind.get(k, 0.0) for by_kind, _ in results) for k in kinds},
            statistics.mean(wall for _, wall in results),
        )
    return means


def report(columns: dict[str, dict[str, tuple[dict[str, float], float]]]) -> None:
    heads = [f"{verb} @{size}" for size in columns for verb in ("apply", "rollback")]
    print(f"{'server ms per probe tenant':46}" + "".join(f"{h:>16}" for h in heads))
    cells = [columns[size][verb] for size in columns for verb in ("apply", "rollback")]
    for name, _ in KINDS:
        row = [by_kind.get(name, 0.0) for by_kind, _ in cells]
        if any(v >= 0.05 for v in row):
            print(f"{name:46}" + "".join(f"{v:16.1f}" for v in row))
    print(f"{'all statements':46}" + "".join(f"{sum(b.values()):16.1f}" for b, _ in cells))
    print(f"{'wall ms (client included)':46}" + "".join(f"{1000 * w:16.0f}" for _, w in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--database", help="probe this database as it is (see above)")
    args = parser.parse_args()
    columns: dict[str, dict[str, tuple[dict[str, float], float]]] = {}
    if args.database:
        with tempfile.TemporaryDirectory() as tmp:
            project = project_with_tenants(Path(tmp), 0)
            with connect(args.database) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                (size,) = conn.execute(
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tmplmig\\_%'"
                ).fetchone()  # type: ignore[misc]
            columns[f"{size}"] = probe(project, args.database, args.probes)
        report(columns)
        return
    settings = {"shared_preload_libraries": "pg_stat_statements"}
    with throwaway_cluster(settings) as cluster:
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp, connect(cluster.dsn) as admin:
                admin.execute(f"CREATE DATABASE profile_{size}")
                url = cluster.dsn.rsplit("/", 1)[0] + f"/profile_{size}"
                with connect(url) as conn:
                    conn.execute("CREATE EXTENSION pg_stat_statements")
                project = project_with_tenants(Path(tmp), size)
                outcomes = fanout.run_all(project, "dev", fanout.APPLY, jobs=args.jobs, url=url)
                assert not any(o.failed for o in outcomes), "a tenant failed to apply"
                columns[str(size)] = probe(project, url, args.probes)
                print(f"probed {args.probes} tenants in a database of {size}", flush=True)
    report(columns)


if __name__ == "__main__":
    main()
