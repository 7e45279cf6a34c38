"""Apply everything, find every object of the seed, roll back to the exact catalog, re-apply."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from support.servers import ALL_PARTS, deployer_dsn

from tmplmig import cli
from tmplmig.database import urls
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

SEED_INDEXES = {
    ("experiments_v1", "idx_experiments_v1_status_created"),
    ("experiments_v1", "idx_experiments_v1_user_status"),
    ("experiments_v1", "idx_evaluations_experiment"),
    ("production", "idx_production_user_project"),
    ("production", "idx_production_created_at"),
    ("audits", "idx_audit_timestamp"),
    ("audits", "idx_audit_user_action"),
    ("audits", "idx_audit_entity"),
    ("quarantine", "idx_quarantine_status"),
    ("providers", "idx_provider_health_status"),
    ("providers", "idx_provider_usage_date"),
}
SEED_FOREIGN_KEYS = {
    ("experiments_v1.experiments", "fk_experiments_user"),
    ("experiments_v1.evaluations", "fk_evaluations_experiment"),
    ("experiments_v1.promotions", "fk_promotions_experiment"),
    ("production.analysis_sessions", "fk_sessions_user"),
    ("production.analysis_sessions", "fk_sessions_project"),
    ("quarantine.quarantined_records", "fk_quarantine_experiment"),
}
SEED_FUNCTIONS = {
    ("audits", "log_sensitive_operation", ""),
    ("system", "encrypt_data", "plaintext text, key_id uuid"),
    ("system", "decrypt_data", "ciphertext bytea, key_id uuid"),
    ("system", "session_master_key", ""),
    ("system", "data_key", "key_id uuid, for_encryption boolean"),
    ("system", "add_encryption_key", ""),
    ("system", "retire_encryption_key", "key_id uuid"),
    ("system", "purge_expired", "batch_size integer"),
    ("tmplmig", "keep_column", ""),
}
SEED_TRIGGERS = {
    ("auth.users", "audit_users_changes"),
    ("providers.user_providers", "audit_api_keys_changes"),
    ("experiments_v1.promotions", "audit_promotions_changes"),
    ("audits.audit_log", "keep_audit_log_occurred_at"),
    ("experiments_v1.experiments", "keep_experiments_created_at"),
    ("production.analysis_sessions", "keep_analysis_sessions_created_at"),
    ("quarantine.quarantined_records", "keep_quarantined_records_quarantined_at"),
    ("providers.provider_health", "keep_provider_health_checked_at"),
    ("providers.provider_usage", "keep_provider_usage_usage_date"),
    ("experiments_v1.evaluations", "keep_evaluations_experiment_id"),
    ("experiments_v1.promotions", "keep_promotions_experiment_id"),
    ("audits.audit_log", "keep_audit_log_occurred_at_on_insert"),
    ("experiments_v1.experiments", "keep_experiments_created_at_on_insert"),
    ("production.analysis_sessions", "keep_analysis_sessions_created_at_on_insert"),
    ("quarantine.quarantined_records", "keep_quarantined_records_quarantined_at_on_insert"),
    ("providers.provider_health", "keep_provider_health_checked_at_on_insert"),
    ("providers.provider_usage", "keep_provider_usage_usage_date_on_insert"),
}
SEED_ROLES = {"app_readonly", "app_readwrite", "app_admin"}


def _rows(conn: psycopg.Connection[Any], query: str) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in conn.execute(query).fetchall()}


def test_apply_creates_every_seed_object(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS
    snap = snapshot(conn)

    valid_indexes = {(r[0], r[1]) for r in snap["indexes"] if r[3]}
    assert valid_indexes >= SEED_INDEXES
    fks = {(r[1], r[2]) for r in snap["constraints"] if r[3] == "f" and r[4]}
    assert fks == SEED_FOREIGN_KEYS
    assert {(r[0], r[1], r[2]) for r in snap["functions"]} == SEED_FUNCTIONS
    assert {(r[0], r[1]) for r in snap["triggers"]} == SEED_TRIGGERS
    assert {r[0] for r in snap["roles"]} >= SEED_ROLES

    retention = dict(_rows(conn, "SELECT data_class, retain_days FROM system.retention_policies"))
    assert retention == {
        "audit_log": 30,
        "experiments": 730,
        "analysis_sessions": 180,
        "quarantined_records": 90,
        "provider_health": 7,
        "provider_usage": 400,
    }
    pool = conn.execute(
        "SELECT min_size, max_size FROM system.connection_pool_settings WHERE pool_name = 'default'"
    ).fetchone()
    assert pool == (1, 5)
    assert conn.execute("SELECT count(*) FROM system.encryption_keys").fetchone() == (0,)


def test_rollback_restores_catalog_and_reapply_succeeds(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(project, "dev", url=db_url))
    assert difference(before, snapshot(conn))  # something really was created

    assert commands.rollback(resolve(project, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(before, snapshot(conn)) == {}
    assert all(not s.applied for s in commands.status(resolve(project, "dev", url=db_url)))

    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS
    assert all(s.applied for s in commands.status(resolve(project, "dev", url=db_url)))


def test_second_apply_is_a_no_op(project: Path, db_url: str) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    assert commands.apply(resolve(project, "dev", url=db_url)) == []


def test_rolling_back_one_part_keeps_the_earlier_ones(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    assert commands.rollback(resolve(project, "dev", url=db_url), part="002d_roles_grants") == [
        "002e_functions",
        "002d_roles_grants",
    ]
    applied = {s.id for s in commands.status(resolve(project, "dev", url=db_url)) if s.applied}
    assert applied == set(ALL_PARTS[:4])
    assert conn.execute("SELECT count(*) FROM system.retention_policies").fetchone() == (6,)
    roles = _rows(conn, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'app\\_%'")
    assert roles == {("app_owner",)}  # 001 made it and still owns 001's objects


def test_prod_config_reaches_the_database(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "prod", url=db_url))
    days = conn.execute(
        "SELECT retain_days FROM system.retention_policies WHERE data_class = 'audit_log'"
    ).fetchone()
    assert days == (2555,)
    commands.rollback(resolve(project, "prod", url=db_url))


def test_plain_yoyo_cli_applies_and_rolls_back(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """`yoyo apply` through the project's yoyo.ini, `yoyo rollback` with explicit arguments."""
    before = snapshot(conn)
    env = {**os.environ, "TMPLMIG_ENV": "staging", "TMPLMIG_DATABASE_URL": db_url}
    subprocess.run(["yoyo", "apply"], cwd=project, env=env, check=True, capture_output=True)
    applied = {s.id for s in commands.status(resolve(project, "staging", url=db_url)) if s.applied}
    assert applied == set(ALL_PARTS)
    subprocess.run(
        ["yoyo", "rollback", "--all", "--batch", "--database", db_url, "migrations"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    assert difference(before, snapshot(conn)) == {}


def test_yoyo_cli_without_env_says_what_to_set_in_one_line(project: Path, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TMPLMIG_ENV"}
    result = subprocess.run(
        ["yoyo", "apply", "--batch", "--database", db_url, str(project / "migrations")],
        cwd=project.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "tmplmig: set TMPLMIG_ENV (dev, staging, prod, ...) to choose the config to render"
    ]


def test_cli_reports_a_database_failure_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    assert cli.main(["--project", str(project), "apply", "--env", "dev", "--database", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tmplmig: failed: OperationalError: connection failed")
    assert "Traceback" not in err


def test_a_url_with_no_host_before_its_path_keeps_it_through_every_verb(
    project: Path, database: str
) -> None:
    """``postgresql:///db?host=...``, the form a local socket's URL takes: the URLs tmplmig
    derives (named connections, a tenant's schema, a scratch database) keep its ``//``
    (``urlunsplit`` dropped it for yoyo's scheme, and no verb could connect)."""
    p = conninfo_to_dict(deployer_dsn(database))
    query = f"host={p['host']}&port={p['port']}&user={p['user']}&password={p['password']}"
    url = f"postgresql:///{p['dbname']}?{query}"
    for derived in (
        urls.named(urls.yoyo_url(url), "apply", "dev", None),
        urls.with_schema(urls.yoyo_url(url), "tmplmig_acme"),
        urls.with_database(urls.yoyo_url(url), "elsewhere"),
    ):
        assert derived.startswith("postgresql+psycopg:///"), derived
    target = resolve(project, "dev", url=url)
    assert commands.apply(target) == ALL_PARTS
    assert {s.state for s in commands.status(target)} == {"applied"}
    assert commands.verify(target) == []
    assert commands.rollback(target) == ALL_PARTS[::-1]
