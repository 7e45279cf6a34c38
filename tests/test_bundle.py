"""The DBA review bundle: deterministic, the very SQL yoyo runs, runnable with psql, checkable.

psql runs each MANIFEST section in order on one fresh database while yoyo applies the same
environment to another; the two catalogs must be equal, and the rollback files must
restore the empty one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import manifest_section, run_with_psql

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.reviewing.bundle import MANIFEST

ENV = "staging"


@pytest.fixture
def bundle(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    commands.write_render(project, ENV, out)
    return out


def test_bundle_files_and_manifest_are_deterministic(project: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    commands.write_render(project, ENV, first)
    commands.write_render(project, ENV, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)

    manifest = (first / MANIFEST).read_text()
    apply, rollback = manifest_section(manifest, "apply"), manifest_section(manifest, "rollback")
    parts = [p.id for p in commands.render(project, ENV)]
    assert [n.split(".")[0] for _, n in apply] == parts
    assert [n.split(".")[0] for _, n in rollback] == list(reversed(parts))
    assert {n for _, n in apply + rollback} == set(names) - {MANIFEST}
    for digest, name in apply + rollback:
        assert hashlib.sha256((first / name).read_bytes()).hexdigest() == digest


def test_parts_with_dollar_quoting_are_pgsql_and_the_others_sql(bundle: Path) -> None:
    """Decided per part, so an apply file and its rollback file always share an extension."""
    by_part: dict[str, list[Path]] = {}
    for path in bundle.glob("*sql"):
        by_part.setdefault(path.name.split(".")[0], []).append(path)
    for files in by_part.values():
        dollar = any("$" in path.read_text() for path in files)
        assert {path.suffix for path in files} == {".pgsql" if dollar else ".sql"}, files
    assert (bundle / "002c_system_tables.sql").is_file()
    assert (bundle / "002e_functions.pgsql").is_file()


def test_psql_run_of_the_bundle_gives_the_catalog_of_yoyo_apply(
    project: Path,
    bundle: Path,
    database: str,
    db_url: str,
    second_database: str,
    conn: psycopg.Connection[Any],
) -> None:
    commands.apply(project, ENV, url=db_url)
    run_with_psql(second_database, bundle, "apply")
    with psycopg.connect(second_database, autocommit=True) as by_hand:
        assert difference(snapshot(conn), snapshot(by_hand)) == {}
        tables = by_hand.execute("SELECT count(*) FROM system.retention_policies").fetchone()
    assert tables == (6,)


def test_rollback_files_in_manifest_order_restore_the_empty_catalog(
    bundle: Path, database: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    run_with_psql(database, bundle, "apply")
    assert difference(before, snapshot(conn))
    run_with_psql(database, bundle, "rollback")
    assert difference(before, snapshot(conn)) == {}


def test_check_catches_a_changed_template(
    sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = tmp_path / "committed"
    commands.write_render(sandbox, "dev", committed)
    argv = ["--project", str(sandbox), "render", "--env", "dev", "--check", str(committed)]
    assert cli.main(argv) == 0

    template = sandbox / "templates/002a_indexes.sql.j2"
    template.write_text(template.read_text().replace('"user_id, status"', '"status, user_id"'))
    assert cli.main(argv) == 1
    diff = capsys.readouterr().out
    assert f"--- {committed}/002a_indexes.pgsql" in diff
    assert "+++ rendered/002a_indexes.pgsql" in diff
    assert '-CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_user_status"' in diff
    assert "+++ rendered/MANIFEST" in diff


def test_check_reports_a_missing_bundle_file(project: Path, bundle: Path) -> None:
    (bundle / "002c_system_tables.sql").unlink()
    diff = commands.check_render(project, ENV, bundle)
    assert "--- /dev/null" in diff and "+++ rendered/002c_system_tables.sql" in diff


def test_diff_shows_how_two_environments_render_differently(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--project", str(project), "diff", "--env", "dev", "--env", "prod"]) == 1
    out = capsys.readouterr().out
    assert "--- dev/002c_system_tables.sql\n+++ prod/002c_system_tables.sql" in out
    assert "-VALUES ('audit_log', 'audits', 'audit_log', 'occurred_at', 30)" in out
    assert "+VALUES ('audit_log', 'audits', 'audit_log', 'occurred_at', 2555)" in out
    assert "environment:" not in out  # headers always differ; only SQL is compared
    assert "MANIFEST" not in out


def test_diff_of_one_target_with_itself_is_empty(project: Path) -> None:
    assert commands.diff(project, "prod", "prod") == ""


def test_diff_targets_name_a_tenant_after_a_colon() -> None:
    assert commands.parse_target("prod:acme") == ("prod", "acme")
    assert commands.parse_target("prod") == ("prod", None)
