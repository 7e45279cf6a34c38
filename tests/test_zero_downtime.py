"""Migration 002 on live tables: concurrent index builds, and every foreign key indexed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve

UNINDEXED_FOREIGN_KEYS = """
    SELECT co.conrelid::regclass::text, co.conname
    FROM pg_catalog.pg_constraint co
    WHERE co.contype = 'f' AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_index i
        WHERE i.indrelid = co.conrelid AND i.indisvalid
          AND (i.indkey::int2[])[0:array_length(co.conkey, 1) - 1] = co.conkey
    )"""


def test_every_index_is_built_concurrently_outside_a_transaction(project: Path) -> None:
    for part in commands.render(for_rendering(project, "prod")):
        for step in part.steps:
            if "INDEX" in step.apply and "CREATE" in step.apply:
                assert step.apply.startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ")
                assert (step.rollback or "").startswith("DROP INDEX CONCURRENTLY IF EXISTS ")
                (repair, _) = step.apply_statements
                assert repair.sql.startswith("DROP INDEX CONCURRENTLY IF EXISTS ")
                assert repair.guard is not None and "indisvalid" in repair.guard
                assert not part.transactional, part.id


def test_foreign_keys_are_validated_outside_the_transaction_that_adds_them(project: Path) -> None:
    part = next(
        p for p in commands.render(for_rendering(project, "prod")) if p.id == "002b_foreign_keys"
    )
    assert not part.transactional
    adds = [s for s in part.steps if "NOT VALID" in s.apply]
    validates = [s for s in part.steps if "VALIDATE CONSTRAINT" in s.apply]
    assert len(adds) == len(validates) == 6


def test_every_foreign_key_column_leads_a_valid_index(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "prod", url=db_url))
    foreign_keys = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()
    assert foreign_keys == (6,)
    assert conn.execute(UNINDEXED_FOREIGN_KEYS).fetchall() == []


#: retention data classes whose timestamp column leads no valid index
UNINDEXED_RETENTION_COLUMNS = """
    SELECT p.data_class FROM system.retention_policies p
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = format('%I.%I', p.target_schema, p.target_table)::regclass
          AND a.attname = p.timestamp_column AND i.indisvalid)"""


def test_every_retention_timestamp_column_leads_a_valid_index(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """So each purge_expired batch reads its oldest rows by index, not by a table scan."""
    commands.apply(resolve(project, "prod", url=db_url))
    unindexed = conn.execute(UNINDEXED_RETENTION_COLUMNS).fetchall()
    assert conn.execute("SELECT count(*) FROM system.retention_policies").fetchone() == (6,)
    assert unindexed == []
    conn.execute("DROP INDEX providers.idx_provider_health_checked_at")
    assert conn.execute(UNINDEXED_RETENTION_COLUMNS).fetchall() == [("provider_health",)]


def test_the_seed_indexes_alone_would_leave_foreign_keys_unindexed(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The check above can fail: without the three added indexes it finds their keys."""
    commands.apply(resolve(project, "prod", url=db_url))
    conn.execute(
        "DROP INDEX experiments_v1.idx_promotions_experiment, production.idx_sessions_project,"
        " quarantine.idx_quarantine_experiment"
    )
    unindexed = {row[1] for row in conn.execute(UNINDEXED_FOREIGN_KEYS).fetchall()}
    assert unindexed == {
        "fk_promotions_experiment",
        "fk_sessions_project",
        "fk_quarantine_experiment",
    }
