"""Every part of a project as rendered for one config, kept between processes.

A command that renders what the previous command rendered from the same templates for the same
settings (``tmplmig status`` after ``apply``, a second ``apply``) reads the parts back instead
of importing Jinja and running six templates. The key digests everything a render depends on:
the validated settings and tenant, the bytes and names of every file under ``templates/``, the
rendering code and Jinja's installed files; an edit of any of them is a miss, and the parts
are rendered and kept again. Entries are checked as :mod:`tmplmig.rendering.cache` says.

An entry holds the parts as :mod:`marshal` data (tuples, strings, numbers; each dataclass a
list of its kind's place in :data:`_KINDS` and its fields in order): reading one back is a C
call and a walk that makes the dataclasses, 2.9 ms against 8 ms for the same render as JSON
through an ``object_hook``, and a plan reads two renders a tenant (today's, and the recorded
config's). marshal refuses nothing but malformed data; an entry is read only when it is this
user's, private, and whole (its digest), as Jinja reads the marshalled templates it keeps in
the same directory. The key holds marshal's format version and the rendering code, which
fixes the fields' order.
"""

from __future__ import annotations

import marshal
from dataclasses import fields, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tmplmig.rendering import cache
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.facts import DbObject
from tmplmig.rendering.parts import Part, Step, config_digest, part_ids

#: the modules whose code shapes a render (their source is part of the key)
_RENDERING = (
    "config.py",
    "environment.py",
    "facts.py",
    "identifiers.py",
    "jinja_internals.py",
    "parts.py",
    "relations.py",
    "sensitive.py",
    "sqlfilters.py",
)
#: the dataclasses a kept render holds, each named by its place here
_KINDS: tuple[type[Any], ...] = (Part, Step, DbObject)
KIND = "render"
#: how its entries' files are named: what they hold
SUFFIX = ".marshal"


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """This package's rendering code and the installed Jinja (its files' size and time)."""
    here = Path(__file__).parent
    code = cache.source_stamp(*(str(here / m) for m in _RENDERING))
    return cache.digest(code, cache.installed_stamp("jinja2"), str(marshal.version))


def render_key(project: Path, config: LoadedConfig) -> str:
    """The key of ``project``'s parts rendered for ``config`` (the templates' bytes are read
    each time: an edit within the same clock tick is still another key)."""
    templates = project / "templates"
    files = sorted(p for p in templates.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return cache.digest(
        _code_stamp(),
        config_digest(config),
        config.tenant or "",
        *(x for f in files for x in (f.relative_to(templates).as_posix(), f.read_bytes())),
    )


def _flat(value: Any) -> Any:
    """``value`` as marshal data: a dataclass as ``[its place in _KINDS, *its fields]``."""
    if is_dataclass(value) and not isinstance(value, type):
        return [_KINDS.index(type(value)), *(_flat(getattr(value, f.name)) for f in fields(value))]
    if isinstance(value, tuple):
        return tuple(_flat(v) for v in value)
    return value


def _made(value: Any) -> Any:
    """What :func:`_flat` made, back (the dataclasses kept hold tuples, never lists)."""
    if isinstance(value, list):
        return _KINDS[value[0]](*map(_made, value[1:]))
    if isinstance(value, tuple) and value and isinstance(value[0], (list, tuple)):
        return tuple(map(_made, value))
    return value


def kept(project: Path, config: LoadedConfig) -> dict[str, Part] | None:
    """Every part of ``project`` rendered for ``config``, by id, when kept; else None (and
    always None while the cache is off, whatever this process read before)."""
    if cache.cache_dir() is None:
        return None
    key = render_key(project, config)
    return _kept(key)


@lru_cache(maxsize=64)
def _kept(key: str) -> dict[str, Part] | None:
    payload = cache.read_bytes(KIND, key, SUFFIX)
    if payload is None:
        return None
    try:
        parts = _made(marshal.loads(payload))
    except (EOFError, IndexError, TypeError, ValueError):  # not what keep() writes: render again
        return None
    if not isinstance(parts, tuple) or not all(isinstance(p, Part) for p in parts):
        return None
    return {p.id: p for p in parts}


def keep(project: Path, config: LoadedConfig, parts: list[Part]) -> None:
    """Keep ``parts``, every part of ``project`` rendered for ``config`` (else nothing is
    kept), unless they are kept already."""
    if [p.id for p in parts] != part_ids(project / "templates"):
        return
    key = render_key(project, config)
    if _kept(key) is not None:
        return
    try:
        encoded = marshal.dumps(_flat(tuple(parts)))
    except ValueError:  # a value marshal cannot keep
        return
    if _made(marshal.loads(encoded)) != tuple(parts):  # not back whole
        return
    cache.write_encoded(KIND, key, encoded, SUFFIX)
    _kept.cache_clear()
