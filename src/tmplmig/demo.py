"""The one-command tour: a throwaway cluster, apply ``dev``, show what exists, roll back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tmplmig.database.catalog import KEY_COLUMNS, difference, object_name, snapshot
from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

DEPLOYER = "tmplmig_deployer"
#: a kind with more objects than this is listed by its first ones and a count
LISTED = 12


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f", ... {len(names) - LISTED} more" if len(names) > LISTED else "")


def run_demo(project: Path, env: str = "dev", say: Callable[[str], None] = print) -> bool:
    """Apply and roll back ``env`` on a private cluster; True when the catalog is restored."""
    with throwaway_cluster() as cluster:
        say(f"started a throwaway PostgreSQL cluster on port {cluster.port} ({cluster.bindir})")
        with connect(cluster.dsn) as admin:
            # the deploying login docs/ownership.md describes: no SUPERUSER, owns the database
            admin.execute(f"CREATE ROLE {DEPLOYER} LOGIN CREATEROLE")
            admin.execute(f"CREATE DATABASE tmplmig_demo OWNER {DEPLOYER}")
        server = cluster.dsn.rsplit("/", 1)[0].replace("postgres@", f"{DEPLOYER}@", 1)
        url = server + "/tmplmig_demo"
        say(f"migrations run as {DEPLOYER} (LOGIN CREATEROLE, owner of tmplmig_demo)")
        with connect(url) as conn:
            before = snapshot(conn)
            target = resolve(project, env, url=url)
            applied = commands.apply(target)
            say(f"applied for {env}: {', '.join(applied)}")
            created = difference(before, snapshot(conn))
            for kind in KEY_COLUMNS:
                rows = created.get(kind, {}).get("added", [])
                names = sorted({object_name(kind, row) for row in rows})
                say(f"  {kind:18} {len(names):3}  {_listing(names)}")
            rolled_back = commands.rollback(target)
            say(f"rolled back: {', '.join(rolled_back)}")
            left = difference(before, snapshot(conn))
        say("catalog restored exactly" if not left else f"catalog differs after rollback: {left}")
    say("cluster stopped and removed")
    return not left
