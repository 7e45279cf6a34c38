"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

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


def dsn_for(server_dsn: str, dbname: str, **overrides: Any) -> str:
    """The server DSN pointed at another database (and optionally user/password)."""
    params = conninfo_to_dict(server_dsn)
    params.update(dbname=dbname, **overrides)
    return make_conninfo(**params)


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


def run_with_psql(dsn: str, bundle: Path, section: str) -> None:
    """What the README tells a DBA to do: each file of a section, in order, stopping on error."""
    for _, name in manifest_section((bundle / MANIFEST).read_text(), section):
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(bundle / name)],
            check=True,
            capture_output=True,
            text=True,
        )
