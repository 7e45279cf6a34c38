"""Issue 25: sensitive columns stay hidden in the tables of every later migration.

A migration made with ``tmplmig new`` after 002 creates a table with ``password_hash`` and
``api_key`` in an app schema, and a later one adds ``api_key`` to another of its tables; real
LOGIN members of each group role then read them, for an environment and for a tenant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support.bundles import run_with_psql
from support.logins import GROUPS, attempt, create_login
from support.servers import deployer_dsn, dsn_for, url_for
from support.yaml_edits import edit

from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.scaffold import new_part
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import Settings, load_config

#: the issue's template, word for word, plus a table of 003 to add a column to, audited
ADD_SECRETS = """
{% call m.table(schema=s.auth, name="service_accounts") %}
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    password_hash text NOT NULL,
    api_key text
{% endcall %}
{% call m.table(schema=s.production, name="notes") %}
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body text
{% endcall %}
{{ m.trigger(name="audit_service_accounts_changes", schema=s.auth, table="service_accounts",
             events="INSERT OR UPDATE OR DELETE", function_schema=s.audits,
             function_name="log_sensitive_operation", arguments=["id"]) }}
"""
ADD_NOTE_KEY = """
{{ m.add_column(schema=s.production, table="notes", column="api_key", type="text") }}
"""
#: (table key, column) -> the group roles that may read it with base.yaml's readers
COLUMNS = {
    ("service_accounts", "name"): set(GROUPS),
    ("service_accounts", "password_hash"): set(),
    ("service_accounts", "api_key"): {"readwrite"},
    ("notes", "body"): set(GROUPS),
    ("notes", "api_key"): {"readwrite"},
}


def write_migration(project: Path, name: str, body: str) -> None:
    """What a new user does: ``tmplmig new NAME``, then the objects below its comment."""
    template = next(p for p in new_part(project, name) if p.suffix == ".j2")
    template.write_text(template.read_text() + body)


def tables(settings: Settings) -> dict[str, str]:
    """The two tables of 003, qualified with the schemas of ``settings``."""
    return {
        "service_accounts": f"{settings.schemas.auth}.service_accounts",
        "notes": f"{settings.schemas.production}.notes",
    }


def column_privileges(
    conn: psycopg.Connection[Any],
    settings: Settings,
    tables_: tuple[str, ...] = ("service_accounts", "notes"),
) -> dict[tuple[str, str, str], bool]:
    """has_column_privilege(role, table, column, 'SELECT') for every group and column of
    ``tables_``."""
    where = tables(settings)
    return {
        (group, table, column): conn.execute(
            "SELECT has_column_privilege(%s, %s, %s, 'SELECT')",
            (getattr(settings.roles, group), where[table], column),
        ).fetchone()[0]
        for group in GROUPS
        for table, column in COLUMNS
        if table in tables_
    }


def login_reads(
    database: str, admin: psycopg.Connection[Any], settings: Settings
) -> dict[tuple[str, str, str], bool]:
    """Per group, whether a LOGIN member's SELECT of each column (and SELECT *) succeeds."""
    where = tables(settings)
    seen: dict[tuple[str, str, str], bool] = {}
    for group in GROUPS:
        user, password = create_login(admin, getattr(settings.roles, group))
        dsn = dsn_for(database, conninfo_to_dict(database)["dbname"], user=user)
        with psycopg.connect(make_conninfo(dsn, password=password), autocommit=True) as login:
            for table, column in COLUMNS:
                name = sql.Identifier(*where[table].split("."))
                statement = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), name)
                seen[(group, table, column)] = attempt(login, statement)
            for table in where:
                name = sql.Identifier(*where[table].split("."))
                seen[(group, table, "*")] = attempt(login, sql.SQL("SELECT * FROM {}").format(name))
    return seen


def drop_logins(conn: psycopg.Connection[Any]) -> None:
    for (login,) in conn.execute(
        "SELECT rolname FROM pg_roles"
        " WHERE shobj_description(oid, 'pg_authid') = 'tmplmig test login'"
    ).fetchall():
        conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(login)))


@pytest.mark.parametrize("tenant", [None, "acme"])
def test_a_later_migrations_table_hides_sensitive_columns_from_unlisted_roles(
    sandbox: Path, database: str, conn: psycopg.Connection[Any], tenant: str | None
) -> None:
    url = url_for(deployer_dsn(database))
    commands.apply(resolve(sandbox, "dev", tenant, url=url))
    before = snapshot(conn)
    write_migration(sandbox, "add_secrets", ADD_SECRETS)
    write_migration(sandbox, "add_note_key", ADD_NOTE_KEY)
    settings = load_config(sandbox, "dev", tenant).settings
    assert commands.apply(resolve(sandbox, "dev", tenant, url=url)) == [
        "003_add_secrets",
        "004_add_note_key",
    ]

    readers = {(g, t, c): g in allowed for (t, c), allowed in COLUMNS.items() for g in GROUPS}
    assert column_privileges(conn, settings) == readers
    reads = login_reads(database, conn, settings)
    assert {k: v for k, v in reads.items() if k[2] != "*"} == readers
    assert {k: v for k, v in reads.items() if k[2] == "*"} == {
        (g, t, "*"): all(g in allowed for (table, _), allowed in COLUMNS.items() if table == t)
        for g in GROUPS
        for t in ("service_accounts", "notes")
    }
    assert commands.verify(resolve(sandbox, "dev", tenant, url=url)) == []

    accounts = tables(settings)["service_accounts"]
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (name, password_hash, api_key) VALUES ('ci', 'bcrypt$x', 'sk-x')"
        ).format(sql.Identifier(*accounts.split(".")))
    )
    masked = conn.execute(
        sql.SQL("SELECT new_row ->> 'password_hash', new_row ->> 'api_key' FROM {}"
                " WHERE table_name = 'service_accounts'")
        .format(sql.Identifier(settings.schemas.audits, "audit_log"))
    ).fetchall()  # fmt: skip
    assert masked == [("***", "***")]

    drop_logins(conn)
    commands.rollback(resolve(sandbox, "dev", tenant, url=url), part="003_add_secrets")
    assert difference(before, snapshot(conn)) == {}


def test_sensitive_readers_edited_after_apply_are_planned_for_a_later_migrations_tables(
    sandbox: Path, database: str, conn: psycopg.Connection[Any]
) -> None:
    """readwrite taken off api_key and admin put on password_hash: the plan re-hides the
    tables of 003 and the column of 004 (no "write a new migration"), verify agrees and then
    finds a table-wide SELECT granted by hand, and rollback leaves the catalog as it was."""
    url = url_for(deployer_dsn(database))
    before = snapshot(conn)
    write_migration(sandbox, "add_secrets", ADD_SECRETS)
    write_migration(sandbox, "add_note_key", ADD_NOTE_KEY)
    commands.apply(resolve(sandbox, "dev", url=url))
    readers = {"password_hash": ["admin"], "api_key": []}
    edit(sandbox / "config/base.yaml", lambda d: d["privileges"].update(sensitive_readers=readers))
    plan = commands.plan(resolve(sandbox, "dev", url=url))
    assert {"003_add_secrets.plan.sql", "004_add_note_key.plan.sql"} <= set(plan)
    assert commands.apply(resolve(sandbox, "dev", url=url)) == [
        "002d_roles_grants (evolved)",
        "003_add_secrets (evolved)",
        "004_add_note_key (evolved)",
    ]
    settings = load_config(sandbox, "dev").settings
    now = {
        ("service_accounts", "name"): set(GROUPS),
        ("service_accounts", "password_hash"): {"admin"},
        ("service_accounts", "api_key"): set(),
        ("notes", "body"): set(GROUPS),
        ("notes", "api_key"): set(),
    }
    expected = {(g, t, c): g in allowed for (t, c), allowed in now.items() for g in GROUPS}
    assert column_privileges(conn, settings) == expected
    assert commands.verify(resolve(sandbox, "dev", url=url)) == []
    conn.execute("GRANT SELECT ON auth.service_accounts TO app_readonly")  # by hand
    [problem] = commands.verify(resolve(sandbox, "dev", url=url))
    assert (problem.kind, problem.name, problem.state) == (
        "table",
        "auth.service_accounts",
        "different",
    )
    commands.rollback(resolve(sandbox, "dev", url=url))
    assert difference(before, snapshot(conn)) == {}


def test_a_non_transactional_migrations_table_and_its_hiding_commit_together_under_psql(
    sandbox: Path, database: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """psql sends statements one by one: the bundle puts the CREATE TABLE and the hiding of
    a part without a transaction in one BEGIN/COMMIT, as yoyo sends them in one message."""
    [_, template] = sorted(new_part(sandbox, "add_secrets", transactional=False))
    template.write_text(template.read_text() + ADD_SECRETS)
    bundle = tmp_path / "bundle"
    commands.write_render(for_rendering(sandbox, "dev"), bundle)
    text = (bundle / "003_add_secrets.sql").read_text()
    step = text[text.index("-- step: table auth service_accounts") :]
    step = step[: step.index("\n\n")]
    statements = [line for line in step.splitlines() if not line.startswith("--")]
    assert statements[0] == "BEGIN;" and statements[-1] == "COMMIT;"
    assert 'REVOKE SELECT ON TABLE "auth"."service_accounts" FROM "app_readonly";' in statements
    run_with_psql(database, bundle, "apply")
    settings = load_config(sandbox, "dev").settings
    assert column_privileges(conn, settings, ("service_accounts",)) == {
        (g, t, c): g in allowed
        for (t, c), allowed in COLUMNS.items()
        if t == "service_accounts"
        for g in GROUPS
    }
