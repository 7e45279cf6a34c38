"""The DBA review bundle: rendered parts as psql-runnable files plus a MANIFEST.

Each file holds exactly the steps yoyo runs, in the same order, wrapped in BEGIN/COMMIT
when the part is transactional (as yoyo wraps it), after the session settings (lock and
statement timeouts) that yoyo also runs before every step. ``SET ROLE`` lines switch to the
owner role where yoyo's step does, and ``RESET ROLE`` back to the deploying login.
PostgreSQL-only syntax goes to
``.pgsql`` files, as the seed's convention asks.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

from tmplmig.database.locking import session_settings_sql, set_role_sql, step_statements
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.parts import Part, config_digest

MANIFEST = "MANIFEST"
STEP_MARK = "-- step: "


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: its name, direction and text."""

    name: str
    part: str
    direction: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def _file_name(part: Part, direction: str) -> str:
    ext = "pgsql" if part.dialect_specific else "sql"
    return f"{part.id}.{ext}" if direction == "apply" else f"{part.id}.rollback.{ext}"


def _render_file(part: Part, direction: str, config: LoadedConfig, digest: str) -> str:
    steps = part.steps if direction == "apply" else tuple(reversed(part.steps))
    header = [
        f"-- tmplmig {direction}: {part.id} — {part.title}",
        f"-- environment: {config.env}",
        f"-- tenant: {config.tenant or '-'}",
        f"-- template: {part.template}",
        f"-- config digest: sha256:{digest}",
        "-- run with: psql -v ON_ERROR_STOP=1 -f <this file>",
        "",
        session_settings_sql(config.settings.ddl),
        "",
    ]
    body: list[str] = []
    role: str | None = None
    for s in steps:
        statements = step_statements(s, config.settings.ddl, direction)
        if statements:
            if s.role != role:
                body += [set_role_sql(s.role), ""]
                role = s.role
            body += [f"{STEP_MARK}{s.name}", *statements, ""]
    if role is not None:
        body += [set_role_sql(None), ""]
    if part.transactional:
        body = ["BEGIN;", "", *body, "COMMIT;", ""]
    return "\n".join(header + body)


def build_bundle(parts: list[Part], config: LoadedConfig) -> list[BundleFile]:
    """Apply files in part order, then rollback files in reverse part order."""
    digest = config_digest(config)
    files = [
        BundleFile(_file_name(p, "apply"), p.id, "apply", _render_file(p, "apply", config, digest))
        for p in parts
    ]
    files += [
        BundleFile(
            _file_name(p, "rollback"), p.id, "rollback", _render_file(p, "rollback", config, digest)
        )
        for p in reversed(parts)
    ]
    return files


def manifest_text(files: list[BundleFile], config: LoadedConfig) -> str:
    """The run order and sha256 of every file, apply first, then rollback."""
    lines = [
        "# tmplmig bundle",
        f"# environment: {config.env}",
        f"# tenant: {config.tenant or '-'}",
        f"# config digest: sha256:{config_digest(config)}",
        "# run each section in order with: psql -v ON_ERROR_STOP=1 -f FILE",
    ]
    for direction in ("apply", "rollback"):
        lines.append(f"[{direction}]")
        lines += [f"{f.sha256}  {f.name}" for f in files if f.direction == direction]
    return "\n".join(lines) + "\n"


def manifest_files(manifest: str, direction: str) -> list[str]:
    """File names of one section (``apply`` or ``rollback``) of a MANIFEST, in run order."""
    section, names = None, []
    for line in manifest.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == direction and line and not line.startswith("#"):
            names.append(line.split("  ", 1)[1])
    return names


def bundle_contents(parts: list[Part], config: LoadedConfig) -> dict[str, str]:
    """File name to text for the whole bundle, MANIFEST included."""
    files = build_bundle(parts, config)
    contents = {f.name: f.text for f in files}
    contents[MANIFEST] = manifest_text(files, config)
    return contents


def write_bundle(contents: dict[str, str], out: Path) -> list[Path]:
    """Write the bundle into ``out``, replacing stale files of an earlier bundle."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.is_file() and (stale.suffix in (".sql", ".pgsql") or stale.name == MANIFEST):
            stale.unlink()
    written = []
    for name, text in sorted(contents.items()):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def step_lines(text: str) -> list[int]:
    """1-based line where each step's SQL starts in a bundle file, in file order."""
    lines = text.splitlines()
    return [i + 2 for i, line in enumerate(lines) if line.startswith(STEP_MARK)]


def _without_header(text: str) -> str:
    lines = text.split("\n")
    first_sql = next((i for i, line in enumerate(lines) if not line.startswith("--")), len(lines))
    return "\n".join(lines[first_sql:]).lstrip("\n")


def reviewable_sql(contents: dict[str, str]) -> dict[str, str]:
    """The bundle's SQL files without their comment headers, to compare two renders."""
    return {name: _without_header(text) for name, text in contents.items() if name != MANIFEST}


def unified_diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> str:
    """A unified diff of two bundles given as file name to text; empty when they match."""
    diff: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            diff += difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"{old_label}/{name}" if name in old else "/dev/null",
                tofile=f"{new_label}/{name}" if name in new else "/dev/null",
            )
    return "".join(diff)


def check_bundle(contents: dict[str, str], committed: Path) -> str:
    """A unified diff from the committed bundle to what renders now; empty when they match."""
    on_disk = (
        {
            p.name: p.read_text(encoding="utf-8")
            for p in sorted(committed.glob("*"))
            if p.is_file() and (p.suffix in (".sql", ".pgsql") or p.name == MANIFEST)
        }
        if committed.is_dir()
        else {}
    )
    return unified_diff(on_disk, contents, str(committed), "rendered")
