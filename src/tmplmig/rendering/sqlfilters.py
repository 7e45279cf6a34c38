"""The Jinja environment that turns templates into SQL, and the filters that keep it safe.

Config values reach templates wrapped in :class:`ConfigText`; the only way to turn one
into SQL text is the ``ident``/``qualified``/``literal`` filters, which validate and quote.
Any other use (``{{ value }}``, ``~`` concatenation, ``|string``, ``|join``, printing the
list that holds it) raises at render time. Autoescape stays off: SQL is not HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from psycopg import sql

from tmplmig.errors import TmplmigError
from tmplmig.rendering.identifiers import IdentifierError, check_identifier


class RenderError(TmplmigError):
    """A template could not be turned into SQL."""


class ConfigText:
    """A string from config that must be quoted before it becomes SQL."""

    __slots__ = ("path", "value")

    def __init__(self, value: str, path: str) -> None:
        self.value = value
        self.path = path

    def _refuse(self, *_: object) -> str:
        raise RenderError(
            f"config value {self.path} ({self.value!r}) used without |ident, |qualified or |literal"
        )

    __str__ = _refuse
    __repr__ = _refuse
    __format__ = _refuse

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


@lru_cache(maxsize=65536)
def _quoted_identifier(name: str) -> str:
    """Check and quote once per name: a thousand tenants repeat the same table names."""
    return sql.Identifier(check_identifier(name)).as_string(None)


def ident(value: ConfigText | str) -> str:
    """A validated, double-quoted identifier."""
    name = value.value if isinstance(value, ConfigText) else value
    try:
        return _quoted_identifier(name)
    except IdentifierError as exc:
        where = f" at {value.path}" if isinstance(value, ConfigText) else ""
        raise RenderError(f"{exc}{where}") from None


def qualified(schema: ConfigText | str, name: ConfigText | str) -> str:
    """``"schema"."name"``, both parts validated and quoted."""
    return f"{ident(schema)}.{ident(name)}"


@lru_cache(maxsize=65536, typed=True)  # typed: True and 1 are different literals
def _quoted_literal(value: str | int | float | bool | None) -> str:
    """Escape once per value: a thousand tenants repeat the same literals."""
    return sql.Literal(value).as_string(None)


def literal(value: Any) -> str:
    """An escaped SQL literal for a string, number, boolean or NULL."""
    plain = value.value if isinstance(value, ConfigText) else value
    if not isinstance(plain, str | int | float | bool) and plain is not None:
        raise RenderError(f"cannot render {type(plain).__name__} as an SQL literal")
    return _quoted_literal(plain)


def idents(values: list[Any]) -> str:
    """A comma-separated list of quoted identifiers."""
    return ", ".join(ident(v) for v in values)


def literals(values: list[Any]) -> str:
    """A comma-separated list of escaped literals."""
    return ", ".join(literal(v) for v in values)


def dollar_quote(body: str, tag: str = "body") -> str:
    """Wrap a function body in a dollar quote whose tag does not occur inside it."""
    text = str(body).strip("\n")
    candidate, n = f"${tag}$", 0
    while candidate in text:
        n += 1
        candidate = f"${tag}{n}$"
    return f"{candidate}\n{text}\n{candidate}"


def finalize(value: Any) -> Any:
    """Let only text, numbers and booleans out of ``{{ }}``; never config or containers."""
    if type(value) is str:  # the common case, first: rendered SQL from filters and macros
        return value
    if isinstance(value, ConfigText):
        value._refuse()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value
    raise RenderError(f"a {type(value).__name__} cannot be rendered into SQL; render its items")
