"""A database with the dev config applied, an encryption key, a ciphertext, and one login
per group: what the security tests probe."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from support.logins import GROUPS, NO_GROUP, Login, create_login
from support.servers import deployer_dsn, dsn_for, url_for
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import Settings, load_config

PLAINTEXT = "4111-1111-1111-1111 card of Ms Example"


def set_master_key(conn: psycopg.Connection[Any], master_key: str) -> None:
    """How the application supplies the master key: per session, as a bound parameter."""
    conn.execute("SELECT set_config('tmplmig.master_key', %s, false)", (master_key,))


@dataclass
class Deployment:
    """A database with the migrations applied, one login per group, and a master key."""

    settings: Settings
    admin: psycopg.Connection[Any]
    logins: dict[str, Login]
    master_key: str
    key_id: uuid.UUID
    ciphertext: bytes


def deploy(project: Path, database: str, admin: psycopg.Connection[Any]) -> Iterator[Deployment]:
    """Apply ``project``'s dev config, make one key and one ciphertext, log in once per group."""
    settings = load_config(project, "dev").settings
    commands.apply(resolve(project, "dev", url=url_for(deployer_dsn(database))))
    master_key = secrets.token_hex(32)
    set_master_key(admin, master_key)
    key_id = admin.execute("SELECT system.add_encryption_key()").fetchone()[0]
    ciphertext = admin.execute(
        "SELECT system.encrypt_data(%s, %s)", (PLAINTEXT, key_id)
    ).fetchone()[0]
    logins: dict[str, Login] = {}
    try:
        for group in (NO_GROUP, *GROUPS):
            role = getattr(settings.roles, group) if group != NO_GROUP else None
            user, password = create_login(admin, role)
            dsn = dsn_for(database, conninfo_to_dict(database)["dbname"], user=user)
            conn = psycopg.connect(make_conninfo(dsn, password=password), autocommit=True)
            set_master_key(conn, master_key)
            logins[group] = Login(group, user, conn)
        yield Deployment(settings, admin, logins, master_key, key_id, ciphertext)
    finally:
        for login in logins.values():
            login.conn.close()
