"""The one-command tour: a throwaway cluster, apply ``dev``, show what exists, roll back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tmplmig.database.catalog import difference, snapshot
from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands

#: kind -> columns of a snapshot row that name the object
SHOWN = {
    "schemas": (0,),
    "tables": (0, 1),
    "indexes": (0, 1),
    "constraints": (1, 2),
    "functions": (0, 1),
    "triggers": (0, 1),
    "roles": (0,),
}


def run_demo(project: Path, env: str = "dev", say: Callable[[str], None] = print) -> bool:
    """Apply and roll back ``env`` on a private cluster; True when the catalog is restored."""
    with throwaway_cluster() as cluster:
        say(f"started a throwaway PostgreSQL cluster on port {cluster.port} ({cluster.bindir})")
        with connect(cluster.dsn) as admin:
            admin.execute("CREATE DATABASE tmplmig_demo")
        url = cluster.dsn.rsplit("/", 1)[0] + "/tmplmig_demo"
        with connect(url) as conn:
            before = snapshot(conn)
            applied = commands.apply(project, env, url=url)
            say(f"applied for {env}: {', '.join(applied)}")
            created = difference(before, snapshot(conn))
            for kind, columns in SHOWN.items():
                rows = created.get(kind, {}).get("added", [])
                names = sorted({".".join(str(row[c]) for c in columns) for row in rows})
                say(f"  {kind:12} {len(names):3}  {', '.join(names)}")
            rolled_back = commands.rollback(project, env, url=url)
            say(f"rolled back: {', '.join(rolled_back)}")
            left = difference(before, snapshot(conn))
        say("catalog restored exactly" if not left else f"catalog differs after rollback: {left}")
    say("cluster stopped and removed")
    return not left
