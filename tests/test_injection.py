"""Hostile schema and role names: each is rejected with a located ConfigError, or rendered so
that the parsed SQL has exactly the shape the default names give, and applies for real."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pglast
import psycopg
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from support.yaml_edits import edit

from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import (
    ConfigError,
    LoadedConfig,
    Settings,
    config_files,
    merge_layers,
    validate,
)
from tmplmig.rendering.parts import render_all
from tmplmig.reviewing.bundle import GUARD_GSET, bundle_contents

SCHEMA_KEYS = ("auth", "experiments", "production", "audits", "providers", "quarantine", "system")
ROLE_KEYS = ("readonly", "readwrite", "admin")
FRAGMENTS = (
    "'", '"', ";", "$$", "$body$", "$body1$", "$x$", "--", "/*", "*/", "\\", "\\'", "E'",
    "é", "名", "🦄", "\u2028", "\x00", "\n", "\r", " ", "DROP TABLE auth.users", "pg_",
    "public", "%s", "{{", "}}", "{%", "\ufeff", "\u202e",
)  # fmt: skip

hostile_names = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), min_size=1, max_size=8
    ).map("".join),
    st.builds(  # around the 63-byte limit, with one- to four-byte characters
        lambda ch, n, tail: ch * n + tail,
        st.sampled_from(["a", "'", '"', "$", "é", "€", "🦄"]),
        st.integers(min_value=14, max_value=64),
        st.sampled_from(["", "'", "$", ";--"]),
    ),
)
#: the merged dev config, which file set each key, and the layer files
Layers = tuple[dict[str, Any], Any, list[Path]]


#: a node type of a JSON parse tree: a key that starts upper case (field names are lower
#: case); a quote inside a string is escaped, so no name or literal matches
NODE_TYPE = re.compile(r'(?<!\\)"([A-Z][A-Za-z_0-9]*)":')


def _node_types(tree_json: str) -> list[str]:
    """Node type names of a JSON parse tree in document order; names and literals are values."""
    return NODE_TYPE.findall(tree_json)


def as_sql(text: str) -> str:
    """A bundle file as the server sees it: each guard query ends where psql's ``\\gset``
    sends it, the other psql meta-commands are not SQL."""
    lines = [";" if line == GUARD_GSET else line for line in text.split("\n")]
    return "\n".join("" if line.startswith("\\") else line for line in lines)


def sql_shape(text: str) -> list[str]:
    """Statement kinds and the whole parse tree's node types, PL/pgSQL bodies included."""
    text = as_sql(text)
    statements = pglast.parser.parse_sql_json(text)
    plpgsql = pglast.parser.parse_plpgsql_json(text)
    return [*_node_types(statements), "|plpgsql|", *_node_types(plpgsql)]


def bundle_shape(config: LoadedConfig, project: Path) -> dict[str, list[str]]:
    """The shape of every psql file of the review bundle: every apply and rollback step."""
    files = bundle_contents(render_all(project, config), config)
    # keyed without the extension, which does not depend on names
    return {Path(name).stem: sql_shape(text) for name, text in files.items() if name != "MANIFEST"}


@pytest.fixture
def dev_layers(project: Path) -> Layers:
    """The dev layers read once; each example edits a copy in memory."""
    files = config_files(project, "dev")
    data, origin = merge_layers([(f, yaml.safe_load(f.read_text())) for f in files])
    return data, origin, files


def with_name(layers: Layers, section: str, key: str, name: str) -> LoadedConfig:
    """The dev settings with one name replaced, validated as load_config validates them."""
    data, origin, files = layers
    changed = copy.deepcopy(data)
    changed[section][key] = name
    settings_: Settings = validate(changed, origin, files[-1])
    return LoadedConfig(settings=settings_, files=tuple(files), env="dev")


#: the fragments a name may not hold: control and invisible characters (the rest render)
REFUSED_FRAGMENTS = frozenset({"\u2028", "\x00", "\n", "\r", "\ufeff", "\u202e"})
TARGETS = [("schemas", k) for k in SCHEMA_KEYS] + [("roles", k) for k in ROLE_KEYS]


def test_hostile_names_are_rejected_or_leave_the_sql_shape_unchanged(
    project: Path, dev_layers: Layers
) -> None:
    """Every fragment, inside a plain name (each on its own key, the same every run), and
    Hypothesis's mixes of them: a name is refused with its file and key path, or the bundle
    it renders parses to the shape the default names give."""
    data, _, files = dev_layers
    default = bundle_shape(with_name(dev_layers, "roles", "admin", data["roles"]["admin"]), project)
    statements = sum(s.index("|plpgsql|") for s in default.values())
    assert statements > 300  # the shape covers every statement of every file

    def rendered(target: tuple[str, str], name: str) -> bool:
        """Whether ``name`` at ``target`` renders (to the default shape) rather than being
        refused."""
        section, key = target
        try:
            config = with_name(dev_layers, section, key, name)
        except ConfigError as err:
            assert err.key_path[:1] == (section,) and err.problem
            assert err.file in {str(f) for f in files}
            return False
        assert bundle_shape(config, project) == default, f"{section}.{key} = {name!r}"
        return True

    def refused(target: tuple[str, str], name: str) -> bool:
        try:
            with_name(dev_layers, *target, name)
        except ConfigError:
            return True
        return False

    found = {f for i, f in enumerate(FRAGMENTS) if refused(TARGETS[i % len(TARGETS)], f"t{f}x")}
    assert found == REFUSED_FRAGMENTS
    accepted = [f for f in FRAGMENTS if f not in REFUSED_FRAGMENTS]
    for i in range(0, len(accepted), 4):  # each accepted fragment rendered, four to a name
        assert rendered(TARGETS[i % len(TARGETS)], "t" + "x".join(accepted[i : i + 4]))

    @settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(target=st.sampled_from(TARGETS), name=hostile_names)
    def rejected_or_same_shape(target: tuple[str, str], name: str) -> None:
        rendered(target, name)

    rejected_or_same_shape()


@pytest.mark.parametrize(
    "name",
    ["bad\x00name", "line\nbreak", "carriage\rreturn", "x" * 64, "é" * 32, "pg_hidden", ""],
)
def test_names_that_cannot_be_kept_exactly_are_rejected_with_their_key_path(
    dev_layers: Layers, name: str
) -> None:
    for section, key in [("schemas", "audits"), ("roles", "readwrite")]:
        with pytest.raises(ConfigError) as caught:
            with_name(dev_layers, section, key, name)
        assert caught.value.key_path == (section, key)


HOSTILE_CASES = {
    "quotes and comments": (
        ["'; DROP SCHEMA auth CASCADE; --", 'Robert"); DROP TABLE x;--', "/* open", "a--b",
         "back\\slash\\'", "semi;colon", "UPPER case"],
        ["r'; DROP ROLE postgres; --", 'q"uote', "/* role */"],
    ),
    "dollar quotes, unicode and 63 bytes": (
        ["$$", "$body$", "$body1$ $x$", "名前", "🦄" * 15 + "abc", "é" * 31 + "a", "$1"],
        ["$$ role $$", "é" * 31 + "r", "\u0440\u043e\u0301\u043b\u044c"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_hostile_names_apply_work_and_roll_back_on_the_server(
    case: str, sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    schema_names, role_names = HOSTILE_CASES[case]
    schemas = dict(zip(SCHEMA_KEYS, schema_names, strict=True))
    roles = dict(zip(ROLE_KEYS, role_names, strict=True))
    edit(sandbox / "config/dev.yaml", lambda d: d.update(schemas=schemas, roles=roles))
    before = snapshot(conn)

    commands.apply(resolve(sandbox, "dev", url=db_url))
    present = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
    assert set(schemas.values()) <= present
    created = conn.execute(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)"
        " AND shobj_description(oid, 'pg_authid') = 'created by tmplmig'",
        (list(roles.values()),),
    )
    assert {r[0] for r in created} == set(roles.values())
    users = sql.Identifier(schemas["auth"], "users")
    conn.execute(sql.SQL("INSERT INTO {} (email, password_hash) VALUES ('h@x', 's')").format(users))
    audit = conn.execute(
        sql.SQL("SELECT table_schema, new_row ->> 'password_hash' FROM {}").format(
            sql.Identifier(schemas["audits"], "audit_log")
        )
    )
    assert audit.fetchall() == [(schemas["auth"], "***")]
    can_read = conn.execute(
        "SELECT has_column_privilege(%(r)s, %(t)s, 'email', 'SELECT'),"
        " has_column_privilege(%(r)s, %(t)s, 'password_hash', 'SELECT')",
        {"r": roles["readonly"], "t": users.as_string(conn)},
    )
    assert can_read.fetchone() == (True, False)
    purge = sql.Identifier(schemas["system"], "purge_expired")
    assert len(conn.execute(sql.SQL("SELECT * FROM {}(10)").format(purge)).fetchall()) == 6

    commands.rollback(resolve(sandbox, "dev", url=db_url))
    assert difference(before, snapshot(conn)) == {}
