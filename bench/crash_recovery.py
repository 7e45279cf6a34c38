"""Kill ``tmplmig apply`` at random moments and time the recovery (throwaway cluster).

Run: PYTHONPATH=src python bench/crash_recovery.py [--kills N] [--rows N] [--seed S].
Each round rolls back 002a..002e, starts ``tmplmig apply`` as its own process while an
application keeps writing, SIGKILLs it after a random delay within the time a whole apply
takes (so kills land in each part in proportion to its time), and times the next ``tmplmig
apply`` from the kill to its successful end (lock recovery, orphan wait, repair, the rest of
the apply). Prints one line per kill and how many converged (exit 0, no INVALID index).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve

PROJECT = Path(__file__).resolve().parent.parent
PARTS = [s.id for s in commands.render(for_rendering(PROJECT, "dev"))]
WRITE = """
    WITH u AS (INSERT INTO auth.users (email)
               SELECT gen_random_uuid()::text || '@app' FROM generate_series(1, %s) RETURNING id)
    INSERT INTO experiments_v1.experiments (user_id, name) SELECT id, 'app' FROM u"""


def tmplmig_apply(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tmplmig.cli", "--project", str(PROJECT), "apply", "--env", "dev"],
        env={**os.environ, "TMPLMIG_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def write_until(dsn: str, stop: threading.Event) -> None:
    """An application writing a row pair every 10 ms, whatever the migration does."""
    with psycopg.connect(dsn, autocommit=True, application_name="app") as conn:
        while not stop.wait(0.01):
            with contextlib.suppress(psycopg.Error):
                conn.execute(WRITE, [1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with throwaway_cluster() as cluster:
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE bench")
        dsn = cluster.dsn.rsplit("/", 1)[0] + "/bench"
        url = dsn.replace("postgresql://", "postgresql+psycopg://")
        commands.apply(resolve(PROJECT, "dev", url=url))
        with connect(dsn) as conn:
            conn.execute(WRITE, [args.rows])
            stop = threading.Event()
            writer = threading.Thread(target=write_until, args=(dsn, stop))
            writer.start()
            start = time.monotonic()
            commands.rollback(resolve(PROJECT, "dev", url=url), part=PARTS[1])
            full = tmplmig_apply(url)
            full.wait()
            apply_seconds = time.monotonic() - start
            print(f"{args.rows:,} rows; rollback + apply of 002a..002e: {apply_seconds:.2f} s")
            recoveries, converged = [], 0
            for _ in range(args.kills):
                commands.rollback(resolve(PROJECT, "dev", url=url), part=PARTS[1])
                run = tmplmig_apply(url)
                time.sleep(rng.uniform(0.3, apply_seconds))
                run.kill()
                killed = time.monotonic()
                run.wait()
                pending = [
                    s.id for s in commands.status(resolve(PROJECT, "dev", url=url)) if not s.applied
                ]
                code = tmplmig_apply(url).wait()
                seconds = time.monotonic() - killed
                invalid = conn.execute(
                    "SELECT count(*) FROM pg_index WHERE NOT indisvalid"
                ).fetchone()
                ok = code == 0 and invalid == (0,)
                converged += ok
                recoveries.append(seconds)
                first = pending[0] if pending else "(none: killed after the last part)"
                print(
                    f"killed with {first} pending: next apply done {seconds:.2f} s after the kill, "
                    f"{'converged' if ok else 'NOT converged'}"
                )
            stop.set()
            writer.join()
        print(
            f"{converged} of {args.kills} kills converged; kill to next successful apply: "
            f"median {statistics.median(recoveries):.2f} s, max {max(recoveries):.2f} s"
        )


if __name__ == "__main__":
    main()
