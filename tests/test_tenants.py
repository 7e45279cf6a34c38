"""Tenants: placement from YAML, independent tracking, isolation and fan-out on real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from support.servers import ALL_PARTS, DEPLOYER, deployer_dsn, dsn_for, run_tmplmig, url_for
from support.tenants import add_tenant

from tmplmig import cli
from tmplmig.database.catalog import Snapshot, difference, snapshot
from tmplmig.database.urls import libpq_url, tenant_placement_url, with_schema
from tmplmig.migrating import commands, fanout, record, tenants
from tmplmig.migrating.target import resolve
from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import ConfigError, load_config, settings_of


def schemas_of(project: Path, tenant: str) -> set[str]:
    return set(load_config(project, "dev", tenant).settings.schemas.model_dump().values())


def roles_of(project: Path, tenant: str) -> set[str]:
    return set(load_config(project, "dev", tenant).settings.roles.model_dump().values())


def only(snap: Snapshot, schemas: set[str], roles: set[str]) -> Snapshot:
    """The rows of a snapshot that belong to the given schemas and roles."""
    qualified = tuple(f"{s}." for s in schemas)

    def belongs(row: tuple[Any, ...]) -> bool:
        return any(
            isinstance(v, str) and (v in schemas or v in roles or v.startswith(qualified))
            for v in row
        )

    return {kind: frozenset(r for r in rows if belongs(r)) for kind, rows in snap.items()}


# --- placement and validation -------------------------------------------------------------


def test_tenant_prefix_renames_every_schema_and_role(project: Path) -> None:
    acme = load_config(project, "dev", "acme").settings
    assert acme.schemas.auth == "acme_auth"
    assert acme.schemas.experiments == "acme_experiments_v1"
    assert acme.roles.readonly == "acme_app_readonly"
    assert acme.retention.audit_log == 400  # a tenant overrides any other key too
    assert acme.retention.provider_health == 7  # and keeps its environment's values


def test_explicit_tenant_names_win_over_the_prefix(project: Path) -> None:
    globex = load_config(project, "dev", "globex").settings
    assert globex.schemas.auth == "globex_identity"
    assert globex.schemas.system == "gx_system"
    assert globex.roles.admin == "globex_app_admin"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_example_tenants_are_valid_in_every_environment(project: Path, env: str) -> None:
    assert [c.tenant for c in load_tenants(project, env)] == ["acme", "globex"]


def test_tenant_without_placement_gets_its_name_as_prefix(sandbox: Path) -> None:
    add_tenant(sandbox, "initech", {})
    settings = load_config(sandbox, "dev", "initech").settings
    assert (settings.schemas.auth, settings.roles.readwrite) == (
        "initech_auth",
        "initech_app_readwrite",
    )


def test_two_tenants_with_one_schema_are_rejected_naming_both_files(sandbox: Path) -> None:
    add_tenant(sandbox, "initech", {"schemas": {"quarantine": "acme_auth"}})
    with pytest.raises(ConfigError) as caught:
        load_tenants(sandbox, "dev")
    err = caught.value
    assert err.file.endswith("config/tenants/initech.yaml")
    assert err.key_path == ("schemas", "quarantine")
    assert "schema 'acme_auth' is also used by" in err.problem
    assert "config/tenants/acme.yaml at schemas.auth" in err.problem


def test_two_tenants_with_one_role_are_rejected_even_in_different_databases(
    sandbox: Path,
) -> None:
    add_tenant(sandbox, "zeta", {"tenant": {"role_prefix": "acme_", "database": "zeta"}})
    with pytest.raises(ConfigError) as caught:
        load_tenants(sandbox, "dev")
    assert caught.value.file.endswith("zeta.yaml")
    assert caught.value.key_path == ("roles", "readonly")
    assert "role 'acme_app_readonly' is also used by" in caught.value.problem


def test_tenants_in_different_databases_may_reuse_schema_names(sandbox: Path) -> None:
    add_tenant(sandbox, "north", {"tenant": {"schema_prefix": "", "database": "north"}})
    add_tenant(sandbox, "south", {"tenant": {"schema_prefix": "", "database": "south"}})
    names = {c.tenant: c.settings.schemas.auth for c in load_tenants(sandbox, "dev")}
    assert names["north"] == names["south"] == "auth"


def test_misspelt_tenant_key_is_located(sandbox: Path) -> None:
    add_tenant(sandbox, "initech", {"tenant": {"databse": "initech"}})
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "dev", "initech")
    assert caught.value.key_path == ("tenant", "databse")
    assert "unknown key" in caught.value.problem


def test_a_bad_tenant_file_is_located_after_its_peers_of_one_shape_were_loaded(
    sandbox: Path,
) -> None:
    """Tenants of one shape share one validation of their settings: a peer loaded first must
    not let a bad name or value through, nor change where the error points."""
    for name in ("acme", "globex"):
        add_tenant(sandbox, name, {})
    bad_name = add_tenant(sandbox, "initech", {"schemas": {"auth": "initech\u200bauth"}})
    bad_value = add_tenant(sandbox, "umbrella", {"retention": {"audit_log": -1}})
    clash = add_tenant(sandbox, "hooli", {"schemas": {"auth": "hooli_system"}})
    for name in ("acme", "globex"):
        settings = load_config(sandbox, "dev", name).settings
        assert settings == settings_of(settings.model_dump())
        assert (
            settings.schemas.auth == f"{name}_auth" and settings.roles.owner == f"{name}_app_owner"
        )
    for name, file, key_path in (
        ("initech", bad_name, ("schemas", "auth")),
        ("umbrella", bad_value, ("retention", "audit_log")),
        ("hooli", clash, ("schemas",)),
    ):
        with pytest.raises(ConfigError) as caught:
            load_config(sandbox, "dev", name)
        assert (caught.value.file, caught.value.key_path) == (str(file), key_path), name


def test_database_name_must_be_usable_in_a_url_as_it_is(sandbox: Path) -> None:
    add_tenant(sandbox, "initech", {"tenant": {"database": "initech/../other db"}})
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "dev", "initech")
    assert caught.value.key_path == ("tenant", "database")


def test_database_url_must_come_from_an_environment_variable_name(sandbox: Path) -> None:
    url = "postgresql://app:secret@db/initech"
    add_tenant(sandbox, "initech", {"tenant": {"database_url_env": url}})
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, "dev", "initech")
    assert caught.value.key_path == ("tenant", "database_url_env")


def test_conflicting_tenants_change_nothing_in_the_database(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    add_tenant(sandbox, "initech", {"tenant": {"role_prefix": "globex_"}})
    with pytest.raises(ConfigError):
        fanout.run_all(sandbox, "dev", fanout.APPLY, url=db_url)
    with pytest.raises(ConfigError):
        commands.apply(resolve(sandbox, "dev", "acme", url=db_url))
    assert snapshot(conn) == before


def test_a_tenants_check_with_its_peers_runs_once_per_version_of_the_tenant_files(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passed check is remembered with the folder's listing and each file's version: a
    tenant's own file edited, or a file added, runs it again; a peer edited in place is
    refused at its own tenant's command, not at an untouched tenant's."""
    checks: list[str] = []
    check = tenants.load_tenants

    def counted(project: Path, env: str) -> list[Any]:
        checks.append(env)
        return check(project, env)

    monkeypatch.setattr(tenants, "load_tenants", counted)
    initech = sandbox / "config" / "tenants" / "initech.yaml"
    unseen = f"# {uuid.uuid4()}: files no earlier run checked\n"
    initech.write_text(unseen + "retention:\n  audit_log: 41\n")
    url = "postgresql+psycopg://deployer@localhost/app"  # resolved, never connected to
    assert resolve(sandbox, "dev", "acme", url).config == load_config(sandbox, "dev", "acme")
    assert resolve(sandbox, "dev", "globex", url).tenant == "globex"
    assert checks == ["dev"]  # the files did not change: the passed check holds
    add_tenant(sandbox, "initech", {"tenant": {"role_prefix": "globex_"}})  # in place
    with pytest.raises(ConfigError, match="role 'globex_app_readonly' is also used by"):
        resolve(sandbox, "dev", "initech", url)
    with pytest.raises(ConfigError):  # a failed check is not remembered
        resolve(sandbox, "dev", "initech", url)
    assert checks == ["dev", "dev", "dev"]
    assert resolve(sandbox, "dev", "acme", url).tenant == "acme"  # its file and folder as checked
    assert checks == ["dev", "dev", "dev"]
    add_tenant(sandbox, "hooli", "")  # the folder's listing changed: every tenant checks again
    with pytest.raises(ConfigError, match="role 'globex_app_readonly' is also used by"):
        resolve(sandbox, "dev", "acme", url)
    assert checks == ["dev", "dev", "dev", "dev"]


def test_a_command_for_one_tenant_after_a_passed_check_lists_no_other_tenant_file(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes it cost the same with one tenant file or 10,000: its own file and the
    folder are stated, the other files are not."""
    add_tenant(sandbox, "initech", f"# {uuid.uuid4()}\n")
    url = "postgresql+psycopg://deployer@localhost/app"  # resolved, never connected to
    resolve(sandbox, "dev", "acme", url)  # checked with every peer, remembered
    stated: list[str] = []
    real_stat = Path.stat

    def stat(path: Path, **kwargs: Any) -> Any:
        stated.append(path.name)
        return real_stat(path, **kwargs)

    def scandir(path: Any) -> Any:
        stated.append(f"listed {Path(path).name}")
        return real_scandir(path)

    real_scandir = os.scandir
    monkeypatch.setattr(Path, "stat", stat)
    monkeypatch.setattr(os, "scandir", scandir)
    assert resolve(sandbox, "dev", "globex", url).tenant == "globex"
    assert not {"acme.yaml", "initech.yaml", "listed tenants"} & set(stated)
    assert {"globex.yaml", "tenants"} <= set(stated)


def test_a_tenant_file_rewritten_with_its_size_and_times_kept_is_checked_again(
    sandbox: Path,
) -> None:
    """The remembered check holds each tenant file's version as its metadata says it: a
    rewrite of the same size whose modification time is set back still moves the change
    time the kernel keeps, so the clash it brings is found."""
    initech = sandbox / "config" / "tenants" / "initech.yaml"
    initech.write_text(f"# {uuid.uuid4()}\nretention:\n  audit_log: 41\n")
    url = "postgresql+psycopg://deployer@localhost/app"  # resolved, never connected to
    assert resolve(sandbox, "dev", "initech", url).tenant == "initech"  # checked, remembered
    before = initech.stat()
    clash = "tenant:\n  role_prefix: globex_\n"
    initech.write_text(clash + "#" * (before.st_size - len(clash) - 1) + "\n")
    os.utime(initech, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = initech.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(ConfigError, match="role 'globex_app_readonly' is also used by"):
        resolve(sandbox, "dev", "initech", url)


# --- tracking and isolation on a real server ------------------------------------------------


def test_applying_one_tenant_leaves_the_other_pending(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert commands.apply(resolve(project, "dev", "acme", url=db_url)) == ALL_PARTS
    assert all(s.applied for s in commands.status(resolve(project, "dev", "acme", url=db_url)))
    assert not any(
        s.applied for s in commands.status(resolve(project, "dev", "globex", url=db_url))
    )
    tracked = conn.execute("SELECT count(*) FROM tmplmig_acme._yoyo_migration").fetchone()
    assert tracked == (len(ALL_PARTS),)
    yoyo_schemas = conn.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = '_yoyo_migration'"
    ).fetchall()
    assert yoyo_schemas == [("tmplmig_acme",)]  # status of globex created nothing


def test_tracking_search_path_changes_neither_where_objects_go_nor_what_they_call(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    stray = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'tmplmig_acme'::regnamespace"
        " AND relkind = 'r' AND relname <> ALL(%s)",
        (["_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock", *record.TABLES],),
    ).fetchall()
    assert stray == []
    conn.execute("SET search_path TO tmplmig_acme")
    conn.execute("INSERT INTO acme_auth.users (email, password_hash) VALUES ('a@x', 'h')")
    audit = conn.execute("SELECT new_row ->> 'password_hash' FROM acme_audits.audit_log")
    assert audit.fetchall() == [("***",)]


def test_rolling_back_one_tenant_leaves_the_other_exactly_as_it_was(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", "globex", url=db_url))
    globex_only = snapshot(conn)
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    globex = (schemas_of(project, "globex"), roles_of(project, "globex"))
    globex_before = only(snapshot(conn), *globex)
    assert globex_before["tables"] and globex_before["roles"]

    assert commands.rollback(resolve(project, "dev", "acme", url=db_url)) == list(
        reversed(ALL_PARTS)
    )

    after = snapshot(conn)
    assert difference(globex_before, only(after, *globex)) == {}
    # acme's schemas and roles are gone; pgcrypto stays (database-wide, globex uses it)
    assert difference(globex_only, after) == {}
    assert all(s.applied for s in commands.status(resolve(project, "dev", "globex", url=db_url)))


def test_tenants_share_one_column_guard_function_dropped_with_its_last_trigger(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    def guard_functions_and_triggers() -> tuple[int, int]:
        return conn.execute(
            "SELECT count(DISTINCT p.oid), count(t.oid) FROM pg_proc p"
            " LEFT JOIN pg_trigger t ON t.tgfoid = p.oid"
            " WHERE p.proname = 'keep_column'"
        ).fetchone()

    commands.apply(resolve(project, "dev", "globex", url=db_url))
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    assert guard_functions_and_triggers() == (1, 28)
    commands.rollback(resolve(project, "dev", "acme", url=db_url))
    assert guard_functions_and_triggers() == (1, 14)
    commands.rollback(resolve(project, "dev", "globex", url=db_url))
    assert guard_functions_and_triggers() == (0, 0)


def test_a_tenants_roles_cannot_read_another_tenants_schemas(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    for tenant in ("acme", "globex"):
        commands.apply(resolve(project, "dev", tenant, url=db_url))
    conn.execute("INSERT INTO globex_identity.users (email) VALUES ('g@x')")
    conn.execute("INSERT INTO acme_auth.users (email) VALUES ('a@x')")
    login = f"acme_login_{uuid.uuid4().hex[:8]}"
    conn.execute(
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE acme_app_readwrite").format(sql.Identifier(login))
    )
    conn.execute(
        sql.SQL("COMMENT ON ROLE {} IS 'tmplmig test login'").format(sql.Identifier(login))
    )

    with psycopg.connect(dsn_for(database, conn.info.dbname, user=login), autocommit=True) as me:
        assert me.execute("SELECT email FROM acme_auth.users").fetchall() == [("a@x",)]
        me.execute("INSERT INTO acme_production.projects (name) VALUES ('mine')")
        for statement in (
            "SELECT email FROM globex_identity.users",
            "SELECT * FROM gx_system.retention_policies",
            "INSERT INTO gx_production.projects (name) VALUES ('theirs')",
            "SELECT gx_system.encrypt_data('x', gen_random_uuid())",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                me.execute(statement)


def test_plain_yoyo_applies_one_tenant_with_its_tracking_schema(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """What docs/tenants.md documents for `yoyo apply`: create the schema, pass it as ?schema=."""
    with psycopg.connect(deployer_dsn(database), autocommit=True) as deployer:
        deployer.execute("CREATE SCHEMA IF NOT EXISTS tmplmig_globex")
    env = {
        **os.environ,
        "TMPLMIG_ENV": "dev",
        "TMPLMIG_TENANT": "globex",
        "TMPLMIG_DATABASE_URL": with_schema(db_url, "tmplmig_globex"),
    }
    subprocess.run(["yoyo", "apply"], cwd=project, env=env, check=True, capture_output=True)
    assert all(s.applied for s in commands.status(resolve(project, "dev", "globex", url=db_url)))
    assert not any(s.applied for s in commands.status(resolve(project, "dev", "acme", url=db_url)))
    assert conn.execute("SELECT to_regclass('globex_identity.users')").fetchone() != (None,)


# --- fan-out ---------------------------------------------------------------------------------


def test_a_failing_tenant_is_reported_and_a_rerun_finishes_only_it(
    sandbox: Path,
    server_dsn: str,
    db_url: str,
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = f"tmplmig_t_{uuid.uuid4().hex[:12]}"
    add_tenant(sandbox, "lost", {"tenant": {"database": missing}})
    argv = ["--project", str(sandbox), "apply", "--env", "dev", "--all-tenants", "--jobs", "2"]
    try:
        assert cli.main([*argv, "--database", db_url]) == 1
        out, err = capsys.readouterr()
        assert "3/3" in err  # the progress bar reached every tenant
        rows = {line.split()[0]: line.split(maxsplit=3)[2:] for line in out.splitlines()[1:4]}
        assert rows["acme"][0] == rows["globex"][0] == "applied"
        assert rows["lost"][0] == "failed" and f'"{missing}" does not exist' in rows["lost"][1]
        assert "3 tenants: 2 applied, 1 failed" in out
        assert all(
            s.applied for s in commands.status(resolve(sandbox, "dev", "globex", url=db_url))
        )

        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(missing)))
            admin.execute(
                sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(missing), sql.Identifier(DEPLOYER)
                )
            )
        outcomes = fanout.run_all(sandbox, "dev", fanout.APPLY, jobs=2, url=db_url)
        assert [(o.tenant, o.state) for o in outcomes] == [
            ("acme", "up to date"),
            ("globex", "up to date"),
            ("lost", "applied"),
        ]
        status_argv = ["--project", str(sandbox), "status", "--env", "dev", "--all-tenants"]
        assert cli.main([*status_argv, "--database", db_url]) == 0
        assert "3 tenants: 3 up to date" in capsys.readouterr().out
        lost_url = url_for(deployer_dsn(dsn_for(server_dsn, missing)))
        assert all(
            s.applied for s in commands.status(resolve(sandbox, "dev", "lost", url=lost_url))
        )
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(missing)))


def test_fan_out_rollback_undoes_every_tenant(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    fanout.run_all(project, "dev", fanout.APPLY, url=db_url)
    outcomes = fanout.run_all(project, "dev", fanout.ROLLBACK, url=db_url)
    assert {o.state for o in outcomes} == {"rolled back"}
    # pgcrypto stays installed, but its functions are extension members, not ours
    assert difference(before, snapshot(conn)) == {}


def test_database_url_env_names_the_variable_that_holds_the_url(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tenant(sandbox, "initech", {"tenant": {"database_url_env": "INITECH_DATABASE_URL"}})
    config = load_config(sandbox, "dev", "initech")
    monkeypatch.delenv("INITECH_DATABASE_URL", raising=False)
    with pytest.raises(commands.CommandError, match="set INITECH_DATABASE_URL"):
        commands.apply(resolve(sandbox, "dev", "initech", url="postgresql://unused/x"))
    monkeypatch.setenv("INITECH_DATABASE_URL", "postgresql://db.example/initech")
    assert (
        tenant_placement_url(config, "postgresql://default/app")
        == "postgresql://db.example/initech"
    )


def test_database_name_replaces_only_the_database_of_the_default_url(sandbox: Path) -> None:
    add_tenant(sandbox, "initech", {"tenant": {"database": "initech"}})
    config = load_config(sandbox, "dev", "initech")
    default = "postgresql+psycopg://u@h:5433/app?options=-c%20lock_timeout%3D5s"
    assert tenant_placement_url(config, default) == (
        "postgresql+psycopg://u@h:5433/initech?options=-c%20lock_timeout%3D5s"
    )


def test_a_tenant_failing_mid_migration_keeps_its_earlier_parts_and_resumes(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A conflicting object: initech's experiments table exists without a status column."""
    add_tenant(sandbox, "initech", {})
    conn.execute("CREATE ROLE initech_app_owner NOLOGIN")  # the tenant's owner, made by hand
    conn.execute("COMMENT ON ROLE initech_app_owner IS 'tmplmig test login'")
    conn.execute("CREATE SCHEMA initech_experiments_v1 AUTHORIZATION initech_app_owner")
    conn.execute("SET ROLE initech_app_owner")
    conn.execute(
        "CREATE TABLE initech_experiments_v1.experiments (id uuid PRIMARY KEY,"
        " user_id uuid NOT NULL, name text NOT NULL, created_at timestamptz)"
    )
    conn.execute("RESET ROLE")
    first = {o.tenant: o for o in fanout.run_all(sandbox, "dev", fanout.APPLY, url=db_url)}
    assert (first["acme"].state, first["globex"].state) == ("applied", "applied")
    assert first["initech"].failed and 'column "status" does not exist' in first["initech"].detail
    applied = [
        s.id for s in commands.status(resolve(sandbox, "dev", "initech", url=db_url)) if s.applied
    ]
    assert applied == ["001_baseline"]  # 002a failed as a whole, nothing of it is left
    index = conn.execute("SELECT to_regclass('initech_audits.idx_audit_entity')").fetchone()
    assert index == (None,)

    conn.execute("ALTER TABLE initech_experiments_v1.experiments ADD COLUMN status text")
    again = {o.tenant: o for o in fanout.run_all(sandbox, "dev", fanout.APPLY, url=db_url)}
    assert (again["acme"].state, again["globex"].state) == ("up to date", "up to date")
    assert again["initech"].state == "applied"
    assert again["initech"].detail == ", ".join(ALL_PARTS[1:])


def test_verify_and_mark_of_a_tenant_look_at_its_own_database_and_leave_it_applied(
    sandbox: Path, db_url: str, second_database: str
) -> None:
    """verify applies to a scratch database, never to the tenant's database it reads."""
    far_db = psycopg.conninfo.conninfo_to_dict(second_database)["dbname"]
    add_tenant(sandbox, "far", {"tenant": {"database": far_db}})
    assert commands.apply(resolve(sandbox, "dev", "far", url=db_url)) == ALL_PARTS
    assert commands.verify(resolve(sandbox, "dev", "far", url=db_url)) == []
    assert all(s.applied for s in commands.status(resolve(sandbox, "dev", "far", url=db_url)))

    with psycopg.connect(second_database, autocommit=True) as far:
        far.execute("DROP INDEX far_audits.idx_audit_entity")
    problems = [str(p) for p in commands.verify(resolve(sandbox, "dev", "far", url=db_url))]
    assert problems == ["index far_audits.idx_audit_entity: missing"]
    with pytest.raises(commands.CommandError, match="idx_audit_entity: missing"):
        commands.mark(resolve(sandbox, "dev", "far", url=db_url))
    assert all(s.applied for s in commands.status(resolve(sandbox, "dev", "far", url=db_url)))


def test_tracking_schema_keeps_connection_options_intact() -> None:
    """libpq does not read '+' as a space: options must stay percent-encoded."""
    url = "postgresql+psycopg://u@h:5/d?options=-c%20lock_timeout%3D5s"
    tracked = with_schema(url, "tmplmig_acme")
    assert tracked.endswith("?options=-c%20lock_timeout%3D5s&schema=tmplmig_acme")
    libpq = psycopg.conninfo.conninfo_to_dict(libpq_url(tracked))
    assert libpq["options"] == "-c lock_timeout=5s" and "schema" not in libpq


def test_fan_out_progress_in_a_log_is_one_line_per_tenant_without_carriage_returns(
    project: Path, db_url: str
) -> None:
    status = run_tmplmig(project, db_url, "status", "--env", "dev", "--all-tenants")
    out, err = status.communicate(timeout=120)
    assert status.returncode == 0, err
    assert "\r" not in err and "\r" not in out
    assert "status dev 2/2 " in err
    quiet = run_tmplmig(project, db_url, "status", "--env", "dev", "--all-tenants", "--no-progress")
    out, err = quiet.communicate(timeout=120)
    assert quiet.returncode == 0 and err == ""
