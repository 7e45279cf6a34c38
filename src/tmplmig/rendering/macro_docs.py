"""docs/macros.md, generated from ``templates/_macros.sql.j2`` so the page cannot drift.

Each public macro's comment holds its description, a ``lock:`` line and an ``example:``
call; the example is rendered through the real macros to show the SQL of each direction.
Regenerate with ``python -m tmplmig.rendering.macro_docs > docs/macros.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import nodes

from tmplmig.rendering.parts import Step, render_steps
from tmplmig.rendering.sqlfilters import RenderError

MACROS = "_macros.sql.j2"
COMMAND = "python -m tmplmig.rendering.macro_docs > docs/macros.md"
_COMMENTED_MACRO = re.compile(
    r"\{#-?(?P<comment>(?:(?!#\}).)*?)-?#\}\s*\{% macro (?P<name>\w+)\(", re.DOTALL
)


@dataclass(frozen=True)
class MacroDoc:
    """What the page says about one macro."""

    name: str
    signature: str
    description: str
    lock: str
    example: str


def _jinja_literal(node: nodes.Expr) -> str:
    """A default value as a template would spell it."""
    if isinstance(node, nodes.List):
        return "[" + ", ".join(_jinja_literal(item) for item in node.items) + "]"
    if isinstance(node, nodes.Const):
        return json.dumps(node.value).replace("null", "none")
    raise RenderError(f"templates/{MACROS}: a default other than a constant or a list")


def _signature(macro: nodes.Macro) -> str:
    defaults = [None] * (len(macro.args) - len(macro.defaults)) + list(macro.defaults)
    params = [
        a.name if d is None else f"{a.name}={_jinja_literal(d)}"
        for a, d in zip(macro.args, defaults, strict=True)
    ]
    return f"{macro.name}({', '.join(params)})"


def _parse_comment(name: str, comment: str) -> tuple[str, str, str]:
    """(description, lock, example) from a macro's comment; both labelled lines required."""
    description, lock, example = [], None, None
    lines = iter(comment.strip("\n").splitlines())
    for line in lines:
        text = line.strip()
        if text.startswith("lock:"):
            lock = text.removeprefix("lock:").strip()
        elif text.startswith("example:"):
            example = "\n".join([text.removeprefix("example:").strip(), *lines]).strip()
        else:
            description.append(text)
    if not lock or not example:
        raise RenderError(
            f"templates/{MACROS}: macro {name} needs a 'lock:' and an 'example:' line"
        )
    return " ".join(description).strip(), lock, example


def macro_docs(templates_dir: Path) -> list[MacroDoc]:
    """Every public macro of ``_macros.sql.j2``, in file order."""
    return list(_documented((templates_dir / MACROS).read_text()))


@lru_cache(maxsize=4)
def _documented(source: str) -> tuple[MacroDoc, ...]:
    """The public macros of the macro library's ``source`` (parsed once per text)."""
    comments = {m["name"]: m["comment"] for m in _COMMENTED_MACRO.finditer(source)}
    docs = []
    for macro in jinja2.Environment().parse(source).find_all(nodes.Macro):
        if macro.name.startswith("_"):
            continue
        if macro.name not in comments:
            raise RenderError(f"templates/{MACROS}: macro {macro.name} has no comment above it")
        description, lock, example = _parse_comment(macro.name, comments[macro.name])
        docs.append(MacroDoc(macro.name, _signature(macro), description, lock, example))
    return tuple(docs)


def example_template(example: str) -> str:
    """Template text that runs one example call."""
    call = f"{{{{ {example} }}}}" if example.startswith("m.") else example
    return f'{{% import "{MACROS}" as m %}}\n{call}\n'


def _sql_block(sql: str) -> list[str]:
    return ["```sql", sql, "```"]


def _steps_section(steps: tuple[Step, ...]) -> list[str]:
    out: list[str] = []
    for step in steps:
        guards = dict(step.guards)
        out += ["", f"Step `{step.name}`:"]
        if step.repair:
            out += ["", "repair (before every apply attempt):", "", *_sql_block(step.repair)]
            out += _guard_block(guards.get("repair"))
        out += ["", "apply:", "", *_sql_block(step.apply), *_guard_block(guards.get("apply"))]
        out += ["", "rollback:", ""]
        out += _sql_block(step.rollback) if step.rollback else ["none (it creates nothing)"]
        out += _guard_block(guards.get("rollback"))
    return out


def _guard_block(guard: str | None) -> list[str]:
    """The guard query of a direction: yoyo runs the statement only when it returns true."""
    return ["", "only when this guard returns true:", "", *_sql_block(guard)] if guard else []


def render_page(templates_dir: Path) -> str:
    """The whole of docs/macros.md."""
    lines = [
        "# Macros",
        "",
        f"<!-- generated from templates/{MACROS}; do not edit: run `{COMMAND}` -->",
        "",
        f'A template imports them with `{{% import "{MACROS}" as m %}}` and calls each with'
        " keyword arguments. Every macro records its object as steps, each an apply paired with"
        " its rollback (see `step` at the top of the macro file). Names from config go through"
        " `|ident`, `|qualified` or `|literal`; arguments described as template-authored SQL"
        " are written into the SQL as they are. Every apply converges when run again.",
        "",
        "A table a migration creates in an app schema gets, without asking, the grants its"
        " schema's default privileges give (002d's `schema_privileges`) and its"
        " `sensitive_columns` hidden from every app role `privileges.sensitive_readers` does not"
        " list (see `table`, `add_column`). It must ask for an audit trigger or a retention"
        " guard (`trigger`, with 002e's functions) and a seeded retention policy (`row`). A"
        " squawk finding is acknowledged in the template, on the line before the statement:"
        " `-- squawk-ignore RULE`, with the reason on a comment line above it (see"
        " `set_not_null`); tmplmig's own rules: `-- lint: allow RULE: reason`.",
        "",
        "| macro | lock |",
        "| --- | --- |",
    ]
    docs = macro_docs(templates_dir)
    lines += [f"| [`{d.name}`](#{d.name}) | {d.lock} |" for d in docs]
    for doc in docs:
        steps = render_steps(templates_dir, example_template(doc.example), {})
        lines += [
            "",
            f"## {doc.name}",
            "",
            f"`m.{doc.signature}`",
            "",
            doc.description,
            "",
            f"**Lock:** {doc.lock}",
            "",
            "```jinja",
            doc.example,
            "```",
            *_steps_section(steps),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the page for the project in ``--project`` (default: the current folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    sys.stdout.write(render_page(args.project / "templates"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
