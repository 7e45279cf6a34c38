"""Which recorded objects the live catalog still holds: one query, no scratch database.

The record names what each applied step created (:mod:`tmplmig.rendering.facts`); asking the
catalog for each by kind and name is what lets ``status`` notice a part whose objects are gone
(a rollback run by hand with psql) and ``mark --rolled-back`` check that they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from tmplmig.database.schema_functions import functions
from tmplmig.rendering.facts import DbObject

#: seeded rows are data, not catalog objects: a presence check leaves them out
CHECKED_KINDS = frozenset(
    {"schema", "table", "view", "index", "constraint", "trigger", "column", "function", "role"}
    | {"extension"}
)

#: the function of row ``o``, among its schema's dependents (not by name among every tenant's)
_FUNCTION = functions("= pg_catalog.to_regnamespace(pg_catalog.quote_ident(o.schema))", "= o.name")
#: whether the object of row ``o`` (columns ``kind``, ``schema``, ``name``, ``own``: its
#: quoted ``schema.name``, ``rel``: the quoted ``schema.table`` it belongs to) exists now
PRESENT = f"""CASE o.kind
    WHEN 'schema' THEN EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = o.name)
    WHEN 'role' THEN EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = o.name)
    WHEN 'extension' THEN EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = o.name)
    WHEN 'function' THEN EXISTS ({_FUNCTION})
    WHEN 'constraint' THEN EXISTS (
        SELECT FROM pg_catalog.pg_constraint
        WHERE conrelid = pg_catalog.to_regclass(o.rel) AND conname = o.name)
    WHEN 'trigger' THEN EXISTS (
        SELECT FROM pg_catalog.pg_trigger
        WHERE tgrelid = pg_catalog.to_regclass(o.rel) AND tgname = o.name AND NOT tgisinternal)
    WHEN 'column' THEN EXISTS (
        SELECT FROM pg_catalog.pg_attribute
        WHERE attrelid = pg_catalog.to_regclass(o.rel) AND attname = o.name AND attnum > 0
          AND NOT attisdropped)
    ELSE pg_catalog.to_regclass(o.own) IS NOT NULL
END"""
#: the quoted names :data:`PRESENT` reads, from columns ``schema``, ``name`` and ``tab``
QUOTED_NAMES = """pg_catalog.quote_ident(schema) || '.' || pg_catalog.quote_ident(name) AS own,
        pg_catalog.quote_ident(schema) || '.' || pg_catalog.quote_ident(tab) AS rel"""

_PRESENT = f"""
SELECT o.i, {PRESENT}
FROM (
    SELECT i, kind, name, schema, {QUOTED_NAMES}
    -- multi-argument unnest is syntax of FROM, not a pg_catalog function
    FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[], %s::text[])
        AS t(i, kind, schema, name, tab)
) o
"""


def checked(objects: Iterable[DbObject]) -> list[DbObject]:
    """The objects of ``objects`` a presence check asks about (catalog kinds), sorted."""
    return sorted({o for o in objects if o.kind in CHECKED_KINDS})


def present(conn: psycopg.Connection[Any], objects: Iterable[DbObject]) -> dict[DbObject, bool]:
    """Whether each object of a kind the catalog tracks exists now (rows are left out)."""
    asked = checked(objects)
    if not asked:
        return {}
    rows = conn.execute(
        _PRESENT,
        (
            list(range(len(asked))),
            [o.kind for o in asked],
            [o.schema for o in asked],
            [o.name for o in asked],
            [o.table for o in asked],
        ),
    ).fetchall()
    return {asked[i]: bool(found) for i, found in rows}


def missing(conn: psycopg.Connection[Any], objects: Iterable[DbObject]) -> list[DbObject]:
    """The objects of ``objects`` the catalog lacks, sorted."""
    return sorted(o for o, found in present(conn, objects).items() if not found)
