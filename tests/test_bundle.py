"""The DBA review bundle: deterministic, the very SQL yoyo runs, runnable with psql, checkable.

psql runs each MANIFEST section in order on one fresh database while yoyo applies the same
environment to another; the two catalogs must be equal, and the rollback files must
restore the empty one.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.bundles import manifest_section, run_file_with_psql, run_with_psql
from support.servers import dsn_for

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.parts import uses_postgres_only_syntax
from tmplmig.reviewing.bundle import MANIFEST, NOT_SQL

ENV = "staging"


@pytest.fixture
def bundle(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    commands.write_render(for_rendering(project, ENV), out)
    return out


def test_bundle_files_and_manifest_are_deterministic(project: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    commands.write_render(for_rendering(project, ENV), first)
    commands.write_render(for_rendering(project, ENV), second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)

    manifest = (first / MANIFEST).read_text()
    apply, rollback = manifest_section(manifest, "apply"), manifest_section(manifest, "rollback")
    parts = [p.id for p in commands.render(for_rendering(project, ENV))]
    assert [n.split(".")[0] for _, n in apply] == parts
    assert [n.split(".")[0] for _, n in rollback] == list(reversed(parts))
    assert {n for _, n in apply + rollback} == set(names) - set(NOT_SQL)
    for digest, name in apply + rollback:
        assert hashlib.sha256((first / name).read_bytes()).hexdigest() == digest


def test_pgsql_only_for_parts_with_dollar_quoting_or_do_blocks_and_seed_names_otherwise(
    project: Path, bundle: Path
) -> None:
    """Decided per part, so an apply file and its rollback share an extension. 002a-002c
    (indexes, foreign keys, system tables) render as plain SQL; 001 and 002d refuse an unfit
    existing role in a DO block (RAISE), and 002e holds PL/pgSQL functions."""
    texts: dict[str, list[str]] = {}
    for path in bundle.glob("*sql"):
        texts.setdefault(path.name.split(".")[0], []).append(path.read_text())
    for part, files in texts.items():
        ext = "pgsql" if any(uses_postgres_only_syntax(t) for t in files) else "sql"
        assert {f"{part}.{ext}", f"{part}.rollback.{ext}"} <= {p.name for p in bundle.iterdir()}
    for part in ("002a_indexes", "002b_foreign_keys", "002c_system_tables"):
        assert (bundle / f"{part}.sql").is_file() and (bundle / f"{part}.rollback.sql").is_file()
    for part in ("001_baseline", "002d_roles_grants", "002e_functions"):
        assert (bundle / f"{part}.pgsql").is_file()
    plain = [
        g.sql
        for part in commands.render(for_rendering(project, ENV))
        for s in part.steps
        if s.name.split()[0] in ("index", "foreign", "validate", "privileges", "columns")
        for g in (*s.apply_statements, *s.rollback_statements)
    ]
    assert len(plain) > 40 and not any(uses_postgres_only_syntax(sql) for sql in plain)


@pytest.mark.parametrize(
    ("sql", "specific"),
    [
        ('CREATE TABLE "a$b"."c$d$" (e$f integer);', False),
        ("INSERT INTO t VALUES ('costs $5 or $x$');  -- $body$ in a comment", False),
        ("DO $body$ BEGIN NULL; END $body$;", True),
        ("DO LANGUAGE plpgsql 'BEGIN NULL; END';", True),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;", True),
        ("INSERT INTO t VALUES (1) ON CONFLICT (id)\nDO NOTHING;", False),
    ],
)
def test_pgsql_means_dollar_quoting_or_do_blocks_not_any_dollar_sign(
    sql: str, specific: bool
) -> None:
    assert uses_postgres_only_syntax(sql) is specific


@pytest.mark.parametrize(("env", "tenant"), [("dev", None), ("dev", "globex")])
def test_running_every_bundle_file_twice_with_psql_converges(
    project: Path,
    tmp_path: Path,
    database: str,
    conn: psycopg.Connection[Any],
    env: str,
    tenant: str | None,
) -> None:
    """A DBA may run a file again after a lock timeout or a crash, or a whole section again:
    each file run twice in a row leaves the catalog of one run, and so does each section run
    again (the rollback files then find everything dropped by their first run)."""
    bundle = tmp_path / "bundle"
    commands.write_render(for_rendering(project, env, tenant), bundle)
    empty = snapshot(conn)
    for section in ("apply", "rollback"):
        names = [name for _, name in manifest_section((bundle / MANIFEST).read_text(), section)]
        for name in names:
            run_file_with_psql(database, bundle / name)
            once = snapshot(conn)
            run_file_with_psql(database, bundle / name)
            assert difference(once, snapshot(conn)) == {}, name
        for name in names:
            run_file_with_psql(database, bundle / name)
        assert difference(once, snapshot(conn)) == {}, section
    assert difference(empty, snapshot(conn)) == {}


def test_psql_run_of_the_bundle_gives_the_catalog_of_yoyo_apply(
    project: Path,
    bundle: Path,
    database: str,
    db_url: str,
    second_database: str,
    conn: psycopg.Connection[Any],
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
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
    commands.write_render(for_rendering(sandbox, "dev"), committed)
    argv = ["--project", str(sandbox), "render", "--env", "dev", "--check", str(committed)]
    assert cli.main(argv) == 0

    template = sandbox / "templates/002a_indexes.sql.j2"
    template.write_text(template.read_text().replace('"user_id, status"', '"status, user_id"'))
    assert cli.main(argv) == 1
    diff = capsys.readouterr().out
    assert f"--- {committed}/002a_indexes.sql" in diff
    assert "+++ rendered/002a_indexes.sql" in diff
    assert '-CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_experiments_v1_user_status"' in diff
    assert "+++ rendered/MANIFEST" in diff


def test_check_reports_a_missing_bundle_file(project: Path, bundle: Path) -> None:
    (bundle / "002c_system_tables.sql").unlink()
    diff = commands.check_render(for_rendering(project, ENV), bundle)
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
    prod = for_rendering(project, "prod")
    assert commands.diff(prod, prod) == ""


def test_diff_targets_name_a_tenant_after_a_colon() -> None:
    assert commands.parse_target("prod:acme") == ("prod", "acme")
    assert commands.parse_target("prod") == ("prod", None)


def test_review_page_shows_per_part_locks_findings_reasons_and_rollback(bundle: Path) -> None:
    review = (bundle / "REVIEW.md").read_text()
    sections = review.split("\n## ")[1:]
    assert [s.split(":")[0] for s in sections] == sorted(
        p.name.split(".")[0] for p in bundle.glob("*.rollback.*sql")
    )
    indexes = next(s for s in sections if s.startswith("002a_indexes"))
    assert (
        "| `experiments_v1.experiments` | SHARE UPDATE EXCLUSIVE | reads and writes continue |"
        in indexes
    )
    assert "**Rollback:** 17 step(s) in reverse order: 17 x DROP INDEX CONCURRENTLY." in indexes
    assert "**Repairs to run by hand:** 17" in indexes
    tables = next(s for s in sections if s.startswith("002c_system_tables"))
    assert "prefer-bigint-over-int: a day count from config" in tables
    header = (bundle / "002c_system_tables.sql").read_text().splitlines()[4]
    assert header.removeprefix("-- config digest: ") in review


def test_psql_rollback_keeps_a_role_still_used_elsewhere_and_warns_like_yoyo(
    bundle: Path, server_dsn: str, database: str, conn: psycopg.Connection[Any]
) -> None:
    run_with_psql(database, bundle, "apply")
    other = f"tmplmig_other_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        with psycopg.connect(dsn_for(server_dsn, other), autocommit=True) as elsewhere:
            elsewhere.execute("CREATE TABLE shared_report (x int)")
            elsewhere.execute("GRANT SELECT ON shared_report TO app_readonly")
        stderr = {
            name: subprocess.run(
                [
                    "psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    database,
                    "-f",
                    str(bundle / name),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stderr
            for _, name in manifest_section((bundle / MANIFEST).read_text(), "rollback")
        }
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname ~ '^app_'")}
        assert roles == {"app_readonly"}
        [warnings] = [text for name, text in stderr.items() if name.startswith("002d_")]
        assert (
            f"role app_readonly kept: it is still used elsewhere: 1 object in database {other}"
            in (warnings)
        )
    finally:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))


def test_psql_prints_no_result_tables_running_the_bundle_either_way(
    bundle: Path, database: str
) -> None:
    for section in ("apply", "rollback"):
        for _, name in manifest_section((bundle / MANIFEST).read_text(), section):
            out = run_file_with_psql(database, bundle / name)
            assert "row)" not in out and "rows)" not in out, f"{name}:\n{out}"


OIDS = """
    SELECT 'class', c.oid::bigint, n.nspname || '.' || c.relname
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    UNION ALL SELECT 'constraint', oid::bigint, conname FROM pg_catalog.pg_constraint
    WHERE connamespace > 16384
    UNION ALL SELECT 'trigger', oid::bigint, tgname FROM pg_catalog.pg_trigger
    WHERE NOT tgisinternal
    UNION ALL SELECT 'function', p.oid::bigint, p.proname FROM pg_catalog.pg_proc p
    WHERE p.pronamespace > 16384
    ORDER BY 1, 3"""


def test_every_apply_file_run_again_with_psql_changes_no_catalog_object(
    bundle: Path, database: str, conn: psycopg.Connection[Any]
) -> None:
    run_with_psql(database, bundle, "apply")
    for _, name in manifest_section((bundle / MANIFEST).read_text(), "apply"):
        before = conn.execute(OIDS).fetchall()
        catalog = snapshot(conn)
        run_file_with_psql(database, bundle / name)
        assert conn.execute(OIDS).fetchall() == before, name
        assert difference(catalog, snapshot(conn)) == {}, name
