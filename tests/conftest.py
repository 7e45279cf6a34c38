"""Shared fixtures: a real PostgreSQL server and a fresh database per test.

The server comes from $TMPLMIG_TEST_DSN (a superuser DSN) when set; otherwise the session
starts a throwaway cluster from the machine's PostgreSQL binaries. The superuser only sets
up and inspects: migrations run as the deploying login docs/ownership.md describes (LOGIN,
CREATEROLE, CREATEDB for verify; CREATE on the database and on schema public), never as
a superuser.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tmplmig.cluster import throwaway_cluster

PROJECT = Path(__file__).resolve().parent.parent
DSN_VAR = "TMPLMIG_TEST_DSN"
#: every migration of the project, in the order yoyo applies them
ALL_PARTS = [
    "001_baseline",
    "002a_indexes",
    "002b_foreign_keys",
    "002c_system_tables",
    "002d_roles_grants",
    "002e_functions",
]


#: the non-superuser LOGIN that runs every migration of the tests, as deployers are told to
DEPLOYER = "tmplmig_deployer"
DEPLOYER_PASSWORD = secrets.token_urlsafe(18)


@contextlib.contextmanager
def deploying_login(server_dsn: str) -> Iterator[None]:
    """Create the deploying login for a test session; drop it afterwards."""
    role = sql.Identifier(DEPLOYER)
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [DEPLOYER]).fetchone():
            admin.execute(sql.SQL("CREATE ROLE {}").format(role))
        admin.execute(
            sql.SQL(
                "ALTER ROLE {} LOGIN NOSUPERUSER CREATEROLE CREATEDB INHERIT PASSWORD {}"
            ).format(role, sql.Literal(DEPLOYER_PASSWORD))
        )
    yield
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        drop_tmplmig_roles(admin)
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """Superuser DSN of the server under test (with the deploying login created)."""
    dsn = os.environ.get(DSN_VAR)
    if dsn:
        with deploying_login(dsn):
            yield dsn
        return
    with throwaway_cluster() as cluster, deploying_login(cluster.dsn):
        yield cluster.dsn


def dsn_for(server_dsn: str, dbname: str, **overrides: Any) -> str:
    """The server DSN pointed at another database (and optionally user/password)."""
    params = conninfo_to_dict(server_dsn)
    params.update(dbname=dbname, **overrides)
    return make_conninfo(**params)


def deployer_dsn(dsn: str) -> str:
    """``dsn`` (a database's superuser DSN) as the deploying login."""
    dbname = conninfo_to_dict(dsn)["dbname"]
    return dsn_for(dsn, dbname, user=DEPLOYER, password=DEPLOYER_PASSWORD)


def url_for(dsn: str) -> str:
    """A yoyo URL for a libpq DSN."""
    p = conninfo_to_dict(dsn)
    auth = p.get("user", "postgres") + (f":{p['password']}" if p.get("password") else "")
    host, port = p.get("host", "localhost"), p.get("port", 5432)
    return f"postgresql+psycopg://{auth}@{host}:{port}/{p['dbname']}"


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """Create an empty database; yield its libpq DSN; drop it and the roles left unused."""
    name = f"tmplmig_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'GRANT CREATE ON DATABASE "{name}" TO "{DEPLOYER}"')
    with psycopg.connect(dsn_for(server_dsn, name), autocommit=True) as admin:
        # yoyo keeps its tables in the first schema of the search path
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{DEPLOYER}"')
    yield dsn_for(server_dsn, name)
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        drop_tmplmig_roles(admin)


@pytest.fixture
def database(server_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test; its libpq DSN. Dropped afterwards."""
    with fresh_database(server_dsn) as dsn:
        yield dsn


@pytest.fixture
def second_database(server_dsn: str) -> Iterator[str]:
    """Another fresh database on the same server, for side-by-side comparisons."""
    with fresh_database(server_dsn) as dsn:
        yield dsn


def drop_tmplmig_roles(admin: psycopg.Connection[Any]) -> None:
    """Roles are cluster-wide: remove those a test's migrations created, once unused."""
    rows = admin.execute(
        "SELECT rolname FROM pg_roles"
        " WHERE shobj_description(oid, 'pg_authid') IN ('created by tmplmig', 'tmplmig test login')"
    ).fetchall()
    for (role,) in rows:
        # a role still used by another test's database is dropped after that one
        with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def db_url(database: str) -> str:
    """The fresh database as a yoyo URL of the deploying login."""
    return url_for(deployer_dsn(database))


@pytest.fixture
def conn(database: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit superuser connection to the fresh database."""
    with psycopg.connect(database, autocommit=True) as c:
        yield c


@pytest.fixture
def project() -> Path:
    """The repository itself: its config/, templates/ and migrations/."""
    return PROJECT


@pytest.fixture
def sandbox(project: Path, tmp_path: Path) -> Path:
    """A copy of the project whose config, templates and migrations a test may edit."""
    copy = tmp_path / "project"
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(project / folder, copy / folder)
    return copy
