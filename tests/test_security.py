"""Security objects proven by real logins: privileges, encryption keys, audit trail, retention.

Every check connects as a LOGIN user that is a member of one group role (or of none) and
does the thing for real; the expected outcomes are built from the rules in docs/security.md
("Who can do what"), not copied from the database.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql
from support.deploy import PLAINTEXT, Deployment, deploy, set_master_key
from support.logins import GROUPS, NO_GROUP, attempt
from support.servers import deployer_dsn, dsn_for, url_for
from support.yaml_edits import edit

from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import ConfigError, Settings, load_config

DATA_SCHEMAS = ("auth", "experiments", "production", "providers", "quarantine")
TABLE_OPS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
FUNCTIONS = (
    "encrypt_data",
    "decrypt_data",
    "add_encryption_key",
    "retire_encryption_key",
    "purge_expired",
)
#: helpers only the SECURITY DEFINER functions call: nobody else may, least of all data_key
OWNER_ONLY_FUNCTIONS = ("session_master_key", "data_key")
SYSTEM_TABLES_ADMIN_WRITES = {"connection_pool_settings"}
OWNER_ONLY_TABLES = {"encryption_keys", "function_defaults_before"}
LATER_TABLE = "created_after_migration"
PURGED_TABLES = {
    "audit_log": "audits.audit_log",
    "experiments": "experiments_v1.experiments",
    "analysis_sessions": "production.analysis_sessions",
    "quarantined_records": "quarantine.quarantined_records",
    "provider_health": "providers.provider_health",
    "provider_usage": "providers.provider_usage",
}


@pytest.fixture
def deployed(project: Path, database: str, conn: psycopg.Connection[Any]) -> Iterator[Deployment]:
    """The dev config applied, with logins for every group and for no group."""
    yield from deploy(project, database, conn)


# -- the privilege matrix


def expected_table_cell(s: Settings, group: str, schema_key: str, table: str, op: str) -> bool:
    """The rules: readonly reads, readwrite writes (DELETE by switch), admin also deletes;
    audit log and system tables are readable, and only admin edits pool settings."""
    if group == NO_GROUP:
        return False
    if schema_key in DATA_SCHEMAS:
        allowed = {
            "readonly": {"SELECT"},
            "readwrite": {"SELECT", "INSERT", "UPDATE"}
            | ({"DELETE"} if s.privileges.readwrite_can_delete else set()),
            "admin": {"SELECT", "INSERT", "UPDATE", "DELETE"},
        }[group]
        return op in allowed
    if schema_key == "system" and table in OWNER_ONLY_TABLES:
        return False
    if op == "SELECT":
        return True
    return (
        schema_key == "system"
        and group == "admin"
        and table in SYSTEM_TABLES_ADMIN_WRITES
        and op != "TRUNCATE"
    )


def expected_matrix(s: Settings, tables: list[tuple[str, str, str]]) -> dict[tuple[str, ...], bool]:
    expected: dict[tuple[str, ...], bool] = {}
    for group in (NO_GROUP, *GROUPS):
        for schema_key, schema, table in tables:
            for op in TABLE_OPS:
                cell = expected_table_cell(s, group, schema_key, table, op)
                expected[(group, f"{schema}.{table}", op)] = cell
        for schema in [*s.schemas.model_dump().values(), "public"]:
            expected[(group, schema, "CREATE")] = False
        for function in FUNCTIONS:
            granted = getattr(s.privileges.execute, function)
            expected[(group, f"system.{function}()", "EXECUTE")] = group in granted
        for function in OWNER_ONLY_FUNCTIONS:
            expected[(group, f"system.{function}()", "EXECUTE")] = False
    return expected


def table_probes(schema: str, table: str, column: str) -> dict[str, sql.Composable]:
    """One statement per privilege; none needs a privilege other than the one it probes
    (SELECT names one column: sensitive columns are checked in test_privilege_escalation)."""
    t, c = sql.Identifier(schema, table), sql.Identifier(column)
    return {
        "SELECT": sql.SQL("SELECT {} FROM {} LIMIT 1").format(c, t),
        "INSERT": sql.SQL("INSERT INTO {} ({}) SELECT NULL WHERE false").format(t, c),
        "UPDATE": sql.SQL("UPDATE {} SET {} = NULL WHERE false").format(t, c),
        "DELETE": sql.SQL("DELETE FROM {} WHERE false").format(t),
        "TRUNCATE": sql.SQL("TRUNCATE {} CASCADE").format(t),
    }


def observed_matrix(
    d: Deployment, tables: list[tuple[str, str, str]]
) -> dict[tuple[str, ...], bool]:
    schema_names = [*d.settings.schemas.model_dump().values(), "public"]
    function_calls = {
        "encrypt_data": ("SELECT system.encrypt_data('x', %s)", (d.key_id,)),
        "decrypt_data": ("SELECT system.decrypt_data(%s, %s)", (d.ciphertext, d.key_id)),
        "add_encryption_key": ("SELECT system.add_encryption_key()", None),
        "retire_encryption_key": ("SELECT system.retire_encryption_key(%s)", (d.key_id,)),
        "purge_expired": ("SELECT * FROM system.purge_expired(10)", None),
        "session_master_key": ("SELECT system.session_master_key()", None),
        "data_key": ("SELECT system.data_key(%s, false)", (d.key_id,)),
    }
    observed: dict[tuple[str, ...], bool] = {}
    for group, login in d.logins.items():
        for _, schema, table in tables:
            column = writable_column(d.admin, schema, table)
            for op, statement in table_probes(schema, table, column).items():
                observed[(group, f"{schema}.{table}", op)] = attempt(login.conn, statement)
        for schema in schema_names:
            create = sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(schema, "probe"))
            observed[(group, schema, "CREATE")] = attempt(login.conn, create)
        for function, (statement, params) in function_calls.items():
            observed[(group, f"system.{function}()", "EXECUTE")] = attempt(
                login.conn, statement, params
            )
    return observed


def writable_column(admin: psycopg.Connection[Any], schema: str, table: str) -> str:
    """A column INSERT/UPDATE may name (not an identity or generated column)."""
    row = admin.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attidentity = '' AND attgenerated = '' ORDER BY attnum LIMIT 1",
        (sql.Identifier(schema, table).as_string(admin),),
    ).fetchone()
    return str(row[0])


def app_tables(d: Deployment) -> list[tuple[str, str, str]]:
    """(schema key, schema, table) of every table in the app schemas, ordered."""
    by_name = {name: key for key, name in d.settings.schemas.model_dump().items()}
    rows = d.admin.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s) ORDER BY 1, 2",
        (list(by_name),),
    ).fetchall()
    return [(by_name[schema], schema, table) for schema, table in rows]


def matrix_diff(
    expected: dict[tuple[str, ...], bool], observed: dict[tuple[str, ...], bool]
) -> str:
    """One readable line per cell that differs."""
    word = {True: "allowed", False: "denied", None: "not tried"}
    lines = []
    for key in sorted(expected.keys() | observed.keys()):
        want, got = expected.get(key), observed.get(key)
        if want != got:
            group, obj, op = key
            lines.append(f"  {group:10} {obj:50} {op:8} expected {word[want]}, got {word[got]}")
    return "\n".join(lines)


SWITCHED = {
    "readwrite_can_delete": True,
    "execute": {"decrypt_data": ["readonly", "admin"], "purge_expired": []},
}


@pytest.fixture(params=[{}, SWITCHED], ids=["default_privileges", "switched_privileges"])
def deployed_with_privileges(
    request: pytest.FixtureRequest,
    sandbox: Path,
    database: str,
    conn: psycopg.Connection[Any],
) -> Iterator[Deployment]:
    """The dev config applied from a copy whose ``privileges`` carry the param's changes."""

    def change(data: dict[str, Any]) -> None:
        data["privileges"]["execute"].update(request.param.get("execute", {}))
        data["privileges"].update({k: v for k, v in request.param.items() if k != "execute"})

    edit(sandbox / "config/base.yaml", change)
    yield from deploy(sandbox, database, conn)


def test_every_login_can_do_exactly_what_its_role_allows(
    deployed_with_privileges: Deployment,
) -> None:
    d = deployed_with_privileges
    d.admin.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(d.settings.roles.owner)))
    for schema_key in DATA_SCHEMAS:  # tables the owner role creates later get the grants
        schema = getattr(d.settings.schemas, schema_key)
        d.admin.execute(
            sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, note text)").format(
                sql.Identifier(schema, LATER_TABLE)
            )
        )
    d.admin.execute("RESET ROLE")
    tables = app_tables(d)
    assert sum(table == LATER_TABLE for _, _, table in tables) == len(DATA_SCHEMAS)
    expected = expected_matrix(d.settings, tables)
    observed = observed_matrix(d, tables)
    assert observed == expected, "privilege matrix differs:\n" + matrix_diff(expected, observed)
    functions = len(FUNCTIONS) + len(OWNER_ONLY_FUNCTIONS)
    assert len(observed) == 4 * (len(tables) * len(TABLE_OPS) + 8 + functions)


@pytest.mark.parametrize(
    ("change", "key_path", "problem"),
    [
        ({"encrypt_data": ["writer"]}, ("encrypt_data", 0), "'readonly', 'readwrite' or 'admin'"),
        ({"purge_expired": ["admin", "admin"]}, ("purge_expired",), "listed twice"),
        ({"drop_everything": []}, ("drop_everything",), "unknown key"),
    ],
)
def test_execute_grants_name_known_functions_and_group_roles_only(
    sandbox: Path, change: dict[str, Any], key_path: tuple[Any, ...], problem: str
) -> None:
    dev = sandbox / "config/dev.yaml"
    dev.write_text(dev.read_text() + yaml.safe_dump({"privileges": {"execute": change}}))
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "dev")
    assert caught.value.file == str(dev)
    assert caught.value.key_path == ("privileges", "execute", *key_path)
    assert problem in caught.value.problem


# -- encryption and key rotation


def test_readwrite_login_encrypts_and_decrypts_with_its_session_master_key(
    deployed: Deployment,
) -> None:
    rw = deployed.logins["readwrite"].conn
    ciphertext = rw.execute(
        "SELECT system.encrypt_data(%s, %s)", (PLAINTEXT, deployed.key_id)
    ).fetchone()[0]
    assert PLAINTEXT.encode() not in ciphertext
    decrypted = rw.execute("SELECT system.decrypt_data(%s, %s)", (ciphertext, deployed.key_id))
    assert decrypted.fetchone() == (PLAINTEXT,)
    assert rw.execute(
        "SELECT system.decrypt_data(%s, %s)", (deployed.ciphertext, deployed.key_id)
    ).fetchone() == (PLAINTEXT,)


def test_decrypt_needs_the_right_master_key(deployed: Deployment) -> None:
    rw = deployed.logins["readwrite"].conn
    call = ("SELECT system.decrypt_data(%s, %s)", (deployed.ciphertext, deployed.key_id))
    rw.execute("RESET tmplmig.master_key")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="master_key is not set"):
        rw.execute(*call)
    set_master_key(rw, secrets.token_hex(32))
    with pytest.raises(psycopg.errors.ExternalRoutineInvocationException, match="Wrong key"):
        rw.execute(*call)


def test_retired_key_still_decrypts_but_no_longer_encrypts(deployed: Deployment) -> None:
    admin = deployed.logins["admin"].conn
    old_key = deployed.key_id
    new_key = admin.execute("SELECT system.add_encryption_key()").fetchone()[0]
    assert new_key != old_key
    admin.execute("SELECT system.retire_encryption_key(%s)", (old_key,))
    admin.execute("SELECT system.retire_encryption_key(%s)", (old_key,))  # twice: no-op

    rw = deployed.logins["readwrite"].conn
    assert rw.execute(
        "SELECT system.decrypt_data(%s, %s)", (deployed.ciphertext, old_key)
    ).fetchone() == (PLAINTEXT,)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="does not exist or is retired"):
        rw.execute("SELECT system.encrypt_data('new', %s)", (old_key,))
    fresh = rw.execute("SELECT system.encrypt_data('new', %s)", (new_key,)).fetchone()[0]
    assert rw.execute("SELECT system.decrypt_data(%s, %s)", (fresh, new_key)).fetchone() == ("new",)
    status = deployed.admin.execute(
        "SELECT key_id, status, retired_at IS NOT NULL FROM system.encryption_keys ORDER BY status"
    ).fetchall()
    assert status == [(new_key, "active", False), (old_key, "retired", True)]
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="does not exist"):
        admin.execute("SELECT system.retire_encryption_key(%s)", (uuid.uuid4(),))


def test_no_key_material_or_plaintext_is_stored_or_rendered(
    deployed: Deployment, project: Path
) -> None:
    admin = deployed.admin
    admin.execute("SELECT system.add_encryption_key()")
    data_keys = [
        row[0]
        for row in admin.execute(
            "SELECT public.pgp_sym_decrypt(wrapped_key, %s) FROM system.encryption_keys",
            (deployed.master_key,),
        )
    ]
    assert len(data_keys) == 2 and all(re.fullmatch("[0-9a-f]{64}", k) for k in data_keys)
    admin.execute(
        "INSERT INTO providers.user_providers (user_id, provider, api_key)"
        " VALUES (gen_random_uuid(), 'llm', encode(system.encrypt_data(%s, %s), 'base64'))",
        (PLAINTEXT, deployed.key_id),
    )
    secrets_ = [deployed.master_key, PLAINTEXT, *data_keys]
    needles = secrets_ + [s.encode().hex() for s in secrets_]  # also as bytea text

    every_table = admin.execute(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    assert len(every_table) >= 14
    for (table,) in every_table:
        for (row,) in admin.execute(f"SELECT t::text FROM {table} AS t"):
            found = [n for n in needles if n in row]
            assert not found, f"{table} holds key material or plaintext: {row[:120]}"
    sources = admin.execute("SELECT string_agg(prosrc, ' ') FROM pg_proc").fetchone()[0]
    assert not [n for n in needles if n in sources]

    stored = [
        p.read_text()
        for folder in ("config", "templates", "migrations")
        for p in (project / folder).glob("*.*")
        if p.suffix in (".yaml", ".py", ".j2")
    ]
    rendered = [
        text
        for env in ("dev", "prod")
        for text in commands.render_bundle(for_rendering(project, env)).values()
    ]
    for text in stored + rendered:
        assert not [n for n in needles if n in text]
        assert not re.search(r"master_key'\s*,\s*'", text), "a master key is set in SQL text"


# -- audit trail


def test_each_change_to_an_audited_table_writes_one_masked_row_naming_its_actor(
    deployed: Deployment,
) -> None:
    rw, admin = deployed.logins["readwrite"], deployed.logins["admin"]
    app_user = uuid.uuid4()
    rw.conn.execute("SELECT set_config('tmplmig.app_user_id', %s, false)", (str(app_user),))
    with rw.conn.transaction():
        user_id = rw.conn.execute(
            "INSERT INTO auth.users (email, password_hash) VALUES ('a@example.org', 'bcrypt$1')"
            " RETURNING id"
        ).fetchone()[0]
        rw.conn.execute("UPDATE auth.users SET password_hash = 'bcrypt$2', display_name = 'A'")
        provider_id = rw.conn.execute(
            "INSERT INTO providers.user_providers (user_id, provider, api_key)"
            " VALUES (%s, 'llm', 'sk-live-secret') RETURNING id",
            (user_id,),
        ).fetchone()[0]
        experiment_id = rw.conn.execute(
            "INSERT INTO experiments_v1.experiments (user_id, name) VALUES (%s, 'e') RETURNING id",
            (user_id,),
        ).fetchone()[0]
        promotion_id = rw.conn.execute(
            "INSERT INTO experiments_v1.promotions (experiment_id, target) VALUES (%s, 'prod')"
            " RETURNING id",
            (experiment_id,),
        ).fetchone()[0]
        rw_txid = rw.conn.execute("SELECT txid_current()").fetchone()[0]
    with admin.conn.transaction():
        admin.conn.execute("DELETE FROM providers.user_providers")
        admin.conn.execute("DELETE FROM experiments_v1.promotions")
        admin_txid = admin.conn.execute("SELECT txid_current()").fetchone()[0]

    rows = deployed.admin.execute(
        "SELECT table_schema || '.' || table_name, operation, entity_id, db_user, app_user_id,"
        " user_id, txid, old_row, new_row, occurred_at > now() - interval '1 minute'"
        " FROM audits.audit_log ORDER BY id"
    ).fetchall()
    rw_actor = (rw.user, str(app_user), app_user, rw_txid)
    admin_actor = (admin.user, None, None, admin_txid)
    assert [r[:7] for r in rows] == [
        ("auth.users", "INSERT", str(user_id), *rw_actor),
        ("auth.users", "UPDATE", str(user_id), *rw_actor),
        ("providers.user_providers", "INSERT", str(provider_id), *rw_actor),
        ("experiments_v1.promotions", "INSERT", str(promotion_id), *rw_actor),
        ("providers.user_providers", "DELETE", str(provider_id), *admin_actor),
        ("experiments_v1.promotions", "DELETE", str(promotion_id), *admin_actor),
    ]
    assert all(r[9] for r in rows)
    inserted, updated, key_added, _, key_deleted, _ = [(r[7], r[8]) for r in rows]
    assert inserted[0] is None and inserted[1]["password_hash"] == "***"
    assert updated[0]["password_hash"] == updated[1]["password_hash"] == "***"
    assert (updated[0]["display_name"], updated[1]["display_name"]) == (None, "A")
    assert updated[1]["email"] == "a@example.org"
    assert key_added[1]["api_key"] == key_deleted[0]["api_key"] == "***"
    assert key_deleted[1] is None and key_deleted[0]["provider"] == "llm"
    leaked = deployed.admin.execute(
        "SELECT count(*) FROM audits.audit_log WHERE (old_row::text || new_row::text)"
        " ~ '(bcrypt|sk-live)'"
    ).fetchone()
    assert leaked == (0,)


def test_unaudited_tables_null_secrets_and_non_uuid_app_users_are_kept_as_they_are(
    deployed: Deployment,
) -> None:
    rw = deployed.logins["readwrite"].conn
    rw.execute("SELECT set_config('tmplmig.app_user_id', 'batch-import', false)")
    rw.execute("INSERT INTO production.projects (name) VALUES ('not audited')")
    rw.execute("INSERT INTO auth.users (email) VALUES ('b@example.org')")
    rows = deployed.admin.execute(
        "SELECT table_name, new_row ->> 'password_hash', app_user_id, user_id FROM audits.audit_log"
    ).fetchall()
    assert rows == [("users", None, "batch-import", None)]


@pytest.mark.parametrize("group", GROUPS)
def test_audit_log_is_append_only_for_every_app_role(deployed: Deployment, group: str) -> None:
    login = deployed.logins[group].conn
    login.execute("SELECT set_config('tmplmig.app_user_id', 'someone', false)")
    deployed.admin.execute("INSERT INTO auth.users (email) VALUES ('c@example.org')")
    assert login.execute("SELECT count(*) FROM audits.audit_log").fetchone() == (1,)
    for statement in (
        "INSERT INTO audits.audit_log (operation, table_schema, table_name, entity_type, action)"
        " VALUES ('INSERT', 'auth', 'users', 'users', 'forged')",
        "UPDATE audits.audit_log SET app_user_id = 'forged'",
        "DELETE FROM audits.audit_log",
        "TRUNCATE audits.audit_log",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            login.execute(statement)
    assert deployed.admin.execute(
        "SELECT count(*), count(app_user_id) FROM audits.audit_log"
    ).fetchone() == (1, 0)


# -- retention


def test_purge_deletes_only_expired_rows_in_bounded_batches_and_reports_them(
    deployed: Deployment,
) -> None:
    db = deployed.admin
    days = dict(db.execute("SELECT data_class, retain_days FROM system.retention_policies"))
    user_id = db.execute(
        "INSERT INTO auth.users (email) VALUES ('old@example.org') RETURNING id"
    ).fetchone()[0]
    project_id = db.execute("INSERT INTO production.projects (name) VALUES ('p') RETURNING id")
    project_id = project_id.fetchone()[0]
    db.execute("DELETE FROM audits.audit_log")  # only the rows made below
    expired = {"audit_log": 3, "experiments": 2, "analysis_sessions": 3, "quarantined_records": 1,
               "provider_health": 5, "provider_usage": 2}  # fmt: skip
    fresh = 2
    inserts = {
        "audit_log": "INSERT INTO audits.audit_log (occurred_at, operation, table_schema,"
        " table_name, entity_type, action) VALUES (%(at)s, 'INSERT', 'x', 'y', 'y', 'insert')",
        "experiments": "INSERT INTO experiments_v1.experiments (user_id, name, created_at)"
        " VALUES (%(user)s, 'e', %(at)s)",
        "analysis_sessions": "INSERT INTO production.analysis_sessions"
        " (user_id, project_id, created_at) VALUES (%(user)s, %(project)s, %(at)s)",
        "quarantined_records": "INSERT INTO quarantine.quarantined_records"
        " (source_table, record, reason, quarantined_at) VALUES ('t', '{}', 'r', %(at)s)",
        "provider_health": "INSERT INTO providers.provider_health (provider, status, checked_at)"
        " VALUES ('llm', 'up', %(at)s)",
        "provider_usage": "INSERT INTO providers.provider_usage (user_id, provider, usage_date)"
        " VALUES (%(user)s, 'llm', %(at)s)",
    }
    for data_class, statement in inserts.items():
        keep = days[data_class]
        ages = [keep + 1 + i for i in range(expired[data_class])] + [keep - 2, 0][:fresh]
        for age in ages:
            at = db.execute("SELECT now() - %s * interval '1 day'", (age,)).fetchone()[0]
            db.execute(statement, {"at": at, "user": user_id, "project": project_id})
    old_experiment = db.execute(
        "SELECT id FROM experiments_v1.experiments ORDER BY created_at LIMIT 1"
    ).fetchone()[0]
    db.execute(
        "INSERT INTO experiments_v1.evaluations (experiment_id, metric) VALUES (%s, 'f1')",
        (old_experiment,),
    )
    db.execute(
        "INSERT INTO quarantine.quarantined_records (experiment_id, source_table, record, reason)"
        " VALUES (%s, 't', '{}', 'fresh, of an expired experiment')",
        (old_experiment,),
    )

    admin = deployed.logins["admin"].conn
    batches: list[dict[str, int]] = []
    while not batches or any(batches[-1].values()):
        batches.append(dict(admin.execute("SELECT * FROM system.purge_expired(2)").fetchall()))
        assert len(batches) < 10
    assert batches[0] == {k: min(n, 2) for k, n in expired.items()}
    assert all(n <= 2 for batch in batches for n in batch.values())
    totals = {k: sum(b[k] for b in batches) for k in expired}
    assert totals == expired

    remaining = {
        k: db.execute(f"SELECT count(*) FROM {PURGED_TABLES[k]}").fetchone()[0] for k in expired
    }
    assert remaining == {k: fresh for k in expired} | {"quarantined_records": fresh + 1}
    assert db.execute("SELECT count(*) FROM experiments_v1.evaluations").fetchone() == (0,)
    orphan = db.execute(
        "SELECT experiment_id FROM quarantine.quarantined_records WHERE reason LIKE 'fresh%'"
    ).fetchone()
    assert orphan == (None,)


def test_purge_refuses_a_batch_size_below_one(deployed: Deployment) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="batch_size"):
        deployed.logins["admin"].conn.execute("SELECT * FROM system.purge_expired(0)")


# -- roles are cluster-wide


def test_rollback_keeps_a_role_still_used_elsewhere_and_says_why(
    project: Path,
    server_dsn: str,
    database: str,
    conn: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = url_for(deployer_dsn(database))
    commands.apply(resolve(project, "dev", url=url))
    other = f"tmplmig_other_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    try:
        with psycopg.connect(dsn_for(server_dsn, other), autocommit=True) as elsewhere:
            elsewhere.execute("CREATE TABLE shared_report (x int)")
            elsewhere.execute("GRANT SELECT ON shared_report TO app_readonly")
        caplog.set_level(logging.WARNING, "tmplmig.database.locking")
        assert commands.rollback(resolve(project, "dev", url=url))[-1] == "001_baseline"
        roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname ~ '^app_'")}
        assert roles == {"app_readonly"}
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
            "role app_readonly: role app_readonly kept: it is still used elsewhere:"
            f" 1 object in database {other}"
        ]
    finally:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))
