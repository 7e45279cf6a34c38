"""The tables earlier parts create, as 002d's grants name them (rendering.relations)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fresh import Forker

from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all, render_part
from tmplmig.rendering.relations import table_of
from tmplmig.rendering.sqlfilters import RenderError


def test_a_table_step_gives_its_columns_and_which_sequences_inserts_use() -> None:
    apply = (
        'CREATE TABLE IF NOT EXISTS "app"."widgets" (\n'
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    n bigserial,\n"
        "    -- a comment\n"
        "    name text NOT NULL,\n"
        "    UNIQUE (name));"
    )
    table = table_of("app", "widgets", apply)
    assert table.qualified == '"app"."widgets"'
    assert table.columns == ("id", "n", "name")
    assert table.sequences == ('"app"."widgets_id_seq"', '"app"."widgets_n_seq"')
    assert table.used_sequences == ('"app"."widgets_n_seq"',)


def test_a_sequence_name_the_server_would_cut_is_refused() -> None:
    apply = f'CREATE TABLE IF NOT EXISTS "app"."{"t" * 50}" (\n    {"c" * 20} serial);'
    with pytest.raises(RenderError, match="cut to 63 bytes"):
        table_of("app", "t" * 50, apply)


@pytest.mark.parametrize("tenant", [None, "globex"])
def test_grants_name_every_table_the_earlier_parts_create_in_each_data_schema(
    project: Path, tenant: str | None
) -> None:
    config = load_config(project, "dev", tenant)
    parts = render_all(project, config)
    made = {
        (s.about[1], s.about[2])
        for p in parts
        if p.id < "002d"
        for s in p.steps
        if s.kind == "table"
    }
    grants = "\n".join(
        s.apply
        for p in parts
        if p.id.startswith("002d")
        for s in p.steps
        if s.kind == "privileges of"
    )
    schemas = config.settings.schemas
    data = {
        schemas.auth,
        schemas.experiments,
        schemas.production,
        schemas.providers,
        schemas.quarantine,
    }
    named = {(schema, table) for schema, table in made if schema in data}
    assert len(named) == 10  # 001 makes 11 tables; audit_log is granted on its own
    for schema, table in named:
        assert f'"{schema}"."{table}"' in grants
    # rendered alone, as yoyo's loader renders one part, 002d reads the same tables
    assert render_part(project, "002d_roles_grants", config).steps == parts[4].steps


#: renders prod in a new process; prints whether pglast was imported, then the SQL
RENDER = """
import sys
from pathlib import Path
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all
parts = render_all(Path(sys.argv[1]), load_config(Path(sys.argv[1]), "prod"))
print("pglast" in sys.modules)
print(repr([(s.name, s.apply, s.rollback) for p in parts for s in p.steps]))
"""


def render_in_new_process(fresh: Forker, project: Path, tmp: Path) -> tuple[str, str]:
    """(whether pglast was imported, the rendered steps) of a new process whose temporary
    folder, and so Jinja's cache directory, is ``tmp``."""
    [stdout] = fresh.run([(RENDER, [str(project)], {"TMPDIR": str(tmp)})])
    imported, steps = stdout.splitlines()
    return imported, steps


def test_a_column_list_is_parsed_once_and_read_back_by_later_processes(
    project: Path, tmp_path: Path, fresh: Forker
) -> None:
    first = render_in_new_process(fresh, project, tmp_path)
    second = render_in_new_process(fresh, project, tmp_path)
    assert first[0] == "True"
    assert second == ("False", first[1])


def test_a_damaged_column_cache_is_parsed_again(
    project: Path, tmp_path: Path, fresh: Forker
) -> None:
    _, steps = render_in_new_process(fresh, project, tmp_path)
    kept = sorted(tmp_path.glob("_jinja2-cache-*/__tmplmig_columns_*.json"))
    assert kept
    damaged = ["", "{", "[1, 2, 3]", '[["a"], ["b"], [3]]', '"abc"', '{"a": 1, "b": 2, "c": 3}']
    for index, path in enumerate(kept):
        path.write_text(damaged[index % len(damaged)])
    assert render_in_new_process(fresh, project, tmp_path) == ("True", steps)
