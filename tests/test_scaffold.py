"""``tmplmig new`` and the README's "Writing a new migration", followed step by step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import ALL_PARTS, PROJECT

from tmplmig import cli
from tmplmig.database.catalog import snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.scaffold import next_part_id
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.reviewing.bundle import MANIFEST

SECTION = "## Writing a new migration"


def readme_block(language: str, index: int = 0) -> str:
    """The ``index``-th fenced block in ``language`` of the README's walkthrough section."""
    text = (PROJECT / "README.md").read_text()
    section = text[text.index(SECTION) :].split("\n## ", 2)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)[index]


def files(project: Path) -> set[Path]:
    return {p for folder in ("migrations", "templates") for p in (project / folder).iterdir()}


def test_the_next_id_after_002e_is_003(project: Path) -> None:
    assert next_part_id(project / "templates", "add_widgets") == "003_add_widgets"


def test_new_writes_the_migration_and_a_template_depending_on_the_latest_part(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--project", str(sandbox), "new", "add_widgets"]) == 0
    written = capsys.readouterr().out.split()
    assert written == [
        str(sandbox / "migrations/003_add_widgets.py"),
        str(sandbox / "templates/003_add_widgets.sql.j2"),
    ]
    template = (sandbox / "templates/003_add_widgets.sql.j2").read_text()
    assert '{% set depends = ["002e_functions"] %}' in template
    assert "{% set transactional = true %}" in template
    assert "m.index(schema=" in template and "docs/macros.md" in template
    [part] = [
        p for p in commands.render(for_rendering(sandbox, "dev")) if p.id == "003_add_widgets"
    ]
    assert part.depends == ("002e_functions",) and part.steps == ()


def test_new_with_options_writes_a_non_transactional_part_after_the_given_one(
    sandbox: Path,
) -> None:
    commands.new(sandbox, "backfill", transactional=False, depends="002c_system_tables")
    template = (sandbox / "templates/003_backfill.sql.j2").read_text()
    assert "{% set transactional = false %}" in template
    assert '{% set depends = ["002c_system_tables"] %}' in template


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["new", "indexes"], "a part named 'indexes' exists: templates/002a_indexes.sql.j2"),
        (["new", "Add-Widgets"], "'Add-Widgets' is not a valid part name"),
        (["new", "3_widgets"], "'3_widgets' is not a valid part name"),
        (["new", "widgets", "--depends", "002z_nothing"], "--depends '002z_nothing': no such part"),
    ],
)
def test_new_refuses_a_bad_name_with_one_error_and_writes_nothing(
    sandbox: Path, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    before = files(sandbox)
    assert cli.main(["--project", str(sandbox), *argv]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"tmplmig: error: {error}")
    assert files(sandbox) == before


def test_the_readme_walkthrough_lints_applies_rolls_back_exactly_and_is_in_the_bundle(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ALL_PARTS
    before = snapshot(conn)
    command = readme_block("bash", 0).split("#")[0].split()
    assert command[:2] == ["tmplmig", "new"]
    assert cli.main(["--project", str(sandbox), *command[1:]]) == 0
    template = sandbox / "templates/003_add_widgets.sql.j2"
    template.write_text(template.read_text() + readme_block("jinja"))

    targets = [
        f"{env}{tenant}"
        for env in ("dev", "prod", "staging")
        for tenant in ("", ":acme", ":globex")
    ]
    assert commands.lint_envs(sandbox) == {target: [] for target in targets}
    assert commands.apply(resolve(sandbox, "dev", url=db_url)) == ["003_add_widgets"]
    made = conn.execute(
        "SELECT to_regclass('production.widgets'), to_regclass('production.idx_widgets_project'),"
        " (SELECT convalidated FROM pg_constraint WHERE conname = 'fk_widgets_project')"
    ).fetchone()
    assert made == ("production.widgets", "production.idx_widgets_project", True)
    assert commands.rollback(resolve(sandbox, "dev", url=db_url), part="003_add_widgets") == [
        "003_add_widgets"
    ]
    assert snapshot(conn) == before

    bundle = commands.render_bundle(for_rendering(sandbox, "prod"))
    [apply_file] = [n for n in bundle if n.startswith("003_add_widgets.") and "rollback" not in n]
    assert 'CREATE TABLE IF NOT EXISTS "production"."widgets"' in bundle[apply_file]
    assert apply_file in bundle[MANIFEST]


def test_the_scaffolds_examples_take_schemas_from_config_as_the_readme_does(
    sandbox: Path,
) -> None:
    (template,) = (p for p in commands.new(sandbox, "add_widgets") if p.suffix == ".j2")
    text = template.read_text()
    assert 'schema="app"' not in text and "schema=s.production" in text
    assert "sensitive_columns hidden" in text and "squawk-ignore" in text
