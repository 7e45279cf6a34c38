"""Destructive changes are never silent (issue 20): a table taken out of the templates with its
rows is shown with its count and size, dropped only when acknowledged, after a pre-execution
check, and an evolve that drops it completes; a rollback that drops tables holding rows says
so, and refuses in a protected environment. Real PostgreSQL, with rows in the table."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.bundles import run_file_with_psql
from support.servers import ALL_PARTS
from support.yaml_edits import edit, remove_promotions

from tmplmig import cli
from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands, record
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import ConfigError, load_config
from tmplmig.rendering.facts import DbObject

PROMOTIONS = "experiments_v1.promotions"


def insert_promotions(conn: psycopg.Connection[Any], rows: int) -> None:
    conn.execute(
        "INSERT INTO auth.users (email) VALUES ('owner@example.com') ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO experiments_v1.experiments (user_id, name)"
        " SELECT id, 'exp' FROM auth.users"
        " WHERE NOT EXISTS (SELECT FROM experiments_v1.experiments)"
    )
    conn.execute(
        "INSERT INTO experiments_v1.promotions (experiment_id, target)"
        " SELECT e.id, 'prod' FROM experiments_v1.experiments e, generate_series(1, %s)",
        (rows,),
    )


def applied_with_80_promotions(sandbox: Path, db_url: str, conn: psycopg.Connection[Any]) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    insert_promotions(conn, 80)


def state_of(conn: psycopg.Connection[Any]) -> tuple[Any, Any]:
    """The catalog and the record, to show that nothing changed."""
    return snapshot(conn), record.read(conn)


def test_status_and_plan_mark_a_removed_table_destructive_with_its_rows_and_size(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    applied_with_80_promotions(sandbox, db_url, conn)
    remove_promotions(sandbox)
    capsys.readouterr()
    assert (
        cli.main(["--project", str(sandbox), "status", "--env", "dev", "--database", db_url]) == 0
    )
    out = capsys.readouterr().out
    table_line = (
        "    step table {schemas.experiments} promotions (table experiments_v1 promotions): removed"
    )
    assert re.search(
        re.escape(table_line)
        + r"\n        destructive: table experiments_v1\.promotions, 80 rows, \d+ kB\n",
        out,
    )
    assert out.count("destructive:") == 1  # its index, key and triggers go with it
    plan = commands.plan(resolve(sandbox, "dev", url=db_url))
    baseline = next(text for name, text in plan.items() if name.startswith("001_baseline"))
    header, _, body = baseline.partition("BEGIN;")
    assert re.search(
        r"^-- DESTRUCTIVE: table experiments_v1\.promotions, 80 rows, \d+ kB;"
        r" tmplmig apply needs --allow-drop experiments_v1\.promotions$",
        header,
        re.MULTILINE,
    )
    note = body.index("-- DESTRUCTIVE: drops table experiments_v1.promotions, 80 rows")
    check = body.index("IF found > 80 THEN")
    assert note < check < body.index('DROP TABLE IF EXISTS "experiments_v1"."promotions";')


def test_apply_refuses_an_unacknowledged_drop_and_changes_nothing(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    applied_with_80_promotions(sandbox, db_url, conn)
    remove_promotions(sandbox)
    before = state_of(conn)
    capsys.readouterr()
    base = ["--project", str(sandbox), "apply", "--env", "dev", "--database", db_url]
    assert cli.main(base) == 2
    err = capsys.readouterr().err
    assert "the run did not acknowledge it; nothing was changed" in err
    assert re.search(
        r"001_baseline: table experiments_v1\.promotions, 80 rows, \d+ kB:"
        r" pass --allow-drop experiments_v1\.promotions",
        err,
    )
    assert cli.main([*base, "--allow-drop", "experiments_v1.evaluations"]) == 2
    after = state_of(conn)
    assert difference(before[0], after[0]) == {} and after[1] == before[1]
    assert conn.execute("SELECT count(*) FROM experiments_v1.promotions").fetchone() == (80,)


def test_an_acknowledged_drop_evolves_whole_verifies_and_rolls_back_exactly(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The table goes first; its index, key, triggers and grants go with it, so no later
    part revokes or drops on it, and the record then says what the database holds."""
    before = snapshot(conn)
    applied_with_80_promotions(sandbox, db_url, conn)
    remove_promotions(sandbox)
    argv = ["--project", str(sandbox), "apply", "--env", "dev", "--database", db_url]
    assert cli.main([*argv, "--allow-drop", PROMOTIONS]) == 0
    assert "applied: 001_baseline (evolved), 002a_indexes (evolved)" in capsys.readouterr().out
    assert conn.execute(f"SELECT to_regclass('{PROMOTIONS}')").fetchone() == (None,)
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    assert {s.state for s in commands.status(resolve(sandbox, "dev", url=db_url))} == {"applied"}
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == []
    assert commands.rollback(resolve(sandbox, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert difference(before, snapshot(conn)) == {}


def test_the_pre_execution_check_aborts_the_part_when_the_table_grew_after_the_plan(
    sandbox: Path, db_url: str, database: str, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """Acknowledged at the plan's 80 rows, the table holds 85 when the drop comes: apply and the
    plan file run with psql both stop in the drop's transaction, and nothing changes."""
    applied_with_80_promotions(sandbox, db_url, conn)
    remove_promotions(sandbox)
    plan = commands.plan(resolve(sandbox, "dev", url=db_url))
    insert_promotions(conn, 5)
    before = state_of(conn)
    with pytest.raises(
        psycopg.errors.RaiseException,
        match=(
            r"pre-execution check: table experiments_v1\.promotions holds 85 rows,"
            r" more than the 80 acknowledged: not dropped"
        ),
    ):
        commands.apply(resolve(sandbox, "dev", url=db_url), allow_drop={PROMOTIONS: 80})
    name = next(n for n in plan if n.startswith("001_baseline"))
    (tmp_path / name).write_text(plan[name])
    with pytest.raises(AssertionError, match="holds 85 rows, more than the 80 this plan shows"):
        run_file_with_psql(database, tmp_path / name)
    after = state_of(conn)
    assert difference(before[0], after[0]) == {} and after[1] == before[1]
    assert conn.execute("SELECT count(*) FROM experiments_v1.promotions").fetchone() == (85,)
    applied = commands.apply(resolve(sandbox, "dev", url=db_url), allow_drop={PROMOTIONS: None})
    assert "001_baseline (evolved)" in applied


def protect(sandbox: Path, protected: bool) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d.update(protected=protected))


@pytest.mark.parametrize("templates", ["as applied", "a table taken out since"])
def test_a_protected_rollback_lists_tables_holding_rows_and_refuses_without_the_flag(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    capsys: pytest.CaptureFixture[str],
    templates: str,
) -> None:
    """A rollback undoes what the record says was applied: a table a template edit took out
    since (not evolved away yet) is dropped too, so it is listed, and the check of what would
    stop the rollback part-way counts it as the migrations' own (it took today's render alone,
    called the table "not created by the migrations" and refused every rollback)."""
    before = snapshot(conn)
    applied_with_80_promotions(sandbox, db_url, conn)
    if templates != "as applied":
        remove_promotions(sandbox)
    protect(sandbox, True)
    applied = state_of(conn)
    argv = ["--project", str(sandbox), "rollback", "--env", "dev", "--database", db_url, "--all"]
    capsys.readouterr()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "rollback refused: dev is protected and the rollback drops tables holding rows" in err
    listed = re.findall(r"^  (\S+): table (\S+), (\d+) rows?", err, re.MULTILINE)
    assert ("001_baseline", PROMOTIONS, "80") in listed
    assert ("001_baseline", "auth.users", "1") in listed
    assert not [t for _, t, _ in listed if t.startswith("system.")]  # seeded rows only
    assert "pass --allow-data-loss" in err
    assert "not created by the migrations" not in err
    after = state_of(conn)
    assert difference(applied[0], after[0]) == {} and after[1] == applied[1]
    assert cli.main([*argv, "--allow-data-loss"]) == 0
    assert difference(before, snapshot(conn)) == {}


def test_an_unprotected_rollback_lists_tables_holding_rows_and_runs(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(conn)
    applied_with_80_promotions(sandbox, db_url, conn)
    with caplog.at_level(logging.WARNING, logger="tmplmig"):
        assert commands.rollback(resolve(sandbox, "dev", url=db_url)) == list(reversed(ALL_PARTS))
    assert f"001_baseline: table {PROMOTIONS}, 80 rows" in caplog.text
    assert "system.retention_policies" not in caplog.text  # seeded rows only: they come back
    assert difference(before, snapshot(conn)) == {}


def test_prod_is_protected_by_default_and_protected_is_validated(
    sandbox: Path,
) -> None:
    assert load_config(sandbox, "prod").settings.protected is True
    assert load_config(sandbox, "dev").settings.protected is False
    (sandbox / "config/prod.yaml").write_text(
        (sandbox / "config/prod.yaml").read_text().replace("protected: true", "")
    )
    assert load_config(sandbox, "prod").settings.protected is True
    protect(sandbox, "yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"dev\.yaml: protected: "):
        load_config(sandbox, "dev")


def test_a_removed_step_recorded_before_objects_is_destructive_by_its_kind_and_name() -> None:
    from tmplmig.migrating import destructive
    from tmplmig.migrating.states import removed_objects

    def old_row(kind: str, name: str) -> record.RecordedStep:
        now = datetime.now(timezone.utc)
        return record.RecordedStep(
            "001_baseline", name, 0, kind, name, "", "", None, "", "dev", None, "", now
        )

    assert removed_objects(old_row("table", "table experiments_v1 promotions")) == (
        DbObject("table", "experiments_v1", "promotions"),
    )
    assert removed_objects(old_row("schema", "schema quarantine")) == (
        DbObject("schema", None, "quarantine"),
    )
    (row,) = removed_objects(old_row("row", "row retention_policies audit_log"))
    assert row.holds_data and destructive.acknowledgement(row) == "?.retention_policies.audit_log"
    assert removed_objects(old_row("index", "index idx_x")) == ()


def test_a_large_table_shows_the_planners_estimate(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tmplmig.migrating import destructive

    applied_with_80_promotions(sandbox, db_url, conn)
    conn.execute("ANALYZE experiments_v1.promotions")
    remove_promotions(sandbox)
    monkeypatch.setattr(destructive, "EXACT_COUNT_MAX_BYTES", 0)
    (loss,) = [x for s in commands.status(resolve(sandbox, "dev", url=db_url)) for x in s.losses]
    assert (loss.name, loss.rows, loss.exact) == (PROMOTIONS, 80, False)
    assert str(loss).startswith(f"table {PROMOTIONS}, ~80 rows (estimate), ")


def test_a_removed_column_and_a_removed_seeded_row_are_acknowledged_by_name(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    baseline = sandbox / "templates/001_baseline.sql.j2"
    column = (
        '{{ m.add_column(schema=s.experiments, table="experiments", column="notes",'
        ' type="text") }}\n'
    )
    baseline.write_text(baseline.read_text() + column)
    applied_with_80_promotions(sandbox, db_url, conn)
    conn.execute("UPDATE experiments_v1.experiments SET notes = 'keep me'")
    baseline.write_text(baseline.read_text().replace(column, ""))
    system = sandbox / "templates/002c_system_tables.sql.j2"
    text, found = re.subn(
        r'\{\{ m\.row\(schema=s\.system, table="connection_pool_settings".*?\}\) \}\}\n',
        "",
        system.read_text(),
        flags=re.DOTALL,
    )
    assert found == 1
    system.write_text(text)
    shown = {str(x) for s in commands.status(resolve(sandbox, "dev", url=db_url)) for x in s.losses}
    assert shown == {
        "column experiments_v1.experiments.notes, 1 row",
        "row system.connection_pool_settings.default, 1 row",
    }
    with pytest.raises(commands.CommandError) as refused:
        commands.apply(
            resolve(sandbox, "dev", url=db_url),
            allow_drop={"experiments_v1.experiments.notes": None},
        )
    assert "pass --allow-drop system.connection_pool_settings.default" in str(refused.value)
    assert "--allow-drop experiments_v1.experiments.notes" not in str(refused.value)
    allowed = dict.fromkeys(
        ["experiments_v1.experiments.notes", "system.connection_pool_settings.default"]
    )
    applied = commands.apply(resolve(sandbox, "dev", url=db_url), allow_drop=allowed)
    assert applied == ["001_baseline (evolved)", "002c_system_tables (evolved)"]
    gone = conn.execute(
        "SELECT to_regclass('system.connection_pool_settings') IS NOT NULL,"
        " (SELECT count(*) FROM system.connection_pool_settings),"
        " (SELECT count(*) FROM information_schema.columns WHERE column_name = 'notes')"
    ).fetchone()
    assert gone == (True, 0, 0)
    assert commands.verify(resolve(sandbox, "dev", url=db_url)) == []
    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}
