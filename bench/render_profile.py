"""Where rendering many tenants spends its time; prints figures, asserts nothing.

Loads and renders N generated tenants (as bench/tenants.py makes them) once without and
once under cProfile, and prints the CPU time per tenant and per step, then the profiled
time grouped by what it is spent on (a function's own time, not what it calls).

Run from the project root:
    python bench/render_profile.py [--tenants 200] [--top 12]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path

from tenants import project_with_tenants

from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all

#: (part of a file name, group) in the order they are tried
GROUPS = (
    ("jinja2/runtime", "Jinja runtime: macro and caller calls, context"),
    ("jinja2/", "Jinja: environment, getattr, template loading"),
    ("_macros.sql.j2", "compiled _macros.sql.j2 (macro bodies)"),
    (".sql.j2", "compiled part templates"),
    ("rendering/parts", "parts.py: step() collecting, Step, identity"),
    ("rendering/sqlfilters", "quoting filters and finalize"),
    ("rendering/identifiers", "identifier checks"),
    ("psycopg", "quoting filters and finalize"),
    ("rendering/config", "config: read, merge, validate"),
    ("pydantic", "config: read, merge, validate"),
    ("migrating/tenants", "config: read, merge, validate"),
)


def group_of(file: str, function: str) -> str:
    for part, group in GROUPS:
        if part in file:
            return group
    return f"builtins: {function}" if file == "~" else f"other: {Path(file).name}"


def load_and_render(project: Path) -> int:
    """Load every tenant of dev and render all its parts; the number of steps."""
    return sum(len(p.steps) for c in load_tenants(project, "dev") for p in render_all(project, c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = project_with_tenants(Path(tmp), args.tenants)
        render_all(project, load_config(project, "dev"))  # compile the templates once
        cpu = time.process_time()
        steps = load_and_render(project)
        cpu = time.process_time() - cpu
        profile = cProfile.Profile()
        profile.runcall(load_and_render, project)
    print(
        f"{args.tenants} tenants, {steps} steps: {1000 * cpu / args.tenants:.2f} ms CPU per"
        f" tenant, {1e6 * cpu / steps:.1f} µs per step (without the profiler)"
    )
    groups: Counter[str] = Counter()
    for (file, _, function), (_, _, own, _, _) in pstats.Stats(profile).stats.items():
        groups[group_of(file, function)] += own
    total = sum(groups.values())
    print("share of profiled time, by where it is spent:")
    for group, seconds in groups.most_common(args.top):
        print(f"  {100 * seconds / total:5.1f} %  {group}")


if __name__ == "__main__":
    main()
