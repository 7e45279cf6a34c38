"""YAML edited after apply: the record, status that sees edits, rollback of what was applied,
plan and evolve. Real PostgreSQL, with data in the objects that change."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.bundles import applying, run_with_psql
from support.servers import ALL_PARTS, DEPLOYER, dsn_for, poll
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.database.urls import with_schema
from tmplmig.migrating import commands, fanout, record
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.evolve import without_relations
from tmplmig.reviewing.bundle import manifest_files

#: the record's table of applied steps, as the SQL below names it
STEPS = record.STEPS_TABLE


def issue_edit(sandbox: Path) -> None:
    """The edit of issue 9: rename a schema and a role, lengthen a retention."""
    edit(sandbox / "config/base.yaml", lambda d: d["schemas"].update(quarantine="quarantine_v2"))
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readonly="app_ro"))
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))


def yoyo(
    project: Path, url: str, *args: str, check: bool = True, tenant: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Plain ``yoyo`` as a user runs it, in the project folder, with TMPLMIG_ENV=dev (and
    TMPLMIG_TENANT, with the tenant's tracking schema in the URL, for ``tenant``)."""
    env = {**os.environ, "TMPLMIG_ENV": "dev"}
    if tenant is not None:
        env["TMPLMIG_TENANT"] = tenant
        url = with_schema(url, f"tmplmig_{tenant}")
    command = ["yoyo", *args, "--batch", "--database", url, "migrations"]
    return subprocess.run(
        command, cwd=project, env=env, check=check, capture_output=True, text=True
    )


def test_every_applied_step_is_recorded_with_its_rollback_and_config(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    rec = record.read(conn)
    assert rec.problems == ()
    assert list(rec.parts) == ALL_PARTS
    rendered = {p.id: p for p in commands.render(for_rendering(project, "dev"))}
    for part_id, part in rec.parts.items():
        assert [s.step for s in part.steps] == [s.identity for s in rendered[part_id].steps]
        for recorded, step in zip(part.steps, rendered[part_id].steps, strict=True):
            assert recorded.apply_sha256 == record.sha256(step.apply)
            assert recorded.rollback_sql == step.rollback
    assert rec.parts["002c_system_tables"].settings["retention"]["audit_log"] == 30


def test_rollback_after_an_edit_runs_what_was_applied(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    issue_edit(sandbox)
    assert commands.rollback(resolve(sandbox, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(before, snapshot(conn)) == {}
    assert record.read(conn).parts == {}


def test_plain_yoyo_rollback_after_an_edit_restores_the_catalog(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    yoyo(sandbox, db_url, "apply")
    issue_edit(sandbox)
    yoyo(sandbox, db_url, "rollback", "--all")
    assert difference(before, snapshot(conn)) == {}


def changed_lines(stderr: str) -> dict[str, str]:
    """The lines plain ``yoyo apply`` printed for changed parts, by part id."""
    found = re.findall(r"^tmplmig: (\S+): applied, changed since.*$", stderr, re.MULTILINE)
    lines = [line for line in stderr.splitlines() if ": applied, changed since" in line]
    return dict(zip(found, lines, strict=True))


def test_plain_yoyo_apply_names_each_part_changed_since_and_exits_non_zero(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert yoyo(sandbox, db_url, "apply").returncode == 0
    again = yoyo(sandbox, db_url, "apply")
    assert (again.returncode, changed_lines(again.stderr)) == (0, {})
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    changed = [
        s.id for s in commands.status(resolve(sandbox, "dev", url=db_url)) if s.state == "changed"
    ]
    assert changed and len(changed) < len(ALL_PARTS)
    applied = snapshot(conn)

    refused = yoyo(sandbox, db_url, "apply", check=False)
    assert refused.returncode != 0
    lines = changed_lines(refused.stderr)
    assert list(lines) == changed, refused.stderr
    for line in lines.values():
        assert "`tmplmig plan --env dev`" in line and "`tmplmig apply --env dev`" in line
    assert "Traceback" not in refused.stderr
    assert difference(applied, snapshot(conn)) == {}
    listed = yoyo(sandbox, db_url, "list")
    rows = re.findall(r"^([AU])\s+(\S+)\s", listed.stdout, re.MULTILINE)
    statuses = {part: status for status, part in rows}
    assert statuses == dict.fromkeys(ALL_PARTS, "A") | {"000_tmplmig_check": "U"}

    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == [
        f"{p} (evolved)" for p in changed
    ]
    assert yoyo(sandbox, db_url, "apply").returncode == 0
    check = "SELECT count(*) FROM _yoyo_migration WHERE migration_id = '000_tmplmig_check'"
    assert conn.execute(check).fetchone() == (0,)  # never marked: it runs on every yoyo apply


def test_plain_yoyo_apply_with_a_part_pending_and_one_changed_applies_nothing(
    sandbox: Path, db_url: str
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    commands.rollback(resolve(sandbox, "dev", url=db_url), part="002e_functions")
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    refused = yoyo(sandbox, db_url, "apply", check=False)
    assert refused.returncode != 0 and "002c_system_tables" in changed_lines(refused.stderr)
    states = {s.id: s.state for s in commands.status(resolve(sandbox, "dev", url=db_url))}
    assert states["002e_functions"] == "pending"


def test_plain_yoyo_apply_for_a_tenant_names_the_tenant_in_the_commands(
    sandbox: Path, db_url: str
) -> None:
    commands.apply(resolve(sandbox, "dev", "acme", url=db_url))
    assert yoyo(sandbox, db_url, "apply", tenant="acme").returncode == 0
    edit(sandbox / "config/tenants/acme.yaml", lambda d: d["retention"].update(audit_log=401))
    refused = yoyo(sandbox, db_url, "apply", check=False, tenant="acme")
    assert refused.returncode != 0
    lines = changed_lines(refused.stderr)
    assert lines and all("`tmplmig apply --env dev --tenant acme`" in v for v in lines.values())


def test_status_names_changed_steps_and_config_key_paths(
    sandbox: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    base = ["--project", str(sandbox), "status", "--env", "dev", "--database", db_url]
    assert cli.main([*base, "--check"]) == 0
    issue_edit(sandbox)
    capsys.readouterr()
    assert cli.main(base) == 0
    assert cli.main([*base, "--check"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^001_baseline +applied, changed since$", out, re.MULTILINE)
    assert "step schema {schemas.quarantine} (schema quarantine_v2): changed" in out
    assert "config schemas.quarantine: quarantine -> quarantine_v2" in out
    assert "config retention.audit_log: 30 -> 45" in out
    states = {s.id: s.state for s in commands.status(resolve(sandbox, "dev", url=db_url))}
    assert states == dict.fromkeys(ALL_PARTS, "changed")


LOGIN = "day2_reader"


def test_issue_scenario_keeps_rows_members_and_rolls_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], database: str
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    conn.execute(
        "INSERT INTO quarantine.quarantined_records (source_table, record, reason)"
        " SELECT 'evaluations', jsonb_build_object('id', g), 'bad score'"
        " FROM generate_series(1, 5000) g"
    )
    conn.execute(f"CREATE ROLE {LOGIN} LOGIN PASSWORD 'pw' IN ROLE app_readonly")
    conn.execute(f"COMMENT ON ROLE {LOGIN} IS 'tmplmig test login'")
    issue_edit(sandbox)

    applied = commands.apply(resolve(sandbox, "dev", url=db_url))
    assert "001_baseline (evolved)" in applied and "002d_roles_grants (evolved)" in applied
    count = conn.execute("SELECT count(*) FROM quarantine_v2.quarantined_records").fetchone()
    assert count == (5000,)
    member = conn.execute(
        "SELECT pg_has_role(%s, 'app_ro', 'MEMBER'), to_regrole('app_readonly')", (LOGIN,)
    ).fetchone()
    assert member == (True, None)
    with psycopg.connect(dsn_for(database, conn.info.dbname, user=LOGIN)) as user:
        read = user.execute("SELECT count(*) FROM quarantine_v2.quarantined_records").fetchone()
        assert read == (5000,)
    days = conn.execute(
        "SELECT retain_days FROM system.retention_policies WHERE data_class = 'audit_log'"
    ).fetchone()
    assert days == (45,)
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert all(s.state == "applied" for s in commands.status(resolve(sandbox, "dev", url=db_url)))
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == []

    conn.execute(f"DROP ROLE {LOGIN}")
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def plan_cli(sandbox: Path, db_url: str, *more: str) -> int:
    return cli.main(
        ["--project", str(sandbox), "plan", "--env", "dev", "--database", db_url, *more]
    )


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_change_with_no_safe_rule_is_refused_and_nothing_runs(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    replace_in(
        sandbox / "templates/001_baseline.sql.j2", "display_name text,", "display_name varchar(80),"
    )
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    applied = snapshot(conn)
    capsys.readouterr()
    assert plan_cli(sandbox, db_url) == 1
    err = capsys.readouterr().err
    assert "001_baseline: step 'table auth users'" in err and "write a new migration" in err
    argv = ["--project", str(sandbox), "apply", "--env", "dev", "--database", db_url]
    assert cli.main(argv) == 1
    assert difference(applied, snapshot(conn)) == {}
    days = "SELECT retain_days FROM system.retention_policies WHERE data_class = 'audit_log'"
    assert conn.execute(days).fetchone() == (30,)


@pytest.mark.parametrize(
    ("column", "edit_sql"),
    [
        ("rollback_sql", "'DROP SCHEMA auth CASCADE'"),
        ("rollback_guard", "'SELECT true'"),
        ("apply_guard", "NULL"),
    ],
    ids=["rollback SQL", "rollback guard", "apply guard"],
)
def test_a_record_edited_by_hand_is_refused(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
    column: str,
    edit_sql: str,
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    edited = conn.execute(
        f"UPDATE {STEPS} SET {column} = {edit_sql} WHERE (part, step) ="
        f" (SELECT part, step FROM {STEPS} WHERE {column} IS NOT NULL"
        "  ORDER BY part, position LIMIT 1) RETURNING part, step"
    ).fetchone()
    assert edited is not None
    issue_edit(sandbox)
    applied = snapshot(conn)
    capsys.readouterr()
    assert plan_cli(sandbox, db_url) == 2
    err = capsys.readouterr().err
    assert f"{edited[0]}: {edited[1]}: row checksum mismatch" in err
    argv = ["--project", str(sandbox), "apply", "--env", "dev", "--database", db_url]
    assert cli.main(argv) == 2
    assert difference(applied, snapshot(conn)) == {}


def test_a_database_changed_outside_tmplmig_is_refused(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    conn.execute("DROP INDEX audits.idx_audit_entity")
    conn.execute("REVOKE SELECT ON audits.audit_log FROM app_readonly")
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    changed = snapshot(conn)
    capsys.readouterr()
    assert plan_cli(sandbox, db_url) == 2
    err = capsys.readouterr().err
    assert "changed outside tmplmig" in err
    assert "index audits.idx_audit_entity: missing" in err
    assert "table audits.audit_log: different" in err
    assert difference(changed, snapshot(conn)) == {}


def test_readwrite_can_delete_grants_and_revokes_only_delete_keeping_default_privileges(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    default_privileges = (
        "SELECT defaclnamespace, defaclobjtype::text, defaclacl::text FROM pg_default_acl"
    )
    defaults = set(conn.execute(default_privileges).fetchall())
    edit(sandbox / "config/base.yaml", lambda d: d["privileges"].update(readwrite_can_delete=True))
    capsys.readouterr()
    assert plan_cli(sandbox, db_url) == 0
    statements = [
        line for line in capsys.readouterr().out.splitlines() if line and not line.startswith("--")
    ]
    session = ("BEGIN;", "COMMIT;", "RESET ROLE;")
    changes = [s for s in statements if s not in session and not s.startswith("SET ")]
    assert len(changes) == 10 and all(
        "GRANT DELETE ON" in s and "app_readwrite" in s for s in changes
    )
    commands.apply(resolve(sandbox, "dev", url=db_url))
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    edit(sandbox / "config/base.yaml", lambda d: d["privileges"].update(readwrite_can_delete=False))
    plan = "".join(applying(commands.plan(resolve(sandbox, "dev", url=db_url))).values())
    assert 'REVOKE DELETE ON TABLES FROM "app_readwrite"' in plan and "GRANT" not in plan
    commands.apply(resolve(sandbox, "dev", url=db_url))
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert set(conn.execute(default_privileges).fetchall()) == defaults


def test_a_table_added_to_a_template_gets_the_grants_and_hidden_columns_of_its_schema(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """002d names its tables: a new one changes its grant steps, and the plan resets and
    grants on the new table only, and hides its sensitive column."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    template = sandbox / "templates/001_baseline.sql.j2"
    template.write_text(
        template.read_text() + '{% call m.table(schema=s.production, name="notes") %}\n'
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    body text,\n"
        "    password_hash text\n"
        "{% endcall %}\n"
    )
    plan = "".join(applying(commands.plan(resolve(sandbox, "dev", url=db_url))).values())
    assert 'REVOKE ALL ON TABLE "production"."notes" FROM "app_readonly";' in plan
    assert 'GRANT SELECT ON TABLE "production"."notes" TO "app_readonly";' in plan
    assert '"production"."analysis_sessions" TO' not in plan  # granted already
    commands.apply(resolve(sandbox, "dev", url=db_url))
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    hidden = conn.execute(
        "SELECT has_column_privilege('app_readonly', 'production.notes', c, 'SELECT')"
        " FROM unnest(ARRAY['password_hash', 'body']) c"
    ).fetchall()
    assert hidden == [(False,), (True,)]


def test_an_index_whose_definition_changed_is_rebuilt_concurrently_and_rolled_back(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    replace_in(
        sandbox / "templates/002a_indexes.sql.j2",
        '"entity_type, entity_id"',
        '"entity_id, entity_type"',
    )
    plan = "".join(applying(commands.plan(resolve(sandbox, "dev", url=db_url))).values())
    assert 'CREATE INDEX CONCURRENTLY "tmplmig_' in plan
    assert 'ALTER INDEX "audits"."tmplmig_' in plan and 'RENAME TO "idx_audit_entity"' in plan
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002a_indexes (evolved)"]
    definition = conn.execute(
        "SELECT pg_get_indexdef('audits.idx_audit_entity'::regclass)"
    ).fetchone()
    assert definition is not None and "(entity_id, entity_type)" in definition[0]
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_a_function_its_triggers_moved_off_is_dropped_after_they_moved(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The shared column guard replaced by a copy in the system schema: the plan re-points
    the triggers first and drops the old function last (first, it would fail: they use it)."""
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    template = sandbox / "templates/002e_functions.sql.j2"
    text = template.read_text()
    start = text.index('{% call(d) step("function", tmplmig_schema, "keep_column"')
    end = text.index("{% for schema, table, column in retention_guarded %}")
    template.write_text(
        text[:start] + '{% call m.function(schema=s.system, name="keep_column", signature="",'
        ' header="RETURNS trigger LANGUAGE plpgsql") %}\n{{ keep_column_body }}\n{% endcall %}\n'
        + text[end:].replace("function_schema=tmplmig_schema,", "function_schema=s.system,")
    )
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002e_functions (evolved)"]
    uses = conn.execute(
        "SELECT DISTINCT tgfoid::regprocedure::text FROM pg_trigger WHERE tgname LIKE 'keep_%'"
    ).fetchall()
    assert uses == [("system.keep_column()",)]
    assert conn.execute("SELECT to_regnamespace('tmplmig')").fetchone() == (None,)
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def guard_updates_only(template: Path) -> None:
    """002e as it was before issue 21: the column guard refused UPDATEs only."""
    text = template.read_text()
    start = text.index("    IF TG_OP = 'INSERT' THEN\n")
    end = text.index("    ELSIF pg_catalog.to_jsonb(NEW)")
    text = text[:start] + "    IF" + text[end + len("    ELSIF") :]
    start = text.index("{#- The clock, not now()")
    end = text.index("{% endfor %}\n", start) + len("{% endfor %}\n")
    template.write_text(text[:start] + text[end:])


FOREVER = (
    "INSERT INTO {}.provider_health (provider, status, checked_at) VALUES ('x', 'up', 'infinity')"
)


def test_a_guard_of_updates_only_evolves_to_refuse_rows_the_purge_would_keep(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A database applied before the guard covered INSERT: the plan replaces the shared
    function and adds the six INSERT triggers, and rolls back exactly."""
    before = snapshot(conn)
    template = sandbox / "templates/002e_functions.sql.j2"
    today = template.read_text()
    guard_updates_only(template)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    with conn.transaction(force_rollback=True):
        conn.execute(FOREVER.format("providers"))
    template.write_text(today)

    plan = applying(commands.plan(resolve(sandbox, "dev", url=db_url)))
    assert sorted(plan) == ["002e_functions.plan.pgsql", "MANIFEST"]
    assert plan["002e_functions.plan.pgsql"].count("BEFORE INSERT ON") == 6
    assert (
        'CREATE OR REPLACE FUNCTION "tmplmig"."keep_column"()' in plan["002e_functions.plan.pgsql"]
    )
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002e_functions (evolved)"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="retention purge"):
        conn.execute(FOREVER.format("providers"))
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_tenants_guarded_on_updates_only_evolve_one_by_one_and_roll_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The shared function is replaced by the first tenant that evolves; the triggers of a
    tenant not yet evolved keep working with it."""
    before = snapshot(conn)
    template = sandbox / "templates/002e_functions.sql.j2"
    today = template.read_text()
    guard_updates_only(template)
    base = ["--project", str(sandbox)]
    assert cli.main([*base, "apply", "--env", "dev", "--all-tenants", "--database", db_url]) == 0
    template.write_text(today)

    assert commands.apply(resolve(sandbox, "dev", "acme", url=db_url)) == [
        "002e_functions (evolved)"
    ]
    conn.execute("INSERT INTO gx_providers.provider_health (provider, status) VALUES ('x', 'up')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied to change"):
        conn.execute("UPDATE gx_providers.provider_health SET checked_at = '1970-01-01'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="retention purge"):
        conn.execute(FOREVER.format("acme_providers"))
    assert cli.main([*base, "apply", "--env", "dev", "--all-tenants", "--database", db_url]) == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="retention purge"):
        conn.execute(FOREVER.format("gx_providers"))
    guards = conn.execute(
        "SELECT count(*) FILTER (WHERE tgtype & 4 = 4), count(DISTINCT tgfoid) FROM pg_trigger"
        " WHERE tgname LIKE 'keep_%'"
    ).fetchone()
    assert guards == (12, 1)  # 6 timestamps per tenant fire on INSERT, all on one function
    base_tenants = ["--env", "dev", "--all-tenants", "--database", db_url]
    assert cli.main([*base, "status", *base_tenants, "--check"]) == 0
    assert cli.main([*base, "rollback", *base_tenants, "--all"]) == 0
    assert difference(before, snapshot(conn)) == {}


def test_a_role_taken_off_a_functions_execute_list_loses_execute(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A part's rollback leaves function grants to DROP FUNCTION; a plan removing one grant
    still revokes it."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    can_run = "SELECT has_function_privilege(%s, 'system.encrypt_data(text, uuid)', 'EXECUTE')"
    assert conn.execute(can_run, ["app_readwrite"]).fetchone() == (True,)
    edit(
        sandbox / "config/base.yaml",
        lambda d: d["privileges"]["execute"].update(encrypt_data=["admin"]),
    )
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002e_functions (evolved)"]
    assert conn.execute(can_run, ["app_readwrite"]).fetchone() == (False,)
    assert conn.execute(can_run, ["app_admin"]).fetchone() == (True,)


def test_plan_run_with_psql_then_marked_is_recorded_and_rolls_back_exactly(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    issue_edit(sandbox)
    out = tmp_path / "review"
    assert plan_cli(sandbox, db_url, "--out", str(out)) == 0
    run_with_psql(database, out, "apply")
    assert any(s.state == "changed" for s in commands.status(resolve(sandbox, "dev", url=db_url)))
    assert commands.mark(resolve(sandbox, "dev", url=db_url)) == []
    assert all(s.state == "applied" for s in commands.status(resolve(sandbox, "dev", url=db_url)))
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_parts_applied_before_the_record_existed_are_recorded_once_verified(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    conn.execute(f"DROP TABLE {', '.join(record.TABLES)}")
    states = commands.status(resolve(project, "dev", url=db_url))
    assert {s.label for s in states} == {"applied, no record"}
    assert commands.apply(resolve(project, "dev", url=db_url)) == []
    assert {s.state for s in commands.status(resolve(project, "dev", url=db_url))} == {"applied"}
    assert set(record.read(conn).parts) == set(ALL_PARTS)


#: the record's steps table as tmplmig created it before steps recorded their role and guards
#: (git show 6fd878e:src/tmplmig/migrating/record.py); c1ec3ee added ``role text``
OLD_STEPS_TABLE = f"""
CREATE TABLE {STEPS} (
    part text NOT NULL,
    step text NOT NULL,
    position integer NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    apply_sha256 text NOT NULL,
    apply_sql text NOT NULL,
    rollback_sql text,
    config_digest text NOT NULL,
    env text NOT NULL,
    tenant text,
    row_sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (part, step)
)"""
SEALED = ["part", "step", "apply_sha256", "rollback_sql", "config_digest"]
COUNT_COLUMNS = f"SELECT count(*) FROM information_schema.columns WHERE table_name = '{STEPS}'"


def as_an_older_tmplmig_recorded(conn: psycopg.Connection[Any], roles: bool) -> None:
    """Rebuild the record in the shape of a tmplmig from before guards (and, without
    ``roles``, before roles) were recorded, each row sealed as that tmplmig sealed it."""
    conn.execute(f"ALTER TABLE {STEPS} RENAME TO applied_today")
    conn.execute(OLD_STEPS_TABLE)
    conn.execute(f"ALTER TABLE {STEPS} OWNER TO {DEPLOYER}")
    sealed = SEALED + ["role"] * roles
    if roles:
        conn.execute(f"ALTER TABLE {STEPS} ADD COLUMN role text")
    old = [*sealed, "position", "kind", "name", "apply_sql", "env", "tenant", "applied_at"]
    for row in conn.execute(f"SELECT {', '.join(old)} FROM applied_today").fetchall():
        seal = record.sha256(json.dumps(list(row[: len(sealed)])))
        conn.execute(
            f"INSERT INTO {STEPS} ({', '.join(old)}, row_sha256)"
            f" VALUES ({', '.join(['%s'] * len(old))}, %s)",
            [*row, seal],
        )
    conn.execute("DROP TABLE applied_today")


def recorded(seal: list[Any], **fields: Any) -> record.RecordedStep:
    """A row of the record sealed as older tmplmig sealed rows: the bare sha256 of its
    part, step, apply sha256, rollback SQL and config digest, then ``seal``."""
    apply_sql = "CREATE SCHEMA x"
    sealed = ["001_baseline", "schema x", record.sha256(apply_sql), "DROP SCHEMA x", "c0ffee"]
    return record.RecordedStep(
        **dict(zip(SEALED, sealed, strict=True)),
        position=0,
        kind="schema",
        name="schema x",
        apply_sql=apply_sql,
        env="dev",
        tenant=None,
        row_sha256=record.sha256(json.dumps(sealed + seal)),
        applied_at=datetime.now(timezone.utc),
        **fields,
    )


def test_rows_sealed_by_older_tmplmig_verify_and_only_as_they_were_written() -> None:
    assert recorded([]).problem() is None  # before roles: no role, no guard
    assert recorded([None]).problem() is None  # before guards, as the login
    assert recorded(["app_owner"], role="app_owner").problem() is None
    assert recorded(["app_owner"], role="app_owner", rollback_guard="SELECT true").problem() is None
    assert recorded([], rollback_guard="SELECT true").problem() is not None
    assert recorded([], role="app_owner").problem() is not None
    assert recorded(["app_owner"], role="postgres").problem() is not None


def test_rows_sealed_before_objects_were_recorded_verify_and_gain_none_by_hand() -> None:
    v2 = ["app_owner", None, "SELECT true"]
    sealed = ["001_baseline", "schema x", record.sha256("CREATE SCHEMA x"), "DROP SCHEMA x"]
    row_sha256 = "v2:" + record.sha256(json.dumps([*sealed, "c0ffee", *v2]))
    row = recorded([], role="app_owner", rollback_guard="SELECT true")
    row = replace(row, row_sha256=row_sha256)
    assert row.problem() is None
    forged = replace(row, objects_json='[["schema", null, "y", null]]')
    assert forged.problem() is not None


@pytest.mark.parametrize("roles", [True, False], ids=["before guards", "before roles"])
def test_a_record_made_by_an_older_tmplmig_is_read_and_upgraded_in_place(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], roles: bool
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    as_an_older_tmplmig_recorded(conn, roles)
    assert conn.execute(COUNT_COLUMNS).fetchone() == (13 + roles,)
    assert {s.label for s in commands.status(resolve(sandbox, "dev", url=db_url))} == {"applied"}
    assert (
        commands.rollback(resolve(sandbox, "dev", url=db_url), part=ALL_PARTS[-1]) == ALL_PARTS[-1:]
    )
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ALL_PARTS[-1:]
    assert conn.execute(COUNT_COLUMNS).fetchone() == (17,)
    rec = record.read(conn)
    assert rec.problems == () and list(rec.parts) == ALL_PARTS
    assert {s.label for s in commands.status(resolve(sandbox, "dev", url=db_url))} == {"applied"}


def test_mark_reseals_an_older_record_with_guards_so_it_evolves_and_rolls_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    as_an_older_tmplmig_recorded(conn, roles=True)
    assert commands.mark(resolve(sandbox, "dev", url=db_url)) == []
    assert conn.execute(COUNT_COLUMNS).fetchone() == (17,)
    seals = conn.execute(f"SELECT DISTINCT left(row_sha256, 3) FROM {STEPS}").fetchall()
    assert seals == [("v3:",)]
    issue_edit(sandbox)
    assert "002d_roles_grants (evolved)" in commands.apply(resolve(sandbox, "dev", url=db_url))
    assert commands.rollback(resolve(sandbox, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(before, snapshot(conn)) == {}


WAITING_REBUILD = """
    SELECT pid FROM pg_catalog.pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock'
      AND query LIKE 'CREATE INDEX CONCURRENTLY "tmplmig_%'"""


def test_an_apply_killed_in_the_middle_of_an_evolve_converges_on_the_next_apply(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    template = sandbox / "templates/002a_indexes.sql.j2"
    replace_in(template, '"entity_type, entity_id"', '"entity_id, entity_type"')
    failure: list[BaseException] = []

    def apply() -> None:
        try:
            commands.apply(resolve(sandbox, "dev", url=db_url))
        except BaseException as exc:
            failure.append(exc)

    with psycopg.connect(database) as writer:  # the rebuild waits for this open writer
        writer.execute(
            "INSERT INTO audits.audit_log"
            " (operation, table_schema, table_name, entity_type, action)"
            " VALUES ('INSERT', 'auth', 'users', 'users', 'insert')"
        )
        applier = threading.Thread(target=apply)
        applier.start()
        conn.execute("SELECT pg_terminate_backend(%s)", [poll(conn, WAITING_REBUILD)])
        applier.join(60)
        writer.rollback()
    assert failure, "the interrupted evolve should have failed"
    assert [
        s.id for s in commands.status(resolve(sandbox, "dev", url=db_url)) if s.state == "changed"
    ] == ["002a_indexes"]

    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002a_indexes (evolved)"]
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    leftovers = conn.execute(
        "SELECT relname FROM pg_class WHERE relname ~ '^tmplmig_[0-9a-f]{20}$'"
    )
    assert leftovers.fetchall() == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_every_tenant_shows_changed_evolves_and_rolls_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    before = snapshot(conn)
    base = ["--project", str(sandbox)]
    tenants = ["--env", "dev", "--all-tenants", "--database", db_url]
    assert cli.main([*base, "apply", *tenants]) == 0
    assert cli.main([*base, "status", *tenants, "--check"]) == 0
    edit(sandbox / "config/base.yaml", lambda d: d["schemas"].update(quarantine="quarantine_v2"))
    edit(sandbox / "config/tenants/acme.yaml", lambda d: d["retention"].update(audit_log=401))
    outcomes = {o.tenant: o for o in fanout.run_all(sandbox, "dev", fanout.STATUS, url=db_url)}
    assert {t: o.state for t, o in outcomes.items()} == {"acme": "changed", "globex": "changed"}
    assert cli.main([*base, "status", *tenants, "--check"]) == 1

    assert cli.main([*base, "plan", *tenants, "--out", str(tmp_path / "review")]) == 0
    acme_plan = (tmp_path / "review/acme/001_baseline.plan.sql").read_text()
    assert 'ALTER SCHEMA "acme_quarantine" RENAME TO "acme_quarantine_v2";' in acme_plan
    assert "401" in (tmp_path / "review/acme/002c_system_tables.plan.sql").read_text()
    assert "401" not in (tmp_path / "review/globex/002c_system_tables.plan.sql").read_text()

    assert cli.main([*base, "apply", *tenants]) == 0
    assert cli.main([*base, "status", *tenants, "--check"]) == 0
    assert conn.execute("SELECT to_regnamespace('gx_quarantine_v2') IS NOT NULL").fetchone() == (
        True,
    )
    assert cli.main([*base, "rollback", *tenants, "--all"]) == 0
    assert difference(before, snapshot(conn)) == {}


def test_changed_masked_columns_replace_the_audit_function_and_column_grants(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    masked = ["api_key", "display_name"]  # password_hash no longer, display_name now
    edit(sandbox / "config/base.yaml", lambda d: d.update(sensitive_columns=masked))
    applied = commands.apply(resolve(sandbox, "dev", url=db_url))
    assert "002e_functions (evolved)" in applied
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    readable = "SELECT has_column_privilege('app_readonly', 'auth.users', %s, 'SELECT')"
    assert conn.execute(readable, ("password_hash",)).fetchone() == (True,)
    assert conn.execute(readable, ("display_name",)).fetchone() == (False,)
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_each_changed_step_names_its_cause_and_no_config_line_blames_a_template_edit(
    sandbox: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readwrite="app_rw"))
    commands.apply(resolve(sandbox, "dev", url=db_url))
    replace_in(sandbox / "templates/002a_indexes.sql.j2", '"entity_type, entity_id"', '"entity_id"')
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    states = {s.id: s for s in commands.status(resolve(sandbox, "dev", url=db_url))}
    (index,) = states["002a_indexes"].steps
    assert index.causes == ("template templates/002a_indexes.sql.j2",)
    assert states["002a_indexes"].config == ()
    row = next(c for c in states["002c_system_tables"].steps if "audit_log" in c.identity)
    assert row.causes == ("config retention.audit_log",)
    config = [str(c) for c in states["002c_system_tables"].config]
    assert config == ["retention.audit_log: 30 -> 45"]
    capsys.readouterr()
    argv = ["--project", str(sandbox), "status", "--env", "dev", "--database", db_url]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "        cause: template templates/002a_indexes.sql.j2\n" in out
    assert "roles.readwrite" not in out


def test_a_plans_index_rebuild_shows_its_locks_and_outlives_statement_timeout(
    sandbox: Path, database: str, db_url: str, tmp_path: Path
) -> None:
    """A rebuild that waits for an old snapshot longer than statement_timeout still finishes
    (it scans its table: no bound fits every table), in apply's evolve and in the plan file."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    edit(
        sandbox / "config/dev.yaml",
        lambda d: d.setdefault("ddl", {}).update(statement_timeout="1s", lock_timeout="20s"),
    )
    replace_in(sandbox / "templates/002a_indexes.sql.j2", '"entity_type, entity_id"', '"entity_id"')
    argv = ["--project", str(sandbox), "plan", "--env", "dev", "--database", db_url]
    assert cli.main([*argv, "--out", str(tmp_path / "plan")]) == 0
    (plan_file,) = (tmp_path / "plan").glob("002a_indexes.plan.sql")
    text = plan_file.read_text()
    assert (
        "SET statement_timeout = '0';\n-- lock: SHARE UPDATE EXCLUSIVE on audits.audit_log" in text
    )
    assert 'CREATE INDEX CONCURRENTLY "tmplmig_' in text
    assert "SET statement_timeout = '1s';" in text
    with psycopg.connect(database) as old:
        old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        old.execute("SELECT count(*) FROM auth.users")  # a snapshot the build waits for
        timer = threading.Timer(2.5, old.commit)
        timer.start()
        try:
            assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["002a_indexes (evolved)"]
        finally:
            timer.join()
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []


def test_a_role_rename_leaves_functions_whose_bodies_are_unchanged_alone(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    oids = dict(
        conn.execute("SELECT proname, oid::int FROM pg_proc WHERE proname LIKE '%crypt_data'")
    )
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readwrite="app_rw"))
    plan = "".join(applying(commands.plan(resolve(sandbox, "dev", url=db_url))).values())
    assert 'ALTER ROLE "app_readwrite" RENAME TO "app_rw";' in plan
    assert 'FUNCTION "system"."encrypt_data"' not in plan
    assert 'FUNCTION "system"."decrypt_data"' not in plan
    commands.apply(resolve(sandbox, "dev", url=db_url))
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert {s.state for s in commands.status(resolve(sandbox, "dev", url=db_url))} == {"applied"}
    after = dict(
        conn.execute("SELECT proname, oid::int FROM pg_proc WHERE proname LIKE '%crypt_data'")
    )
    assert after == oids
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_a_plans_rollback_files_run_with_psql_undo_its_apply_files(
    sandbox: Path, database: str, db_url: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """The issue's edit (a schema and a role renamed, a retention changed) and an index
    rebuilt: the plan's rollback section, run with psql after its apply section, gives back
    the catalog and the rows from before the plan."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    conn.execute("INSERT INTO auth.users (email) VALUES ('a@example.com')")
    applied = snapshot(conn)
    rows = conn.execute("SELECT * FROM system.retention_policies ORDER BY 1").fetchall()
    issue_edit(sandbox)
    replace_in(sandbox / "templates/002a_indexes.sql.j2", '"entity_type, entity_id"', '"entity_id"')
    out = tmp_path / "review"
    assert plan_cli(sandbox, db_url, "--out", str(out)) == 0
    rollback_files = manifest_files((out / "MANIFEST").read_text(), "rollback")
    assert rollback_files[0].startswith("002e_functions.plan.rollback.")
    assert rollback_files[-1].startswith("001_baseline.plan.rollback.")
    review = (out / "REVIEW.md").read_text()
    assert "## 002a_indexes: 002a: performance indexes" in review
    assert "(template templates/002a_indexes.sql.j2)" in review
    assert "| SHARE UPDATE EXCLUSIVE on audits.audit_log; reads and writes continue" in review
    assert review.count("Undo: its `.plan.rollback` file.") == 6
    run_with_psql(database, out, "apply")
    assert difference(applied, snapshot(conn)) != {}
    run_with_psql(database, out, "rollback")
    assert difference(applied, snapshot(conn)) == {}
    assert conn.execute("SELECT * FROM system.retention_policies ORDER BY 1").fetchall() == rows
    assert conn.execute("SELECT count(*) FROM auth.users").fetchone() == (1,)


def test_a_column_moved_between_readers_changes_only_the_grants_that_differ(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    commands.apply(resolve(sandbox, "dev", url=db_url))
    edit(
        sandbox / "config/base.yaml",
        lambda d: d["privileges"]["sensitive_readers"].update(api_key=["admin"]),
    )
    plan = applying(commands.plan(resolve(sandbox, "dev", url=db_url)))[
        "002d_roles_grants.plan.sql"
    ]
    grants = [line for line in plan.splitlines() if line.startswith(("GRANT", "REVOKE"))]
    assert grants == [
        'REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_readwrite";',
        'GRANT SELECT ("id", "user_id", "provider", "created_at") ON TABLE'
        ' "providers"."user_providers" TO "app_readwrite";',
        'REVOKE SELECT ON TABLE "providers"."user_providers" FROM "app_admin";',
        'GRANT SELECT ON TABLE "providers"."user_providers" TO "app_admin";',
    ]
    commands.apply(resolve(sandbox, "dev", url=db_url))
    reads = "SELECT has_column_privilege(%s, 'providers.user_providers', 'api_key', 'SELECT')"
    assert conn.execute(reads, ["app_admin"]).fetchone() == (True,)
    assert conn.execute(reads, ["app_readwrite"]).fetchone() == (False,)
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_a_part_rolled_back_leaves_no_difference_the_next_evolve_takes_for_drift(
    sandbox: Path, db_url: str
) -> None:
    """002d grants on the schemas and tables 001 made; rolled back, it revokes them, and the
    server spells out the owner's default privileges where 001 left none. The drift check
    compared those texts and refused the next evolve as "changed outside tmplmig"."""
    commands.apply(resolve(sandbox, "dev", url=db_url))
    commands.rollback(resolve(sandbox, "dev", url=db_url), part="002d_roles_grants")
    index = sandbox / "templates/002a_indexes.sql.j2"
    index.write_text(
        index.read_text().replace('"entity_type, entity_id"', '"entity_id, entity_type"', 1)
    )
    applied = commands.apply(resolve(sandbox, "dev", url=db_url))
    assert applied == ["002a_indexes (evolved)", "002d_roles_grants", "002e_functions"]
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []


def test_a_dropped_tables_grants_leave_the_record_of_the_steps_that_named_it() -> None:
    """What another part's record keeps once a part dropped a table (see docs/day2.md): its
    grants and revokes without the table, a statement naming only it gone whole."""
    granted = (
        'REVOKE ALL ON TABLE "s"."kept", "s"."gone" FROM "r";\n'
        'GRANT SELECT, INSERT ON TABLE "s"."kept", "s"."gone" TO "r";\n'
        'GRANT SELECT ("c") ON TABLE "s"."gone" TO "r";\n'
        'GRANT USAGE ON SCHEMA "s" TO "r";'
    )
    assert without_relations(granted, {'TABLE "s"."gone"'}.__contains__) == (
        'REVOKE ALL ON TABLE "s"."kept" FROM "r";\n'
        'GRANT SELECT, INSERT ON TABLE "s"."kept" TO "r";\n'
        'GRANT USAGE ON SCHEMA "s" TO "r";'
    )
    # a step that named no dropped table is the same text, to the last newline (its sha)
    assert without_relations(granted + "\n", {'TABLE "s"."other"'}.__contains__) == granted + "\n"
