"""Shared fixtures: a real PostgreSQL server and a fresh database per test.

The server comes from $TMPLMIG_TEST_DSN (a superuser DSN) when set; otherwise the session
starts a throwaway cluster from the machine's PostgreSQL binaries. The superuser only sets
up and inspects: migrations run as the deploying login docs/ownership.md describes (LOGIN,
CREATEROLE, CREATEDB for verify; CREATE on the database and on schema public), never as
a superuser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings
from support.fresh import RENDERER, Forker, forker
from support.servers import PROJECT, deployer_dsn, deploying_login, fresh_database, url_for

from tmplmig.database.cluster import Cluster, throwaway_cluster

DSN_VAR = "TMPLMIG_TEST_DSN"

#: Hypothesis profiles, chosen by $HYPOTHESIS_PROFILE: ``dev`` (the default) tries a few
#: examples per property for a quick inner loop; ``ci`` (.ci/run) as many as they were
#: written for. A property that needs another count sets its own.
settings.register_profile("dev", max_examples=25)
settings.register_profile("ci", max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that reaches the server through a fixture: ``-m "not db"``
    then runs the rest without starting a cluster."""
    for item in items:
        if "server_dsn" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def session_cluster() -> Iterator[Cluster | None]:
    """The throwaway cluster this session started; None when $TMPLMIG_TEST_DSN names a server."""
    if os.environ.get(DSN_VAR):
        yield None
        return
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def server_dsn(session_cluster: Cluster | None) -> Iterator[str]:
    """Superuser DSN of the server under test (with the deploying login created)."""
    dsn = os.environ[DSN_VAR] if session_cluster is None else session_cluster.dsn
    with deploying_login(dsn):
        yield dsn


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


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forker]:
    """New processes that have imported the renderer and rendered nothing: each run is a
    child forked from one helper, which the session starts once."""
    with forker(tmp_path_factory.mktemp("fresh"), *RENDERER) as started:
        yield started


@pytest.fixture
def sandbox(project: Path, tmp_path: Path) -> Path:
    """A copy of the project whose config, templates and migrations a test may edit."""
    copy = tmp_path / "project"
    for folder in ("config", "templates", "migrations"):
        shutil.copytree(project / folder, copy / folder)
    return copy
