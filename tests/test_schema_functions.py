"""A schema's functions are found by name among its dependents, never among every tenant's
function of that name; a pinned schema's (no dependents recorded) by name."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tmplmig.database import catalog
from tmplmig.database.schema_functions import functions

#: one tenant's functions: overloads of one name, another name, and a table beside them
TENANT = """
CREATE SCHEMA {s};
CREATE TABLE {s}.items (id int);
CREATE FUNCTION {s}.encrypt_data(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION {s}.encrypt_data(text) RETURNS text LANGUAGE sql AS 'SELECT $1';
CREATE FUNCTION {s}.purge_expired() RETURNS int LANGUAGE sql AS 'SELECT 1';
"""

FOUND = f"""SELECT pg_catalog.array_agg(f.oid ORDER BY f.oid) FROM (SELECT n.oid
    FROM pg_catalog.pg_namespace n WHERE n.nspname = %(s)s) n
    CROSS JOIN LATERAL ({functions("= n.oid", "= %(f)s")}) f"""
#: what it must find: pg_proc read by schema and name, whatever it costs
TRUTH = """SELECT pg_catalog.array_agg(p.oid ORDER BY p.oid) FROM pg_catalog.pg_proc p
    WHERE p.pronamespace = pg_catalog.to_regnamespace(%(s)s) AND p.proname = %(f)s"""


def _scanned_indexes(conn: psycopg.Connection[Any], schema: str, name: str) -> set[str]:
    """The indexes the lookup of ``schema``'s ``name`` read, by EXPLAIN ANALYZE."""
    (plan,) = conn.execute(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + FOUND, {"s": schema, "f": name}
    ).fetchone()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    read: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("Actual Loops", 0) > 0 and "Index Name" in node:
            read.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return read


def test_each_schemas_functions_are_found_as_pg_proc_holds_them(
    conn: psycopg.Connection[Any],
) -> None:
    for schema in ("tenant_a", "tenant_b", "tenant_c"):
        conn.execute(TENANT.format(s=schema))
    conn.execute("CREATE SCHEMA empty")
    conn.execute("CREATE FUNCTION public.encrypt_data(int) RETURNS int LANGUAGE sql AS 'SELECT 1'")
    asked = [
        (s, f)
        for s in ("tenant_a", "tenant_b", "tenant_c", "empty", "public")
        for f in ("encrypt_data", "purge_expired", "items", "missing")
    ]
    asked += [("pg_catalog", "now"), ("pg_catalog", "lower"), ("pg_catalog", "encrypt_data")]
    for schema, name in asked:
        found = conn.execute(FOUND, {"s": schema, "f": name}).fetchone()
        truth = conn.execute(TRUTH, {"s": schema, "f": name}).fetchone()
        assert found == truth, (schema, name)
    counts = {
        s: len(conn.execute(FOUND, {"s": s, "f": "encrypt_data"}).fetchone()[0] or [])
        for s in ("tenant_b", "public", "empty")
    }
    assert counts == {"tenant_b": 2, "public": 1, "empty": 0}
    assert conn.execute(FOUND, {"s": "pg_catalog", "f": "now"}).fetchone()[0]


def test_a_tenants_function_is_found_without_reading_the_index_on_names(
    conn: psycopg.Connection[Any],
) -> None:
    for schema in ("tenant_a", "tenant_b"):
        conn.execute(TENANT.format(s=schema))
    tenant = _scanned_indexes(conn, "tenant_b", "encrypt_data")
    assert "pg_depend_reference_index" in tenant
    assert "pg_proc_proname_args_nsp_index" not in tenant
    pinned = _scanned_indexes(conn, "pg_catalog", "now")  # no dependents: read by name
    assert "pg_proc_proname_args_nsp_index" in pinned


def test_the_scoped_catalog_read_finds_the_tenants_functions_and_no_others(
    conn: psycopg.Connection[Any],
) -> None:
    """Its own aliases (``s``) beside the fragment's: each must name its own table."""
    for schema in ("tenant_a", "tenant_b"):
        conn.execute(TENANT.format(s=schema))
    narrowed = "SELECT p.oid FROM pg_catalog.pg_proc p WHERE true" + catalog._FUNCTIONS
    names = ["encrypt_data", "lower", "now"]  # pg_catalog has the last two
    found = {oid for (oid,) in conn.execute(narrowed, [["tenant_b"], names])}
    truth = conn.execute(
        "SELECT pg_catalog.array_agg(oid) FROM pg_catalog.pg_proc"
        " WHERE pronamespace = 'tenant_b'::regnamespace AND proname = ANY(%s)",
        [names],
    ).fetchone()
    assert found == set(truth[0]) and len(found) == 2
