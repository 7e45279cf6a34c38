"""Benchmark: ``tmplmig apply`` of every migration on an empty database against ``psql -f``
of the same rendered bundle, one psql per file in MANIFEST order (as the seed runs it).

Prints the median wall time of each (fresh database per run, alternating order), their
ratio (target: at most 1.3), and where tmplmig's time goes: Python start-up with the CLI's
imports, and the apply itself in-process. Asserts nothing.

Run from the project root:  python bench/apply_overhead.py [--runs 7] [--env prod]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tmplmig.database.cluster import Cluster, throwaway_cluster
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.reviewing.bundle import MANIFEST, manifest_files

PROJECT = Path(__file__).resolve().parent.parent


def dsn_of(cluster: Cluster, dbname: str) -> str:
    return cluster.dsn.rsplit("/", 1)[0] + "/" + dbname


def fresh(cluster: Cluster, dbname: str) -> str:
    """An empty database ``dbname``; the earlier ones and the roles their migrations made go."""
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        old = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'overhead_%'")
        for (name,) in old.fetchall():
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        roles = conn.execute(
            "SELECT rolname FROM pg_roles"
            " WHERE shobj_description(oid, 'pg_authid') = 'created by tmplmig'"
        ).fetchall()
        for (role,) in roles:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return dsn_of(cluster, dbname)


def seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def tmplmig_command(env: str, url: str) -> list[str]:
    beside_python = Path(sys.executable).parent / "tmplmig"
    program = str(beside_python) if beside_python.exists() else "tmplmig"
    return [program, "--project", str(PROJECT), "apply", "--env", env, "--database", url]


def psql_per_file(cluster: Cluster, dsn: str, files: list[Path]) -> float:
    started = time.perf_counter()
    for file in files:
        subprocess.run(
            [
                str(cluster.bindir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                dsn,
                "-f",
                str(file),
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--env", default="prod")
    args = parser.parse_args(argv)

    startup = [seconds([sys.executable, "-c", "import tmplmig.cli"]) for _ in range(args.runs)]
    bare = [seconds([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp)
        commands.write_render(for_rendering(PROJECT, args.env), bundle)
        files = [bundle / n for n in manifest_files((bundle / MANIFEST).read_text(), "apply")]
        cli_s: list[float] = []
        psql_s: list[float] = []
        inproc_s: list[float] = []
        for run in range(args.runs):
            for method in ("tmplmig", "psql") if run % 2 == 0 else ("psql", "tmplmig"):
                dsn = fresh(cluster, f"overhead_{method}")
                url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
                if method == "tmplmig":
                    cli_s.append(seconds(tmplmig_command(args.env, url), dict(os.environ)))
                else:
                    psql_s.append(psql_per_file(cluster, dsn, files))
            dsn = fresh(cluster, "overhead_inprocess")
            url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
            started = time.perf_counter()
            commands.apply(resolve(PROJECT, args.env, url=url))
            inproc_s.append(time.perf_counter() - started)

    med = statistics.median
    print(f"apply every migration ({args.env}) on an empty database; medians of {args.runs} runs")
    print(f"  tmplmig apply (new process)       {med(cli_s):7.3f} s")
    print(f"  psql -f, one process per file     {med(psql_s):7.3f} s   ({len(files)} files)")
    print(f"  ratio                             {med(cli_s) / med(psql_s):7.2f}x  (target <= 1.3)")
    print("where tmplmig's time goes")
    print(f"  python start-up                   {med(bare):7.3f} s")
    print(f"  + import tmplmig.cli              {med(startup) - med(bare):7.3f} s")
    print(f"  commands.apply in-process         {med(inproc_s):7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
