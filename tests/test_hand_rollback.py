"""A rollback run by hand with psql: status notices it from the record's objects (one catalog
query), and ``mark --rolled-back`` records it once the objects are gone, so the record never
says applied over an empty database. Real PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.bundles import manifest_section, run_file_with_psql, run_with_psql
from support.servers import ALL_PARTS

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands, record
from tmplmig.migrating.target import CommandError, for_rendering, resolve
from tmplmig.reviewing.bundle import MANIFEST

ENV = "dev"


@pytest.fixture
def bundle(project: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    commands.write_render(for_rendering(project, ENV), out)
    return out


def rollback_files_by_hand(database: str, bundle: Path, parts: list[str]) -> None:
    """The bundle's rollback files of ``parts``, in MANIFEST order, as a DBA runs them."""
    for _, name in manifest_section((bundle / MANIFEST).read_text(), "rollback"):
        if name.split(".")[0] in parts:
            run_file_with_psql(database, bundle / name)


def test_status_check_fails_when_applied_parts_lost_their_objects(
    project: Path,
    bundle: Path,
    database: str,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    run_with_psql(database, bundle, "rollback")
    states = commands.status(resolve(project, ENV, url=db_url))
    assert {s.state for s in states} == {"missing"}
    assert "table auth.users" in {str(o) for o in states[0].missing}
    capsys.readouterr()
    base = ["--project", str(project), "status", "--env", ENV, "--database", db_url]
    assert cli.main([*base, "--check"]) == 1
    out = capsys.readouterr().out
    assert "001_baseline        applied, objects missing" in out
    assert re.search(r"^    gone: the \d+ objects it made \(rolled back by hand\?", out, re.M)


def test_apply_over_lost_objects_refuses_and_names_the_way_out(
    project: Path, bundle: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    run_with_psql(database, bundle, "rollback")
    before = snapshot(conn)
    with pytest.raises(CommandError, match="tmplmig mark --rolled-back"):
        commands.apply(resolve(project, ENV, url=db_url))
    assert difference(before, snapshot(conn)) == {}


def test_mark_rolled_back_records_a_hand_rollback_and_apply_and_rollback_work_again(
    project: Path, bundle: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    empty = snapshot(conn)
    commands.apply(resolve(project, ENV, url=db_url))
    run_with_psql(database, bundle, "rollback")
    assert commands.mark_rolled_back(resolve(project, ENV, url=db_url)) == list(reversed(ALL_PARTS))
    assert {s.state for s in commands.status(resolve(project, ENV, url=db_url))} == {"pending"}
    assert record.read(conn).parts == {}
    assert commands.apply(resolve(project, ENV, url=db_url)) == ALL_PARTS
    assert commands.verify(resolve(project, ENV, url=db_url)) == []
    assert commands.rollback(resolve(project, ENV, url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(empty, snapshot(conn)) == {}


def test_mark_rolled_back_of_one_part_leaves_the_parts_before_it_applied(
    project: Path, bundle: Path, database: str, db_url: str
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    rollback_files_by_hand(database, bundle, ["002e_functions"])
    states = {s.id: s.state for s in commands.status(resolve(project, ENV, url=db_url))}
    assert states == {**dict.fromkeys(ALL_PARTS, "applied"), "002e_functions": "missing"}
    done = commands.mark_rolled_back(resolve(project, ENV, url=db_url), part="002e_functions")
    assert done == ["002e_functions"]
    states = {s.id: s.state for s in commands.status(resolve(project, ENV, url=db_url))}
    assert states == {**dict.fromkeys(ALL_PARTS, "applied"), "002e_functions": "pending"}
    assert commands.apply(resolve(project, ENV, url=db_url)) == ["002e_functions"]
    assert commands.verify(resolve(project, ENV, url=db_url)) == []


def test_mark_rolled_back_refuses_while_objects_are_there_and_changes_nothing(
    project: Path, bundle: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    rollback_files_by_hand(database, bundle, ["002e_functions"])
    with pytest.raises(CommandError) as refused:
        commands.mark_rolled_back(resolve(project, ENV, url=db_url), part="002d_roles_grants")
    assert "002d_roles_grants: " in str(refused.value)
    assert "002e_functions" not in str(refused.value)
    states = {s.id: s.state for s in commands.status(resolve(project, ENV, url=db_url))}
    assert states["002d_roles_grants"] == "applied"
    assert states["002e_functions"] == "missing"
    assert list(record.read(conn).parts) == ALL_PARTS


def test_status_notices_one_object_dropped_by_hand_and_the_drift_check_lists_it(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    conn.execute("DROP INDEX audits.idx_audit_entity")
    states = {s.id: s for s in commands.status(resolve(project, ENV, url=db_url))}
    assert states["002a_indexes"].state == "missing"
    assert [str(o) for o in states["002a_indexes"].missing] == [
        "index audits.audit_log.idx_audit_entity"
    ]
    assert {s.state for s in states.values() if s.id != "002a_indexes"} == {"applied"}


def test_mark_rolled_back_of_an_unknown_part_names_the_known_ones(
    project: Path, db_url: str
) -> None:
    commands.apply(resolve(project, ENV, url=db_url))
    with pytest.raises(CommandError, match="unknown migration 'nope'; known: 001_baseline"):
        commands.mark_rolled_back(resolve(project, ENV, url=db_url), part="nope")
    assert {s.state for s in commands.status(resolve(project, ENV, url=db_url))} == {"applied"}
