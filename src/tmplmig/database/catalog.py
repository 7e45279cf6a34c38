"""Read what a database holds, as comparable sets, to prove applies and rollbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from tmplmig.database.runlock import GUARD, LOCK_TABLE
from tmplmig.database.schema_functions import functions
from tmplmig.rendering.identifiers import (
    RECORD_CONFIGS_TABLE,
    RECORD_STEPS_TABLE,
    TRACKING_PREFIX,
)

USER_SCHEMAS = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
#: yoyo's bookkeeping and tmplmig's record beside it (their tables, wherever they are, the
#: tenants' tracking schemas that hold them, and the guard on yoyo's lock) are not part of
#: what a migration creates or drops.
BOOKKEEPING = ", ".join(
    f"'{table}'"
    for table in (
        "_yoyo_log",
        "_yoyo_migration",
        "_yoyo_version",
        LOCK_TABLE,
        RECORD_STEPS_TABLE,
        RECORD_CONFIGS_TABLE,
    )
)
NOT_YOYO = (
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class y WHERE y.oid = {oid}"
    f" AND y.relname IN ({BOOKKEEPING}))"
)
NOT_TRACKING = f"NOT pg_catalog.starts_with(n.nspname, '{TRACKING_PREFIX}')"
#: by class and oid: pg_depend's index on both finds the row, where oid alone reads every row
NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
    " WHERE d.classid = {classid} AND d.objid = {oid} AND d.deptype = 'e')"
)
NOT_EXTENSION_FUNCTION = NOT_EXTENSION_MEMBER.format(
    classid="'pg_catalog.pg_proc'::regclass", oid="p.oid"
)

#: how a snapshot shows a function's body; ``snapshot(bodies=True)`` reads the text instead
BODY_MD5 = "pg_catalog.md5(p.prosrc)"

#: FirstNormalObjectId: objects below it (and their comments) come with PostgreSQL itself
FIRST_USER_OID = 16384

#: an ACL is read as PostgreSQL applies it: NULL (never granted) as the default it stands
#: for (``acldefault``), which a GRANT then a REVOKE leaves spelled out: a part rolled back
#: that had granted on a schema or table is no difference from one that never ran
QUERIES: dict[str, str] = {
    "schemas": f"""
        SELECT n.nspname, coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))::text
        FROM pg_catalog.pg_namespace n
        WHERE {USER_SCHEMAS} AND {NOT_TRACKING}""",
    "tables": f"""
        SELECT n.nspname, c.relname, c.relkind::text, coalesce(c.relacl, pg_catalog.acldefault(
            (CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {USER_SCHEMAS}
          AND {NOT_YOYO.format(oid="c.oid")}""",
    "column_privileges": f"""
        SELECT n.nspname, c.relname, a.attname, a.attacl::text
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attacl IS NOT NULL AND {USER_SCHEMAS} AND {NOT_YOYO.format(oid="c.oid")}""",
    "indexes": f"""
        SELECT n.nspname, c.relname, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisvalid
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND {NOT_YOYO.format(oid="i.indrelid")}""",
    "constraints": f"""
        SELECT n.nspname, co.conrelid::regclass::text, co.conname, co.contype::text,
               co.convalidated, pg_catalog.pg_get_constraintdef(co.oid)
        FROM pg_catalog.pg_constraint co
        JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace
        WHERE {USER_SCHEMAS} AND {NOT_YOYO.format(oid="co.conrelid")}""",
    "functions": f"""
        SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
               p.prosecdef, p.proconfig::text,
               coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))::text, {BODY_MD5}
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_FUNCTION}
          AND p.proname !~ '^{GUARD}(_[0-9a-f]{{12}})?$'""",
    "triggers": f"""
        SELECT t.tgrelid::regclass::text, t.tgname, t.tgenabled::text,
               pg_catalog.pg_get_triggerdef(t.oid)
        FROM pg_catalog.pg_trigger t
        WHERE NOT t.tgisinternal AND {NOT_YOYO.format(oid="t.tgrelid")}""",
    "roles": """
        SELECT r.rolname, r.rolcanlogin, r.rolsuper OR r.rolcreaterole OR r.rolcreatedb
                                          OR r.rolreplication OR r.rolbypassrls
        FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'""",
    "default_privileges": """
        SELECT pg_catalog.pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype::text,
               d.defaclacl::text
        FROM pg_catalog.pg_default_acl d
        LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
          AND {USER_SCHEMAS} AND {NOT_YOYO.format(oid="c.oid")}""",
    "comments": f"""
        SELECT pg_catalog.pg_describe_object(ds.classoid, ds.objoid, ds.objsubid), ds.description
        FROM pg_catalog.pg_description ds
        WHERE ds.classoid <> 'pg_catalog.pg_extension'::regclass
          AND {NOT_EXTENSION_MEMBER.format(classid="ds.classoid", oid="ds.objoid")}
          AND ds.objoid >= {FIRST_USER_OID}""",
}
#: snapshot kind -> (singular noun, names of the columns of its rows)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "schemas": ("schema", ("name", "acl")),
    "tables": ("table", ("schema", "name", "relkind", "acl")),
    "column_privileges": ("column", ("schema", "table", "name", "acl")),
    "indexes": ("index", ("schema", "name", "definition", "valid")),
    "constraints": ("constraint", ("schema", "table", "name", "type", "validated", "definition")),
    "functions": (
        "function",
        ("schema", "name", "arguments", "security definer", "settings", "acl", "body md5"),
    ),
    "triggers": ("trigger", ("table", "name", "enabled", "definition")),
    # a member of a role holding any of those may SET ROLE to it and act with them
    "roles": (
        "role",
        ("name", "can login", "holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS"),
    ),
    "default_privileges": ("default privileges", ("role", "schema", "object type", "acl")),
    "columns": ("column definition", ("schema", "table", "name", "type", "not null", "default")),
    "comments": ("comment on", ("object", "text")),
}
#: snapshot kind -> the columns that name one object (the rest describe it); verify matches
#: expected and live rows by these, the demo lists objects by them
KEY_COLUMNS: dict[str, tuple[int, ...]] = {
    "schemas": (0,),
    "tables": (0, 1),
    "column_privileges": (0, 1, 2),
    "indexes": (0, 1),
    "constraints": (1, 2),
    "functions": (0, 1, 2),
    "triggers": (0, 1),
    "roles": (0,),
    "default_privileges": (0, 1, 2),
    "columns": (0, 1, 2),
    "comments": (0,),
}

#: snapshot kind -> the columns ``snapshot(like=...)`` filters on: the first and the key
#: columns, but a constraint's relation as regclass text, which the server would spell out
#: for every constraint of that name in the database before the schema narrowed them
SCOPE_COLUMNS: dict[str, tuple[int, ...]] = {
    kind: tuple(sorted({0, *keys})) for kind, keys in KEY_COLUMNS.items()
} | {"constraints": (0, 2)}

Snapshot = dict[str, frozenset[tuple[Any, ...]]]
#: a scoped read's narrowing of a kind's query (appended to its WHERE) and its parameters
Narrowing = tuple[str, list[Any]]

_QUALIFIED = (
    " AND {oid} = ANY(ARRAY(SELECT pg_catalog.to_regclass("
    "pg_catalog.quote_ident(u.s) || '.' || pg_catalog.quote_ident(u.r))"
    # multi-argument unnest is syntax of FROM, not a pg_catalog function
    " FROM unnest(%s::text[], %s::text[]) AS u(s, r)))"
)
_SPELLED = (
    " AND {oid} = ANY(ARRAY(SELECT pg_catalog.to_regclass(r) FROM pg_catalog.unnest(%s::text[]) r))"
)
_NAMED = (
    " AND {alias}.oid = ANY(ARRAY(SELECT o.oid FROM pg_catalog.{table} o"
    " JOIN pg_catalog.pg_namespace s ON s.oid = o.{namespace}"
    " WHERE s.nspname = ANY(%s) AND o.{name} = ANY(%s)))"
)


def _relations(rows: frozenset[tuple[Any, ...]]) -> Narrowing:
    """Rows of the relations whose schema and name their first two columns hold."""
    pairs = sorted({(row[0], row[1]) for row in rows})
    return _QUALIFIED.format(oid="c.oid"), [[s for s, _ in pairs], [r for _, r in pairs]]


def _constraints(rows: frozenset[tuple[Any, ...]]) -> Narrowing:
    """Constraints of the tables their rows name (regclass text); a domain's (``-``: no
    table) by schema and name."""
    tables = sorted({row[1] for row in rows})
    if "-" not in tables:
        return _SPELLED.format(oid="co.conrelid"), [tables]
    named = _NAMED.format(
        alias="co", table="pg_constraint", namespace="connamespace", name="conname"
    )
    return named, [sorted({row[0] for row in rows}), sorted({row[2] for row in rows})]


#: the functions of the schemas and names of %s and %s, among the schemas' dependents
_FUNCTIONS = (
    " AND p.oid = ANY(ARRAY(SELECT f.oid FROM (SELECT s.oid FROM pg_catalog.pg_namespace s"
    " WHERE s.nspname = ANY(%s)) s CROSS JOIN (SELECT %s::pg_catalog.name[] AS names) w"
    f" CROSS JOIN LATERAL ({functions('= s.oid', '= ANY(w.names)')}) f))"
)


def _functions(rows: frozenset[tuple[Any, ...]]) -> Narrowing:
    """Rows of the functions named by their rows' schema and name
    (:mod:`~tmplmig.database.schema_functions`: not by name among every tenant's)."""
    return _FUNCTIONS, [sorted({row[0] for row in rows}), sorted({row[1] for row in rows})]


def _triggers(rows: frozenset[tuple[Any, ...]]) -> Narrowing:
    """Triggers of the tables their rows name (regclass text, which reads back the same)."""
    return _SPELLED.format(oid="t.tgrelid"), [sorted({row[0] for row in rows})]


#: snapshot kind -> what a scoped read adds to its query for the expected rows: the oids of
#: the very objects (or tables) they name, found by index before anything is spelled out.
#: Every tenant's tables share their names: without it a read would go through the rows of
#: that name in every schema, spelling each one's definition before dropping it.
NARROWINGS: dict[str, Callable[[frozenset[tuple[Any, ...]]], Narrowing]] = {
    "tables": _relations,
    "column_privileges": _relations,
    "indexes": _relations,
    "columns": _relations,
    "constraints": _constraints,
    "functions": _functions,
    "triggers": _triggers,
}


def object_name(kind: str, row: tuple[Any, ...]) -> str:
    """How a report names the object of a snapshot row of ``kind``."""
    if kind == "functions":
        return f"{row[0]}.{row[1]}({row[2]})"
    return ".".join(str(row[i]) for i in KEY_COLUMNS[kind])


def snapshot(
    conn: psycopg.Connection[Any], bodies: bool = False, like: Snapshot | None = None
) -> Snapshot:
    """Every user-visible schema object, grant and role, as sets of rows per kind.

    ``bodies`` reads each function's body text where its md5 would be. ``like`` narrows the
    read to the rows that may share a key with one of its rows (each of the kind's
    :data:`SCOPE_COLUMNS` among the values its rows hold there), and to the kinds it has rows
    of: one tenant's objects are then found through the catalog's indexes by what names them
    (:data:`NARROWINGS`), not among every tenant's, so the read costs the same in a database
    of one tenant or of thousands.
    """
    queries = _queries(bodies, like)
    with conn.pipeline():  # every query in one round trip
        cursors = {kind: conn.execute(query, params) for kind, (query, params) in queries.items()}
        return {
            kind: frozenset(tuple(row) for row in cur.fetchall()) for kind, cur in cursors.items()
        }


def _queries(bodies: bool, like: Snapshot | None) -> dict[str, tuple[str, list[Any]]]:
    """Each kind's query and its parameters (see :func:`snapshot`)."""
    queries: dict[str, tuple[str, list[Any]]] = {}
    for kind, query in QUERIES.items():
        if bodies and kind == "functions":
            query = query.replace(BODY_MD5, "p.prosrc")
        if like is None:
            queries[kind] = (query, [])
        elif like.get(kind):
            names = ", ".join(f"c{i}" for i in range(len(COLUMNS[kind][1])))
            where, values = [], []
            if kind in NARROWINGS:
                narrowing, values = NARROWINGS[kind](like[kind])
                query += narrowing
            for i in SCOPE_COLUMNS[kind]:
                held = {row[i] for row in like[kind]}
                null = f" OR q.c{i} IS NULL" if None in held else ""
                where.append(f"(q.c{i} = ANY(%s){null})")
                values.append(sorted(held - {None}))
            queries[kind] = (
                f"SELECT * FROM ({query}) AS q({names}) WHERE {' AND '.join(where)}",
                values,
            )
    return queries


def difference(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Rows added and removed per kind; empty when the two snapshots are the same."""
    out: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for kind in before.keys() | after.keys():
        added = sorted(after.get(kind, frozenset()) - before.get(kind, frozenset()), key=repr)
        removed = sorted(before.get(kind, frozenset()) - after.get(kind, frozenset()), key=repr)
        if added or removed:
            out[kind] = {"added": added, "removed": removed}
    return out
