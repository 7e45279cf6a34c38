"""Which transaction wrote each catalog row a tenant's drift check compares: one cheap read.

A drift check compares values the server spells out (:data:`catalog.QUERIES`: index and
constraint definitions, function bodies, ACLs), which costs a few milliseconds a tenant. What
it compares is a function of catalog rows: the objects' own rows, and the rows of what they
name (a table's columns in an index definition, a referenced table in a foreign key, a type in
a column). Each of those rows is one version, written by one transaction: its ``xmin``. So a
digest of *which versions* hold the objects (:func:`digests`), read in the same snapshot as the
values a passing check compared, vouches for those values for as long as it reads the same:

- every DDL, GRANT, REVOKE, COMMENT or ``ALTER`` writes a new version of the rows it changes
  (a new ``xmin``); a dropped object's rows are gone; an object made anew has a new ``oid``;
- the ``pg_index`` flags ``index_set_state_flags`` updates in place (an interrupted ``DROP INDEX
  CONCURRENTLY``), keeping the ``xmin``, are read as values, as are ACLs (they print role names,
  which a rename elsewhere changes) and roles' attributes (``pg_roles`` shows no ``xmin``);
- what an object names is followed through ``pg_depend`` to that row's version and its
  schema's: a referenced table renamed, or its schema, changes the digest. A reference to a
  kind of object this read cannot follow makes the digest None (nothing is vouched for);
- freezing keeps a row's raw ``xmin`` (PostgreSQL 9.4 on), and autovacuum's in-place updates of
  ``pg_class`` touch no column a check compares; a table rewritten by hand (``VACUUM FULL``,
  ``CLUSTER``) gets a new version: a false "changed" only costs the values' read.

The read covers more than the values' (every column of a table, every trigger, every comment
of its objects), so it may say "changed" where the values did not: never the other way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from tmplmig.database.schema_functions import functions
from tmplmig.rendering.identifiers import RECORD_CONFIGS_TABLE, RECORD_STEPS_TABLE

if TYPE_CHECKING:  # the catalog module loads yoyo's lock: not for the verbs that only read
    from tmplmig.database.catalog import Snapshot

#: the kinds of object a reference is followed to: catalog, and its schema column
_FOLLOWED = {
    "pg_proc": "pronamespace",
    "pg_type": "typnamespace",
    "pg_constraint": "connamespace",
    "pg_collation": "collnamespace",
    "pg_opclass": "opcnamespace",
    "pg_extension": "extnamespace",
}
#: the version of a row an object names (pg_depend's ``refclassid``, ``refobjid``), with its
#: schema's (and the column's, for a column); NULL for a kind of object not followed
_REFERENCED = (
    """CASE d.refclassid
    WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN (
        SELECT pg_catalog.concat_ws('/', c.xmin, n.xmin, (
            SELECT a.xmin FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum = d.refobjsubid AND d.refobjsubid <> 0))
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = d.refobjid)
    WHEN 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN (
        SELECT n.xmin::text FROM pg_catalog.pg_namespace n WHERE n.oid = d.refobjid)"""
    + "".join(
        f"""
    WHEN 'pg_catalog.{table}'::pg_catalog.regclass THEN (
        SELECT pg_catalog.concat_ws('/', o.xmin, n.xmin) FROM pg_catalog.{table} o
        JOIN pg_catalog.pg_namespace n ON n.oid = o.{schema} WHERE o.oid = d.refobjid)"""
        for table, schema in _FOLLOWED.items()
    )
    + """
    END"""
)

#: per tenant (``t``) of a batch, the digest of its rows' versions, and whether one of its
#: objects names a kind of object not followed (then nothing is vouched for). Its schemas,
#: relations (by schema and name, or spelled as regclass text), functions (by schema and
#: name, among the schema's dependents: :mod:`~tmplmig.database.schema_functions`) and roles
#: come as parallel arrays. Every row is looked up through a catalog index
#: (LATERAL: whatever the planner estimates, the catalogs grow with the tenants); what its
#: objects name among themselves is in the digest already, so only what they name outside
#: (a type, another schema's table or function) is followed
VERSIONS = f"""WITH
sch AS (SELECT u.t, n.oid FROM (SELECT (e->>0)::int AS t, e->>1 AS name
        FROM pg_catalog.jsonb_array_elements(%(s)s::jsonb) e) u
        CROSS JOIN LATERAL (SELECT n.oid FROM pg_catalog.pg_namespace n
                            WHERE n.nspname = u.name OFFSET 0) n),
rel AS (SELECT DISTINCT u.t, u.oid FROM (
            SELECT u.t, pg_catalog.to_regclass(pg_catalog.quote_ident(u.s) || '.'
                || pg_catalog.quote_ident(u.r))::oid AS oid
            FROM (SELECT (e->>0)::int AS t, e->>1 AS s, e->>2 AS r
                  FROM pg_catalog.jsonb_array_elements(%(r)s::jsonb) e) u
            UNION ALL SELECT (e->>0)::int, pg_catalog.to_regclass(e->>1)::oid
            FROM pg_catalog.jsonb_array_elements(%(v)s::jsonb) e
        ) u WHERE u.oid IS NOT NULL),
pro AS (SELECT u.t, p.oid FROM (SELECT (e->>0)::int AS t, e->>1 AS s, e->>2 AS f
        FROM pg_catalog.jsonb_array_elements(%(f)s::jsonb) e) u
        CROSS JOIN LATERAL (SELECT n.oid FROM pg_catalog.pg_namespace n
                            WHERE n.nspname = u.s OFFSET 0) n
        CROSS JOIN LATERAL (SELECT p.oid FROM ({functions("= n.oid", "= u.f")}) p OFFSET 0) p),
rol AS (SELECT u.t, r.oid, r.rolname, r.rolcanlogin, r.rolsuper OR r.rolcreaterole
            OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS attributes
        FROM (SELECT (e->>0)::int AS t, e->>1 AS name
              FROM pg_catalog.jsonb_array_elements(%(o)s::jsonb) e) u
        CROSS JOIN LATERAL (
            SELECT * FROM pg_catalog.pg_roles r WHERE r.rolname = u.name OFFSET 0) r),
con AS (SELECT rel.t, co.oid, co.xmin FROM rel CROSS JOIN LATERAL (
            SELECT co.oid, co.xmin FROM pg_catalog.pg_constraint co
            WHERE co.conrelid = rel.oid OFFSET 0) co),
trg AS (SELECT rel.t, tg.oid, tg.xmin FROM rel CROSS JOIN LATERAL (
            SELECT tg.oid, tg.xmin FROM pg_catalog.pg_trigger tg
            WHERE tg.tgrelid = rel.oid OFFSET 0) tg),
def AS (SELECT rel.t, ad.oid, ad.xmin FROM rel CROSS JOIN LATERAL (
            SELECT ad.oid, ad.xmin FROM pg_catalog.pg_attrdef ad
            WHERE ad.adrelid = rel.oid OFFSET 0) ad),
obj AS (SELECT t, 'pg_catalog.pg_namespace'::pg_catalog.regclass::oid AS cls, oid FROM sch
    UNION ALL SELECT t, 'pg_catalog.pg_class'::pg_catalog.regclass::oid, oid FROM rel
    UNION ALL SELECT t, 'pg_catalog.pg_proc'::pg_catalog.regclass::oid, oid FROM pro
    UNION ALL SELECT t, 'pg_catalog.pg_constraint'::pg_catalog.regclass::oid, oid FROM con
    UNION ALL SELECT t, 'pg_catalog.pg_trigger'::pg_catalog.regclass::oid, oid FROM trg
    UNION ALL SELECT t, 'pg_catalog.pg_attrdef'::pg_catalog.regclass::oid, oid FROM def),
named AS (SELECT obj.t, d.refclassid, d.refobjid, d.refobjsubid
    FROM obj CROSS JOIN LATERAL (SELECT d.refclassid, d.refobjid, d.refobjsubid
        FROM pg_catalog.pg_depend d
        WHERE d.classid = obj.cls AND d.objid = obj.oid AND d.refobjid >= 16384 OFFSET 0) d),
outside AS (SELECT named.* FROM named JOIN (SELECT t, refclassid, refobjid FROM named
    EXCEPT SELECT t, cls, oid FROM obj) x USING (t, refclassid, refobjid)),
line AS (
    SELECT sch.t, pg_catalog.concat_ws(' ', 'n', n.oid, n.xmin,
        coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) AS line, false AS blind
    FROM sch CROSS JOIN LATERAL (SELECT n.oid, n.xmin, n.nspacl, n.nspowner
        FROM pg_catalog.pg_namespace n WHERE n.oid = sch.oid OFFSET 0) n
    UNION ALL SELECT rel.t, pg_catalog.concat_ws(' ', 'c', c.oid, c.xmin, coalesce(c.relacl,
        pg_catalog.acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char",
        c.relowner))), false
    FROM rel CROSS JOIN LATERAL (SELECT c.oid, c.xmin, c.relacl, c.relkind,
        c.relowner FROM pg_catalog.pg_class c WHERE c.oid = rel.oid OFFSET 0) c
    UNION ALL SELECT rel.t, pg_catalog.concat_ws(' ', 'i', i.indexrelid, i.xmin, i.indisvalid,
        i.indisready, i.indislive), false
    FROM rel CROSS JOIN LATERAL (SELECT i.indexrelid, i.xmin, i.indisvalid, i.indisready,
                                 i.indislive FROM pg_catalog.pg_index i
                                 WHERE i.indexrelid = rel.oid OFFSET 0) i
    UNION ALL SELECT rel.t, pg_catalog.concat_ws(' ', 'a', a.attrelid, a.attnum, a.xmin,
        a.attacl), false
    FROM rel CROSS JOIN LATERAL (SELECT a.attrelid, a.attnum, a.xmin, a.attacl
                                 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = rel.oid AND a.attnum > 0 OFFSET 0) a
    -- an index's own columns: its definition spells its table's (followed as what it names)
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indexrelid = rel.oid)
    UNION ALL SELECT pro.t, pg_catalog.concat_ws(' ', 'p', p.oid, p.xmin,
        coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))), false
    FROM pro CROSS JOIN LATERAL (SELECT p.oid, p.xmin, p.proacl, p.proowner
        FROM pg_catalog.pg_proc p WHERE p.oid = pro.oid OFFSET 0) p
    UNION ALL SELECT t, pg_catalog.concat_ws(' ', 'k', oid, xmin), false FROM con
    UNION ALL SELECT t, pg_catalog.concat_ws(' ', 't', oid, xmin), false FROM trg
    UNION ALL SELECT t, pg_catalog.concat_ws(' ', 'd', oid, xmin), false FROM def
    UNION ALL SELECT rol.t, pg_catalog.concat_ws(' ', 'r', rol.rolname, rol.rolcanlogin,
        rol.attributes), false
    FROM rol
    UNION ALL SELECT rol.t, pg_catalog.concat_ws(' ', 'da', da.oid, da.xmin, da.defaclacl), false
    FROM rol CROSS JOIN LATERAL (SELECT da.oid, da.xmin, da.defaclacl
                                 FROM pg_catalog.pg_default_acl da
                                 WHERE da.defaclrole = rol.oid OFFSET 0) da
    UNION ALL SELECT obj.t, pg_catalog.concat_ws(' ', 'ds', ds.classoid, ds.objoid, ds.objsubid,
        ds.xmin), false
    FROM obj CROSS JOIN LATERAL (SELECT ds.classoid, ds.objoid, ds.objsubid, ds.xmin
                                 FROM pg_catalog.pg_description ds
                                 WHERE ds.objoid = obj.oid AND ds.classoid = obj.cls OFFSET 0) ds
    WHERE obj.t IN (SELECT x::int FROM pg_catalog.jsonb_array_elements_text(%(c)s::jsonb) x)
    UNION ALL SELECT d.t, pg_catalog.concat_ws(' ', 'ref', d.refclassid, d.refobjid,
        d.refobjsubid, r.version), r.version IS NULL
    FROM outside d CROSS JOIN LATERAL (SELECT {_REFERENCED} AS version) r
)
SELECT t, pg_catalog.md5(pg_catalog.string_agg(line, E'\\n' ORDER BY line COLLATE "C")),
    bool_or(blind)
FROM line GROUP BY t"""


@dataclass(frozen=True)
class Names:
    """What one tenant's check compares, by name: the rows :data:`VERSIONS` reads."""

    schemas: frozenset[str] = frozenset()
    relations: frozenset[tuple[str, str]] = frozenset()
    spelled: frozenset[str] = frozenset()  # relations as regclass text
    functions: frozenset[tuple[str, str]] = frozenset()
    roles: frozenset[str] = frozenset()
    #: whether the check compares comments (then those of its objects are read too)
    comments: bool = False

    def renamed(self, old: str, new: str) -> Names:
        """These names with ``old`` replaced by ``new`` in each (a prefix, marked)."""

        def each(names: frozenset[Any]) -> frozenset[Any]:
            if not old:
                return names
            return frozenset(
                tuple(n.replace(old, new) for n in name)
                if isinstance(name, tuple)
                else name.replace(old, new)
                for name in names
            )

        return Names(*(each(getattr(self, f)) for f in _FIELDS), comments=self.comments)


_FIELDS = ("schemas", "relations", "spelled", "functions", "roles")


def names_of(scope: Snapshot) -> Names | None:
    """The names a check's scope (:func:`catalog_fingerprint.scope_of`: its rows' first
    columns) compares; None when it holds a row this read cannot find by them (a domain's
    constraint)."""
    relations: set[tuple[str, str]] = set()
    for kind in ("tables", "indexes", "columns", "column_privileges"):
        relations |= {(row[0], row[1]) for row in scope.get(kind, ())}
    spelled = {row[0] for row in scope.get("triggers", ())}
    constraints = scope.get("constraints", frozenset())
    if any(row[1] == "-" for row in constraints):
        return None
    spelled |= {row[1] for row in constraints}
    roles = {row[0] for row in scope.get("roles", ())}
    roles |= {row[0] for row in scope.get("default_privileges", ())}
    return Names(
        schemas=frozenset(row[0] for row in scope.get("schemas", ())),
        relations=frozenset(relations),
        spelled=frozenset(spelled),
        functions=frozenset((row[0], row[1]) for row in scope.get("functions", ())),
        roles=frozenset(roles),
        comments=bool(scope.get("comments")),
    )


def _arrays(batch: Sequence[Names]) -> dict[str, str]:
    """The batch as :data:`VERSIONS`' parameters: lists of (t, name...) as JSON, which the
    server reads faster than the client spells thousands of names as arrays."""
    a: dict[str, list[Any]] = {k: [] for k in ("s", "r", "v", "f", "o", "c")}
    for t, names in enumerate(batch):
        a["s"] += [[t, s] for s in sorted(names.schemas)]
        a["r"] += [[t, s, r] for s, r in sorted(names.relations)]
        a["v"] += [[t, r] for r in sorted(names.spelled)]
        a["f"] += [[t, s, f] for s, f in sorted(names.functions)]
        a["o"] += [[t, r] for r in sorted(names.roles)]
        a["c"] += [t] if names.comments else []
    return {k: json.dumps(v) for k, v in a.items()}


def digests(conn: psycopg.Connection[Any], batch: Sequence[Names]) -> list[str | None]:
    """The digest of the row versions of each of ``batch`` (in one statement, in the caller's
    snapshot); None for one whose objects name a kind of object not followed, or that has
    no row at all."""
    found: dict[int, str | None] = {}
    for t, digest, blind in conn.execute(VERSIONS, _arrays(batch)):
        found[t] = None if blind else digest
    return [found.get(t) for t in range(len(batch))]


@contextmanager
def one_snapshot(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """The reads within in one snapshot (a REPEATABLE READ transaction, without JIT: these
    statements are many small lookups) on an autocommit connection."""
    assert conn.autocommit, "one snapshot needs a transaction of its own"
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SET LOCAL jit = off")
        yield


#: the versions of one tracking schema's record rows (``{s}``): which transactions wrote them
_RECORD_ROWS = (
    "SELECT {t}, pg_catalog.md5(coalesce(pg_catalog.string_agg(v, ',' ORDER BY v COLLATE \"C\"),"
    " '')) FROM (SELECT xmin::text AS v FROM {s}.{steps}"
    " UNION ALL SELECT xmin::text FROM {s}.{configs}) x"
)


def record_digest(xmins: Sequence[str]) -> str:
    """The digest of a record's row versions (``xmin`` as text), as :func:`record_digests`
    reads it on the server."""
    return hashlib.md5(",".join(sorted(xmins)).encode()).hexdigest()


def record_digests(conn: psycopg.Connection[Any], schemas: Sequence[str]) -> list[str | None]:
    """The digest of the record rows' versions in each tracking schema of ``schemas`` (one
    statement, in the caller's snapshot); None where the record's tables are missing."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY(%s)"
            " AND pg_catalog.to_regclass(pg_catalog.quote_ident(n.nspname) || '.' || %s)"
            " IS NOT NULL AND pg_catalog.to_regclass(pg_catalog.quote_ident(n.nspname)"
            " || '.' || %s) IS NOT NULL",
            [list(schemas), RECORD_STEPS_TABLE, RECORD_CONFIGS_TABLE],
        )
    }
    asked = [t for t, schema in enumerate(schemas) if schema in present]
    if not asked:
        return [None] * len(schemas)
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL(_RECORD_ROWS).format(
            t=sql.Literal(t),
            s=sql.Identifier(schemas[t]),
            steps=sql.Identifier(RECORD_STEPS_TABLE),
            configs=sql.Identifier(RECORD_CONFIGS_TABLE),
        )
        for t in asked
    )
    found = dict(conn.execute(query).fetchall())
    return [found.get(t) for t in range(len(schemas))]


def column_digests(
    conn: psycopg.Connection[Any], schemas: Sequence[str], table: str, column: str
) -> list[str | None]:
    """In each of ``schemas``, the digest of ``column``'s values of ``table`` (sorted; one
    statement, in the caller's snapshot); None where the table is missing."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY(%s)"
            " AND pg_catalog.to_regclass(pg_catalog.quote_ident(n.nspname) || '.' || %s)"
            " IS NOT NULL",
            [list(schemas), table],
        )
    }
    asked = [t for t, schema in enumerate(schemas) if schema in present]
    if not asked:
        return [None] * len(schemas)
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL(
            "SELECT {t}, pg_catalog.md5(coalesce(pg_catalog.string_agg({c}::text, ','"
            " ORDER BY {c}::text COLLATE \"C\"), '')) FROM {s}.{table}"
        ).format(
            t=sql.Literal(t),
            c=sql.Identifier(column),
            s=sql.Identifier(schemas[t]),
            table=sql.Identifier(table),
        )
        for t in asked
    )
    found = dict(conn.execute(query).fetchall())
    return [found.get(t) for t in range(len(schemas))]
