"""Time the review tools: render, check, diff, lint (no database) and verify (throwaway cluster).

Run: PYTHONPATH=src python bench/review_tools.py [--repeat N]. Prints median wall times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tmplmig.database.cluster import throwaway_cluster
from tmplmig.database.urls import connect
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve

PROJECT = Path(__file__).resolve().parent.parent


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``action`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle"
        commands.write_render(for_rendering(PROJECT, "prod"), out)
        rows = [
            (
                "render bundle (prod)",
                median_ms(lambda: commands.render_bundle(for_rendering(PROJECT, "prod")), repeat),
            ),
            (
                "render --check (prod)",
                median_ms(
                    lambda: commands.check_render(for_rendering(PROJECT, "prod"), out), repeat
                ),
            ),
            (
                "diff dev -> prod",
                median_ms(
                    lambda: commands.diff(
                        for_rendering(PROJECT, "dev"), for_rendering(PROJECT, "prod")
                    ),
                    repeat,
                ),
            ),
            (
                "lint (prod)",
                median_ms(lambda: commands.lint(for_rendering(PROJECT, "prod")), repeat),
            ),
        ]
        with throwaway_cluster() as cluster:
            with connect(cluster.dsn) as admin:
                admin.execute("CREATE DATABASE bench")
            url = cluster.dsn.rsplit("/", 1)[0] + "/bench"
            rows.append(
                (
                    "apply (prod, yoyo)",
                    median_ms(lambda: commands.apply(resolve(PROJECT, "prod", url=url)), 1),
                )
            )
            rows.append(
                (
                    "verify (prod)",
                    median_ms(lambda: commands.verify(resolve(PROJECT, "prod", url=url)), repeat),
                )
            )
    print(f"{'operation':28} {'median ms':>10}   (repeat {repeat})")
    for name, ms in rows:
        print(f"{name:28} {ms:10.1f}")


if __name__ == "__main__":
    main()
