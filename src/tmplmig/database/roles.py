"""What the cluster says about the roles a run is about to take as an owner and group roles.

An owner role owns every object of its environment or tenant, so whoever may log in as it, or
is a member of it, owns them too. The template refuses an existing owner that may log in (in
``001_baseline``, also for psql); asked here, before a run's first statement, the catalog also
names the members the role already has. A group role has members (the application's logins),
so it must be one they gain nothing from but privileges: no login of its own, and no attribute
a member could take up with ``SET ROLE`` (a SUPERUSER group makes every member one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

#: the attributes an owner role must not hold, as pg_roles names them and CREATE ROLE spells them
ATTRIBUTES = {
    "rolcanlogin": "LOGIN",
    "rolsuper": "SUPERUSER",
    "rolcreaterole": "CREATEROLE",
    "rolcreatedb": "CREATEDB",
    "rolreplication": "REPLICATION",
    "rolbypassrls": "BYPASSRLS",
}

_ROLE = f"""
    SELECT r.rolname::text, ARRAY[{", ".join(ATTRIBUTES)}],
           ARRAY(SELECT m.rolname::text
                 FROM pg_catalog.pg_auth_members am
                 JOIN pg_catalog.pg_roles m ON m.oid = am.member
                 WHERE am.roleid = r.oid AND m.rolname <> CURRENT_USER AND NOT m.rolsuper
                 ORDER BY 1)
    FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%s)"""


@dataclass(frozen=True)
class ExistingRole:
    """A role as the cluster has it: its attributes and its members but the current user and
    superusers (who gain nothing by membership: a DBA's psql run of 001 makes them members)."""

    name: str
    attributes: tuple[str, ...]
    members: tuple[str, ...]

    def unfit_as_owner(self) -> str | None:
        """Why this role cannot be an owner role, or None when it can."""
        reasons = []
        if self.attributes:
            reasons.append(f"it holds {', '.join(self.attributes)}")
        if self.members:
            reasons.append(f"it has members: {', '.join(self.members)}")
        return " and ".join(reasons) or None

    def unfit_as_group(self) -> str | None:
        """Why this role cannot be a group role (its members are logins), or None."""
        return f"it holds {', '.join(self.attributes)}" if self.attributes else None


def existing_roles(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, ExistingRole]:
    """Those of the roles ``names`` that exist, by name (the current user's own membership
    aside: the deploying login is a member of the owners it created), in one query."""
    found = {}
    for name, attributes, members in conn.execute(_ROLE, [names]).fetchall():
        held = tuple(word for word, has in zip(ATTRIBUTES.values(), attributes, strict=True) if has)
        found[name] = ExistingRole(name, held, tuple(members))
    return found
