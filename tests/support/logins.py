"""LOGIN users as an application connects: one per group role (or none), made and dropped by
the tests, and what the server lets them do."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

GROUPS = ("readonly", "readwrite", "admin")
NO_GROUP = "no group"


@dataclass(frozen=True)
class Login:
    """A real connection of a LOGIN user that belongs to one group role (or none)."""

    group: str
    user: str
    conn: psycopg.Connection[Any]


def create_login(admin: psycopg.Connection[Any], group_role: str | None) -> tuple[str, str]:
    """A LOGIN user (dropped by conftest by its comment) with a password made up here."""
    user, password = f"tmplmig_login_{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(18)
    admin.execute(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(user), sql.Literal(password)
        )
    )
    admin.execute(
        sql.SQL("COMMENT ON ROLE {} IS 'tmplmig test login'").format(sql.Identifier(user))
    )
    if group_role:
        admin.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(group_role), sql.Identifier(user))
        )
    return user, password


def attempt(conn: psycopg.Connection[Any], statement: Any, params: Any = None) -> bool:
    """True when the server lets the statement run; its effects are always rolled back."""
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(statement, params)
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True
