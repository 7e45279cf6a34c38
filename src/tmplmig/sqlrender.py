"""The Jinja environment that turns templates into SQL, and the filters that keep it safe.

Config values reach templates wrapped in :class:`ConfigText`; the only way to turn one
into SQL text is the ``ident``/``qualified``/``literal`` filters, which validate and quote.
Any other use (``{{ value }}``, ``~`` concatenation, ``|string``) raises at render time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from psycopg import sql

from tmplmig.identifiers import IdentifierError, check_identifier


class RenderError(Exception):
    """A template could not be turned into SQL."""


class ConfigText:
    """A string from config that must be quoted before it becomes SQL."""

    __slots__ = ("path", "value")

    def __init__(self, value: str, path: str) -> None:
        self.value = value
        self.path = path

    def _refuse(self) -> str:
        raise RenderError(
            f"config value {self.path} ({self.value!r}) used without |ident, |qualified or |literal"
        )

    __html__ = _refuse
    __str__ = _refuse

    def __repr__(self) -> str:
        return f"ConfigText({self.value!r}, path={self.path!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigText):
            return self.value == other.value
        return self.value == other

    def __hash__(self) -> int:
        return hash(self.value)


def wrap_config(value: Any, path: str = "") -> Any:
    """Wrap every string leaf of plain config data in :class:`ConfigText`."""
    if isinstance(value, str):
        return ConfigText(value, path)
    if isinstance(value, Mapping):
        return {k: wrap_config(v, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wrap_config(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, ConfigText) else value


def ident(value: ConfigText | str) -> Markup:
    """A validated, double-quoted identifier."""
    name = _unwrap(value)
    try:
        check_identifier(name)
    except IdentifierError as exc:
        where = f" at {value.path}" if isinstance(value, ConfigText) else ""
        raise RenderError(f"{exc}{where}") from None
    return Markup(sql.Identifier(name).as_string(None))


def qualified(schema: ConfigText | str, name: ConfigText | str) -> Markup:
    """``"schema"."name"``, both parts validated and quoted."""
    return Markup(f"{ident(schema)}.{ident(name)}")


def literal(value: Any) -> Markup:
    """An escaped SQL literal for a string, number, boolean or NULL."""
    plain = _unwrap(value)
    if not isinstance(plain, str | int | float | bool) and plain is not None:
        raise RenderError(f"cannot render {type(plain).__name__} as an SQL literal")
    return Markup(sql.Literal(plain).as_string(None))


def idents(values: list[Any]) -> Markup:
    """A comma-separated list of quoted identifiers."""
    return Markup(", ").join(ident(v) for v in values)


def literals(values: list[Any]) -> Markup:
    """A comma-separated list of escaped literals."""
    return Markup(", ").join(literal(v) for v in values)


def dollar_quote(body: str, tag: str = "body") -> Markup:
    """Wrap a function body in a dollar quote whose tag does not occur inside it."""
    text = str(body).strip("\n")
    candidate, n = f"${tag}$", 0
    while candidate in text:
        n += 1
        candidate = f"${tag}{n}$"
    return Markup(f"{candidate}\n{text}\n{candidate}")


def _finalize(value: Any) -> Any:
    """Let only quoted SQL, numbers and booleans out of ``{{ }}``."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, bool):
        return Markup("true" if value else "false")
    if isinstance(value, int):
        return Markup(str(value))
    if isinstance(value, ConfigText):
        value._refuse()
    raise RenderError(
        f"{value!r} reached SQL unquoted; use |ident, |qualified, |literal or |sql"
    )


def trusted_sql(value: str) -> Markup:
    """Template-authored SQL text (never config) passed through unchanged."""
    if isinstance(value, ConfigText):
        value._refuse()
    return Markup(value)


def make_environment(templates_dir: Path, globals_: Mapping[str, Callable[..., Any]]) -> jinja2.Environment:
    """A strict Jinja environment over ``templates_dir`` with the SQL filters installed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        finalize=_finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ident=ident,
        qualified=qualified,
        literal=literal,
        idents=idents,
        literals=literals,
        dollar_quote=dollar_quote,
        sql=trusted_sql,
    )
    env.globals.update(globals_)
    return env
