"""Every part of a project as rendered for one config, kept between processes.

A command that renders what the previous command rendered from the same templates for the same
settings (``tmplmig status`` after ``apply``, a second ``apply``) reads the parts back instead
of importing Jinja and running six templates. The key digests everything a render depends on:
the validated settings and tenant, the bytes and names of every file under ``templates/``, the
rendering code and Jinja's installed files; an edit of any of them is a miss, and the parts
are rendered and kept again. Entries are JSON, checked as :mod:`tmplmig.rendering.cache` says.
"""

from __future__ import annotations

import json
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
#: the dataclasses a kept render holds, by the name its JSON gives
_KINDS: dict[str, type[Any]] = {"Part": Part, "Step": Step, "DbObject": DbObject}
KIND = "render"


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """This package's rendering code and the installed Jinja (its files' size and time)."""
    here = Path(__file__).parent
    code = cache.source_stamp(*(str(here / m) for m in _RENDERING))
    return cache.digest(code, cache.installed_stamp("jinja2"))


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


def _to_json(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        plain = {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
        return {"__": type(value).__name__, **plain}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def _object(value: dict[str, Any]) -> Any:
    """One JSON object of a kept render made its dataclass as it is decoded (the objects
    inside it are made already): what :func:`_to_json` made, back, in one pass of the JSON
    decoder (the dataclasses kept hold tuples, never lists)."""
    kind = _KINDS[value.pop("__")]
    return kind(**{k: _tupled(v) for k, v in value.items()})


def kept(project: Path, config: LoadedConfig) -> dict[str, Part] | None:
    """Every part of ``project`` rendered for ``config``, by id, when kept; else None (and
    always None while the cache is off, whatever this process read before)."""
    if cache.cache_dir() is None:
        return None
    key = render_key(project, config)
    return _kept(key)


@lru_cache(maxsize=64)
def _kept(key: str) -> dict[str, Part] | None:
    try:
        payload = cache.read(KIND, key, object_hook=_object)
    except (KeyError, TypeError, ValueError):  # not what keep() writes: render again
        return None
    if not isinstance(payload, list):
        return None
    parts = _tupled(payload)
    if not all(isinstance(p, Part) for p in parts):
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
    payload = _to_json(tuple(parts))
    encoded = cache.encode(payload)
    if _tupled(json.loads(encoded, object_hook=_object)) != tuple(parts):  # not back whole
        return
    cache.write_encoded(KIND, key, encoded)
    _kept.cache_clear()
