"""Benchmark: how long migration 002 stalls writers, and what applying through yoyo costs.

Run from the project root (PostgreSQL server binaries and the ``bench`` extra installed):

    python bench/ddl_stall.py

It starts a throwaway cluster, loads the baseline tables (over a million rows), and while a
writer inserts continuously runs (a) the seed's SQL (``bench/seed_002ab.sql``) with psql and
(b) tmplmig's 002a/002b with ``yoyo apply``. It then times ``yoyo apply`` of every migration
against ``psql -f`` of the same rendered bundle on empty databases. Prints a table and writes
a chart of insert latency over time (default ``bench/results/ddl_stall.png``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from tmplmig.database.cluster import Cluster, throwaway_cluster
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering
from tmplmig.reviewing.bundle import MANIFEST, manifest_files

PROJECT = Path(__file__).resolve().parent.parent
SEED_SQL = PROJECT / "bench" / "seed_002ab.sql"
ENV = "prod"
LAST_PART_OF_002B = "002b_foreign_keys"

#: (table, share of --rows) loaded into the baseline tables 002a/002b index and constrain
LOAD = [
    ("auth.users", 0.02),
    ("production.projects", 0.002),
    ("experiments_v1.experiments", 0.2),
    ("experiments_v1.evaluations", 1.0),
    ("experiments_v1.promotions", 0.1),
    ("production.analysis_sessions", 0.3),
    ("audits.audit_log", 0.3),
    ("quarantine.quarantined_records", 0.1),
    ("providers.provider_health", 0.1),
    ("providers.provider_usage", 0.1),
]
LOAD_SQL = {
    "auth.users": "INSERT INTO auth.users (email) SELECT 'u' || g || '@example.org' FROM {series}",
    "production.projects": "INSERT INTO production.projects (name) SELECT 'p' || g FROM {series}",
    "experiments_v1.experiments": """
        INSERT INTO experiments_v1.experiments (user_id, name, status, created_at)
        SELECT u.ids[1 + g % {users}], 'e' || g,
               (ARRAY['draft', 'running', 'completed', 'failed', 'archived'])[1 + g % 5],
               now() - g * interval '1 s'
        FROM {series}, (SELECT array_agg(id) AS ids FROM auth.users) u""",
    "experiments_v1.evaluations": """
        INSERT INTO experiments_v1.evaluations (experiment_id, metric, score, created_at)
        SELECT e.ids[1 + g % {experiments}], 'm' || g % 7, random(), now() - g * interval '1 s'
        FROM {series}, (SELECT array_agg(id) AS ids FROM experiments_v1.experiments) e""",
    "experiments_v1.promotions": """
        INSERT INTO experiments_v1.promotions (experiment_id, target)
        SELECT e.ids[1 + g % {experiments}], 'prod'
        FROM {series}, (SELECT array_agg(id) AS ids FROM experiments_v1.experiments) e""",
    "production.analysis_sessions": """
        INSERT INTO production.analysis_sessions (user_id, project_id, created_at)
        SELECT u.ids[1 + g % {users}], p.ids[1 + g % {projects}], now() - g * interval '1 s'
        FROM {series}, (SELECT array_agg(id) AS ids FROM auth.users) u,
             (SELECT array_agg(id) AS ids FROM production.projects) p""",
    "audits.audit_log": """
        INSERT INTO audits.audit_log
            (operation, table_schema, table_name, entity_type, entity_id, action, occurred_at)
        SELECT 'UPDATE', 'auth', 'users', 'users', g::text, 'update', now() - g * interval '1 s'
        FROM {series}""",
    "quarantine.quarantined_records": """
        INSERT INTO quarantine.quarantined_records (experiment_id, source_table, record, reason)
        SELECT e.ids[1 + g % {experiments}], 'evaluations', '{{}}'::jsonb, 'bench'
        FROM {series}, (SELECT array_agg(id) AS ids FROM experiments_v1.experiments) e""",
    "providers.provider_health": """
        INSERT INTO providers.provider_health (provider, status, latency_ms, checked_at)
        SELECT 'p' || g % 5, 'ok', g % 900, now() - g * interval '1 s' FROM {series}""",
    "providers.provider_usage": """
        INSERT INTO providers.provider_usage (user_id, provider, usage_date, tokens)
        SELECT gen_random_uuid(), 'p' || g % 5, current_date - g % 400, g FROM {series}""",
}

#: the writer's statements, in turn, on tables that 002a indexes and 002b constrains
WRITES = [
    "INSERT INTO experiments_v1.evaluations (experiment_id, metric, score)"
    " VALUES (%(experiment)s, 'live', 0.5)",
    "INSERT INTO experiments_v1.experiments (user_id, name) VALUES (%(user)s, 'live')",
    "INSERT INTO production.analysis_sessions (user_id, project_id) VALUES (%(user)s, %(project)s)",
    "INSERT INTO audits.audit_log (operation, table_schema, table_name, entity_type, action)"
    " VALUES ('INSERT', 'bench', 'live', 'live', 'insert')",
]


class Writer(threading.Thread):
    """Inserts one row per autocommit statement until stopped, recording each latency."""

    def __init__(self, dsn: str, pause: float) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.pause = pause
        self.origin = time.perf_counter()
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            ids = conn.execute(
                "SELECT (SELECT id FROM experiments_v1.experiments LIMIT 1),"
                " (SELECT id FROM auth.users LIMIT 1), (SELECT id FROM production.projects LIMIT 1)"
            ).fetchone()
            assert ids is not None
            params = dict(zip(("experiment", "user", "project"), ids, strict=True))
            turn = 0
            while not self.stopped.is_set():
                started = time.perf_counter()
                conn.execute(WRITES[turn % len(WRITES)], params)
                self.samples.append((started - self.origin, time.perf_counter() - started))
                turn += 1
                time.sleep(self.pause)


@dataclass(frozen=True)
class StallRun:
    """Insert latencies around one DDL run; times in seconds since the writer started."""

    label: str
    samples: list[tuple[float, float]]
    ddl_start: float
    ddl_end: float

    @property
    def during(self) -> list[float]:
        """Latencies (ms) of inserts that overlapped the DDL run."""
        return [
            lat * 1000
            for at, lat in self.samples
            if at < self.ddl_end and at + lat > self.ddl_start
        ]

    @property
    def max_ms(self) -> float:
        return max(self.during)

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.during, n=100, method="inclusive")[98]


def dsn_of(cluster: Cluster, dbname: str) -> str:
    return cluster.dsn.rsplit("/", 1)[0] + "/" + dbname


def yoyo_env(url: str) -> dict[str, str]:
    return {**os.environ, "TMPLMIG_ENV": ENV, "TMPLMIG_DATABASE_URL": url}


def yoyo_command(*args: str) -> list[str]:
    beside_python = Path(sys.executable).parent / "yoyo"
    return [str(beside_python) if beside_python.exists() else "yoyo", *args]


def psql_command(cluster: Cluster, dbname: str, files: list[Path]) -> list[str]:
    command = [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    command += ["-d", dsn_of(cluster, dbname)]
    for file in files:
        command += ["-f", str(file)]
    return command


def admin(cluster: Cluster, statement: sql.Composable) -> None:
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute(statement)


def drop_database(cluster: Cluster, dbname: str) -> None:
    """Drop a database and the cluster-wide roles its migrations created."""
    admin(
        cluster, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
    )
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        roles = conn.execute(
            "SELECT rolname FROM pg_roles"
            " WHERE shobj_description(oid, 'pg_authid') = 'created by tmplmig'"
        ).fetchall()
        for (role,) in roles:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def apply_files(bundle: Path) -> list[Path]:
    """The bundle's apply files in MANIFEST order."""
    return [bundle / name for name in manifest_files((bundle / MANIFEST).read_text(), "apply")]


def load_baseline(cluster: Cluster, dbname: str, bundle: Path, rows: int) -> int:
    """Create the baseline tables with psql and fill them; the total number of rows loaded."""
    admin(cluster, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    subprocess.run(psql_command(cluster, dbname, apply_files(bundle)[:1]), check=True)
    counts = {table: max(1, int(rows * share)) for table, share in LOAD}
    names = {"users": "auth.users", "projects": "production.projects"}
    names["experiments"] = "experiments_v1.experiments"
    sizes = {key: counts[table] for key, table in names.items()}
    with psycopg.connect(dsn_of(cluster, dbname), autocommit=True) as conn:
        for table, count in counts.items():
            series = f"generate_series(1, {count}) AS g"
            conn.execute(LOAD_SQL[table].format(series=series, **sizes))
        conn.execute("VACUUM ANALYZE")
    return sum(counts.values())


def measure_stall(
    cluster: Cluster,
    template: str,
    dbname: str,
    label: str,
    command: list[str],
    env: dict[str, str],
    pause: float,
) -> StallRun:
    """Run ``command`` on ``dbname``, a copy of ``template``, while a writer inserts."""
    admin(
        cluster,
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(dbname), sql.Identifier(template)
        ),
    )
    writer = Writer(dsn_of(cluster, dbname), pause)
    writer.start()
    time.sleep(1.0)
    start = time.perf_counter() - writer.origin
    subprocess.run(command, env=env, check=True, capture_output=True)
    end = time.perf_counter() - writer.origin
    time.sleep(1.0)
    writer.stopped.set()
    writer.join()
    drop_database(cluster, dbname)
    return StallRun(label, writer.samples, start, end)


def seconds_to_run(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Overhead:
    """Wall times (s) of applying all migrations with yoyo and with psql to copies of a database."""

    template: str
    yoyo: list[float]
    psql: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.yoyo) / statistics.median(self.psql)


def measure_overhead(cluster: Cluster, bundle: Path, template: str, runs: int) -> Overhead:
    """``yoyo apply`` and ``psql -f`` of the bundle, each on a fresh copy of ``template``."""
    overhead = Overhead(template, [], [])
    for run in range(runs):
        for method in ("yoyo", "psql") if run % 2 == 0 else ("psql", "yoyo"):
            dbname = f"overhead_{method}_{run}"
            admin(
                cluster,
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(dbname), sql.Identifier(template)
                ),
            )
            if method == "yoyo":
                url = "postgresql+psycopg://" + dsn_of(cluster, dbname).split("://", 1)[1]
                command = yoyo_command(
                    "apply", "--batch", "--database", url, str(PROJECT / "migrations")
                )
                overhead.yoyo.append(seconds_to_run(command, yoyo_env(url)))
            else:
                command = psql_command(cluster, dbname, apply_files(bundle))
                overhead.psql.append(seconds_to_run(command, dict(os.environ)))
            drop_database(cluster, dbname)
    return overhead


def chart(runs: list[StallRun], out: Path) -> None:
    """Insert latency over time, one panel per run, DDL window shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 6), sharey=True)
    for ax, run in zip(axes, runs, strict=True):
        xs = [at - run.ddl_start for at, _ in run.samples]
        ys = [lat * 1000 for _, lat in run.samples]
        ax.plot(xs, ys, linewidth=0.6, marker=".", markersize=2)
        ax.axvspan(0, run.ddl_end - run.ddl_start, color="orange", alpha=0.2, label="DDL running")
        ax.set_yscale("log")
        ax.set_ylabel("insert latency (ms)")
        ax.set_title(f"{run.label}: max {run.max_ms:.1f} ms, p99 {run.p99_ms:.1f} ms")
        ax.legend(loc="upper right")
        ax.grid(True, which="major", alpha=0.3)
    axes[-1].set_xlabel("seconds since the DDL started")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the largest table")
    parser.add_argument("--runs", type=int, default=5, help="apply-overhead runs, empty database")
    parser.add_argument("--loaded-runs", type=int, default=3, help="the same on the loaded one")
    parser.add_argument("--pause-ms", type=float, default=1.0, help="writer pause between inserts")
    parser.add_argument("--chart", type=Path, default=PROJECT / "bench/results/ddl_stall.png")
    args = parser.parse_args(argv)

    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp)
        commands.write_render(for_rendering(PROJECT, ENV), bundle)
        print(f"loading the baseline tables ({args.rows:,} rows in the largest) ...", flush=True)
        loaded = load_baseline(cluster, "loaded", bundle, args.rows)
        pause = args.pause_ms / 1000
        seed = measure_stall(
            cluster,
            "loaded",
            "stall_a",
            "(a) seed SQL via psql",
            psql_command(cluster, "stall_a", [SEED_SQL]),
            dict(os.environ),
            pause,
        )
        url = "postgresql+psycopg://" + dsn_of(cluster, "stall_b").split("://", 1)[1]
        tmplmig = measure_stall(
            cluster,
            "loaded",
            "stall_b",
            "(b) tmplmig 002a/002b via yoyo",
            yoyo_command(
                "apply",
                "--batch",
                "-r",
                LAST_PART_OF_002B,
                "--database",
                url,
                str(PROJECT / "migrations"),
            ),
            yoyo_env(url),
            pause,
        )
        print("measuring apply overhead ...", flush=True)
        overheads = [
            measure_overhead(cluster, bundle, "template1", args.runs),
            measure_overhead(cluster, bundle, "loaded", args.loaded_runs),
        ]

    print(
        f"\nwrite stall during migration 002 ({loaded:,} rows loaded; one writer, "
        f"{len(WRITES)} tables in turn)"
    )
    print(f"{'':34} {'DDL s':>8} {'inserts':>8} {'p99 ms':>9} {'max ms':>9}")
    for run in (seed, tmplmig):
        print(
            f"{run.label:34} {run.ddl_end - run.ddl_start:8.2f} {len(run.during):8d}"
            f" {run.p99_ms:9.1f} {run.max_ms:9.1f}"
        )
    print(
        f"{'ratio (a)/(b)':34} {'':8} {'':8} {seed.p99_ms / tmplmig.p99_ms:8.1f}x"
        f" {seed.max_ms / tmplmig.max_ms:8.1f}x   (target: >= 20)"
    )
    print("\napply overhead: all migrations, yoyo apply vs psql -f of the rendered bundle")
    print(f"{'database':34} {'runs':>8} {'yoyo s':>8} {'psql s':>9} {'ratio':>9}")
    for o in overheads:
        name = "empty" if o.template == "template1" else f"loaded ({loaded:,} rows)"
        print(
            f"{name:34} {len(o.yoyo):8d} {statistics.median(o.yoyo):8.3f}"
            f" {statistics.median(o.psql):9.3f} {o.ratio:8.2f}x   (medians; target: <= 1.3)"
        )
    chart([seed, tmplmig], args.chart)
    print(f"\nchart: {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
