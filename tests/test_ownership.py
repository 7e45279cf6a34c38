"""Who owns what: each tenant's objects belong to its own NOLOGIN owner role, and code that
runs as one tenant's owner can neither create roles nor touch another tenant.

Migrations run as the non-superuser deploying login of conftest (``db_url``), as
docs/ownership.md tells deployers to; the superuser only inspects and plays the attacker's
way in (``SET ROLE`` to the owner, as a trigger or SECURITY DEFINER function would run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from support.logins import attempt
from support.servers import DEPLOYER, dsn_for

from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import Settings, load_config

TENANTS = ("acme", "globex")

#: objects a role owns in the current database, with the schema each lives in (a schema's own
#: row names itself); default privileges without a schema concern only the role's own objects
OWNED = """
    SELECT o.type, o.identity,
           COALESCE(o.schema, CASE WHEN o.type = 'schema' THEN o.identity END, da.nspname)
    FROM pg_catalog.pg_shdepend d
    JOIN pg_catalog.pg_database db ON db.oid = d.dbid AND db.datname = current_database()
    CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
    LEFT JOIN (SELECT a.oid, n.nspname FROM pg_catalog.pg_default_acl a
               JOIN pg_catalog.pg_namespace n ON n.oid = a.defaclnamespace) da
        ON da.oid = d.objid AND d.classid = 'pg_catalog.pg_default_acl'::regclass
    WHERE d.deptype = 'o' AND d.refobjid = %s::regrole
      AND NOT (o.type = 'default acl' AND da.oid IS NULL)"""


@pytest.fixture
def tenants(project: Path, db_url: str) -> Iterator[dict[str, Settings]]:
    """acme and globex applied to one database by the deploying login."""
    for tenant in TENANTS:
        commands.apply(resolve(project, "dev", tenant, url=db_url))
    yield {tenant: load_config(project, "dev", tenant).settings for tenant in TENANTS}


def as_owner(conn: psycopg.Connection[Any], settings: Settings) -> None:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(settings.roles.owner)))


def test_migrations_ran_as_the_non_superuser_deploying_login(
    tenants: dict[str, Settings], conn: psycopg.Connection[Any]
) -> None:
    deployer = conn.execute(
        "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s", [DEPLOYER]
    ).fetchone()
    assert deployer == (False, True)
    tracking = conn.execute(
        "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname LIKE 'tmplmig\\_%' AND c.relname = '_yoyo_migration'"
    ).fetchall()
    assert tracking == [(DEPLOYER,)]


def test_an_owner_role_cannot_log_in_and_has_no_role_database_or_superuser_power(
    tenants: dict[str, Settings], database: str, conn: psycopg.Connection[Any]
) -> None:
    for settings in tenants.values():
        owner = settings.roles.owner
        attributes = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication,"
            " rolbypassrls FROM pg_roles WHERE rolname = %s",
            [owner],
        ).fetchone()
        assert attributes == (False,) * 6
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn_for(database, conninfo_to_dict(database)["dbname"], user=owner))


def test_each_tenants_owner_owns_all_of_its_objects_and_nothing_of_the_other(
    tenants: dict[str, Settings], conn: psycopg.Connection[Any]
) -> None:
    for tenant, settings in tenants.items():
        schemas = set(settings.schemas.model_dump().values())
        owned = conn.execute(OWNED, [settings.roles.owner]).fetchall()
        assert {schema for _, _, schema in owned} == schemas, tenant
        kinds = {kind for kind, _, _ in owned}
        assert {"schema", "table", "function", "sequence", "default acl"} <= kinds
        not_owned = conn.execute(
            "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relowner <> %s::regrole"
            " UNION ALL SELECT n.nspname, p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = ANY(%s) AND p.proowner <> %s::regrole",
            [sorted(schemas), settings.roles.owner] * 2,
        ).fetchall()
        assert not_owned == [], tenant


def test_code_running_as_one_tenants_owner_cannot_create_roles_or_touch_the_other_tenant(
    tenants: dict[str, Settings], conn: psycopg.Connection[Any]
) -> None:
    acme, globex = tenants["acme"], tenants["globex"]
    gx = globex.schemas
    as_owner(conn, acme)
    conn.execute(
        "CREATE FUNCTION pg_temp.t() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN OLD; END $$"
    )
    own_users = sql.Identifier(acme.schemas.auth, "users")
    assert attempt(conn, sql.SQL("DELETE FROM {}").format(own_users))  # its own tenant: yes
    denied = {
        "create a role": "CREATE ROLE tmplmig_escalated LOGIN SUPERUSER",
        "grant itself pg_execute_server_program": sql.SQL(
            "GRANT pg_execute_server_program TO {}"
        ).format(sql.Identifier(acme.roles.owner)),
        "grant itself the other tenant's admin": sql.SQL("GRANT {} TO {}").format(
            sql.Identifier(globex.roles.admin), sql.Identifier(acme.roles.owner)
        ),
        "run a program": "COPY (SELECT 1) TO PROGRAM 'id'",
        "create a schema": "CREATE SCHEMA tmplmig_escalated",
        "drop the shared pgcrypto": "DROP EXTENSION pgcrypto",
        "read the other tenant's users": sql.SQL("SELECT * FROM {}").format(
            sql.Identifier(gx.auth, "users")
        ),
        "read its wrapped keys": sql.SQL("SELECT * FROM {}").format(
            sql.Identifier(gx.system, "encryption_keys")
        ),
        "empty its audit log": sql.SQL("DELETE FROM {}").format(
            sql.Identifier(gx.audits, "audit_log")
        ),
        "shorten its retention": sql.SQL("UPDATE {} SET retain_days = 1").format(
            sql.Identifier(gx.system, "retention_policies")
        ),
        "replace its master key function": sql.SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"
        ).format(sql.Identifier(gx.system, "session_master_key")),
        "attach a trigger to its table": sql.SQL(
            "CREATE TRIGGER t BEFORE DELETE ON {} FOR EACH ROW EXECUTE FUNCTION pg_temp.t()"
        ).format(sql.Identifier(gx.auth, "users")),
        "drop its table": sql.SQL("DROP TABLE {}").format(
            sql.Identifier(gx.providers, "user_providers")
        ),
        "create in its schema": sql.SQL("CREATE TABLE {} (x int)").format(
            sql.Identifier(gx.system, "planted")
        ),
    }
    allowed = {what for what, statement in denied.items() if attempt(conn, statement)}
    conn.execute("RESET ROLE")
    assert allowed == set()
