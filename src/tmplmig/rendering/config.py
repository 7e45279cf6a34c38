"""Load layered YAML config, validate it, and report errors with file and key path.

Layers merge in this order, later winning: ``config/base.yaml`` < ``config/<env>.yaml``
< ``config/tenants/<tenant>.yaml``. Mappings merge key by key; any other value replaces.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmplmig.errors import TmplmigError
from tmplmig.rendering import cache

if TYPE_CHECKING:
    from tmplmig.rendering.models import Placement, Settings

KeyPath = tuple[str | int, ...]

ENV_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
#: a tenant name becomes the tracking schema ``tmplmig_<name>``, which yoyo needs plain
TENANT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,54}$")
PREFIX = re.compile(r"^[a-z0-9_]{0,40}$")
ENV_VAR_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
#: database names that go into a URL path as they are (yoyo does not unquote the path)
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
#: how a placement names the database at $TMPLMIG_DATABASE_URL, the environment's own
DEFAULT_DATABASE = "(default)"
#: the pydantic models and types of :mod:`tmplmig.rendering.models`, importable from here too
_MODELS = frozenset(
    {
        "Settings",
        "Schemas",
        "Roles",
        "FunctionExecute",
        "Privileges",
        "Retention",
        "ConnectionPool",
        "Ddl",
        "Placement",
        "Identifier",
        "SchemaName",
        "RoleName",
        "Int4",
        "Days",
        "Duration",
        "PositiveDuration",
        "RoleKey",
        "ExecutingRoles",
    }
)


def __getattr__(name: str) -> Any:
    """The models by their old address (``from tmplmig.rendering.config import Ddl``),
    imported with pydantic when first asked for."""
    if name in _MODELS:
        from tmplmig.rendering import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ConfigError(TmplmigError):
    """A config problem, located by file and key path."""

    def __init__(self, file: Path | str, key_path: KeyPath, problem: str) -> None:
        self.file = str(file)
        self.key_path = key_path
        self.problem = problem
        super().__init__(f"{self.file}: {format_key_path(key_path) or '<top>'}: {problem}")


def format_key_path(key_path: KeyPath) -> str:
    """Render ``("schemas", "auth")`` as ``schemas.auth`` and list indexes as ``[0]``."""
    out = ""
    for key in key_path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


#: PostgreSQL's ``integer``: the columns that store these values, and the settings
#: (``statement_timeout``, ``lock_timeout``: milliseconds) they mirror
INT4_MAX = 2**31 - 1

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0}


def duration_seconds(duration: str) -> float:
    """A validated :data:`Duration` (``"500ms"``, ``"2s"``, ``"5min"``) in seconds."""
    number = duration.rstrip("mins")
    return int(number) * _DURATION_UNITS[duration[len(number) :]]


class Section(Mapping[str, Any]):
    """Validated settings (or one section of them, such as ``ddl``), read-only: each key is an
    attribute too (``settings.ddl.lock_timeout``), nested mappings are sections, and
    :meth:`model_dump` gives the plain data, as the pydantic model that validated it did.

    The one form of validated settings a command holds, whether it validated them now
    (:func:`validate`) or read them back from the cache (:func:`load_config`)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return Section(value) if isinstance(value, dict) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("validated settings are read-only")

    def __repr__(self) -> str:
        return f"Section({self._data!r})"

    def model_dump(self, mode: str = "python", include: set[str] | None = None) -> dict[str, Any]:
        """A deep copy of the data (``include``: only these keys); ``mode`` as pydantic's,
        though the values are plain JSON either way."""
        kept = self._data.items()
        return {k: _copy(v) for k, v in kept if include is None or k in include}


@dataclass(frozen=True)
class LoadedConfig:
    """Settings plus where they came from, for headers, digests and error messages."""

    settings: Section
    files: tuple[Path, ...]
    env: str
    tenant: str | None = None
    placement: Placement | None = None
    #: key path -> the file that set it (see :func:`merge_layers`)
    origin: Mapping[KeyPath, Path] = field(default_factory=dict, compare=False, repr=False)

    def source(self, key_path: KeyPath) -> Path:
        """The file that set ``key_path`` (or the nearest key above it)."""
        return _blame(key_path, self.origin, self.files[-1])


def _read_yaml(path: Path) -> dict[str, Any]:
    """The file's mapping, parsed once per version of the file (:func:`version_of`). Shared
    between calls, so read it only: :func:`merge_layers` copies what it keeps."""
    return _parse_yaml(*_version(path))


def version_of(stat: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file's versions apart without reading it: its size, inode, modification
    time and change time. The change time is the kernel's: any write, a copy that keeps the
    times (``cp -p``) or a file renamed over it moves it, so a version that kept the others
    (a rewrite of the same size, its modification time set back) still shows."""
    return stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns


def _version(path: Path) -> tuple[Path, int, int, int, int]:
    """The file and what tells its versions apart (:func:`version_of`)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(path, (), f"cannot read: {exc.strerror}") from None
    return (path, *version_of(stat))


@lru_cache(maxsize=4096)
def _parse_yaml(path: Path, *_version: int) -> dict[str, Any]:
    import yaml  # only when a config file is new to the cache

    #: libyaml's safe loader when PyYAML was built with it (the wheels are): ~10x faster
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(path, (), f"not valid YAML{where}: {exc}") from None
    except OSError as exc:
        raise ConfigError(path, (), f"cannot read: {exc.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, (), f"top level must be a mapping, got {type(data).__name__}")
    return data


Merged = tuple[dict[str, Any], dict[KeyPath, Path]]


def merge_layers(layers: list[tuple[Path, dict[str, Any]]], onto: Merged | None = None) -> Merged:
    """Deep-merge mappings in order; return the result and which file set each key path.

    ``onto``: an earlier merge to start from, left as it is: the result shares the mappings
    the layers leave alone with it, so read the result only (a tenant's layers onto its
    environment's, merged once)."""
    merged: dict[str, Any] = dict(onto[0]) if onto else {}
    origin: dict[KeyPath, Path] = dict(onto[1]) if onto else {}
    mine = {id(merged)}  # the mappings this merge made, which it may change

    def merge(into: dict[str, Any], data: Mapping[Any, Any], path: KeyPath, file: Path) -> None:
        for key, value in data.items():
            if not isinstance(key, str):
                raise ConfigError(file, path, f"key {key!r} must be a string")
            here = (*path, key)
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                if id(into[key]) not in mine:
                    into[key] = dict(into[key])
                    mine.add(id(into[key]))
                merge(into[key], value, here, file)
            else:
                if isinstance(into.get(key), dict):  # only a mapping has key paths below it
                    for known in [p for p in origin if p[: len(here)] == here]:
                        del origin[known]
                into[key] = _copy(value)
            origin[here] = file

    for file, data in layers:
        merge(merged, data, (), file)
    return merged, origin


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _blame(loc: KeyPath, origin: Mapping[KeyPath, Path], fallback: Path) -> Path:
    """The file that last set ``loc`` or its nearest ancestor."""
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in origin:
            return origin[loc[:depth]]
    return fallback


def validate(
    data: dict[str, Any],
    origin: Mapping[KeyPath, Path],
    fallback: Path,
    defaults: Path | None = None,
) -> Section:
    """Validate merged data; raise the first problem as a located ConfigError: a wrong value
    against the file that set it, a missing key against ``defaults`` (base.yaml), the file
    that holds every key an environment file does not override (``fallback`` without it)."""
    from pydantic import ValidationError

    try:
        settings = _validated(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: KeyPath = tuple(err["loc"])
        problem = _describe(err)
        if err["type"] == "missing":
            raise ConfigError(defaults or fallback, loc, problem) from None
        raise ConfigError(_blame(loc, origin, fallback), loc, problem) from None
    for column in settings.privileges.sensitive_readers:
        if column not in settings.sensitive_columns:
            loc = ("privileges", "sensitive_readers", column)
            problem = f"column {column!r} is not listed in sensitive_columns"
            raise ConfigError(_blame(loc, origin, fallback), loc, problem)
    for key, name in settings.schemas.model_dump().items():
        if name == settings.extensions_schema:
            loc = ("extensions_schema",)
            problem = (
                f"schema {name!r} is also schemas.{key}: the extension serves the whole database,"
                " and a rollback drops the environment's schemas"
            )
            raise ConfigError(_blame(loc, origin, fallback), loc, problem)
    return Section(settings.model_dump(mode="json"))


def settings_of(data: Mapping[str, Any]) -> Section:
    """``data`` (settings as a record keeps them) validated; pydantic's ``ValidationError``
    (a ``ValueError``) when today's models refuse it."""
    from tmplmig.rendering.models import Settings

    return Section(Settings.model_validate(data).model_dump(mode="json"))


#: settings validated so far, by everything but their schema and role names (tenants of one
#: shape differ by those only)
_SHAPES: dict[str, Settings] = {}
#: shapes remembered at most (a bound, not a limit: past it they are validated afresh)
_MAX_SHAPES = 256


def _validated(data: dict[str, Any]) -> Settings:
    """``Settings.model_validate(data)``, the settings but for schema and role names validated
    once per shape (the names are validated every time; any problem is raised as validating
    all of ``data`` at once raises it)."""
    from pydantic import ValidationError

    from tmplmig.rendering.models import Roles, Schemas, Settings

    schemas, roles = data.get("schemas"), data.get("roles")
    if not isinstance(schemas, dict) or not isinstance(roles, dict):
        return Settings.model_validate(data)
    # repr tells apart what validation does (1, 1.0, True and "1"; str and int keys)
    shape = repr({k: v for k, v in data.items() if k not in ("schemas", "roles")})
    known = _SHAPES.get(shape)
    if known is None:
        settings = Settings.model_validate(data)
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[shape] = settings
        return settings
    try:
        names = {"schemas": Schemas.model_validate(schemas), "roles": Roles.model_validate(roles)}
    except ValidationError:  # located within its section by validating the whole
        return Settings.model_validate(data)
    return known.model_copy(update=names)


def _describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required value is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    message = str(err["msg"]).removeprefix("Value error, ")
    if "input" in err and kind not in ("value_error",):
        return f"{message} (got {err['input']!r})"
    return message


def config_files(project: Path, env: str, tenant: str | None = None) -> list[Path]:
    """The layer files for an environment (and tenant), in merge order."""
    config_dir = project / "config"
    if not ENV_NAME.match(env):
        raise ConfigError(
            config_dir, (), f"environment name {env!r} is not a plain lower-case name"
        )
    files = [config_dir / "base.yaml", config_dir / f"{env}.yaml"]
    if tenant is not None:
        if not TENANT_NAME.match(tenant):
            raise ConfigError(
                config_dir / "tenants",
                (),
                f"tenant name {tenant!r} is not a plain lower-case name of at most 55 characters",
            )
        files.append(config_dir / "tenants" / f"{tenant}.yaml")
    for file in files:
        if not file.is_file():
            raise ConfigError(file, (), "file not found")
    return files


def _environment(files: list[Path]) -> Merged:
    """base.yaml and the environment file merged, once per version of the two (every tenant
    of a fan-out starts from it; read it only)."""
    return _merged_environment(tuple(_version(file) for file in files))


@lru_cache(maxsize=16)
def _merged_environment(versions: tuple[tuple[Path, int, int, int, int], ...]) -> Merged:
    return merge_layers([(version[0], _parse_yaml(*version)) for version in versions])


#: the code a validated config depends on (with the installed pydantic and PyYAML): a change
#: to any of it is another cache key
_VALIDATING = ("config.py", "models.py", "identifiers.py")


def load_config(project: Path, env: str, tenant: str | None = None) -> LoadedConfig:
    """Read, merge and validate the config of ``env`` (and ``tenant``) under ``project``.

    An environment's files validated before (the same bytes, by the same code) are not
    parsed or validated again: their settings come from the cache (:mod:`.cache`)."""
    files = config_files(project, env, tenant)
    key = None
    if tenant is None:
        here = Path(__file__).parent
        code = cache.source_stamp(*(str(here / name) for name in _VALIDATING))
        stamp = cache.digest(code, cache.installed_stamp("pydantic"), cache.installed_stamp("yaml"))
        key = cache.digest(stamp, env, *(x for f in files for x in (str(f), f.read_bytes())))
        kept = cache.read("config", key)
        if kept is not None:
            origin = {tuple(path): Path(file) for path, file in kept["origin"]}
            return LoadedConfig(Section(kept["settings"]), tuple(files), env, None, None, origin)
    environment = _environment(files[:2])
    placement, layers = None, []
    if tenant is not None:
        tenant_file, tenant_data = files[2], _read_yaml(files[2])
        placement = _placement(tenant_file, tenant, tenant_data.get("tenant", {}))
        tenant_data = {k: v for k, v in tenant_data.items() if k != "tenant"}
        layers.append((tenant_file, _prefixed(environment[0], placement)))
        layers.append((tenant_file, tenant_data))
    data, origin = merge_layers(layers, onto=environment)
    data.setdefault("environment", env)
    settings = validate(data, origin, files[-1], files[0])
    if settings.environment != env:
        raise ConfigError(
            _blame(("environment",), origin, files[-1]),
            ("environment",),
            f"says {settings.environment!r} but the file is for environment {env!r}",
        )
    if key is not None:
        kept_origin = [[list(path), str(file)] for path, file in origin.items()]
        cache.write("config", key, {"settings": settings.model_dump(), "origin": kept_origin})
    return LoadedConfig(
        settings=settings,
        files=tuple(files),
        env=env,
        tenant=tenant,
        placement=placement,
        origin=origin,
    )


def _placement(file: Path, tenant: str, data: Any) -> Placement:
    """Validate a tenant file's ``tenant:`` mapping, filling in the ``<name>_`` prefixes."""
    if not isinstance(data, dict):
        raise ConfigError(file, ("tenant",), f"must be a mapping, got {type(data).__name__}")
    from pydantic import ValidationError

    from tmplmig.rendering.models import Placement

    defaults = {"schema_prefix": f"{tenant}_", "role_prefix": f"{tenant}_"}
    try:
        return Placement.model_validate({**defaults, **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(file, ("tenant", *err["loc"]), _describe(err)) from None


def _prefixed(data: dict[str, Any], placement: Placement) -> dict[str, Any]:
    """A layer that renames the environment's schemas and roles with the tenant's prefixes."""
    layer: dict[str, Any] = {}
    for section, prefix in (("schemas", placement.schema_prefix), ("roles", placement.role_prefix)):
        names = data.get(section)
        if isinstance(names, dict):
            layer[section] = {k: prefix + v for k, v in names.items() if isinstance(v, str)}
    return layer


def available_envs(project: Path) -> list[str]:
    """Environments that have an overlay file next to base.yaml."""
    return sorted(p.stem for p in (project / "config").glob("*.yaml") if p.stem != "base")
