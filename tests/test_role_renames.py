"""Renaming roles after apply: the owner role (``roles.owner``) and a tenant's whole
``role_prefix`` rename in place, keeping ownership, members and grants; and roles are
cluster-wide, so a rename or drop that reaches other databases of the server is refused
unless acknowledged. Real PostgreSQL, the non-superuser deploying login, rows in the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from support.servers import deployer_dsn, dsn_for, url_for
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

READER = "renames_reader"


def new_role_prefix(sandbox: Path) -> None:
    edit(sandbox / "config/tenants/acme.yaml", lambda d: d["tenant"].update(role_prefix="acme2_"))


def new_owner(sandbox: Path) -> None:
    """A new owner name, and a grant step removed: its recorded rollback runs as the new name."""
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("roles", {}).update(owner="app_own2"))
    no_purge = {"execute": {"purge_expired": []}}
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("privileges", no_purge))


#: (tenant, the edit, its schema prefix, each role renamed: old -> new)
RENAMES = {
    "tenant role_prefix": (
        "acme",
        new_role_prefix,
        "acme_",
        {
            "acme_app_owner": "acme2_app_owner",
            "acme_app_readonly": "acme2_app_readonly",
            "acme_app_readwrite": "acme2_app_readwrite",
            "acme_app_admin": "acme2_app_admin",
        },
    ),
    "roles.owner": (None, new_owner, "", {"app_owner": "app_own2"}),
}


SCHEMAS = ("auth", "experiments_v1", "production", "audits", "providers", "quarantine", "system")


def owners(conn: psycopg.Connection[Any], prefix: str) -> set[str]:
    """Who owns the schemas of the environment (or tenant) and everything in them."""
    rows = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace n WHERE nspname = ANY(%(s)s)"
        " UNION SELECT pg_get_userbyid(relowner) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = ANY(%(s)s)"
        " UNION SELECT pg_get_userbyid(proowner) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = ANY(%(s)s)",
        {"s": [prefix + s for s in SCHEMAS]},
    ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("case", list(RENAMES))
def test_owner_and_group_roles_rename_in_place_keeping_rows_members_and_ownership(
    case: str,
    sandbox: Path,
    db_url: str,
    database: str,
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant, change, prefix, renamed = RENAMES[case]
    readonly = ("acme2_" if tenant else "") + "app_readonly"
    old_readonly = next((o for o, n in renamed.items() if n == readonly), readonly)
    old_owner, new_owner_name = next((o, n) for o, n in renamed.items() if "owner" in o)
    rows = f"{prefix}quarantine.quarantined_records"
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", tenant, url=db_url))
    conn.execute(
        f"INSERT INTO {rows} (source_table, record, reason)"
        " SELECT 'evaluations', jsonb_build_object('id', g), 'bad' FROM generate_series(1, 300) g"
    )
    conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD 'pw' IN ROLE {old_readonly}")
    conn.execute(f"COMMENT ON ROLE {READER} IS 'tmplmig test login'")
    change(sandbox)

    base = ["--project", str(sandbox)]
    where = ["--env", "dev", *(["--tenant", tenant] if tenant else []), "--database", db_url]
    capsys.readouterr()
    assert cli.main([*base, "plan", *where]) == 0
    out = capsys.readouterr().out
    for old, new in renamed.items():
        assert f'ALTER ROLE "{old}" RENAME TO "{new}";' in out
    as_new_owner = out.find(f'SET ROLE "{new_owner_name}"')  # none when nothing runs as it
    assert as_new_owner == -1 or out.index(f'ALTER ROLE "{old_owner}"') < as_new_owner
    assert f'SET ROLE "{old_owner}"' not in out

    assert cli.main([*base, "apply", *where]) == 0
    assert commands.verify(resolve(sandbox, "dev", tenant, url=db_url)) == []
    assert all(
        s.state == "applied" for s in commands.status(resolve(sandbox, "dev", tenant, url=db_url))
    )
    assert commands.apply(resolve(sandbox, "dev", tenant, url=db_url)) == []
    assert conn.execute(f"SELECT count(*) FROM {rows}").fetchone() == (300,)
    gone = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(renamed)])
    assert gone.fetchall() == []
    assert owners(conn, prefix) == {new_owner_name}
    admin = ("acme2_" if tenant else "") + "app_admin"
    purge = f"{prefix}system.purge_expired(integer)"
    executes = conn.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')", (admin, purge))
    assert executes.fetchone() == (tenant is not None,)
    with psycopg.connect(dsn_for(database, conn.info.dbname, user=READER)) as reader:
        assert reader.execute(f"SELECT count(*) FROM {rows}").fetchone() == (300,)

    conn.execute(f"DROP ROLE {READER}")
    assert cli.main([*base, "rollback", *where, "--all"]) == 0
    assert difference(before, snapshot(conn)) == {}


def test_a_role_other_databases_use_is_renamed_only_when_acknowledged(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    second_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_url = url_for(deployer_dsn(second_database))
    commands.apply(resolve(sandbox, "dev", url=db_url))
    commands.apply(resolve(sandbox, "dev", url=other_url))
    other = conninfo_to_dict(second_database)["dbname"]
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readonly="app_ro"))
    before = snapshot(conn)

    base = ["--project", str(sandbox)]
    where = ["--env", "dev", "--database", db_url]
    capsys.readouterr()
    assert cli.main([*base, "plan", *where]) == 2
    assert cli.main([*base, "apply", *where]) == 2
    err = capsys.readouterr().err
    assert f"role app_readonly (renamed to app_ro) is used in database {other}:" in err
    assert "--allow-shared-role app_readonly" in err
    assert "app_owner" not in err and "app_readwrite" not in err
    assert difference(before, snapshot(conn)) == {}
    assert roles(conn, "app_readonly", "app_ro") == {"app_readonly"}

    ack = ["--allow-shared-role", "app_readonly"]
    assert cli.main([*base, "plan", *where, *ack]) == 0
    assert 'ALTER ROLE "app_readonly" RENAME TO "app_ro";' in capsys.readouterr().out
    assert cli.main([*base, "apply", *where, *ack]) == 0
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert roles(conn, "app_readonly", "app_ro") == {"app_ro"}

    # the rename reached the other database, whose record still says app_readonly; rolling
    # the first database back keeps app_ro (still used there) and brings no old name back
    with psycopg.connect(second_database) as elsewhere:
        grantees = elsewhere.execute(
            "SELECT DISTINCT grantee FROM information_schema.role_table_grants"
            " WHERE table_schema = 'system' AND grantee IN ('app_readonly', 'app_ro')"
        ).fetchall()
    assert grantees == [("app_ro",)]
    assert cli.main([*base, "rollback", *where, "--all"]) == 0
    assert "role app_ro kept: it is still used elsewhere" in capsys.readouterr().err
    assert roles(conn, "app_readonly", "app_ro") == {"app_ro"}


def roles(conn: psycopg.Connection[Any], *names: str) -> set[str]:
    """Which of ``names`` exist on the server."""
    rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(names)])
    return {r[0] for r in rows}


def test_a_database_parts_from_a_shared_role_with_a_new_role_of_its_own(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], second_database: str
) -> None:
    """The safe way docs/day2.md gives: roll back this database's grants (the shared role is
    kept, the other database still uses it), then apply them to a new role."""
    other_url = url_for(deployer_dsn(second_database))
    commands.apply(resolve(sandbox, "dev", url=db_url))
    commands.apply(resolve(sandbox, "dev", url=other_url))
    commands.rollback(resolve(sandbox, "dev", url=db_url), part="002d_roles_grants")
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readonly="app_ro"))
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == [
        "002d_roles_grants",
        "002e_functions",
    ]
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert roles(conn, "app_readonly", "app_ro") == {"app_readonly", "app_ro"}
    grants = "SELECT DISTINCT grantee FROM information_schema.role_table_grants"
    grants += " WHERE grantee IN ('app_readonly', 'app_ro')"
    assert conn.execute(grants).fetchall() == [("app_ro",)]
    with psycopg.connect(second_database) as elsewhere:
        assert elsewhere.execute(grants).fetchall() == [("app_readonly",)]
