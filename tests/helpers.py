"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tmplmig.database.scratch import ScratchDatabases
from tmplmig.reviewing.bundle import MANIFEST

PROJECT = Path(__file__).resolve().parent.parent
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


def manifest_section(manifest: str, section: str) -> list[tuple[str, str]]:
    """(sha256, file name) rows of one ``[section]`` of a MANIFEST, in run order."""
    rows, current = [], None
    for line in manifest.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and line and not line.startswith("#"):
            digest, name = line.split("  ", 1)
            rows.append((digest, name))
    return rows


def run_file_with_psql(dsn: str, path: Path) -> str:
    """One bundle file as a DBA runs it: psql as the deploying login, stopping at the first
    error; what psql printed on stdout."""
    done = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", deployer_dsn(dsn), "-f", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{path.name}: {done.stderr}"
    return done.stdout


def run_with_psql(dsn: str, bundle: Path, section: str) -> None:
    """What the README tells a DBA to do: each file of a section, in order, stopping on error,
    as the deploying login."""
    for _, name in manifest_section((bundle / MANIFEST).read_text(), section):
        run_file_with_psql(dsn, bundle / name)


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


#: what an application writes: a user and an experiment of theirs, in one short transaction
WRITE_ROWS = """
    WITH u AS (INSERT INTO auth.users (email)
               SELECT gen_random_uuid()::text || '@app' FROM generate_series(1, %s) RETURNING id)
    INSERT INTO experiments_v1.experiments (user_id, name) SELECT id, 'app' FROM u"""


#: what takes experiments.promotions out of each template: the table, its index, foreign
#: key, audit trigger and the column guard's entry
_REMOVALS = {
    "001_baseline.sql.j2": r'\{% call m\.table\(schema=s\.experiments, name="promotions"\) %\}'
    r"[^{]*\{% endcall %\}\n",
    "002a_indexes.sql.j2": r".*idx_promotions_experiment.*\n",
    "002b_foreign_keys.sql.j2": r".*fk_promotions_experiment.*\n.*\n",
    "002e_functions.sql.j2": r".*audit_promotions_changes.*\n.*\n",
    "_retention.sql.j2": r'.*\(schemas\.experiments, "promotions", "experiment_id"\),\n',
}


def remove_promotions(sandbox: Path) -> None:
    """Take experiments.promotions and everything on it out of the templates."""
    for name, pattern in _REMOVALS.items():
        path = sandbox / "templates" / name
        text, count = re.subn(pattern, "", path.read_text(), count=1)
        assert count == 1, name
        path.write_text(text)


def applying(plan: dict[str, str]) -> dict[str, str]:
    """A plan's apply section (its files in MANIFEST order, and MANIFEST): what would run."""
    from tmplmig.reviewing.bundle import manifest_files

    names = manifest_files(plan[MANIFEST], "apply")
    return {**{name: plan[name] for name in names}, MANIFEST: plan[MANIFEST]}
