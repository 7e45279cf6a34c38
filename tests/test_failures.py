"""Failure recovery on real PostgreSQL: killed index builds, failing steps, racing appliers.

An index build is interrupted deterministically: a transaction that wrote to the table stays
open, so ``CREATE INDEX CONCURRENTLY`` commits its (still INVALID) index and then waits for
that writer; the test terminates the migrating backend while it waits.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import ALL_PARTS, deployer_dsn, poll

from tmplmig.database.catalog import Snapshot, difference, snapshot
from tmplmig.database.cluster import find_bindir
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.reviewing.bundle import MANIFEST, manifest_files

INVALID_INDEXES = """
    SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
    WHERE NOT i.indisvalid"""
WAITING_INDEX_BUILD = """
    SELECT pid FROM pg_catalog.pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
      AND query LIKE 'CREATE INDEX CONCURRENTLY%'"""


def run_bundle_by_hand(database: str, project: Path, out: Path, part_ids: list[str]) -> None:
    """What a DBA does: write the review bundle and run parts' apply files with psql."""
    commands.write_render(for_rendering(project, "dev"), out)
    login = deployer_dsn(database)
    psql = [str(find_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", login]
    for name in manifest_files((out / MANIFEST).read_text(), "apply"):
        if name.partition(".")[0] in part_ids:
            subprocess.run([*psql, "-f", str(out / name)], check=True)


@dataclass(frozen=True)
class Interrupted:
    """The error of an apply killed during 002a, and the catalog before anything was applied."""

    error: BaseException
    empty: Snapshot


@pytest.fixture
def interrupted_index_build(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> Interrupted:
    """Baseline applied, then an apply whose backend was killed while 002a built an index."""
    empty = snapshot(conn)
    run_bundle_by_hand(database, project, tmp_path, ["001_baseline"])
    failure: list[BaseException] = []

    def apply() -> None:
        try:
            commands.apply(resolve(project, "dev", url=db_url))
        except BaseException as exc:
            failure.append(exc)

    with psycopg.connect(database) as writer:  # an open transaction that wrote to the table
        writer.execute(
            "INSERT INTO experiments_v1.experiments (user_id, name) VALUES (gen_random_uuid(), 'w')"
        )
        applier = threading.Thread(target=apply)
        applier.start()
        conn.execute(
            "SELECT pg_terminate_backend(%s)", [poll(conn, WAITING_INDEX_BUILD, seconds=20)]
        )
        applier.join(30)
        writer.rollback()
    assert failure, "the interrupted apply should have failed"
    return Interrupted(failure[0], empty)


def test_killed_index_build_leaves_invalid_index_that_next_apply_rebuilds(
    interrupted_index_build: Interrupted,
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
) -> None:
    assert isinstance(interrupted_index_build.error, psycopg.OperationalError)
    assert conn.execute(INVALID_INDEXES).fetchall() == [("idx_experiments_v1_status_created",)]
    assert [
        s.id for s in commands.status(resolve(project, "dev", url=db_url)) if s.applied
    ] == ALL_PARTS[:1]

    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS[1:]
    assert conn.execute(INVALID_INDEXES).fetchall() == []
    valid = conn.execute(
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname LIKE 'idx\\_%' AND i.indisvalid"
    ).fetchone()
    assert valid == (17,)


def test_rollback_after_partial_apply_restores_the_empty_database(
    interrupted_index_build: Interrupted,
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
) -> None:
    assert conn.execute(INVALID_INDEXES).fetchall() != []
    assert commands.rollback(resolve(project, "dev", url=db_url)) == ALL_PARTS[:1]
    assert difference(interrupted_index_build.empty, snapshot(conn)) == {}


BROKEN_PART = """{% set title = "broken on purpose" %}
{% set transactional = true %}
{% set depends = ["002e_functions"] %}
{% import "_macros.sql.j2" as m with context %}
{% call m.table(schemas.system, "scratch") %}
    id integer PRIMARY KEY
{% endcall %}
{{ m.index(schemas.system, "scratch", "idx_scratch_id", "id") }}
"""


def test_failing_step_in_transactional_migration_leaves_nothing_behind(
    sandbox: Path, project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    before = snapshot(conn)
    (sandbox / "templates/003_broken.sql.j2").write_text(BROKEN_PART)
    (sandbox / "migrations/003_broken.py").write_text(
        (project / "migrations/002a_indexes.py").read_text()
    )

    # the table step succeeds; CONCURRENTLY inside the transaction then fails
    with pytest.raises(psycopg.errors.ActiveSqlTransaction):
        commands.apply(resolve(sandbox, "dev", url=db_url))

    assert difference(before, snapshot(conn)) == {}
    pending = [s.id for s in commands.status(resolve(sandbox, "dev", url=db_url)) if not s.applied]
    assert pending == ["003_broken"]


def test_two_yoyo_applies_started_together_apply_each_migration_once(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    env = {**os.environ, "TMPLMIG_ENV": "dev", "TMPLMIG_DATABASE_URL": db_url}
    runs = [
        subprocess.Popen(["yoyo", "apply"], cwd=project, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(run.wait(120), run.stderr.read() if run.stderr else "") for run in runs]

    assert all(code == 0 for code, _ in results), results
    applied = conn.execute(
        "SELECT migration_id, count(*) FROM _yoyo_log WHERE operation = 'apply'"
        " GROUP BY migration_id ORDER BY migration_id"
    ).fetchall()
    assert applied == [(part, 1) for part in ALL_PARTS]
    assert conn.execute(INVALID_INDEXES).fetchall() == []


def test_apply_after_the_bundle_was_run_by_hand_converges(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    run_bundle_by_hand(database, project, tmp_path, ALL_PARTS)
    by_hand = snapshot(conn)

    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS
    assert difference(by_hand, snapshot(conn)) == {}


def test_apply_waits_politely_behind_a_long_transaction_then_completes(
    sandbox: Path,
    database: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "tmplmig.database.locking")
    dev = sandbox / "config/dev.yaml"
    patient = "ddl:\n  lock_timeout: 100ms\n  lock_retries: 30\n  retry_backoff_ms: 50\n"
    dev.write_text(dev.read_text() + patient)
    run_bundle_by_hand(database, sandbox, tmp_path, ["001_baseline"])

    with psycopg.connect(database) as long_transaction:
        long_transaction.execute("INSERT INTO auth.users (email) VALUES ('busy@example.org')")
        threading.Timer(1.0, long_transaction.commit).start()
        assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ALL_PARTS

    refused = {r.getMessage().partition(":")[0] for r in caplog.records}
    assert "foreign key fk_experiments_user" in refused
    assert conn.execute(INVALID_INDEXES).fetchall() == []
