"""The server under test as the tests reach it: DSNs and URLs, the deploying login, tmplmig
run as its own process, and waits on what another session does."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tmplmig.database.scratch import ScratchDatabases

PROJECT = Path(__file__).resolve().parents[2]
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


def plain_yoyo_apply(project: Path, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Plain ``yoyo apply`` (this environment's) in the project folder, as a user runs it with
    TMPLMIG_ENV=dev."""
    yoyo = str(Path(sys.executable).parent / "yoyo")
    command = [yoyo, "apply", "--batch", "--database", url, "migrations"]
    environ = {**os.environ, "TMPLMIG_ENV": "dev", **env}
    return subprocess.run(command, cwd=project, env=environ, capture_output=True, text=True)


def run_tmplmig(project: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    """``tmplmig ARGS`` started as its own process, as CI jobs and deploy pods run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "tmplmig.cli", "--project", str(project), *args],
        env={**os.environ, "TMPLMIG_DATABASE_URL": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def poll(conn: psycopg.Connection[Any], query: str, params: Any = None, seconds: float = 30) -> Any:
    """Repeat ``query`` until it returns a row; that row's first value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = conn.execute(query, params).fetchone()
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError(f"nothing matched within {seconds} s: {query}")


#: what an application writes: a user and an experiment of theirs, in one short transaction
WRITE_ROWS = """
    WITH u AS (INSERT INTO auth.users (email)
               SELECT gen_random_uuid()::text || '@app' FROM generate_series(1, %s) RETURNING id)
    INSERT INTO experiments_v1.experiments (user_id, name) SELECT id, 'app' FROM u"""


def lock_rows(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    """The rows of yoyo's lock table: a row names the process that holds the lock."""
    return conn.execute("SELECT pid FROM public.yoyo_lock").fetchall()


def scratch_takes(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """One entry per drift-check replay from now on: the kept scratch database it took, or
    None where it had to make one."""
    taken: list[str | None] = []
    take = ScratchDatabases.take

    def spy(kept: ScratchDatabases, url: str) -> str | None:
        taken.append(take(kept, url))
        return taken[-1]

    monkeypatch.setattr(ScratchDatabases, "take", spy)
    return taken


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
    try:
        yield dsn_for(server_dsn, name)
    finally:  # a failed test's too: its objects would keep the deploying login from going
        with psycopg.connect(server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            drop_tmplmig_roles(admin)


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
