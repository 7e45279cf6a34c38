"""Functions found by schema and name through the schema's dependents, not by name.

``pg_proc``'s index on names leads with the name, then the argument types, then the schema:
asked for a schema's function by name and schema alone, PostgreSQL reads the function of that
name of every schema. Schema-per-tenant gives each tenant its own ``encrypt_data``, so such a
lookup costs more with every tenant (0.09 ms and 20 index pages at 1,000 tenants, 0.7 ms at
10,000: docs/benchmarks-tenants.md), and a drift check looks up nine. Every function depends on its schema in ``pg_depend``, whose
index on what is referenced finds a schema's dependents, a few dozen, whatever the tenants.

A pinned schema (``pg_catalog``) has no dependents recorded: a schema with none at all is
pinned or holds no function, and its functions are read by name as before.
"""

from __future__ import annotations

_NAMESPACE = "'pg_catalog.pg_namespace'::pg_catalog.regclass"

#: see :func:`functions`
_FUNCTIONS = f"""SELECT d.objid AS oid FROM pg_catalog.pg_depend d
    WHERE d.refclassid = {_NAMESPACE} AND d.refobjid {{schema}} AND d.refobjsubid = 0
      AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = d.objid) {{name}}
    UNION ALL SELECT p.oid FROM (
        SELECT s.oid FROM pg_catalog.pg_namespace s WHERE s.oid {{schema}}
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.refclassid = {_NAMESPACE} AND d.refobjid = s.oid)
        OFFSET 0) s
    CROSS JOIN LATERAL (SELECT p.oid FROM pg_catalog.pg_proc p
                        WHERE p.pronamespace = s.oid AND p.proname {{name}} OFFSET 0) p"""


def functions(schema: str, name: str) -> str:
    """A query of the oids (column ``oid``) of the functions whose schema's oid meets
    ``schema`` and whose name meets ``name``: each a comparison to complete, such as
    ``= n.oid`` or ``= ANY(%(names)s::name[])`` (each appears twice in the query)."""
    return _FUNCTIONS.format(schema=schema, name=name)
