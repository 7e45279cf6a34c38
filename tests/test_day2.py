"""YAML edited after apply: the record, status that sees edits, rollback of what was applied,
plan and evolve. Real PostgreSQL, with data in the objects that change."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from conftest import ALL_PARTS, dsn_for

from tmplmig import cli, commands
from tmplmig.catalog import difference, snapshot
from tmplmig.migrating import record


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change one YAML file of a sandbox project in place."""
    data = yaml.safe_load(path.read_text()) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def issue_edit(sandbox: Path) -> None:
    """The edit of issue 9: rename a schema and a role, lengthen a retention."""
    edit(sandbox / "config/base.yaml", lambda d: d["schemas"].update(quarantine="quarantine_v2"))
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readonly="app_ro"))
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))


def yoyo(project: Path, url: str, *args: str) -> None:
    """Plain ``yoyo`` as a user runs it, in the project folder, with TMPLMIG_ENV=dev."""
    env = {**os.environ, "TMPLMIG_ENV": "dev"}
    command = ["yoyo", *args, "--batch", "--database", url, "migrations"]
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)


def test_every_applied_step_is_recorded_with_its_rollback_and_config(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(project, "dev", url=db_url)
    rec = record.read(conn)
    assert rec.problems == ()
    assert list(rec.parts) == ALL_PARTS
    rendered = {p.id: p for p in commands.render(project, "dev")}
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
    commands.apply(sandbox, "dev", url=db_url)
    issue_edit(sandbox)
    assert commands.rollback(sandbox, "dev", url=db_url) == list(reversed(ALL_PARTS))
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


def test_status_names_changed_steps_and_config_key_paths(
    sandbox: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    commands.apply(sandbox, "dev", url=db_url)
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
    states = {s.id: s.state for s in commands.status(sandbox, "dev", url=db_url)}
    assert states == dict.fromkeys(ALL_PARTS, "changed")


LOGIN = "day2_reader"


def test_issue_scenario_keeps_rows_members_and_rolls_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], database: str
) -> None:
    before = snapshot(conn)
    commands.apply(sandbox, "dev", url=db_url)
    conn.execute(
        "INSERT INTO quarantine.quarantined_records (source_table, record, reason)"
        " SELECT 'evaluations', jsonb_build_object('id', g), 'bad score'"
        " FROM generate_series(1, 5000) g"
    )
    conn.execute(f"CREATE ROLE {LOGIN} LOGIN PASSWORD 'pw' IN ROLE app_readonly")
    conn.execute(f"COMMENT ON ROLE {LOGIN} IS 'tmplmig test login'")
    issue_edit(sandbox)

    applied = commands.apply(sandbox, "dev", url=db_url)
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
    assert commands.verify(sandbox, "dev", url=db_url) == []
    assert all(s.state == "applied" for s in commands.status(sandbox, "dev", url=db_url))
    assert commands.apply(sandbox, "dev", url=db_url) == []

    conn.execute(f"DROP ROLE {LOGIN}")
    commands.rollback(sandbox, "dev", url=db_url)
    assert difference(before, snapshot(conn)) == {}
