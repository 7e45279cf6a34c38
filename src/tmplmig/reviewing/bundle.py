"""The DBA review bundle: rendered parts as psql-runnable files plus a MANIFEST.

Each file holds exactly the steps yoyo runs, in the same order, wrapped in BEGIN/COMMIT
when the part is transactional (as yoyo wraps it; outside one, so is a step that hides
sensitive columns, which yoyo sends as one message and psql statement by statement), after
the session settings (lock and statement timeouts) that yoyo also runs before every step.
``SET ROLE`` lines switch to the owner role where yoyo's step does, and ``RESET ROLE`` back to
the deploying login. PostgreSQL-only syntax goes to ``.pgsql`` files, as the seed's
convention asks.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tmplmig.database.locking import session_settings_sql, set_role_sql, step_statements
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.parts import Guarded, Part, config_digest
from tmplmig.rendering.sensitive import MARK
from tmplmig.rendering.sqlfilters import ident, literal

if TYPE_CHECKING:  # the lock notes parse SQL with pglast: imported when a bundle is built,
    # not by the commands that only import this module (apply, status)
    from tmplmig.reviewing.locks import BundleContext

MANIFEST = "MANIFEST"
#: files of a bundle that are not SQL: the run order, and the page for the reviewer
NOT_SQL = (MANIFEST, "REVIEW.md")
STEP_MARK = "-- step: "
REPAIR_MARK = "-- repair, "
REPAIR_LINE = "--   "
GUARD_MARK = "-- guard (yoyo asks the same): the statement runs when this returns true"
#: psql variable that ``\\if`` reads: the guard's ``run`` column, stored by ``\\gset``
GUARD_VAR = "tmplmig_run"
#: and its ``note`` (why not), which psql prints as a warning like yoyo logs it
NOTE_VAR = "tmplmig_note"
GUARD_GSET = "\\gset tmplmig_"
#: heads the query that lets a rollback file skip the steps of a role that is gone: a file
#: run again finds the owner role its first run dropped, and with it everything it owned
ROLE_GUARD_MARK = "-- steps as role "


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


def psql_text(statement: Guarded) -> str:
    """How psql carries one statement: as is, inside ``\\if`` on its guard (warning with the
    guard's note when it says no), or commented out."""
    if statement.psql == "if":
        return "\n".join(
            [
                GUARD_MARK,
                f"\\unset {NOTE_VAR}",
                statement.guard or "",
                GUARD_GSET,
                f"\\if :{GUARD_VAR}",
                statement.sql,
                f"\\elif :{{?{NOTE_VAR}}}",
                f"\\warn :{NOTE_VAR}",
                "\\endif",
            ]
        )
    if statement.psql == "by hand":
        lines = [
            REPAIR_MARK + "run by hand when this query returns true:",
            *(statement.guard or "").splitlines(),
            *statement.sql.splitlines(),
        ]
        return "\n".join(lines[:1] + [f"--   {line}" for line in lines[1:]])
    return statement.sql


def _shown(statement: Guarded, context: BundleContext) -> str:
    """A step's statement with its lock notes; a session setting around it (``SET
    statement_timeout`` for a scan) as is, like the settings heading the file."""
    from tmplmig.reviewing.locks import annotate

    if statement.sql.startswith("SET "):
        return statement.sql
    return psql_text(replace(statement, sql=annotate(statement.sql, context)))


def _when_role_exists(role: str) -> list[str]:
    """psql lines that open an ``\\if`` on ``role`` existing."""
    return [
        f"{ROLE_GUARD_MARK}{ident(role)}, while it exists: without it, nothing it owned is left",
        f"SELECT pg_catalog.to_regrole({literal(ident(role))}) IS NOT NULL AS role_exists",
        GUARD_GSET,
        "\\if :tmplmig_role_exists",
    ]


def with_role_switches(
    blocks: Iterable[tuple[str | None, list[str]]], skip_missing_roles: bool = False
) -> list[str]:
    """The lines of ``blocks`` (each: the role it runs as, its lines), with ``SET ROLE`` where
    the role changes and ``RESET ROLE`` at the end, as yoyo's step callables switch roles.

    With ``skip_missing_roles`` (rollback files) the lines of each role run under psql's
    ``\\if`` on the role existing, so that a file run again after its first run dropped the
    owner role skips what that role owned instead of failing on ``SET ROLE``."""
    lines: list[str] = []
    current: str | None = None
    for role, block in blocks:
        if role != current:
            if skip_missing_roles and current is not None:
                lines += [set_role_sql(None), "\\endif", ""]
            if skip_missing_roles and role is not None:
                lines += _when_role_exists(role)
            if role is not None or not skip_missing_roles:
                lines += [set_role_sql(role), ""]
            current = role
        lines += block
    if current is not None:
        lines += [set_role_sql(None), *(["\\endif"] if skip_missing_roles else []), ""]
    return lines


def _file_name(part: Part, direction: str) -> str:
    ext = "pgsql" if part.dialect_specific else "sql"
    return f"{part.id}.{ext}" if direction == "apply" else f"{part.id}.rollback.{ext}"


def bundle_context(parts: list[Part]) -> BundleContext:
    """Facts the lock notes need from the whole bundle (an index's table, FK targets)."""
    from tmplmig.reviewing.locks import BundleContext

    context = BundleContext()
    for part in parts:
        for s in part.steps:
            for g in s.apply_statements:
                context.learn(g.sql)
    return context


def _render_file(
    part: Part, direction: str, config: LoadedConfig, digest: str, context: BundleContext
) -> str:
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
    marked = []
    for s in steps:
        statements = step_statements(s, config.settings.ddl, direction)
        if statements:
            shown = [_shown(g, context) for g in statements]
            if not part.transactional and direction == "apply" and MARK in s.apply:
                shown = ["BEGIN;", *shown, "COMMIT;"]
            marked.append((s.role, [f"{STEP_MARK}{s.name}", *shown, ""]))
    body = with_role_switches(marked, skip_missing_roles=direction == "rollback")
    if part.transactional:
        body = ["BEGIN;", "", *body, "COMMIT;", ""]
    return "\n".join(header + body)


def build_bundle(parts: list[Part], config: LoadedConfig) -> list[BundleFile]:
    """Apply files in part order, then rollback files in reverse part order."""
    digest, context = config_digest(config), bundle_context(parts)
    return [
        BundleFile(_file_name(p, d), p.id, d, _render_file(p, d, config, digest, context))
        for d, ordered in (("apply", parts), ("rollback", list(reversed(parts))))
        for p in ordered
    ]


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
        if stale.is_file() and (stale.suffix in (".sql", ".pgsql") or stale.name in NOT_SQL):
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


def bundle_only_lines(text: str) -> list[bool]:
    """Per line of a bundle file: whether the bundle added it for psql or the reader (a guard
    query and its psql meta-commands, a lock note, a repair to run by hand) rather than SQL
    that yoyo runs."""
    from tmplmig.reviewing.locks import LOCK_MARK

    added: list[bool] = []
    in_guard = False
    for line in text.split("\n"):
        if line == GUARD_MARK or line.startswith(ROLE_GUARD_MARK):
            in_guard = True
        elif in_guard:
            in_guard = line != GUARD_GSET
            added.append(True)
            continue
        added.append(in_guard or line.startswith(("\\", LOCK_MARK, REPAIR_MARK, REPAIR_LINE)))
    return added


def executable_sql(text: str) -> str:
    """``text`` without the lines the bundle added: what yoyo runs."""
    lines = text.split("\n")
    kept = [
        line
        for line, added in zip(lines, bundle_only_lines(text), strict=True)
        if not added and not line.startswith(STEP_MARK)
    ]
    return "\n".join(kept).strip()


def _without_header(text: str) -> str:
    lines = text.split("\n")
    first_sql = next((i for i, line in enumerate(lines) if not line.startswith("--")), len(lines))
    return "\n".join(lines[first_sql:]).lstrip("\n")


def reviewable_sql(contents: dict[str, str]) -> dict[str, str]:
    """The bundle's SQL files without their comment headers, to compare two renders."""
    return {name: _without_header(text) for name, text in contents.items() if name not in NOT_SQL}


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
            if p.is_file() and (p.suffix in (".sql", ".pgsql") or p.name in NOT_SQL)
        }
        if committed.is_dir()
        else {}
    )
    return unified_diff(on_disk, contents, str(committed), "rendered")
