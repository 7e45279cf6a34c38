"""A rollback either completes or changes nothing: what would stop it half-way is found first
and listed, and the server's warnings during a rollback reach the CLI's stderr.

A real LOGIN (not the deploying one) plants each blocker, as an admin or a reporting user
would; the deploying login of conftest runs every migration.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from support.logins import create_login
from support.servers import ALL_PARTS, dsn_for
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.database.catalog import Snapshot, difference, snapshot
from tmplmig.migrating import commands, fanout
from tmplmig.migrating.rollback_guard import RollbackBlocked
from tmplmig.migrating.target import resolve

#: statements the login runs to plant a blocker, and the line the refusal names it with
#: (``{login}`` is the login's name); the blocker is removed by dropping it
BLOCKERS = {
    "a table an admin created in an app schema": (
        "CREATE TABLE auth.keep_me (x int)",
        "DROP TABLE auth.keep_me",
        "table auth.keep_me (owner {login}): not created by the migrations",
    ),
    "a function an admin owns in an app schema": (
        "CREATE FUNCTION system.keep_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DROP FUNCTION system.keep_fn()",
        "function system.keep_fn() (owner {login}): not created by the migrations",
    ),
    "a view elsewhere that reads an app table": (
        "CREATE VIEW reports.emails AS SELECT email FROM auth.users",
        "DROP VIEW reports.emails",
        "view reports.emails (owner {login}): uses table auth.users",
    ),
    "a grant elsewhere to a group role the rollback drops": (
        "CREATE TABLE reports.daily (x int); GRANT SELECT ON reports.daily TO app_readonly",
        "DROP TABLE reports.daily",
        "table reports.daily (owner {login}): granted to role app_readonly,"
        " which the rollback drops",
    ),
    "default privileges a login grants to the owner role": (
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO app_owner",
        "ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM app_owner",
        "default privileges for role {login} on tables (owner {login}): granted to role"
        " app_owner, which the rollback drops",
    ),
    "default privileges a member sets for a group role the rollback drops": (
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_readonly GRANT SELECT ON TABLES TO PUBLIC",
        "ALTER DEFAULT PRIVILEGES FOR ROLE app_readonly REVOKE SELECT ON TABLES FROM PUBLIC",
        "default privileges for role app_readonly on tables (owner app_readonly): owned by role"
        " app_readonly, which the rollback drops",
    ),
    "default privileges in a schema of its own granted to a group role": (
        "ALTER DEFAULT PRIVILEGES IN SCHEMA reports GRANT SELECT ON TABLES TO app_admin",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA reports REVOKE SELECT ON TABLES FROM app_admin",
        "default privileges for role {login} in schema reports on tables (owner {login}):"
        " granted to role app_admin, which the rollback drops",
    ),
}


@dataclass
class Planter:
    """A LOGIN with a schema of its own, read access to the app and CREATE in two app schemas."""

    name: str
    conn: psycopg.Connection[Any]


@pytest.fixture
def planter(database: str, conn: psycopg.Connection[Any]) -> Iterator[Planter]:
    user, password = create_login(conn, None)
    conn.execute(sql.SQL("CREATE SCHEMA reports AUTHORIZATION {}").format(sql.Identifier(user)))
    dsn = dsn_for(database, conninfo_to_dict(database)["dbname"], user=user)
    with psycopg.connect(make_conninfo(dsn, password=password), autocommit=True) as login:
        yield Planter(user, login)


def let_plant(conn: psycopg.Connection[Any], login: str) -> None:
    """What an admin could do before issue 12: read the app and create in app schemas."""
    conn.execute(sql.SQL("GRANT app_readonly TO {}").format(sql.Identifier(login)))
    conn.execute(sql.SQL("GRANT CREATE ON SCHEMA auth, system TO {}").format(sql.Identifier(login)))


def cli_rollback(project: Path, db_url: str, *which: str) -> int:
    argv = ["--project", str(project), "rollback", "--env", "dev", "--database", db_url]
    return cli.main([*argv, *(which or ("--all",))])


@pytest.mark.parametrize("blocker", BLOCKERS)
def test_rollback_refuses_listing_what_would_stop_it_and_changes_nothing_until_it_is_gone(
    blocker: str,
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    planter: Planter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plant, remove, line = BLOCKERS[blocker]
    empty = snapshot(conn)
    commands.apply(resolve(project, "dev", url=db_url))
    let_plant(conn, planter.name)
    planter.conn.execute(plant)
    planted = snapshot(conn)
    capsys.readouterr()

    assert cli_rollback(project, db_url) == 1
    err = capsys.readouterr().err
    assert f"  {line.format(login=planter.name)}\n" in err
    assert err.startswith("tmplmig: rollback refused, nothing was changed")
    assert difference(planted, snapshot(conn)) == {}
    assert all(s.applied for s in commands.status(resolve(project, "dev", url=db_url)))

    planter.conn.execute(remove)
    assert cli_rollback(project, db_url) == 0
    assert "rolled back: 002e_functions" in capsys.readouterr().out
    assert difference(empty, snapshot(conn)) == {}


def test_every_blocker_is_listed_one_per_line(
    project: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    planter: Planter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    let_plant(conn, planter.name)
    for plant, _, _ in BLOCKERS.values():
        planter.conn.execute(plant)
    capsys.readouterr()
    assert cli_rollback(project, db_url) == 1
    listed = capsys.readouterr().err.splitlines()[1:]
    expected = [f"  {line.format(login=planter.name)}" for _, _, line in BLOCKERS.values()]
    assert sorted(listed) == sorted(expected)


def test_a_rollback_that_drops_no_schema_is_not_held_up_by_a_foreign_table(
    project: Path, db_url: str, conn: psycopg.Connection[Any], planter: Planter
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    let_plant(conn, planter.name)
    planter.conn.execute(BLOCKERS["a table an admin created in an app schema"][0])
    assert commands.rollback(resolve(project, "dev", url=db_url), part="002e_functions") == [
        "002e_functions"
    ]
    applied = [s.id for s in commands.status(resolve(project, "dev", url=db_url)) if s.applied]
    assert applied == ALL_PARTS[:-1]


def test_a_tenants_rollback_is_not_held_up_by_the_other_tenant_in_its_database(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", "globex", url=db_url))
    before = snapshot(conn)
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    assert commands.rollback(resolve(project, "dev", "acme", url=db_url)) == list(
        reversed(ALL_PARTS)
    )
    assert difference(before, snapshot(conn)) == {}


def test_a_tenant_admins_default_privileges_to_its_owner_refuse_the_rollback_until_revoked(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The issue's case: the role would be kept silently. Defaults inside a schema the
    rollback drops go with it and hold nothing up."""
    empty = snapshot(conn)
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    user, password = create_login(conn, "acme_app_admin")
    dsn = make_conninfo(dsn_for(database, conn.info.dbname, user=user), password=password)
    to_owner = "ALTER DEFAULT PRIVILEGES {} SELECT ON TABLES {} acme_app_owner"
    with psycopg.connect(dsn, autocommit=True) as acme_admin:
        acme_admin.execute(to_owner.format("IN SCHEMA acme_auth GRANT", "TO"))
        acme_admin.execute(to_owner.format("GRANT", "TO"))
        planted = snapshot(conn)
        with pytest.raises(RollbackBlocked) as refused:
            commands.rollback(resolve(project, "dev", "acme", url=db_url))
        assert [str(b) for b in refused.value.blockers] == [
            f"default privileges for role {user} on tables (owner {user}): granted to role"
            " acme_app_owner, which the rollback drops"
        ]
        assert difference(planted, snapshot(conn)) == {}
        acme_admin.execute(to_owner.format("REVOKE", "FROM"))
    assert commands.rollback(resolve(project, "dev", "acme", url=db_url)) == list(
        reversed(ALL_PARTS)
    )
    assert conn.execute("SELECT count(*) FROM pg_default_acl").fetchone() == (0,)
    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(user)))
    assert difference(empty, snapshot(conn)) == {}


def test_warnings_of_a_rollback_reach_the_cli_stderr(
    project: Path,
    server_dsn: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    other = f"tmplmig_other_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        with psycopg.connect(dsn_for(server_dsn, other), autocommit=True) as elsewhere:
            elsewhere.execute("CREATE TABLE shared_report (x int)")
            elsewhere.execute("GRANT SELECT ON shared_report TO app_readonly")
        capsys.readouterr()
        assert cli_rollback(project, db_url) == 0
        err = capsys.readouterr().err
        assert (
            "tmplmig: role app_readonly: role app_readonly kept: it is still used elsewhere:"
            f" 1 object in database {other}\n"
        ) in err
    finally:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))


def test_an_owner_with_a_hostile_name_rolls_back_unhindered(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    edit(
        sandbox / "config/dev.yaml", lambda d: d.update(roles={"owner": 'Own"er; DROP ROLE x; --'})
    )
    empty = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    owners = conn.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'auth'")
    assert owners.fetchall() == [('Own"er; DROP ROLE x; --',)]
    assert commands.rollback(resolve(sandbox, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(empty, snapshot(conn)) == {}


def test_a_refused_tenant_fails_alone_in_a_fan_out_and_keeps_everything(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    fanout.run_all(project, "dev", fanout.APPLY, url=db_url)
    conn.execute("CREATE TABLE acme_auth.keep_me (x int)")
    planted = snapshot(conn)
    outcomes = {o.tenant: o for o in fanout.run_all(project, "dev", fanout.ROLLBACK, url=db_url)}
    assert outcomes["globex"].state == "rolled back"
    assert outcomes["acme"].failed
    assert "RollbackBlocked: rollback refused, nothing was changed" in outcomes["acme"].detail
    assert all(s.applied for s in commands.status(resolve(project, "dev", "acme", url=db_url)))
    assert acme_rows(planted)["tables"] and acme_rows(snapshot(conn)) == acme_rows(planted)


def acme_rows(snap: Snapshot) -> dict[str, set[tuple[Any, ...]]]:
    """The rows of a snapshot that name acme's schemas or roles."""
    return {kind: {row for row in rows if "acme_" in repr(row)} for kind, rows in snap.items()}
