"""A scoped catalog read (the live side of a drift check) finds one tenant's objects, and
only those, among same-named objects of other tenants."""

from __future__ import annotations

from typing import Any

import psycopg

from tmplmig.database.catalog import Snapshot, snapshot

#: one tenant's objects, in a schema of its own: every kind the drift check compares
TENANT = """
CREATE SCHEMA {s};
CREATE DOMAIN {s}.positive AS int CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TABLE {s}.items (id int PRIMARY KEY, amount {s}.positive, note text DEFAULT 'n',
    CONSTRAINT items_note_check CHECK (note <> ''));
CREATE TABLE {s}.lines (id int PRIMARY KEY, item int REFERENCES {s}.items (id));
CREATE INDEX idx_lines_item ON {s}.lines (item);
CREATE FUNCTION {s}.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER items_touch BEFORE UPDATE ON {s}.items FOR EACH ROW EXECUTE FUNCTION {s}.touch();
GRANT SELECT (note) ON {s}.items TO PUBLIC;
"""


def _own(rows: Snapshot, schema: str) -> Snapshot:
    """The rows of ``rows`` that belong to ``schema`` (their first column names it)."""
    mine = {
        kind: frozenset(r for r in found if r[0] == schema or str(r[0]).startswith(schema + "."))
        for kind, found in rows.items()
        if kind not in ("roles", "default_privileges", "comments")
    }
    return {kind: found for kind, found in mine.items() if found}


def test_a_scoped_read_finds_exactly_one_tenants_rows_among_same_named_ones(
    conn: psycopg.Connection[Any],
) -> None:
    for schema in ("tenant_a", "tenant_b", "tenant_c"):
        conn.execute(TENANT.format(s=schema))
    every = snapshot(conn, bodies=True)
    expected = _own(every, "tenant_b")
    assert set(expected) >= {"schemas", "tables", "indexes", "constraints", "functions"}
    assert set(expected) >= {"triggers", "columns", "column_privileges"}
    assert any(r[1] == "-" for r in expected["constraints"])  # a domain's: no table
    assert snapshot(conn, bodies=True, like=expected) == expected


def test_a_scoped_read_lacks_what_was_dropped_and_spells_what_changed(
    conn: psycopg.Connection[Any],
) -> None:
    for schema in ("tenant_a", "tenant_b"):
        conn.execute(TENANT.format(s=schema))
    expected = _own(snapshot(conn, bodies=True), "tenant_b")
    conn.execute("DROP INDEX tenant_b.idx_lines_item")
    conn.execute("DROP TRIGGER items_touch ON tenant_b.items")
    conn.execute("ALTER TABLE tenant_b.items DROP CONSTRAINT items_note_check")
    conn.execute("ALTER DOMAIN tenant_b.positive DROP CONSTRAINT positive_check")
    conn.execute("REVOKE SELECT (note) ON tenant_b.items FROM PUBLIC")
    conn.execute(
        "CREATE OR REPLACE FUNCTION tenant_b.touch() RETURNS trigger LANGUAGE plpgsql"
        " AS $$BEGIN PERFORM 1; RETURN NEW; END$$"
    )
    live = snapshot(conn, bodies=True, like=expected)
    gone = {kind: expected[kind] - live.get(kind, frozenset()) for kind in expected}
    assert {r[1] for r in gone["indexes"]} == {"idx_lines_item"}
    assert {r[1] for r in gone["triggers"]} == {"items_touch"}
    assert {r[2] for r in gone["constraints"]} == {"items_note_check", "positive_check"}
    assert {r[2] for r in gone["column_privileges"]} == {"note"}
    assert {r[1] for r in gone["functions"]} == {"touch"}
    assert live["functions"] != expected["functions"]  # there, with another body
    now = _own(snapshot(conn, bodies=True), "tenant_b")
    assert all(live[kind] == now.get(kind, frozenset()) for kind in expected)
