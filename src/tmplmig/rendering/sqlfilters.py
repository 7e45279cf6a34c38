"""The Jinja environment that turns templates into SQL, and the filters that keep it safe.

Config values reach templates wrapped in :class:`ConfigText`; the only way to turn one
into SQL text is the ``ident``/``qualified``/``literal`` filters, which validate and quote.
Any other use (``{{ value }}``, ``~`` concatenation, ``|string``, ``|join``, printing the
list that holds it) raises at render time. Autoescape stays off: SQL is not HTML.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from psycopg import sql

from tmplmig.errors import TmplmigError
from tmplmig.rendering.identifiers import IdentifierError, check_identifier
from tmplmig.rendering.jinja_internals import FastContext


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


def _finalize(value: Any) -> Any:
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


#: what ``getattr`` finds on any dict: ``x.items`` stays the method, as Jinja has it
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """Jinja's environment with a direct path for ``config.key`` on config mappings.

    Jinja tries ``getattr`` first and falls back to the item, so every ``schemas.auth`` in a
    template raised and caught an AttributeError; a plain dict has no attribute but those of
    its type, so looking the item up first for any other name gives the same answer."""

    context_class = FastContext

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


#: what shapes the Python code Jinja compiles a template to (with Jinja's version)
_COMPILE_OPTIONS = {"keep_trailing_newline": True, "trim_blocks": True, "lstrip_blocks": True}


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between processes: compiling them was most of a short
    command's time (``tmplmig apply``: about 1 s of CPU on a busy 2-core machine, 50 ms
    with the cache). Jinja's own per-user directory (created 0700, owner checked), keyed by
    template path and source checksum; a failed write only costs the next process a compile."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


@lru_cache(maxsize=1)
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """None when no safe directory can be had (then every process compiles)."""
    tag = hashlib.sha256(f"{jinja2.__version__} {sorted(_COMPILE_OPTIONS.items())}".encode())
    try:
        return _BytecodeCache(pattern=f"__tmplmig_{tag.hexdigest()[:16]}_%s.cache")
    except (OSError, RuntimeError):
        return None


def make_environment(templates_dir: Path, globals_: Mapping[str, Any]) -> jinja2.Environment:
    """A strict Jinja environment over ``templates_dir`` with the SQL filters installed."""
    env = _Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        bytecode_cache=_bytecode_cache(),
        **_COMPILE_OPTIONS,
    )
    env.filters.update(
        ident=ident,
        qualified=qualified,
        literal=literal,
        idents=idents,
        literals=literals,
        dollar_quote=dollar_quote,
    )
    env.globals.update(globals_)
    return env
