"""YAML edited after apply: the record, status that sees edits, rollback of what was applied,
plan and evolve. Real PostgreSQL, with data in the objects that change."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml
from conftest import ALL_PARTS

from tmplmig import commands
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
