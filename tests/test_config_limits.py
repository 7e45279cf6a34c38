"""Every value a later part uses is checked when the config loads, before any statement.

Numbers that reach SQL fit their column or setting, schema names are not PostgreSQL's or
tmplmig's own, names read as what they are (UTS #39), a tenant's names are not the
environment's, and an owner role is nobody else's: each refused with the file and key path,
leaving the database as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.servers import DEPLOYER, deployer_dsn, plain_yoyo_apply
from support.tenants import add_tenant
from support.yaml_edits import edit

from tmplmig.database.catalog import difference, snapshot
from tmplmig.database.urls import with_schema
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import ConfigError, load_config

KeyPath = tuple[str, ...]


def setting(key_path: KeyPath, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets ``key_path`` to ``value`` (creating the mappings above it)."""

    def put(data: dict[str, Any]) -> None:
        *parents, last = key_path
        for key in parents:
            data = data.setdefault(key, {})
        data[last] = value

    return put


def error_of(load: Callable[[], object]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load()
    return caught.value


def tables_named_like(conn: psycopg.Connection[Any], pattern: str) -> int:
    row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s", [pattern])
    return row.fetchone()[0]


# --- numbers that reach SQL ---------------------------------------------------------------

INT4 = "is more than 2147483647, the largest PostgreSQL integer"
OUT_OF_RANGE = {
    "pool statement timeout beyond int4": (
        ("connection_pool", "statement_timeout_ms"), 99999999999999, INT4
    ),
    "pool idle timeout beyond int4": (
        ("connection_pool", "idle_timeout_seconds"), 2**31, INT4
    ),
    "pool lifetime beyond int4": (
        ("connection_pool", "max_lifetime_seconds"), 2**31, INT4
    ),
    "lock_timeout beyond the setting's limit": (
        ("ddl", "lock_timeout"), "9999999min", "limit for a timeout setting"
    ),
    "statement_timeout beyond the setting's limit": (
        ("ddl", "statement_timeout"), "2147484s", "limit for a timeout setting"
    ),
    "orphan_wait beyond the setting's limit": (
        ("ddl", "orphan_wait"), "35792min", "limit for a timeout setting"
    ),
    "lock_timeout of nothing": (("ddl", "lock_timeout"), "0ms", "more than 0"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_numbers_beyond_their_column_or_setting_are_refused_at_load(
    sandbox: Path, case: str
) -> None:
    key_path, value, problem = OUT_OF_RANGE[case]
    edit(sandbox / "config/staging.yaml", setting(key_path, value))
    err = error_of(lambda: load_config(sandbox, "staging"))
    assert err.file == str(sandbox / "config/staging.yaml")
    assert err.key_path == key_path
    assert problem in err.problem


def test_the_largest_values_postgresql_holds_are_accepted(sandbox: Path) -> None:
    edit(
        sandbox / "config/dev.yaml", setting(("connection_pool", "statement_timeout_ms"), 2**31 - 1)
    )
    edit(sandbox / "config/dev.yaml", setting(("ddl", "statement_timeout"), "35791min"))
    settings = load_config(sandbox, "dev").settings
    assert settings.connection_pool.statement_timeout_ms == 2**31 - 1
    assert settings.ddl.statement_timeout == "35791min"


# --- schema names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("public", "reserved for the schema every database has"),
        ("Public", "reserved for the schema every database has"),
        ("information_schema", "reserved for PostgreSQL's catalog views"),
        ("pg_toast", "reserved prefix 'pg_'"),
        ("tmplmig", "reserved for tmplmig's shared functions"),
        ("tmplmig_x", "reserved for tenants' tracking schemas"),
    ],
)
def test_schemas_postgresql_or_tmplmig_own_are_refused_by_key(
    sandbox: Path, name: str, problem: str
) -> None:
    edit(sandbox / "config/dev.yaml", setting(("schemas", "system"), name))
    err = error_of(lambda: load_config(sandbox, "dev"))
    assert (err.file, err.key_path) == (str(sandbox / "config/dev.yaml"), ("schemas", "system"))
    assert problem in err.problem


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("system", "schema 'system' is also schemas.system: the extension serves the whole"),
        ("information_schema", "reserved for PostgreSQL's catalog views"),
        ("tmplmig_acme", "reserved for tenants' tracking schemas"),
    ],
)
def test_the_extensions_schema_is_public_or_one_apart(
    sandbox: Path, name: str, problem: str
) -> None:
    """A database-wide extension in a schema a rollback drops, or none may create in."""
    edit(sandbox / "config/dev.yaml", setting(("extensions_schema",), name))
    err = error_of(lambda: load_config(sandbox, "dev"))
    assert (err.file, err.key_path) == (str(sandbox / "config/dev.yaml"), ("extensions_schema",))
    assert problem in err.problem
    edit(sandbox / "config/dev.yaml", setting(("extensions_schema",), "extensions"))
    assert load_config(sandbox, "dev").settings.extensions_schema == "extensions"


@pytest.mark.parametrize(
    ("key_path", "value"),
    [
        (("connection_pool", "statement_timeout_ms"), 99999999999999),
        (("schemas", "system"), "public"),
    ],
)
def test_an_apply_with_a_value_that_would_fail_later_changes_nothing(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    key_path: KeyPath,
    value: Any,
) -> None:
    """Before: the pool value rendered and failed at 002c with 001-002b committed."""
    edit(sandbox / "config/dev.yaml", setting(key_path, value))
    before = snapshot(conn)
    err = error_of(lambda: commands.apply(resolve(sandbox, "dev", url=db_url)))
    assert (err.file, err.key_path) == (str(sandbox / "config/dev.yaml"), key_path)
    assert tables_named_like(conn, "%yoyo%") == 0
    yoyo = plain_yoyo_apply(sandbox, db_url)
    assert yoyo.returncode != 0
    assert f"config/dev.yaml: {'.'.join(key_path)}:" in yoyo.stderr
    assert difference(before, snapshot(conn)) == {}


# --- names that read as another -----------------------------------------------------------

LOOK_ALIKES = {
    "Cyrillic dze in a Latin schema": (
        ("schemas", "system"), "\u0455ystem", "U+0455 (CYRILLIC SMALL LETTER DZE) is Cyrillic",
    ),
    "Cyrillic a in a Latin role": (
        ("roles", "admin"), "app_\u0430dmin", "U+0430 (CYRILLIC SMALL LETTER A) is Cyrillic",
    ),
    "Greek omicron in a column": (
        ("sensitive_columns", 0), "passw\u03bfrd_hash", "U+03BF (GREEK SMALL LETTER OMICRON)",
    ),
    "mathematical bold s": (
        ("schemas", "audits"), "\U0001d42cystem", "U+1D42C (MATHEMATICAL BOLD SMALL S)",
    ),
    "fullwidth s": (
        ("schemas", "audits"), "\uff53ystem", "U+FF53 (FULLWIDTH LATIN SMALL LETTER S)",
    ),
    "decomposed i with diaeresis": (
        ("schemas", "auth"), "nai\u0308ve", "U+0308 (COMBINING DIAERESIS) makes it read as",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LOOK_ALIKES))
def test_names_that_mix_scripts_or_read_as_another_are_refused_naming_the_character(
    sandbox: Path, case: str
) -> None:
    key_path, name, problem = LOOK_ALIKES[case]
    if key_path[0] == "sensitive_columns":
        change = setting(("sensitive_columns",), [name, "api_key"])
    else:
        change = setting(key_path, name)
    edit(sandbox / "config/staging.yaml", change)
    err = error_of(lambda: load_config(sandbox, "staging"))
    assert (err.file, err.key_path) == (str(sandbox / "config/staging.yaml"), key_path)
    assert problem in err.problem


def test_a_mixed_script_name_says_what_the_character_looks_like(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", setting(("schemas", "system"), "\u0455ystem"))
    assert error_of(lambda: load_config(sandbox, "dev")).problem == (
        "identifier '\u0455ystem' mixes scripts: U+0455 (CYRILLIC SMALL LETTER DZE) is Cyrillic,"
        " the rest Latin; it looks like 's' (LATIN SMALL LETTER S)"
    )


def test_names_in_one_script_or_in_a_mix_uts39_allows_are_accepted(sandbox: Path) -> None:
    names = {
        "auth": "na\u00efve auth",  # precomposed, Latin
        "system": "\u0440\u043e\u0301\u043b\u044c",  # Cyrillic with a combining accent
        "audits": "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8",  # Han with Katakana
        "providers": "\u540d\u524d_v2",  # Han with digits and '_'
        "quarantine": "\u03ba\u03b1\u03c1\u03b1\u03bd\u03c4\u03af\u03bd\u03b1",  # Greek
    }
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("schemas", {}).update(names))
    assert load_config(sandbox, "dev").settings.schemas.model_dump().items() >= names.items()


# --- a tenant's names against the environment's -------------------------------------------


def test_a_tenant_whose_roles_are_the_environments_is_refused_naming_both_files(
    sandbox: Path,
) -> None:
    """The issue's tenant: its roles would be dev's, and dev's members would read its data."""
    tenant = add_tenant(
        sandbox, "initech", {"tenant": {"schema_prefix": "initech_", "role_prefix": ""}}
    )
    err = error_of(lambda: load_tenants(sandbox, "dev"))
    assert (err.file, err.key_path) == (str(tenant), ("roles", "readonly"))
    assert err.problem == (
        f"role 'app_readonly' is also used by {sandbox / 'config/base.yaml'} at roles.readonly"
        " (environment 'dev' itself, without a tenant); tenant.role_prefix is ''"
    )


def test_a_tenant_owner_that_is_a_role_of_the_environment_is_refused(sandbox: Path) -> None:
    tenant = add_tenant(sandbox, "initech", {"roles": {"owner": "app_admin"}})
    err = error_of(lambda: load_tenants(sandbox, "dev"))
    assert (err.file, err.key_path) == (str(tenant), ("roles", "owner"))
    assert f"{sandbox / 'config/base.yaml'} at roles.admin (environment 'dev'" in err.problem


def test_a_tenant_in_the_environments_database_may_not_take_its_schemas(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", setting(("schemas", "auth"), "identity"))
    tenant = add_tenant(sandbox, "initech", {"tenant": {"schema_prefix": ""}})
    err = error_of(lambda: load_tenants(sandbox, "dev"))
    assert (err.file, err.key_path) == (str(tenant), ("schemas", "auth"))
    assert err.problem == (
        f"schema 'identity' is also used by {sandbox / 'config/dev.yaml'} at schemas.auth"
        " (environment 'dev' itself, without a tenant); tenant.schema_prefix is ''"
    )
    add_tenant(sandbox, "initech", {"tenant": {"schema_prefix": "", "database": "initech"}})
    initech = next(c for c in load_tenants(sandbox, "dev") if c.tenant == "initech")
    assert initech.settings.schemas.auth == "identity"  # its own database: no clash


def test_a_tenant_sharing_the_environments_roles_applies_nothing(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    add_tenant(sandbox, "initech", {"tenant": {"schema_prefix": "initech_", "role_prefix": ""}})
    commands.apply(resolve(sandbox, "dev", url=db_url))  # the environment itself, as in the issue
    before = snapshot(conn)
    err = error_of(lambda: commands.apply(resolve(sandbox, "dev", "initech", url=db_url)))
    assert err.key_path == ("roles", "readonly")
    assert conn.execute("SELECT to_regnamespace('tmplmig_initech')").fetchone() == (None,)
    with psycopg.connect(deployer_dsn(database), autocommit=True) as deployer:
        deployer.execute("CREATE SCHEMA tmplmig_initech")  # as docs/tenants.md says for yoyo
    url = with_schema(db_url, "tmplmig_initech")
    yoyo = plain_yoyo_apply(sandbox, url, TMPLMIG_TENANT="initech")
    assert yoyo.returncode != 0 and "tenants/initech.yaml: roles.readonly:" in yoyo.stderr
    assert difference(before, snapshot(conn)) == {}


# --- an owner role that exists already ----------------------------------------------------


@pytest.mark.parametrize(
    ("create", "problem"),
    [
        (
            "CREATE ROLE {owner} NOLOGIN; CREATE ROLE {member} LOGIN IN ROLE {owner}",
            "it has members: {member}",
        ),
        ("CREATE ROLE {owner} LOGIN", "it holds LOGIN"),
        ("CREATE ROLE {owner} NOLOGIN CREATEDB", "it holds CREATEDB"),
    ],
    ids=["a group with a login in it", "a login", "a role that creates databases"],
)
def test_an_existing_owner_role_with_members_or_a_login_is_refused_before_any_statement(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], create: str, problem: str
) -> None:
    owner, member = "tmplmig_t_taken_owner", "tmplmig_t_owner_member"
    conn.execute(create.format(owner=owner, member=member))
    created = conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolname IN (%s, %s)", [owner, member]
    )
    for (role,) in created.fetchall():  # conftest drops them after the test
        conn.execute(
            sql.SQL("COMMENT ON ROLE {} IS 'tmplmig test login'").format(sql.Identifier(role))
        )
    edit(sandbox / "config/dev.yaml", setting(("roles", "owner"), owner))
    before = snapshot(conn)
    err = error_of(lambda: commands.apply(resolve(sandbox, "dev", url=db_url)))
    assert (err.file, err.key_path) == (str(sandbox / "config/dev.yaml"), ("roles", "owner"))
    assert f"the owner role '{owner}' already exists and {problem.format(member=member)}" in (
        err.problem
    )
    assert difference(before, snapshot(conn)) == {}
    assert tables_named_like(conn, "%yoyo%") == 0


@pytest.mark.parametrize(
    ("create", "problem"),
    [
        ("CREATE ROLE {group} LOGIN", "it holds LOGIN"),
        ("CREATE ROLE {group} NOLOGIN SUPERUSER", "it holds SUPERUSER"),
        ("CREATE ROLE {group} NOLOGIN CREATEROLE", "it holds CREATEROLE"),
    ],
    ids=["a login", "a superuser group", "a group that creates roles"],
)
def test_an_existing_group_role_that_can_log_in_or_lend_an_attribute_is_refused_first(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], create: str, problem: str
) -> None:
    """Its members are the application's logins: a SUPERUSER group makes each a superuser
    through SET ROLE. A group with members and no attribute is what the role is for."""
    group = "tmplmig_t_taken_readonly"
    conn.execute(create.format(group=group))
    conn.execute(
        sql.SQL("COMMENT ON ROLE {} IS 'tmplmig test login'").format(sql.Identifier(group))
    )
    edit(sandbox / "config/dev.yaml", setting(("roles", "readonly"), group))
    before = snapshot(conn)
    err = error_of(lambda: commands.apply(resolve(sandbox, "dev", url=db_url)))
    assert (err.file, err.key_path) == (str(sandbox / "config/dev.yaml"), ("roles", "readonly"))
    assert f"the group role '{group}' already exists and {problem}" in err.problem
    assert difference(before, snapshot(conn)) == {}
    assert tables_named_like(conn, "%yoyo%") == 0


def test_an_existing_group_role_with_login_members_is_taken_as_it_is(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    group, member = "tmplmig_t_kept_readonly", "tmplmig_t_kept_member"
    conn.execute(f"CREATE ROLE {group} NOLOGIN; CREATE ROLE {member} LOGIN IN ROLE {group}")
    for role in (group, member):  # conftest drops them after the test
        conn.execute(f"COMMENT ON ROLE {role} IS 'tmplmig test login'")
    edit(sandbox / "config/dev.yaml", setting(("roles", "readonly"), group))
    assert len(commands.apply(resolve(sandbox, "dev", url=db_url))) == 6


def test_an_owner_role_the_deploying_login_alone_is_in_is_applied_again(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The deploying login is a member of the owner it created: that is no reason to stop."""
    assert len(commands.apply(resolve(sandbox, "dev", url=db_url))) == 6
    member = "SELECT pg_has_role(%s, 'app_owner', 'MEMBER')"
    assert conn.execute(member, [DEPLOYER]).fetchone() == (True,)
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == []
