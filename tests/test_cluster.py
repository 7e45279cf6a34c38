"""The throwaway cluster benchmarks keep: started again, it is the same server at the same
address (what tmplmig remembers of a database is keyed by its URL)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect


def test_a_kept_cluster_starts_again_on_the_port_it_had() -> None:
    parent = Path(tempfile.mkdtemp(prefix="tmplmig-kept-"))
    parent.chmod(0o755)  # the server may run as another user (root: postgres)
    try:
        with throwaway_cluster(keep=parent / "pg") as first, connect(first.dsn) as conn:
            conn.execute("CREATE TABLE kept (id int)")
        with throwaway_cluster(keep=parent / "pg") as again:
            assert again.port == first.port
            with connect(again.dsn) as conn:
                assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
