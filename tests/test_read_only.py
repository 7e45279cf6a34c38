"""Verbs that only read (status, plan, render, diff, verify) write nothing to the target
database: no tracking schema, none of yoyo's tables, no row. Compared on the whole catalog,
bookkeeping included, which ``catalog.snapshot`` leaves out on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.servers import ALL_PARTS
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

Catalog = dict[str, frozenset[tuple[Any, ...]]]

OUTSIDE_SYSTEM = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
#: everything ``snapshot`` skips: schemas and relations whatever they hold, yoyo's and the
#: record's included, their columns, functions and triggers, and every role
RAW: dict[str, str] = {
    "namespaces": f"""
        SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text
        FROM pg_catalog.pg_namespace n WHERE {OUTSIDE_SYSTEM}""",
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind::text, c.relacl::text
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE {OUTSIDE_SYSTEM}""",
    "attributes": f"""
        SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped AND {OUTSIDE_SYSTEM}""",
    "procedures": f"""
        SELECT n.nspname, p.proname, pg_catalog.md5(p.prosrc)
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE {OUTSIDE_SYSTEM}""",
    "all_triggers": "SELECT tgrelid::regclass::text, tgname FROM pg_catalog.pg_trigger",
    "all_roles": "SELECT rolname FROM pg_catalog.pg_roles",
}


def catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """The whole catalog of the database, and a digest of the rows of each of its tables."""
    found = dict(snapshot(conn))
    for kind, query in RAW.items():
        found[kind] = frozenset(tuple(row) for row in conn.execute(query).fetchall())
    tables = sorted((r[0], r[1]) for r in found["relations"] if r[2] in ("r", "p"))
    found["rows"] = frozenset(
        (
            schema,
            table,
            *conn.execute(
                sql.SQL(
                    "SELECT count(*), pg_catalog.md5(coalesce("
                    "pg_catalog.string_agg(t::text, '|' ORDER BY t::text), '')) FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone(),
        )
        for schema, table in tables
    )
    return found


def reading_verbs(db_url: str, out: Path, tenant: str | None) -> dict[str, list[str]]:
    """Each read-only verb as a user types it, for one target (``tenant`` or none)."""
    one = ["--env", "dev", *(["--tenant", tenant] if tenant else [])]
    at = ["--database", db_url]
    verbs = {
        "status": ["status", *one, *at],
        "plan": ["plan", *one, *at],
        "render": ["render", *one, "--out", str(out / "bundle")],
        "render --since-applied": [
            "render",
            *one,
            "--since-applied",
            *at,
            "--out",
            str(out / "since"),
        ],
        "diff": ["diff", "--env", f"dev:{tenant}" if tenant else "dev", "--env", "prod"],
        "verify": ["verify", *one, *at],
    }
    if tenant is not None:
        verbs["status --all-tenants"] = ["status", "--env", "dev", "--all-tenants", *at]
        verbs["plan --all-tenants"] = ["plan", "--env", "dev", "--all-tenants", *at]
    return verbs


def writes_of_reading_verbs(
    project: Path, conn: psycopg.Connection[Any], verbs: dict[str, list[str]]
) -> dict[str, Any]:
    """What each verb changed in the catalog (run one after another); empty when nothing."""
    changed = {}
    for name, argv in verbs.items():
        before = catalog(conn)
        status = cli.main(["--project", str(project), *argv])
        assert status in (0, 1), f"{name} failed (exit {status})"
        if diff := difference(before, catalog(conn)):
            changed[name] = diff
    return changed


def test_reading_verbs_write_nothing_to_a_fresh_database(
    project: Path, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    verbs = reading_verbs(db_url, tmp_path, None)
    assert writes_of_reading_verbs(project, conn, verbs) == {}
    states = commands.status(resolve(project, "dev", url=db_url))
    assert [(s.id, s.state) for s in states] == [(p, "pending") for p in ALL_PARTS]


def test_reading_verbs_write_nothing_to_an_applied_database_edited_since(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    verbs = reading_verbs(db_url, tmp_path, None)
    assert writes_of_reading_verbs(sandbox, conn, verbs) == {}
    assert commands.plan(resolve(sandbox, "dev", url=db_url)) != {}  # the plan had work to read


def test_reading_verbs_write_nothing_for_a_tenant_never_applied(
    project: Path, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    tenant = "acme"
    commands.apply(resolve(project, "dev", "globex", url=db_url))  # a neighbour applied, acme never
    verbs = reading_verbs(db_url, tmp_path, tenant)
    assert writes_of_reading_verbs(project, conn, verbs) == {}
    tracking = "SELECT to_regnamespace(%s)"
    assert conn.execute(tracking, [f"tmplmig_{tenant}"]).fetchone() == (None,)
    states = commands.status(resolve(project, "dev", tenant, url=db_url))
    assert [(s.id, s.state) for s in states] == [(p, "pending") for p in ALL_PARTS]


def test_a_reading_session_refuses_to_write(project: Path, db_url: str) -> None:
    """What status, plan and render --since-applied read with: read-only, on the tracking
    schema, and nothing applied where the schema does not exist yet."""
    target = resolve(project, "dev", "acme", url=db_url)
    with commands._reading(target, "status") as (conn, applied, parts):
        assert applied == set()
        assert [p.id for p in parts] == ALL_PARTS
        assert conn.execute("SHOW search_path").fetchone() == ("tmplmig_acme",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE written (id int)")


def test_a_reading_session_finds_what_yoyo_applied(project: Path, db_url: str) -> None:
    """yoyo's table, read without yoyo, names the parts yoyo applied: every one, then none
    of those a rollback took back."""
    target = resolve(project, "dev", "acme", url=db_url)
    commands.apply(target)
    with commands._reading(target, "status") as (_, applied, _parts):
        assert applied == set(ALL_PARTS)
    commands.rollback(target, ALL_PARTS[-2])
    with commands._reading(target, "status") as (_, applied, _parts):
        assert applied == set(ALL_PARTS[:-2])
