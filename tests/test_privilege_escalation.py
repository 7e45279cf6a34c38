"""Every route found from an app role to someone else's privileges, tried as real logins.

Each test logs in as a LOGIN member of a group role (``readonly``, ``readwrite``, ``admin``)
and tries one attack of issue 12 or of docs/security.md's attack table for real; each must
now be refused by the server. Statements run in transactions that are rolled back.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support.deploy import PLAINTEXT, Deployment, deploy
from support.logins import GROUPS, NO_GROUP, attempt, create_login
from support.servers import deployer_dsn, dsn_for, plain_yoyo_apply, url_for
from support.yaml_edits import edit

from tmplmig.database.catalog import snapshot
from tmplmig.database.locking import run_with_lock_discipline
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import ConfigError, load_config
from tmplmig.rendering.identifiers import SHARED_SCHEMA
from tmplmig.rendering.parts import render_part
from tmplmig.reviewing.bundle import MANIFEST, manifest_files

#: a trigger function any login can create: temporary objects need no schema privilege
SPY = (
    "CREATE FUNCTION pg_temp.spy() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE NOTICE 'current_user=%', current_user; RETURN OLD; END $$"
)


@pytest.fixture
def deployed(project: Path, database: str, conn: psycopg.Connection[Any]) -> Iterator[Deployment]:
    """The dev config applied, one login per group, each with pg_temp.spy() made."""
    for d in deploy(project, database, conn):
        for login in d.logins.values():
            login.conn.execute(SPY)
        yield d


def every_table(d: Deployment) -> list[str]:
    """Every table of the app, audits and system schemas, quoted and qualified."""
    rows = d.admin.execute(
        "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables"
        " WHERE schemaname = ANY(%s) ORDER BY 1",
        (list(d.settings.schemas.model_dump().values()),),
    )
    return [r[0] for r in rows]


def owner_of(d: Deployment, table: str) -> str:
    """The role that owns the app's tables (and runs cascades and purge_expired)."""
    row = d.admin.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
                          (table,)).fetchone()  # fmt: skip
    return str(row[0])


def allowed(
    d: Deployment, statements: list[str], groups: Iterable[str] = GROUPS, **names: str
) -> dict[str, list[str]]:
    """Per group, the statements its login may run (formatted with ``names`` and its user)."""
    return {
        group: [
            s
            for s in statements
            if attempt(d.logins[group].conn, s.format(login=d.logins[group].user, **names))
        ]
        for group in groups
    }


#: the privilege list of every GRANT (also in ALTER DEFAULT PRIVILEGES and in DO blocks)
GRANTED = re.compile(r"\bGRANT ((?:[A-Z]+(?: \([^)]*\))?(?:, )?)+) ON ")

#: the column list of a column-level privilege: SELECT ("id", "email")
COLUMNS = re.compile(r" \([^)]*\)")

#: what allowed() returns when every group was refused everything
NOBODY: dict[str, list[str]] = {group: [] for group in GROUPS}


def notices(conn: psycopg.Connection[Any]) -> list[str]:
    """A live list of the NOTICEs the server sends to ``conn``."""
    seen: list[str] = []
    conn.add_notice_handler(lambda n: seen.append(n.message_primary))
    return seen


# -- issue 12, item 1: code that runs as the owner


@pytest.mark.parametrize(("env", "tenant"), [("dev", None), ("prod", None), ("prod", "globex")])
def test_every_rendered_grant_names_an_explicit_list_without_owner_powers(
    project: Path, env: str, tenant: str | None
) -> None:
    granted = [
        privilege.strip()
        for text in commands.render_bundle(for_rendering(project, env, tenant)).values()
        for listed in GRANTED.findall(text)
        for privilege in COLUMNS.sub("", listed).split(",")
    ]
    assert len(granted) > 100
    assert set(granted) == {"USAGE", "SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"}


def test_no_login_can_attach_a_pg_temp_trigger_that_an_fk_cascade_would_fire_as_the_owner(
    deployed: Deployment,
) -> None:
    heard = {group: notices(deployed.logins[group].conn) for group in GROUPS}
    for group in GROUPS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="evaluations"):
            deployed.logins[group].conn.execute(
                "CREATE TRIGGER t BEFORE DELETE ON experiments_v1.evaluations"
                " FOR EACH ROW EXECUTE FUNCTION pg_temp.spy()"
            )
    db = deployed.admin
    user = db.execute("INSERT INTO auth.users (email) VALUES ('e@x') RETURNING id").fetchone()[0]
    experiment = db.execute(
        "INSERT INTO experiments_v1.experiments (user_id, name) VALUES (%s, 'e') RETURNING id",
        (user,),
    ).fetchone()[0]
    db.execute(
        "INSERT INTO experiments_v1.evaluations (experiment_id, metric) VALUES (%s, 'f1')",
        (experiment,),
    )
    deployed.logins["admin"].conn.execute(
        "DELETE FROM experiments_v1.experiments WHERE id = %s", (experiment,)
    )
    assert db.execute("SELECT count(*) FROM experiments_v1.evaluations").fetchone() == (0,)
    assert heard == NOBODY


def test_no_login_can_attach_a_trigger_that_purge_expired_would_fire(deployed: Deployment) -> None:
    db = deployed.admin
    purged = [
        sql.Identifier(schema, table).as_string(db)
        for schema, table in db.execute(
            "SELECT target_schema, target_table FROM system.retention_policies"
        )
    ]
    assert len(purged) == 6
    trigger = "CREATE TRIGGER t BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}"
    for table in purged:
        for function in ("pg_temp.spy()", "tmplmig.keep_column()"):
            assert allowed(deployed, [trigger], table=table, function=function) == NOBODY
    db.execute(
        "WITH u AS (INSERT INTO auth.users (email) VALUES ('p@x') RETURNING id)"
        " INSERT INTO experiments_v1.experiments (user_id, name, created_at)"
        " SELECT id, 'expired', now() - interval '100 years' FROM u"
    )
    admin = deployed.logins["admin"].conn
    heard = notices(admin)
    purge = dict(admin.execute("SELECT * FROM system.purge_expired(10)").fetchall())
    assert (purge["experiments"], heard) == (1, [])


def test_no_login_can_add_triggers_rules_policies_or_indexes_to_any_table(
    deployed: Deployment,
) -> None:
    attacks = [
        "CREATE TRIGGER t AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION pg_temp.spy()",
        "CREATE TRIGGER t AFTER TRUNCATE ON {table} EXECUTE FUNCTION pg_temp.spy()",
        "CREATE RULE r AS ON DELETE TO {table} DO ALSO SELECT pg_sleep(0)",
        "CREATE RULE r AS ON SELECT TO {table} DO INSTEAD SELECT * FROM {table}",
        "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY p ON {table} USING (true)",
        "CREATE INDEX ON {table} ((1))",
        "ALTER TABLE {table} ADD COLUMN x int DEFAULT 1",
        "ALTER TABLE {table} DISABLE TRIGGER ALL",
        "COMMENT ON TABLE {table} IS 'mine'",
    ]
    tables = every_table(deployed)
    assert len(tables) >= 14
    probe = (
        "SELECT has_table_privilege(%(t)s, 'TRIGGER') OR has_table_privilege(%(t)s, 'REFERENCES')"
        " OR has_table_privilege(%(t)s, 'TRUNCATE')"
    )
    for table in tables:
        assert allowed(deployed, attacks, table=table) == NOBODY, table
        for group in GROUPS:
            held = deployed.logins[group].conn.execute(probe, {"t": table}).fetchone()
            assert held == (False,), (group, table)


def test_no_login_can_create_objects_in_any_app_schema(deployed: Deployment) -> None:
    attacks = [
        "CREATE TABLE {schema}.mine (x int)",
        "CREATE VIEW {schema}.mine AS SELECT 1 AS x",
        "CREATE FUNCTION {schema}.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SEQUENCE {schema}.mine",
        "CREATE TYPE {schema}.mine AS (x int)",
        "ALTER SCHEMA {schema} RENAME TO mine",
    ]
    s = deployed.settings
    for schema in [*s.schemas.model_dump().values(), s.extensions_schema, SHARED_SCHEMA]:
        quoted = sql.Identifier(schema).as_string(None)
        assert allowed(deployed, attacks, schema=quoted) == NOBODY, schema


def test_security_definer_functions_cannot_be_replaced_redirected_or_borrowed(
    deployed: Deployment,
) -> None:
    attacks = [
        "CREATE OR REPLACE FUNCTION system.session_master_key() RETURNS text"
        " LANGUAGE sql AS $$ SELECT 'captured' $$",
        "ALTER FUNCTION system.encrypt_data(text, uuid) SET search_path = pg_temp, public",
        "ALTER FUNCTION system.decrypt_data(bytea, uuid) SECURITY INVOKER",
        "ALTER FUNCTION audits.log_sensitive_operation() RENAME TO gone",
        "DROP FUNCTION tmplmig.keep_column()",
        "CREATE OR REPLACE FUNCTION tmplmig.keep_column() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "SELECT system.data_key(key_id, false) FROM (SELECT NULL::uuid AS key_id) k",
        "SELECT system.session_master_key()",
    ]
    assert allowed(deployed, attacks) == NOBODY
    for group in GROUPS:  # a definer function of one's own runs as oneself, borrowing nothing
        login = deployed.logins[group]
        login.conn.execute(
            "CREATE FUNCTION pg_temp.who() RETURNS name LANGUAGE sql SECURITY DEFINER"
            " AS 'SELECT current_user'"
        )
        assert login.conn.execute("SELECT pg_temp.who()").fetchone() == (login.user,)


def test_objects_in_pg_temp_or_public_do_not_shadow_what_the_functions_use(
    deployed: Deployment,
) -> None:
    d, admin = deployed, deployed.logins["admin"].conn
    admin.execute("SET search_path = pg_temp, public")
    for setup in (
        "CREATE TEMP TABLE encryption_keys (key_id uuid, wrapped_key bytea, status text)",
        "CREATE TEMP TABLE retention_policies (data_class text, retain_days int)",
        "INSERT INTO retention_policies VALUES ('audit_log', 1)",
        "CREATE TEMP TABLE audit_log (LIKE audits.audit_log)",
        "CREATE FUNCTION pg_temp.pgp_sym_decrypt(bytea, text) RETURNS text"
        " LANGUAGE sql AS $$ SELECT 'shadowed' $$",
        "CREATE FUNCTION pg_temp.now() RETURNS timestamptz"
        " LANGUAGE sql AS $$ SELECT 'infinity'::timestamptz $$",
    ):
        admin.execute(setup)
    shadow_public = (
        "CREATE FUNCTION public.pgp_sym_decrypt(bytea, text) RETURNS text"
        " LANGUAGE sql AS $$ SELECT 'shadowed' $$"
    )
    assert allowed(d, [shadow_public]) == NOBODY
    decrypted = admin.execute("SELECT system.decrypt_data(%s, %s)", (d.ciphertext, d.key_id))
    assert decrypted.fetchone() == (PLAINTEXT,)
    admin.execute("INSERT INTO auth.users (email) VALUES ('fresh@x')")
    assert admin.execute("SELECT count(*) FROM pg_temp.audit_log").fetchone() == (0,)
    purged = dict(admin.execute("SELECT * FROM system.purge_expired(100)").fetchall())
    assert purged["audit_log"] == 0
    assert d.admin.execute("SELECT count(*) FROM audits.audit_log").fetchone() == (1,)


def test_ownership_and_the_owners_role_are_out_of_reach(deployed: Deployment) -> None:
    attacks = [
        "ALTER TABLE auth.users OWNER TO {login}",
        "ALTER SCHEMA auth OWNER TO {login}",
        "ALTER FUNCTION system.purge_expired(integer) OWNER TO {login}",
        "ALTER TABLE auth.users DISABLE TRIGGER audit_users_changes",
        "ALTER TABLE experiments_v1.experiments DISABLE TRIGGER keep_experiments_created_at",
        "DROP TRIGGER audit_users_changes ON auth.users",
        'REASSIGN OWNED BY "{owner}" TO {login}',
        'GRANT "{owner}" TO {login}',
        'SET ROLE "{owner}"',
        'SET SESSION AUTHORIZATION "{owner}"',
        "SET session_replication_role = replica",
    ]
    assert allowed(deployed, attacks, owner=owner_of(deployed, "auth.users")) == NOBODY
    for group in GROUPS:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # not in a transaction block
            deployed.logins[group].conn.execute("ALTER SYSTEM SET log_statement = none")


def test_event_triggers_and_server_programs_are_out_of_reach(deployed: Deployment) -> None:
    for group in GROUPS:
        deployed.logins[group].conn.execute(
            "CREATE FUNCTION pg_temp.on_ddl() RETURNS event_trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE NOTICE 'current_user=%', current_user; END $$"
        )
    attacks = [
        "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION pg_temp.on_ddl()",
        "COPY (SELECT 1) TO PROGRAM 'id'",
        "CREATE TEMP TABLE loot (line text); COPY loot FROM PROGRAM 'id'",
        "COPY (SELECT 1) TO '/tmp/tmplmig_escalation'",
        "SELECT pg_read_file('/etc/passwd')",
        "GRANT pg_execute_server_program TO {login}",
    ]
    assert allowed(deployed, attacks) == NOBODY


def test_one_tenants_admin_cannot_reach_into_another_tenant(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The issue's cross-tenant capture: acme's admin read globex's keys and replaced its
    session_master_key() through the owner; both tenants share one database here."""
    for tenant in ("acme", "globex"):
        commands.apply(resolve(project, "dev", tenant, url=db_url))
    user, password = create_login(conn, "acme_app_admin")
    dsn = make_conninfo(dsn_for(database, conn.info.dbname, user=user), password=password)
    attacks = [
        "CREATE OR REPLACE FUNCTION gx_system.session_master_key() RETURNS text"
        " LANGUAGE sql AS $$ SELECT 'captured' $$",
        "SELECT * FROM gx_system.encryption_keys",
        "SELECT email FROM globex_identity.users",
        "SELECT gx_system.add_encryption_key()",
        "CREATE TRIGGER t BEFORE DELETE ON globex_experiments.evaluations"
        " FOR EACH ROW EXECUTE FUNCTION pg_temp.spy()",
        "CREATE TRIGGER t BEFORE DELETE ON acme_experiments_v1.evaluations"
        " FOR EACH ROW EXECUTE FUNCTION pg_temp.spy()",
        "CREATE TABLE gx_system.mine (x int)",
        "TRUNCATE acme_auth.users CASCADE",
        "GRANT globex_app_admin TO {login}",
    ]
    with psycopg.connect(dsn, autocommit=True) as acme_admin:
        acme_admin.execute(SPY)
        refused = [a for a in attacks if not attempt(acme_admin, a.format(login=user))]
        assert refused == attacks
        assert acme_admin.execute("SELECT count(*) FROM acme_auth.users").fetchone() == (0,)


def test_reapplying_the_grants_over_an_older_grant_of_all_leaves_exactly_the_lists(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """An earlier apply gave admin ALL and CREATE; running 002d again takes the rest away."""
    commands.apply(resolve(project, "dev", url=db_url))
    expected = snapshot(conn)
    conn.execute("SET ROLE app_owner")  # the older apply granted as the owner, as steps run
    for schema in ("auth", "experiments_v1", "production", "providers", "quarantine"):
        conn.execute(
            f"GRANT USAGE, CREATE ON SCHEMA {schema} TO app_admin;"
            f" GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO app_admin;"
            f" GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO app_admin;"
            f" ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO app_admin"
        )
    conn.execute("RESET ROLE")
    assert snapshot(conn) != expected
    part = render_part(project, "002d_roles_grants", load_config(project, "dev"))
    ddl = load_config(project, "dev").settings.ddl
    with conn.transaction():
        for step in part.steps:  # as yoyo runs them: guarded statements ask the catalog first
            run_with_lock_discipline(conn, step.apply_statements, ddl, step.name, step.role)
    assert snapshot(conn) == expected


# -- issue 12, item 6: TRUNCATE, and REFERENCES


def test_truncate_cascade_is_refused_and_empties_nothing(deployed: Deployment) -> None:
    db = deployed.admin
    user = db.execute("INSERT INTO auth.users (email) VALUES ('t@x') RETURNING id").fetchone()[0]
    db.execute("INSERT INTO experiments_v1.experiments (user_id, name) VALUES (%s, 'e')", (user,))
    truncates = [f"TRUNCATE {table} CASCADE" for table in every_table(deployed)]
    assert "TRUNCATE auth.users CASCADE" in truncates
    assert allowed(deployed, truncates) == NOBODY
    counts = db.execute(
        "SELECT (SELECT count(*) FROM auth.users),"
        " (SELECT count(*) FROM experiments_v1.experiments)"
    ).fetchone()
    assert counts == (1, 1)


def test_a_schema_of_ones_own_gives_no_references_triggers_or_views_into_app_tables(
    deployed: Deployment,
) -> None:
    """Even a login that owns a schema somewhere cannot hang code or locks on app tables."""
    for login in deployed.logins.values():
        deployed.admin.execute(
            sql.SQL("CREATE SCHEMA {0} AUTHORIZATION {0}").format(sql.Identifier(login.user))
        )
        login.conn.execute(
            f"CREATE FUNCTION {login.user}.spy() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RETURN OLD; END $$"
        )
    attacks = [
        # REFERENCES: an ON DELETE CASCADE/RESTRICT hook, and a row lock on every referenced row
        "CREATE TABLE {login}.t (u uuid REFERENCES auth.users ON DELETE CASCADE)",
        "CREATE TABLE {login}.t (e uuid REFERENCES experiments_v1.experiments)",
        "CREATE TRIGGER t BEFORE DELETE ON auth.users FOR EACH ROW EXECUTE FUNCTION {login}.spy()",
        "CREATE VIEW {login}.v AS SELECT password_hash FROM auth.users; SELECT * FROM {login}.v",
        "CREATE TABLE {login}.t AS SELECT * FROM auth.users",
    ]
    assert allowed(deployed, attacks) == NOBODY


# -- issue 12, item 1 (the audit and retention tables) and item 2 (retention gaming)


def test_audit_log_retention_policies_and_keys_cannot_be_written(deployed: Deployment) -> None:
    protected = (
        "audits.audit_log",
        "system.retention_policies",
        "system.encryption_keys",
        "system.function_defaults_before",
        "system.connection_pool_settings",
    )
    attacks = [f"{verb} {table}" for table in protected for verb in ("DELETE FROM", "TRUNCATE")]
    attacks += [
        "UPDATE audits.audit_log SET db_user = 'someone else'",
        "INSERT INTO audits.audit_log (operation, table_schema, table_name, entity_type, action)"
        " VALUES ('DELETE', 'auth', 'users', 'users', 'forged')",
        "UPDATE system.retention_policies SET retain_days = 1",
        "INSERT INTO system.retention_policies VALUES ('x', 'auth', 'users', 'created_at', 1)",
        "UPDATE system.encryption_keys SET status = 'retired'",
        "UPDATE system.function_defaults_before SET public_execute = false",
    ]
    admin_may = ["DELETE FROM system.connection_pool_settings"]  # admin edits pool settings
    assert allowed(deployed, attacks) == NOBODY | {"admin": admin_may}


def one_row_each(d: Deployment) -> dict[tuple[str, str, str], str]:
    """(schema, table, column) of every guarded column -> the id of one row that has it."""
    db = d.admin
    user = db.execute("INSERT INTO auth.users (email) VALUES ('r@x') RETURNING id").fetchone()[0]
    project = db.execute("INSERT INTO production.projects (name) VALUES ('p') RETURNING id")
    values = {"user": user, "project": project.fetchone()[0]}
    inserts = {
        "experiments": "INSERT INTO experiments_v1.experiments (user_id, name)"
        " VALUES (%(user)s, 'e')",
        "evaluations": "INSERT INTO experiments_v1.evaluations (experiment_id, metric)"
        " VALUES (%(experiment)s, 'f1')",
        "promotions": "INSERT INTO experiments_v1.promotions (experiment_id, target)"
        " VALUES (%(experiment)s, 'prod')",
        "analysis_sessions": "INSERT INTO production.analysis_sessions (user_id, project_id)"
        " VALUES (%(user)s, %(project)s)",
        "quarantined_records": "INSERT INTO quarantine.quarantined_records"
        " (source_table, record, reason) VALUES ('t', '{}', 'r')",
        "provider_health": "INSERT INTO providers.provider_health (provider, status)"
        " VALUES ('llm', 'up')",
        "provider_usage": "INSERT INTO providers.provider_usage (user_id, provider)"
        " VALUES (%(user)s, 'llm')",
    }
    ids = {}
    for table, statement in inserts.items():
        ids[table] = db.execute(statement + " RETURNING id", values).fetchone()[0]
        values.setdefault("experiment", ids[table])
    ids["audit_log"] = db.execute("SELECT max(id) FROM audits.audit_log").fetchone()[0]
    guarded = db.execute(
        "SELECT n.nspname, c.relname, t.tgargs FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE t.tgfoid = 'tmplmig.keep_column()'::regprocedure"
    ).fetchall()
    return {(s, t, args.split(b"\x00")[0].decode()): str(ids[t]) for s, t, args in guarded}


def test_no_login_can_move_a_retention_timestamp_or_a_purge_cascade_key(
    deployed: Deployment,
) -> None:
    rows = one_row_each(deployed)
    policies = deployed.admin.execute(
        "SELECT target_schema, target_table, timestamp_column FROM system.retention_policies"
    ).fetchall()
    cascades = {("experiments_v1", "evaluations", "experiment_id"),
                ("experiments_v1", "promotions", "experiment_id")}  # fmt: skip
    assert set(rows) == set(policies) | cascades and len(policies) == 6
    old = deployed.admin.execute(
        "INSERT INTO experiments_v1.experiments (user_id, name, created_at)"
        " SELECT id, 'expiring', now() - interval '100 years' FROM auth.users RETURNING id"
    ).fetchone()[0]
    moves = []
    for (schema, table, column), row_id in rows.items():
        target = sql.Identifier(schema, table)
        col = sql.Identifier(column)
        changes = (
            [
                sql.SQL("{} - interval '100 years'").format(col),
                sql.SQL("{} + interval '1 day'").format(col),
            ]
            if column != "experiment_id"
            else [sql.Literal(old)]
        )
        moves += [
            sql.SQL("UPDATE {} SET {} = {} WHERE id = {}")
            .format(target, col, change, sql.Literal(row_id))
            .as_string(None)
            for change in changes
        ]
    upsert = sql.SQL(
        "INSERT INTO experiments_v1.experiments (id, user_id, name) SELECT id, user_id, name"
        " FROM experiments_v1.experiments WHERE id = {} ON CONFLICT (id)"
        " DO UPDATE SET created_at = '1970-01-01'"
    ).format(sql.Literal(rows[("experiments_v1", "experiments", "created_at")]))
    moves.append(upsert.as_string(None))
    assert len(moves) == 6 * 2 + 2 + 1
    assert allowed(deployed, [m.replace("{", "{{").replace("}", "}}") for m in moves]) == NOBODY
    purged = dict(deployed.admin.execute("SELECT * FROM system.purge_expired(100)").fetchall())
    assert purged["experiments"] == 1  # the one inserted as expired, nothing moved onto it
    survivors = deployed.admin.execute(
        "SELECT (SELECT count(*) FROM experiments_v1.evaluations),"
        " (SELECT count(*) FROM experiments_v1.promotions)"
    ).fetchone()
    assert survivors == (1, 1)


#: purged table -> an INSERT of one row whose retention timestamp is %(at)s (SQL, so that
#: 'infinity' and clock arithmetic run on the server)
INSERT_AT = {
    "experiments_v1.experiments": "INSERT INTO experiments_v1.experiments (user_id, name,"
    " created_at) VALUES (%(user)s, 'e', {at})",
    "production.analysis_sessions": "INSERT INTO production.analysis_sessions (user_id,"
    " project_id, created_at) VALUES (%(user)s, %(project)s, {at})",
    "quarantine.quarantined_records": "INSERT INTO quarantine.quarantined_records (source_table,"
    " record, reason, quarantined_at) VALUES ('t', '{{}}', 'r', {at})",
    "providers.provider_health": "INSERT INTO providers.provider_health (provider, status,"
    " checked_at) VALUES ('llm', 'up', {at})",
    "providers.provider_usage": "INSERT INTO providers.provider_usage (user_id, provider,"
    " usage_date) VALUES (%(user)s, 'llm', {at})",
    "audits.audit_log": "INSERT INTO audits.audit_log (occurred_at, operation, table_schema,"
    " table_name, entity_type, action) VALUES ({at}, 'INSERT', 'x', 'y', 'y', 'insert')",
}

#: retention timestamps the purge would never reach, or only years late
BEYOND_RETENTION = [
    "'infinity'",
    "now() + interval '2 days'",
    "now() + interval '100 years'",
    "clock_timestamp() + interval '6 minutes'",
]

#: what the application inserts: the default, a clock a minute ahead, an earlier day
WITHIN_RETENTION = [
    "DEFAULT",
    "clock_timestamp() + interval '1 minute'",
    "now() - interval '1000 days'",
]


def test_no_login_can_insert_a_row_the_purge_would_keep(
    deployed: Deployment, database: str
) -> None:
    """Issue 21: an INSERT with created_at = 'infinity' (or years ahead) outlived the purge."""
    db = deployed.admin
    user = db.execute("INSERT INTO auth.users (email) VALUES ('i@x') RETURNING id").fetchone()
    project = db.execute("INSERT INTO production.projects (name) VALUES ('p') RETURNING id")
    values = {"user": user[0], "project": project.fetchone()[0]}

    def inserts(ats: list[str], tables: Iterable[str] = INSERT_AT) -> list[tuple[str, str]]:
        return [(table, at) for table in tables for at in ats
                if not (table == "providers.provider_usage" and "6 minutes" in at)]  # fmt: skip

    def refused(conn: psycopg.Connection[Any], tried: list[tuple[str, str]]) -> list[str]:
        return [f"{table} {at}" for table, at in tried
                if not attempt(conn, INSERT_AT[table].format(at=at), values)]  # fmt: skip

    beyond = inserts(BEYOND_RETENTION)
    for group in GROUPS:
        assert refused(deployed.logins[group].conn, beyond) == [f"{t} {a}" for t, a in beyond]
    writable = [t for t in INSERT_AT if t != "audits.audit_log"]
    assert refused(deployed.logins["readwrite"].conn, inserts(WITHIN_RETENTION, writable)) == []

    owner = owner_of(deployed, "experiments_v1.experiments")
    with psycopg.connect(deployer_dsn(database), autocommit=True) as deployer:
        deployer.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
        assert refused(deployer, inserts(["DEFAULT"])) == []
        assert refused(deployer, beyond) == [f"{t} {a}" for t, a in beyond]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="more than 5 minutes ahead"):
        deployed.logins["readwrite"].conn.execute(
            INSERT_AT["experiments_v1.experiments"].format(at="'infinity'"), values
        )

    rw = deployed.logins["readwrite"].conn
    rw.execute(INSERT_AT["experiments_v1.experiments"].format(at="now() - interval '1000 days'"),
               values)  # fmt: skip
    purged = dict(deployed.logins["admin"].conn.execute("SELECT * FROM system.purge_expired(100)"))
    assert purged["experiments"] == 1


# -- issue 12, item 5: sensitive columns


@pytest.fixture
def with_secrets(deployed: Deployment) -> Deployment:
    """One user with a password hash and one provider key, written by the owner."""
    deployed.admin.execute(
        "WITH u AS (INSERT INTO auth.users (email, password_hash) VALUES ('s@x', 'bcrypt$secret')"
        " RETURNING id) INSERT INTO providers.user_providers (user_id, provider, api_key)"
        " SELECT id, 'llm', 'sk-live-secret' FROM u"
    )
    return deployed


READS = {
    "password_hash": [
        "SELECT password_hash FROM auth.users",
        "SELECT * FROM auth.users",
        "SELECT u FROM auth.users u",
        "SELECT to_jsonb(u) FROM auth.users u",
        "SELECT count(*) FROM auth.users WHERE password_hash LIKE 'b%'",
    ],
    "api_key": [
        "SELECT api_key FROM providers.user_providers",
        "SELECT * FROM providers.user_providers",
        "SELECT count(*) FROM providers.user_providers WHERE api_key LIKE 'sk%'",
    ],
}


def readable(d: Deployment) -> dict[str, dict[str, list[str]]]:
    """Per sensitive column, per group, the statements of READS its login may run."""
    return {column: allowed(d, statements) for column, statements in READS.items()}


def test_sensitive_columns_are_read_only_by_the_roles_config_lists(
    with_secrets: Deployment,
) -> None:
    d = with_secrets
    readers = d.settings.privileges.sensitive_readers
    assert readers == {"api_key": ["readwrite"]}  # base.yaml's default: nobody reads hashes
    assert readable(d) == {
        "password_hash": NOBODY,
        "api_key": NOBODY | {"readwrite": READS["api_key"]},
    }
    for group in GROUPS:
        conn = d.logins[group].conn
        copy_out = conn.cursor().copy("COPY auth.users TO STDOUT")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), copy_out as rows:
            list(rows)
        visible = conn.execute(
            "SELECT u.id, u.email, u.display_name, p.provider FROM auth.users u"
            " JOIN providers.user_providers p ON p.user_id = u.id"
        )
        assert len(visible.fetchall()) == 1


def test_readwrite_cannot_copy_a_password_hash_where_it_could_read_it(
    with_secrets: Deployment,
) -> None:
    rw = with_secrets.logins["readwrite"].conn
    attacks = [
        "UPDATE auth.users SET display_name = password_hash",
        "UPDATE auth.users SET display_name = 'x' WHERE password_hash LIKE 'b%'",
        "UPDATE auth.users SET display_name = 'x' RETURNING password_hash",
        "INSERT INTO auth.users (email, display_name)"
        " SELECT 'copy@x', password_hash FROM auth.users",
        "INSERT INTO auth.users (email) VALUES ('n@x') RETURNING password_hash",
    ]
    assert allowed(with_secrets, attacks, groups=["readwrite"]) == {"readwrite": []}
    rw.execute("UPDATE auth.users SET password_hash = 'bcrypt$new' WHERE email = 's@x'")  # writes
    audit = with_secrets.admin.execute(
        "SELECT new_row ->> 'password_hash' FROM audits.audit_log WHERE operation = 'UPDATE'"
    )
    assert audit.fetchall() == [("***",)]


def test_sensitive_readers_grant_a_column_and_roll_back_to_the_same_catalog(
    sandbox: Path, database: str, conn: psycopg.Connection[Any]
) -> None:
    readers = {"password_hash": ["admin"], "api_key": []}
    edit(sandbox / "config/base.yaml", lambda d: d["privileges"].update(sensitive_readers=readers))
    before = snapshot(conn)
    for d in deploy(sandbox, database, conn):
        d.admin.execute("INSERT INTO auth.users (email, password_hash) VALUES ('s@x', 'h')")
        d.admin.execute("INSERT INTO providers.user_providers (user_id, provider, api_key)"
                        " SELECT id, 'llm', 'k' FROM auth.users")  # fmt: skip
        assert readable(d) == {
            "password_hash": NOBODY | {"admin": READS["password_hash"]},
            "api_key": NOBODY,
        }
    for (login,) in conn.execute(
        "SELECT rolname FROM pg_roles"
        " WHERE shobj_description(oid, 'pg_authid') = 'tmplmig test login'"
    ).fetchall():
        conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(login)))
    commands.rollback(resolve(sandbox, "dev", url=url_for(deployer_dsn(database))))
    after = snapshot(conn)
    assert {k: before[k] ^ after[k] for k in before if before[k] != after[k]} == {}


@pytest.mark.parametrize(
    ("readers", "key_path", "problem"),
    [
        ({"email": ["readonly"]}, ("email",), "not listed in sensitive_columns"),
        ({"api_key": ["writer"]}, ("api_key", 0), "'readonly', 'readwrite' or 'admin'"),
        ({"api_key": ["admin", "admin"]}, ("api_key",), "listed twice"),
        ({"api_key\u200b": []}, ("api_key\u200b", "[key]"), "U+200B"),
    ],
)
def test_sensitive_readers_name_sensitive_columns_and_group_roles_only(
    sandbox: Path, readers: dict[str, Any], key_path: tuple[Any, ...], problem: str
) -> None:
    dev = sandbox / "config/dev.yaml"
    dev.write_text(dev.read_text() + yaml.safe_dump({"privileges": {"sensitive_readers": readers}}))
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "dev")
    assert caught.value.file == str(dev)
    assert caught.value.key_path == ("privileges", "sensitive_readers", *key_path)
    assert problem in caught.value.problem


# -- issue 12, item 4: functions the owner creates later


def test_functions_the_owner_creates_later_are_executable_by_no_app_role(
    deployed: Deployment,
) -> None:
    schemas = [*deployed.settings.schemas.model_dump().values()]
    owner = sql.Identifier(owner_of(deployed, "auth.users"))
    deployed.admin.execute(sql.SQL("SET ROLE {}").format(owner))  # as a later migration would
    for schema in schemas:
        deployed.admin.execute(
            sql.SQL("CREATE FUNCTION {}() RETURNS int LANGUAGE sql AS 'SELECT 1'").format(
                sql.Identifier(schema, "later")
            )
        )
    deployed.admin.execute("RESET ROLE")
    calls = [sql.SQL("SELECT {}()").format(sql.Identifier(s, "later")).as_string(None)
             for s in schemas]  # fmt: skip
    groups = list(deployed.logins)  # the app's groups and a login in none (PUBLIC)
    assert allowed(deployed, calls, groups=groups) == {group: [] for group in groups}


def test_a_function_made_before_apply_loses_publics_execute_and_gains_its_roles(
    deployed: Deployment, project: Path, database: str
) -> None:
    """A new function gets EXECUTE for its roles and not for PUBLIC from default privileges
    set around its CREATE; one of the same signature made by hand before 002e keeps its ACL
    through CREATE OR REPLACE, so apply's guarded REVOKE and GRANT put it right."""
    url = url_for(deployer_dsn(database))
    commands.rollback(resolve(project, "dev", url=url), part="002e_functions")
    owner = sql.Identifier(owner_of(deployed, "auth.users"))
    deployed.admin.execute(sql.SQL("SET ROLE {}").format(owner))
    deployed.admin.execute(
        "CREATE FUNCTION system.add_encryption_key() RETURNS uuid LANGUAGE sql"
        " AS 'SELECT NULL::uuid'"
    )
    deployed.admin.execute("GRANT EXECUTE ON FUNCTION system.add_encryption_key() TO PUBLIC")
    deployed.admin.execute("RESET ROLE")
    call = ["SELECT system.add_encryption_key()"]
    # readwrite may use schema system (for encrypt_data) but is not granted this function
    assert allowed(deployed, call, groups=["readwrite"]) == {"readwrite": call}

    commands.apply(resolve(project, "dev", url=url))
    assert allowed(deployed, call, groups=["readwrite", NO_GROUP]) == {
        "readwrite": [],
        NO_GROUP: [],
    }
    assert allowed(deployed, call, groups=["admin"]) == {"admin": call}


#: the owner role's default privileges; it exists before apply here (an owner role made by
#: hand is used as it is, and kept on rollback), so they can be compared before and after
OWNER = "app_owner"
DEFAULT_ACL = (
    "SELECT defaclnamespace, defaclobjtype, defaclacl::text FROM pg_default_acl"
    f" WHERE defaclrole = '{OWNER}'::regrole"
)


@pytest.mark.parametrize(
    "earlier",
    [
        [],
        ["ALTER DEFAULT PRIVILEGES FOR ROLE app_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"],
        ["CREATE ROLE {caller}", "COMMENT ON ROLE {caller} IS 'created by tmplmig'",
         "ALTER DEFAULT PRIVILEGES FOR ROLE app_owner GRANT EXECUTE ON FUNCTIONS TO {caller}"],
    ],
    ids=["built_in_defaults", "public_already_revoked", "another_role_granted"],
)  # fmt: skip
def test_rollback_restores_the_owners_function_defaults_exactly(
    project: Path, db_url: str, conn: psycopg.Connection[Any], earlier: list[str]
) -> None:
    caller = f"tmplmig_t_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {OWNER} NOLOGIN")
    conn.execute(f"COMMENT ON ROLE {OWNER} IS 'tmplmig test login'")  # conftest drops it
    for statement in earlier:
        conn.execute(statement.format(caller=caller))
    before = set(conn.execute(DEFAULT_ACL).fetchall())
    commands.apply(resolve(project, "dev", url=db_url))
    owner = conn.execute(
        "SELECT pg_get_userbyid(proowner) FROM pg_proc"
        " WHERE oid = 'system.purge_expired(integer)'::regprocedure"
    ).fetchone()[0]
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
    conn.execute("CREATE FUNCTION pg_temp.later() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    conn.execute("RESET ROLE")
    assert conn.execute(
        "SELECT has_function_privilege('public', 'pg_temp.later()', 'EXECUTE')"
    ).fetchone() == (False,)
    conn.execute("DROP FUNCTION pg_temp.later()")  # the owner's: the rollback would refuse
    commands.rollback(resolve(project, "dev", url=db_url))
    assert set(conn.execute(DEFAULT_ACL).fetchall()) == before


def _bundle_with_psql(project: Path, database: str) -> str:
    """The review bundle run as README tells a DBA, file by file, until one fails; its error."""
    bundle = project.parent / "bundle"
    commands.write_render(for_rendering(project, "dev"), bundle)
    for name in manifest_files((bundle / MANIFEST).read_text(), "apply"):
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", deployer_dsn(database)]
        done = subprocess.run(
            [*psql, "-f", str(bundle / name)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return done.stderr
    return ""


def _plain_yoyo(project: Path, database: str) -> str:
    return plain_yoyo_apply(project, url_for(deployer_dsn(database))).stderr


@pytest.mark.parametrize("run", [_bundle_with_psql, _plain_yoyo], ids=["psql bundle", "plain yoyo"])
def test_a_login_named_as_a_group_role_gains_nothing_when_psql_or_plain_yoyo_applies(
    run: Callable[[Path, str], str],
    sandbox: Path,
    database: str,
    conn: psycopg.Connection[Any],
) -> None:
    """Someone's LOGIN role bears a group role's name (chosen to wait for its grants, or by
    chance). ``tmplmig apply`` refuses it before its first statement; psql and plain yoyo run
    the part that would make it the group, which stops before granting it anything."""
    group, password = "tmplmig_t_waiting_readonly", secrets.token_urlsafe(18)
    conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(group), sql.Literal(password)
        )
    )
    comment = sql.SQL("COMMENT ON ROLE {} IS 'tmplmig test login'")  # conftest drops it
    conn.execute(comment.format(sql.Identifier(group)))
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("roles", {}).update(readonly=group))

    error = run(sandbox, database)

    tables = conn.execute(
        "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables"
        " WHERE schemaname = ANY(%s) ORDER BY 1",
        [list(load_config(sandbox, "dev").settings.schemas.model_dump().values())],
    ).fetchall()
    assert tables  # the parts before the group's were applied: there is something to read
    dsn = make_conninfo(dsn_for(database, conn.info.dbname, user=group), password=password)
    with psycopg.connect(dsn, autocommit=True) as login:
        readable = [t for (t,) in tables if attempt(login, f"SELECT FROM {t} LIMIT 1")]
    assert readable == []
    assert f"group role {group} may log in or holds SUPERUSER" in error
