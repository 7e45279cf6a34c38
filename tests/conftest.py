"""Shared fixtures: a real PostgreSQL server and a fresh database per test.

The server comes from $TMPLMIG_TEST_DSN (a superuser DSN) when set; otherwise the session
starts a throwaway cluster from the machine's PostgreSQL binaries.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import PROJECT, dsn_for, url_for
from psycopg import sql

from tmplmig.database.cluster import throwaway_cluster

DSN_VAR = "TMPLMIG_TEST_DSN"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that reaches the server through a fixture: ``-m "not db"``
    then runs the rest without starting a cluster."""
    for item in items:
        if "server_dsn" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    """Superuser DSN of the server under test."""
    dsn = os.environ.get(DSN_VAR)
    if dsn:
        yield dsn
        return
    with throwaway_cluster() as cluster:
        yield cluster.dsn


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """Create an empty database; yield its libpq DSN; drop it and the roles left unused."""
    name = f"tmplmig_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
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
    """The fresh database as a yoyo URL."""
    return url_for(database)


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
