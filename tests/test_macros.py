"""The macro library: keyword calls, one quote style, and docs/macros.md generated from it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from tmplmig.rendering.macro_docs import example_template, macro_docs, render_page
from tmplmig.rendering.sqlfilters import RenderError

LEX = jinja2.Environment()


def templates(project: Path) -> list[Path]:
    return sorted((project / "templates").glob("*.sql.j2"))


def macro_names(project: Path) -> frozenset[str]:
    return _macro_names((project / "templates/_macros.sql.j2").read_text())


@lru_cache
def _macro_names(source: str) -> frozenset[str]:
    """Names of the macros ``source`` defines (parsed once per text)."""
    return frozenset(m.name for m in LEX.parse(source).find_all(nodes.Macro))


def positional_macro_calls(source: str, macros: frozenset[str]) -> list[str]:
    """Calls of a macro (``m.x(...)`` or, inside the macro file, ``x(...)``) with positional
    arguments."""
    found = []
    for call in LEX.parse(source).find_all(nodes.Call):
        callee = call.node
        name = callee.attr if isinstance(callee, nodes.Getattr) else getattr(callee, "name", "")
        if name in macros and call.args:
            found.append(f"line {call.lineno}: {name}")
    return found


def test_docs_macros_md_is_the_generated_page(project: Path) -> None:
    committed = (project / "docs/macros.md").read_text()
    assert committed == render_page(project / "templates"), (
        "docs/macros.md is stale; run: python -m tmplmig.rendering.macro_docs > docs/macros.md"
    )


def test_every_macro_call_in_the_templates_uses_keyword_arguments(project: Path) -> None:
    macros = macro_names(project)
    positional = {
        path.name: found
        for path in templates(project)
        if (found := positional_macro_calls(path.read_text(), macros))
    }
    assert positional == {}


def test_the_keyword_check_catches_a_positional_call(project: Path) -> None:
    source = '{% import "_macros.sql.j2" as m %}{{ m.schema(schemas.auth) }}'
    assert positional_macro_calls(source, macro_names(project)) == ["line 1: schema"]


def test_every_documented_example_calls_with_keywords(project: Path) -> None:
    macros = macro_names(project)
    for doc in macro_docs(project / "templates"):
        assert positional_macro_calls(example_template(doc.example), macros) == [], doc.name


def test_templates_write_jinja_strings_in_double_quotes(project: Path) -> None:
    single = [
        f"{path.name}:{line}: {value}"
        for path in templates(project)
        for line, kind, value in LEX.lex(path.read_text())
        if kind == "string" and value.startswith("'")
    ]
    assert single == []


def test_a_macro_without_its_lock_line_is_refused(sandbox: Path) -> None:
    macros = sandbox / "templates/_macros.sql.j2"
    macros.write_text(
        macros.read_text()
        + '\n{#- Says nothing of locks.\n    example: m.nothing(x="y")\n-#}\n'
        + "{% macro nothing(x) %}{% endmacro %}\n"
    )
    with pytest.raises(RenderError, match="macro nothing needs a 'lock:'"):
        render_page(sandbox / "templates")
