"""Review bundles as a DBA uses them: their MANIFEST sections, and their files run with psql."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.servers import deployer_dsn
from tmplmig.reviewing.bundle import MANIFEST, manifest_files


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


def applying(plan: dict[str, str]) -> dict[str, str]:
    """A plan's apply section (its files in MANIFEST order, and MANIFEST): what would run."""
    names = manifest_files(plan[MANIFEST], "apply")
    return {**{name: plan[name] for name in names}, MANIFEST: plan[MANIFEST]}
