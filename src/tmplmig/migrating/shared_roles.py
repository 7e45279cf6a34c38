"""Roles are cluster-wide: a plan's role rename or drop reaches every database of the server.

``ALTER ROLE … RENAME`` renames the role under every database that uses it, whose records
and config still say the old name. So before a plan renames or drops a role it asks
``pg_shdepend`` where else on the server the role owns objects, holds grants or default
privileges, and refuses unless each such role is acknowledged by name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from tmplmig.migrating.plan import PartPlan, Renames
from tmplmig.migrating.target import CommandError

#: per role and other database of the server: what it owns, the grants it holds (ACL
#: entries, policies) and its default privileges (pg_default_acl rows, as grantor or grantee)
_USES = """
SELECT r.rolname, d.datname,
       pg_catalog.count(*) FILTER (WHERE NOT s.default_acl AND s.deptype = 'o') AS owns,
       pg_catalog.count(*) FILTER (WHERE NOT s.default_acl AND s.deptype <> 'o') AS grants,
       pg_catalog.count(*) FILTER (WHERE s.default_acl) AS default_privileges
FROM (SELECT dep.*, dep.classid = 'pg_catalog.pg_default_acl'::pg_catalog.regclass AS default_acl
      FROM pg_catalog.pg_shdepend dep) s
JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid
JOIN pg_catalog.pg_database d ON d.oid = s.dbid
WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
  AND r.rolname = ANY(%s)
  AND d.datname <> pg_catalog.current_database()
GROUP BY r.rolname, d.datname
ORDER BY r.rolname, d.datname
"""


@dataclass(frozen=True)
class SharedUse:
    """A role the plan renames or drops, and what it holds in another database."""

    role: str
    change: str
    database: str
    owns: int
    grants: int
    default_privileges: int

    def __str__(self) -> str:
        held = ", ".join(
            f"{n} {what}"
            for n, what in (
                (self.owns, "object(s) owned"),
                (self.grants, "object(s) granted"),
                (self.default_privileges, "default privilege(s)"),
            )
            if n
        )
        return f"role {self.role} ({self.change}) is used in database {self.database}: {held}"


class SharedRoleRefused(CommandError):
    """The plan renames or drops roles other databases of the server use, unacknowledged."""

    def __init__(self, uses: list[SharedUse]) -> None:
        self.uses = uses
        roles = sorted({u.role for u in uses})
        super().__init__(
            "not planning: roles are cluster-wide, and this plan renames or drops roles that"
            " other databases of the server use (their records and grants would follow):\n  "
            + "\n  ".join(str(u) for u in uses)
            + "\n  acknowledge with "
            + " ".join(f"--allow-shared-role {r}" for r in roles)
            + ", or see docs/day2.md (Roles shared between databases) for the safe way"
        )


def changed_roles(plans: list[PartPlan], renames: Renames) -> dict[str, str]:
    """Each role the plans rename or drop, to what happens to it: the roles of the rename
    list, and the role objects the removed steps recorded (their rollback drops them)."""
    changes = {old: f"renamed to {new}" for old, new in renames.roles.items()}
    for p in plans:
        for change in p.changes:
            if change.change == "removed" and change.old is not None:
                roles = (o.name for o in change.old.objects or () if o.kind == "role")
                changes.update(dict.fromkeys(roles, "dropped"))
    return changes


def shared_uses(conn: psycopg.Connection[Any], roles: Mapping[str, str]) -> list[SharedUse]:
    """What each of ``roles`` (name to its change) holds in the server's other databases."""
    if not roles:
        return []
    rows = conn.execute(_USES, [sorted(roles)]).fetchall()
    return [SharedUse(role, roles[role], db, *counts) for role, db, *counts in rows]


def refuse_shared_roles(
    conn: psycopg.Connection[Any],
    plans: list[PartPlan],
    renames: Renames,
    allowed: Collection[str],
) -> None:
    """Raise :class:`SharedRoleRefused` when the plans rename or drop a role that another
    database of the server uses and that is not in ``allowed``."""
    uses = shared_uses(conn, changed_roles(plans, renames))
    refused = [u for u in uses if u.role not in allowed]
    if refused:
        raise SharedRoleRefused(refused)
