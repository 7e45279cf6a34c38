"""Is a command flat in the number of tenants? Prints figures, asserts nothing.

1. ``tmplmig status --tenant t00001`` (a new process, as a user runs it) in projects holding
   1, 1,000 and 10,000 tenant files (``--files``), t00001 applied in a throwaway database;
   rounds interleave the projects (and the code versions given with ``--src``); medians, and
   the first run of each project apart (it runs the check of the tenants with their peers).
2. ``tmplmig status --all-tenants`` over ``--tenants`` tenants in one database: ``--real``
   of them applied with the fan-out, the others' tracking schemas cloned from t00000's with
   SQL (yoyo's tables as they are; the record's rows renamed to the tenant's names, their
   digests and seals computed again, so each reads as that tenant's own record), so what
   status reads is a real record per tenant. A clone's objects do not exist (only its
   tracking schema was made): it reads as "objects missing", after the same catalog lookups.

   With ``--keep DIR`` the cluster and the projects live in DIR: built the first time (a
   ``built`` marker says so), started again and measured the next times (``--all-rounds``).

Run from the project root:
    python bench/tenant_scale.py [--files 1 1000 10000] [--rounds 5] [--tenants 10000]
                                 [--real 200] [--src DIR ...] [--skip-files] [--skip-all]
                                 [--keep DIR] [--all-rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import fanout, fleet_status, record
from tmplmig.rendering.config import load_config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tenants import project_with_tenants

WIDTH = 5  # tenant names t00000 ... t99999
SRC = str(Path(__file__).resolve().parent.parent / "src")


def project(root: Path, count: int) -> Path:
    """A project copy with ``count`` empty tenant files t00000 ... (t00001 alone for 1): one
    shape of tenants, as a fleet whose tenants differ by name only."""
    made = project_with_tenants(root, 0)
    for i in [1] if count == 1 else range(count):
        (made / "config" / "tenants" / f"t{i:0{WIDTH}d}.yaml").write_text("")
    return made


def cli(src: str, project: Path, url: str, *args: str) -> tuple[float, str]:
    """Seconds one ``tmplmig`` process took, and what it printed on stdout."""
    env = {**os.environ, "PYTHONPATH": src, "TMPLMIG_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tmplmig.cli", "--project", str(project), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    return seconds, done.stdout


def bench_files(counts: list[int], rounds: int, sources: list[str]) -> None:
    print("status --tenant t00001 by number of tenant files (s per process)")
    print(f"{'code':>12} {'files':>7} {'first':>7} {'median':>7} {'min':>7}")
    with tempfile.TemporaryDirectory() as tmp, throwaway_cluster() as cluster:
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE scale_files")
        url = cluster.dsn.rsplit("/", 1)[0] + "/scale_files"
        projects = {n: project(Path(tmp) / f"p{n}", n) for n in counts}
        cli(SRC, projects[counts[0]], url, "apply", "--env", "dev", "--tenant", "t00001")
        status = ("status", "--env", "dev", "--tenant", "t00001")
        first = {(s, n): cli(s, p, url, *status)[0] for s in sources for n, p in projects.items()}
        times: dict[tuple[str, int], list[float]] = {key: [] for key in first}
        for r in range(rounds):
            order = list(first)
            order = order[r % len(order) :] + order[: r % len(order)]
            for s, n in order:
                times[s, n].append(cli(s, projects[n], url, *status)[0])
        for (s, n), values in times.items():
            label = Path(s).parent.name
            cells = (first[s, n], statistics.median(values), min(values))
            print(f"{label:>12} {n:>7} " + " ".join(f"{c:7.2f}" for c in cells), flush=True)


#: one tracking table cloned from t00000's into another tenant's schema ({t})
_CLONE_YOYO = """
CREATE TABLE {t}."{table}" (LIKE tmplmig_t00000."{table}" INCLUDING ALL);
INSERT INTO {t}."{table}" SELECT * FROM tmplmig_t00000."{table}";"""

#: t00000's record renamed for the tenant ({name}): t00000_ replaced in every text column,
#: the apply SQL's digests computed again; the config (digest, settings) comes as parameters
_CLONE_RECORD = """
CREATE TABLE {t}.tmplmig_applied_config (LIKE tmplmig_t00000.tmplmig_applied_config INCLUDING ALL);
CREATE TABLE {t}.tmplmig_applied (LIKE tmplmig_t00000.tmplmig_applied INCLUDING ALL);
INSERT INTO {t}.tmplmig_applied_config (digest, env, tenant, settings)
    VALUES (%(digest)s, 'dev', '{name}', %(settings)s::jsonb);
INSERT INTO {t}.tmplmig_applied
    (part, step, position, kind, name, apply_sha256, apply_sql, rollback_sql, role, apply_guard,
     rollback_guard, objects, config_digest, env, tenant, row_sha256, applied_at)
SELECT part, replace(step, 't00000_', '{name}_'), position, kind,
    replace(name, 't00000_', '{name}_'),
    encode(sha256(convert_to(replace(apply_sql, 't00000_', '{name}_'), 'UTF8')), 'hex'),
    replace(apply_sql, 't00000_', '{name}_'), replace(rollback_sql, 't00000_', '{name}_'),
    replace(role, 't00000_', '{name}_'), replace(apply_guard, 't00000_', '{name}_'),
    replace(rollback_guard, 't00000_', '{name}_'), replace(objects, 't00000_', '{name}_'),
    %(digest)s, env, '{name}', '', applied_at
FROM tmplmig_t00000.tmplmig_applied;
UPDATE {t}.tmplmig_applied r
    SET row_sha256 = 'v3:' || encode(sha256(convert_to({seal}, 'UTF8')), 'hex');"""


def clone(conn: psycopg.Connection[Any], tenant: str, settings: dict[str, Any]) -> None:
    """Make ``tenant``'s tracking schema a renamed copy of t00000's (see the module's text);
    ``settings``: t00000's recorded config."""
    schema = f'"tmplmig_{tenant}"'
    renamed = json.loads(json.dumps(settings).replace("t00000_", f"{tenant}_"))
    text = json.dumps(renamed, sort_keys=True)
    statements = [f"CREATE SCHEMA {schema};"]
    for table in ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock"):
        statements.append(_CLONE_YOYO.format(t=schema, table=table))
    # the seal is python's json.dumps of the sealed columns: fleet_status builds it in SQL
    statements.append(_CLONE_RECORD.format(t=schema, name=tenant, seal=fleet_status.SEALED_JSON))
    with conn.transaction(), psycopg.ClientCursor(conn) as cursor:  # several statements
        cursor.execute("".join(statements), {"digest": record.sha256(text), "settings": text})


def build_all(root: Path, url: str, tenants: int, real: int) -> tuple[Path, Path]:
    """Projects of ``real`` and ``tenants`` tenant files under ``root``, and the database at
    ``url`` with ``real`` tenants applied and the others cloned; built once per ``root``
    (a ``built`` marker there says it is complete)."""
    few, many, built = root / "few", root / "many", root / "built"
    if built.is_file():
        print(f"  reusing {built.read_text().strip()} in {root}", flush=True)
        return few, many
    for folder in (few, many):
        shutil.rmtree(folder, ignore_errors=True)
    project(few, real)
    started = time.perf_counter()
    applied = fanout.run_all(few, "dev", fanout.APPLY, jobs=2, url=url)
    print(
        f"  applied {real} tenants in {time.perf_counter() - started:.0f} s,"
        f" failed: {sum(o.failed for o in applied)}",
        flush=True,
    )
    project(many, tenants)
    started = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as c:
        query = "SELECT settings FROM tmplmig_t00000.tmplmig_applied_config"
        (settings,) = c.execute(query).fetchone()  # type: ignore[misc]
        for i in range(real, tenants):
            clone(c, f"t{i:0{WIDTH}d}", settings)
    print(
        f"  cloned {tenants - real} tracking schemas in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    built.write_text(f"{tenants} tenants ({real} applied)\n")
    return few, many


def bench_all(tenants: int, real: int, rounds: int, sources: list[str], keep: Path | None) -> None:
    print(f"\nstatus --all-tenants, {tenants} tenants in one database ({real} applied for real)")
    with contextlib.ExitStack() as stack:
        root = keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        cluster = stack.enter_context(throwaway_cluster(keep=keep and keep / "pg"))
        with connect(cluster.dsn) as admin:
            if not admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'scale_all'"
            ).fetchone():
                admin.execute("CREATE DATABASE scale_all")
        url = cluster.dsn.rsplit("/", 1)[0] + "/scale_all"
        few, many = build_all(root, url, tenants, real)
        status = ("status", "--env", "dev", "--all-tenants", "--no-progress")
        for _ in range(rounds):
            for s in sources:
                seconds, out = cli(s, few, url, *status, "--jobs", "1")
                print(
                    f"  {Path(s).parent.name:>12} {real:>6} tenants: {seconds:6.2f} s"
                    f"  {out.splitlines()[-1]}",
                    flush=True,
                )
        for r in range(rounds):
            for s in sources[r % len(sources) :] + sources[: r % len(sources)]:
                seconds, out = cli(s, many, url, *status, "--format", "json")
                counts = json.loads(out)["counts"]
                print(
                    f"  {Path(s).parent.name:>12} {tenants:>6} tenants: {seconds:6.2f} s  {counts}",
                    flush=True,
                )
        sample = [f"t{i:0{WIDTH}d}" for i in (real, tenants // 2, tenants - 1)]
        own = [
            fanout.run_tenant(many, load_config(many, "dev", t), fanout.STATUS, url) for t in sample
        ]
        print("  clones by their own status:", Counter((o.state, o.detail[:40]) for o in own))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, nargs="+", default=[1, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tenants", type=int, default=10000)
    parser.add_argument("--real", type=int, default=200)
    parser.add_argument("--src", action="append", help="src/ of a code version (default: this)")
    parser.add_argument("--skip-files", action="store_true")
    parser.add_argument("--skip-all", action="store_true")
    parser.add_argument("--all-rounds", type=int, help="rounds of --all-tenants (--rounds / 2)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the --all-tenants cluster and projects: built there once, reused",
    )
    args = parser.parse_args()
    sources = args.src or [SRC]
    if not args.skip_files:
        bench_files(args.files, args.rounds, sources)
    if not args.skip_all:
        all_rounds = args.all_rounds or max(1, args.rounds // 2)
        bench_all(args.tenants, args.real, all_rounds, sources, args.keep)


if __name__ == "__main__":
    main()
