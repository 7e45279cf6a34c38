"""The Jinja environment templates render in: strict, with the SQL filters installed, and
its compiled templates kept between processes.

Only a render imports Jinja (a command that finds its render in the cache does not).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from tmplmig.rendering import cache
from tmplmig.rendering.jinja_internals import FastContext
from tmplmig.rendering.sqlfilters import (
    dollar_quote,
    finalize,
    ident,
    idents,
    literal,
    literals,
    qualified,
)

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
#: so do the filters and ``finalize`` (a call passes them the context or not, as they ask)
#: and this environment: their source is part of every compiled template's key
_COMPILING = ("environment.py", "sqlfilters.py")


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between processes: compiling them was most of a short
    command's time (``tmplmig apply``: about 1 s of CPU on a busy 2-core machine, 50 ms
    with the cache). Jinja's own per-user directory (created 0700, owner checked), keyed by
    template name and source, not path: a copy of the project (another checkout, a test's
    sandbox) reads what one compiled, given its own path; another version of the filters is
    another set (:data:`_COMPILING`). A failed write only costs the next process a compile."""

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> jinja2.bccache.Bucket:
        checksum = self.get_source_checksum(source)
        bucket = jinja2.bccache.Bucket(
            environment, self.get_cache_key(f"{name}|{checksum}"), checksum
        )
        self.load_bytecode(bucket)
        if bucket.code is not None and filename is not None:
            bucket.code = _relocated(bucket.code, filename)
        return bucket

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _relocated(code: CodeType, filename: str) -> CodeType:
    """``code`` compiled from ``filename``, as Jinja would have compiled it: the template's
    path is its code's file name, which tracebacks and Jinja's errors name."""
    if code.co_filename == filename:
        return code
    consts = tuple(
        _relocated(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts
    )
    return code.replace(co_filename=filename, co_consts=consts)


@lru_cache(maxsize=1)
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """None when no safe directory can be had (then every process compiles)."""
    code = cache.source_stamp(*(str(Path(__file__).with_name(m)) for m in _COMPILING))
    shape = f"{jinja2.__version__} {sorted(_COMPILE_OPTIONS.items())} {code}"
    tag = hashlib.sha256(shape.encode())
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
        finalize=finalize,
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
