"""What the security objects cost: encryption per call, the audit trigger per row, and how
long one bounded purge batch holds its locks. Prints figures; asserts nothing.

    PYTHONPATH=src python bench/security_costs.py [--rows 20000] [--purge-rows 200000]
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

PROJECT = Path(__file__).resolve().parent.parent


def timed(run: Callable[[], Any]) -> float:
    """Seconds one call of ``run`` takes."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def encryption(conn: Any, rows: int) -> None:
    conn.execute("SELECT set_config('tmplmig.master_key', %s, false)", (secrets.token_hex(32),))
    key = conn.execute("SELECT system.add_encryption_key()").fetchone()[0]
    conn.execute("CREATE TEMP TABLE blobs AS SELECT 1 AS i, ''::bytea AS b WITH NO DATA")
    encrypt = timed(
        lambda: conn.execute(
            "INSERT INTO blobs SELECT i, system.encrypt_data(md5(i::text), %s)"
            " FROM generate_series(1, %s) i",
            (key, rows),
        )
    )
    decrypt = timed(
        lambda: conn.execute("SELECT count(system.decrypt_data(b, %s)) FROM blobs", (key,))
    )
    print(f"encrypt_data: {encrypt / rows * 1e6:8.1f} µs per call ({rows} calls)")
    print(f"decrypt_data: {decrypt / rows * 1e6:8.1f} µs per call ({rows} calls)")


def audit_trigger(conn: Any, rows: int) -> None:
    insert = (
        "INSERT INTO auth.users (email, password_hash)"
        " SELECT %s || i || '@example.org', 'hash' FROM generate_series(1, %s) i"
    )
    conn.execute("ALTER TABLE auth.users DISABLE TRIGGER audit_users_changes")
    without = timed(lambda: conn.execute(insert, ("plain", rows)))
    conn.execute("ALTER TABLE auth.users ENABLE TRIGGER audit_users_changes")
    with_audit = timed(lambda: conn.execute(insert, ("audited", rows)))
    per_row = (with_audit - without) / rows * 1e6
    print(f"insert without audit trigger: {rows / without:10.0f} rows/s")
    print(f"insert with audit trigger:    {rows / with_audit:10.0f} rows/s")
    print(f"audit trigger overhead:       {per_row:10.1f} µs per row")


def purge(conn: Any, rows: int) -> None:
    for batch in (1_000, 10_000):
        conn.execute(
            "INSERT INTO providers.provider_health (provider, status, checked_at)"
            " SELECT 'llm', 'up', now() - interval '400 days' - i * interval '1 second'"
            " FROM generate_series(1, %s) i",
            (rows,),
        )
        conn.execute("VACUUM ANALYZE providers.provider_health")
        calls: list[float] = []
        while True:
            start = time.perf_counter()
            deleted = dict(conn.execute("SELECT * FROM system.purge_expired(%s)", (batch,)))
            calls.append(time.perf_counter() - start)
            if deleted["provider_health"] < batch:
                break
        total = sum(calls)
        print(
            f"purge_expired({batch}): {len(calls)} calls for {rows} rows, "
            f"{rows / total:8.0f} rows/s, longest call {max(calls) * 1000:7.1f} ms, "
            f"median {sorted(calls)[len(calls) // 2] * 1000:7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--purge-rows", type=int, default=200_000)
    args = parser.parse_args()
    with throwaway_cluster() as cluster:
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE tmplmig_bench")
        url = cluster.dsn.rsplit("/", 1)[0] + "/tmplmig_bench"
        commands.apply(resolve(PROJECT, "dev", url=url))
        with connect(url) as conn:
            encryption(conn, args.rows // 10)
            audit_trigger(conn, args.rows)
            purge(conn, args.purge_rows)


if __name__ == "__main__":
    main()
