"""Functions found by schema and name through the schema's dependents, not by name.

``pg_proc``'s index on names leads with the name, then the argument types, then the schema:
asked for a schema's function by name and schema alone, PostgreSQL reads the function of that
name of every schema. Schema-per-tenant gives each tenant its own ``encrypt_data``, so such a
lookup costs more with every tenant (0.09 ms and 20 index pages at 1,000 tenants, 0.7 ms at
10,000: docs/benchmarks-tenants.md), and a drift check looks up nine. Every function depends
on its schema in ``pg_depend``, whose index on what is referenced finds a schema's dependents,
a few dozen, whatever the tenants.

A pinned schema (``pg_catalog``) has no dependents recorded: a schema with none at all is
pinned or holds no function, and its functions are read by name as before.
"""

from __future__ import annotations

_NAMESPACE = "'pg_catalog.pg_namespace'::pg_catalog.regclass"

#: see :func:`functions`
_FUNCTIONS = f"""SELECT sf_dep.objid AS oid FROM pg_catalog.pg_depend sf_dep
    WHERE sf_dep.refclassid = {_NAMESPACE} AND sf_dep.refobjid {{schema}}
      AND sf_dep.refobjsubid = 0 AND sf_dep.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND (SELECT sf_pro.proname FROM pg_catalog.pg_proc sf_pro
           WHERE sf_pro.oid = sf_dep.objid) {{name}}
    UNION ALL SELECT sf_pro.oid FROM (
        SELECT sf_nsp.oid FROM pg_catalog.pg_namespace sf_nsp WHERE sf_nsp.oid {{schema}}
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend sf_dep
                          WHERE sf_dep.refclassid = {_NAMESPACE} AND sf_dep.refobjid = sf_nsp.oid)
        OFFSET 0) sf_nsp
    CROSS JOIN LATERAL (SELECT sf_pro.oid FROM pg_catalog.pg_proc sf_pro
                        WHERE sf_pro.pronamespace = sf_nsp.oid AND sf_pro.proname {{name}}
                        OFFSET 0) sf_pro"""


def functions(schema: str, name: str) -> str:
    """A query of the oids (column ``oid``) of the functions whose schema's oid meets
    ``schema`` and whose name meets ``name``: each a comparison to complete, such as
    ``= n.oid`` or ``= ANY(%(names)s::name[])``. Each appears twice in the query, beside its
    own tables, all aliased ``sf_*``: a comparison naming such an alias would name its own."""
    return _FUNCTIONS.format(schema=schema, name=name)
