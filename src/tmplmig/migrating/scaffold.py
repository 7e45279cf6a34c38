"""``tmplmig new``: start a migration as a yoyo file plus a template, with the next free id.

The template skeleton shows, in a comment, how the project's own macros are called: the
examples come from ``templates/_macros.sql.j2``, so the skeleton cannot drift from them.
"""

from __future__ import annotations

import re
from pathlib import Path

from tmplmig.migrating.target import CommandError
from tmplmig.rendering.macro_docs import macro_docs
from tmplmig.rendering.parts import PART_ID, TEMPLATE_SUFFIX, part_ids

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: macros whose examples the skeleton shows, in the order a migration usually needs them
SHOWN_MACROS = (
    "table",
    "add_column",
    "index",
    "foreign_key",
    "set_not_null",
    "unique",
    "check",
    "view",
    "comment",
)

MIGRATION = '''"""Renders templates/{id}.sql.j2 for the environment the caller chooses.

tmplmig passes its own choice; plain `yoyo apply` reads $TMPLMIG_ENV (and $TMPLMIG_TENANT).
"""

from tmplmig.migrating.yoyo_bridge import load_part

__depends__, __transactional__ = load_part(__file__)
'''


def next_part_id(templates_dir: Path, name: str) -> str:
    """``NNN_name`` with NNN one above the highest number in use (after 002e comes 003)."""
    numbers = [int(pid[:3]) for pid in part_ids(templates_dir)]
    return f"{max(numbers, default=0) + 1:03d}_{name}"


def _check_name(templates_dir: Path, name: str) -> None:
    existing = {pid.split("_", 1)[1]: pid for pid in part_ids(templates_dir)}
    if not NAME.match(name):
        raise CommandError(
            f"{name!r} is not a valid part name: lower-case letters, digits and _, "
            "starting with a letter (e.g. add_widgets)"
        )
    if name in existing:
        raise CommandError(f"a part named {name!r} exists: templates/{existing[name]}.sql.j2")


#: the macro docs' examples name a literal schema; a template takes its schemas from config
_LITERAL_SCHEMA = re.compile(r'\b(schema|ref_schema|function_schema)="app"')


def _in_config(example: str) -> str:
    """A macro's example as a template writes it: ``schema=s.production``, as the README does."""
    return _LITERAL_SCHEMA.sub(r"\1=s.production", example)


def skeleton(part_id: str, transactional: bool, depends: list[str], templates_dir: Path) -> str:
    """The template ``new`` writes: metadata set, macros imported, examples in a comment."""
    examples = {d.name: _in_config(d.example) for d in macro_docs(templates_dir)}
    shown = "\n".join(
        example if example.startswith("{%") else f"{{{{ {example} }}}}"
        for name in SHOWN_MACROS
        if (example := examples.get(name))
    )
    title = f"{part_id[:3]}: {part_id[4:].replace('_', ' ')}"
    return f"""{{#- {part_id}: what this migration changes, and why. -#}}
{{% set title = "{title}" %}}
{{% set transactional = {str(transactional).lower()} %}}
{{% set depends = [{", ".join(f'"{d}"' for d in depends)}] %}}
{{% import "_macros.sql.j2" as m %}}
{{% set s = schemas %}}
{{#- Call macros with keyword arguments; each records its apply next to its rollback.
    schema= takes a schema from config, such as s.production; every macro, the SQL it renders
    in each direction and the lock it takes: docs/macros.md. Concurrent index builds and
    NOT VALID constraints need transactional = false (tmplmig new --non-transactional).
    A new table in an app schema gets, without asking, its schema's grants (default
    privileges) and its sensitive_columns hidden from unlisted roles; audit and retention
    triggers it must ask for (m.trigger). A squawk finding is acknowledged on the line
    before the statement: -- squawk-ignore RULE, with the reason on a comment line above.

{shown}
-#}}
"""


def new_part(
    project: Path, name: str, *, transactional: bool = True, depends: str | None = None
) -> list[Path]:
    """Write ``migrations/NNN_name.py`` and ``templates/NNN_name.sql.j2``; return their paths.

    ``depends``: the part it follows (default: the latest). Nothing is written on error.
    """
    templates_dir = project / "templates"
    _check_name(templates_dir, name)
    known = part_ids(templates_dir)
    after = depends or (known[-1] if known else None)
    if after is not None and after not in known:
        raise CommandError(f"--depends {after!r}: no such part; known: {', '.join(known)}")
    part_id = next_part_id(templates_dir, name)
    if not PART_ID.match(part_id):
        raise CommandError(f"{part_id!r} is not a part id like 003_add_widgets")
    migration = project / "migrations" / f"{part_id}.py"
    template = templates_dir / f"{part_id}{TEMPLATE_SUFFIX}"
    if taken := [str(p.relative_to(project)) for p in (migration, template) if p.exists()]:
        raise CommandError(f"{', '.join(taken)} exists already")
    text = skeleton(part_id, transactional, [after] if after else [], templates_dir)
    migration.write_text(MIGRATION.format(id=part_id))
    template.write_text(text)
    return [migration, template]
