"""Before a rollback starts, find what would stop it half-way, so that it either completes or
changes nothing.

A rollback runs as the owner role and drops schemas without CASCADE, revokes privileges on
every table of a schema and drops roles tmplmig created. It cannot finish when a schema it
empties holds an object the migrations did not create (or one another role owns), when an
object elsewhere in the database uses one it drops, or when a role it drops still owns or
is granted something elsewhere in this database (default privileges too). Roles still used in
*other* databases are kept with a warning, as before: that is not this database's rollback
failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from tmplmig.errors import REFUSED, TmplmigError
from tmplmig.rendering.parts import Part

#: the role of a database's bootstrap superuser: objects it owns have no pg_shdepend row
BOOTSTRAP_SUPERUSER_OID = 10
_OWNER = f"""COALESCE(
    (SELECT pg_get_userbyid(own.refobjid) FROM pg_shdepend own
     JOIN pg_database od ON od.oid = own.dbid AND od.datname = current_database()
     WHERE own.classid = {{classid}} AND own.objid = {{objid}} AND own.deptype = 'o'),
    pg_get_userbyid({BOOTSTRAP_SUPERUSER_OID}))"""

#: every object in the given schemas (its raw name for tables and functions), with its owner;
#: sequences that belong to a table column go with their table
IN_SCHEMAS = f"""
    SELECT o.type, o.identity, n.nspname,
           CASE d.classid WHEN 'pg_class'::regclass
                THEN (SELECT relname FROM pg_class WHERE oid = d.objid)
                WHEN 'pg_proc'::regclass
                THEN (SELECT proname FROM pg_proc WHERE oid = d.objid) END,
           {_OWNER.format(classid="d.classid", objid="d.objid")}
    FROM pg_depend d
    JOIN pg_namespace n ON n.oid = d.refobjid
    CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) o
    WHERE d.refclassid = 'pg_namespace'::regclass AND d.deptype = 'n'
      AND n.nspname = ANY(%(schemas)s)
      AND NOT EXISTS (SELECT 1 FROM pg_depend e
                      WHERE e.classid = d.classid AND e.objid = d.objid AND e.deptype = 'e')
      AND NOT EXISTS (SELECT 1 FROM pg_depend t
                      WHERE d.classid = 'pg_class'::regclass AND t.classid = d.classid
                        AND t.objid = d.objid AND t.refclassid = 'pg_class'::regclass
                        AND t.deptype IN ('a', 'i'))
    ORDER BY n.nspname, o.identity"""

#: the relation a rule, trigger, constraint, default or policy belongs to (or the relation)
_RELATION_OF = """
    CASE {classid}
        WHEN 'pg_class'::regclass THEN {objid}
        WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_rewrite WHERE oid = {objid})
        WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_trigger WHERE oid = {objid})
        WHEN 'pg_constraint'::regclass
            THEN (SELECT NULLIF(conrelid, 0) FROM pg_constraint WHERE oid = {objid})
        WHEN 'pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_attrdef WHERE oid = {objid})
        WHEN 'pg_policy'::regclass THEN (SELECT polrelid FROM pg_policy WHERE oid = {objid})
    END"""

#: the schema (its raw name) an object lives in: its own, or that of its relation
_SCHEMA_OF = """
    (SELECT nspname FROM pg_namespace WHERE oid = CASE {classid}
        WHEN 'pg_namespace'::regclass THEN {objid}
        WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = {objid})
        WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = {objid})
        ELSE (SELECT relnamespace FROM pg_class WHERE oid = {relation}) END)"""

#: objects outside the given schemas that use an object inside the schemas being emptied.
#: The schemas' relations, functions and types are found through their dependency on the
#: schema (pg_depend's index), with the indexes, row types and array types that depend on
#: those instead: pg_class, pg_proc and pg_type have no index on the schema, and scanning them
#: costs in proportion to every tenant of the database (docs/benchmarks-tenants.md).
USING_FROM_OUTSIDE = f"""
    WITH direct(classid, objid) AS (
        SELECT d.classid, d.objid FROM pg_depend d
        JOIN pg_namespace n ON n.oid = d.refobjid
        WHERE d.refclassid = 'pg_namespace'::regclass AND d.deptype = 'n'
          AND n.nspname = ANY(%(dropped)s)
          AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)
    ), relations AS (
        SELECT objid AS oid FROM direct WHERE classid = 'pg_class'::regclass
        UNION ALL
        SELECT i.indexrelid FROM pg_index i
        JOIN direct ON direct.classid = 'pg_class'::regclass AND direct.objid = i.indrelid
    ), types AS (
        SELECT objid AS oid FROM direct WHERE classid = 'pg_type'::regclass
        UNION ALL
        SELECT c.reltype FROM pg_class c JOIN relations r ON r.oid = c.oid WHERE c.reltype <> 0
    ), dropped(classid, objid) AS (
        SELECT 'pg_class'::regclass, oid FROM relations
        UNION ALL
        SELECT 'pg_proc'::regclass, objid FROM direct WHERE classid = 'pg_proc'::regclass
        UNION ALL
        SELECT 'pg_type'::regclass, oid FROM types
        UNION ALL
        SELECT 'pg_type'::regclass, t.typarray FROM pg_type t
        JOIN types ON types.oid = t.oid WHERE t.typarray <> 0
    )
    SELECT COALESCE(CASE WHEN d.classid = 'pg_rewrite'::regclass THEN rel.type END, o.type),
           COALESCE(CASE WHEN d.classid = 'pg_rewrite'::regclass THEN rel.identity END,
                    o.identity) AS dependant,
           COALESCE(pg_get_userbyid(rc.relowner),
                    {_OWNER.format(classid="d.classid", objid="d.objid")}),
           string_agg(DISTINCT r.type || ' ' || r.identity, ', ')
    FROM pg_depend d
    JOIN dropped ON dropped.classid = d.refclassid AND dropped.objid = d.refobjid
    CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) o
    CROSS JOIN LATERAL pg_identify_object(d.refclassid, d.refobjid, 0) r
    LEFT JOIN pg_class rc
        ON rc.oid = {_RELATION_OF.format(classid="d.classid", objid="d.objid")}
    LEFT JOIN LATERAL pg_identify_object('pg_class'::regclass, rc.oid, 0) rel ON true
    WHERE d.deptype = 'n' AND d.classid <> 'pg_namespace'::regclass
      AND COALESCE({_SCHEMA_OF.format(classid="d.classid", objid="d.objid", relation="rc.oid")},
                   '') <> ALL(%(schemas)s)
    GROUP BY 1, 2, 3
    ORDER BY 2"""

#: what roles the rollback drops own or are granted in this database outside the schemas,
#: default privileges included: those granted to such a role or set for it (ALTER DEFAULT
#: PRIVILEGES [FOR ROLE ...] ... TO ...), unless they live in a schema the rollback drops (they
#: go with it) or are the owner's (only its members, the deploying login, can set those, and
#: the migrations' rollback takes back what they set)
HELD_BY_ROLES = f"""
    SELECT CASE s.classid WHEN 'pg_default_acl'::regclass THEN 'default privileges'
                ELSE o.type END,
           o.identity,
           COALESCE(pg_get_userbyid(rc.relowner),
                    {_OWNER.format(classid="s.classid", objid="s.objid")}),
           CASE s.deptype WHEN 'o' THEN 'owned by' ELSE 'granted to' END, r.rolname
    FROM pg_shdepend s
    JOIN pg_database db ON db.oid = s.dbid AND db.datname = current_database()
    JOIN pg_roles r ON r.oid = s.refobjid
    CROSS JOIN LATERAL pg_identify_object(s.classid, s.objid, s.objsubid) o
    LEFT JOIN pg_class rc
        ON rc.oid = {_RELATION_OF.format(classid="s.classid", objid="s.objid")}
    LEFT JOIN pg_default_acl da ON s.classid = 'pg_default_acl'::regclass AND da.oid = s.objid
    WHERE r.rolname = ANY(%(roles)s)
      AND pg_catalog.shobj_description(r.oid, 'pg_authid') = 'created by tmplmig'
      AND COALESCE({_SCHEMA_OF.format(classid="s.classid", objid="s.objid", relation="rc.oid")},
                   '') <> ALL(%(schemas)s)
      AND NOT COALESCE(pg_get_userbyid(da.defaclrole) = %(owner)s
                       OR (SELECT nspname FROM pg_namespace WHERE oid = da.defaclnamespace)
                          = ANY(%(dropped)s), false)
    ORDER BY r.rolname, o.identity"""


@dataclass(frozen=True)
class Blocker:
    """One object that would make the rollback fail part-way, and why."""

    kind: str
    name: str
    owner: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name} (owner {self.owner}): {self.reason}"


class RollbackBlocked(TmplmigError):
    """The rollback was refused before it changed anything, or stopped before part
    ``stopped_before`` changed anything (``done``: the parts rolled back before it, which an
    object made since the rollback started now blocks); ``blockers`` says why."""

    exit_code = REFUSED

    def __init__(
        self, blockers: list[Blocker], stopped_before: str | None = None, done: Sequence[str] = ()
    ) -> None:
        self.blockers = blockers
        self.stopped_before = stopped_before
        self.done = tuple(done)
        super().__init__(f"{self.headline}:\n  " + "\n  ".join(str(b) for b in blockers))

    @property
    def report(self) -> list[str]:
        """The headline, then one indented line per blocker."""
        return [f"tmplmig: {self.headline}:", *(f"  {b}" for b in self.blockers)]

    @property
    def headline(self) -> str:
        """What happened, without the list of blockers."""
        if self.stopped_before is None:
            return "rollback refused, nothing was changed; these would stop it part-way"
        return (
            f"rollback stopped before {self.stopped_before}, which is unchanged"
            f" (rolled back: {', '.join(self.done) or 'nothing'}); made since the rollback"
            " started, these would stop it part-way"
        )


def _about(parts: Iterable[Part], kind: str) -> set[tuple[str, ...]]:
    """The names of every object of ``kind`` (``table``, ``schema``, ...) a step of ``parts``
    is about or creates."""
    return {
        named[1:]
        for p in parts
        for s in p.steps
        for named in (s.about, *s.creates)
        if named[:1] == (kind,)
    }


def find_blockers(
    conn: psycopg.Connection[Any], owner: str, every_part: list[Part], rolled_back: list[Part]
) -> list[Blocker]:
    """What in the database would stop rolling back ``rolled_back`` (of ``every_part``) part-way.

    ``owner``: the role the rollback drops objects as.
    """
    ours = {"table": _about(every_part, "table"), "function": _about(every_part, "function")}
    schemas = sorted(name for (name,) in _about(every_part, "schema"))
    dropped = sorted(name for (name,) in _about(rolled_back, "schema"))
    emptied = sorted({*dropped, *(about[-1] for about in _about(rolled_back, "privileges of"))})
    roles = sorted(name for kind in ("role", "owner role") for (name,) in _about(rolled_back, kind))
    asked: list[tuple[str, str, dict[str, Any]]] = []
    if emptied:
        asked.append(("in", IN_SCHEMAS, {"schemas": emptied}))
    if dropped:
        asked.append(("using", USING_FROM_OUTSIDE, {"dropped": dropped, "schemas": schemas}))
    if roles:
        held = {"roles": roles, "schemas": schemas, "dropped": dropped, "owner": owner}
        asked.append(("held", HELD_BY_ROLES, held))
    answers = _asked_together(conn, [(query, params) for _, query, params in asked])
    rows = {what: answer for (what, _, _), answer in zip(asked, answers, strict=True)}
    blockers: list[Blocker] = []
    for kind, identity, schema, name, holder in rows.get("in", []):
        if (schema, name) not in ours.get(kind, set()):
            blockers.append(Blocker(kind, identity, holder, "not created by the migrations"))
        elif holder != owner:
            reason = f"the rollback drops it as {owner}, which does not own it"
            blockers.append(Blocker(kind, identity, holder, reason))
    for kind, identity, holder, used in rows.get("using", []):
        blockers.append(Blocker(kind, identity, holder, f"uses {used}"))
    for kind, identity, holder, how, role in rows.get("held", []):
        reason = f"{how} role {role}, which the rollback drops"
        blockers.append(Blocker(kind, identity, holder, reason))
    return blockers


def _asked_together(
    conn: psycopg.Connection[Any], queries: Sequence[tuple[str, dict[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """The rows of each of ``queries``, sent in one message (values bound by the client)."""
    if not queries:
        return []
    with psycopg.ClientCursor(conn) as cur:
        cur.execute(";\n".join(cur.mogrify(query, params) for query, params in queries))
        answers = [cur.fetchall()]
        while cur.nextset():
            answers.append(cur.fetchall())
    return answers
