"""Load layered YAML config, validate it, and report errors with file and key path.

Layers merge in this order, later winning: ``config/base.yaml`` < ``config/<env>.yaml``
< ``config/tenants/<tenant>.yaml``. Mappings merge key by key; any other value replaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tmplmig.errors import TmplmigError
from tmplmig.rendering.identifiers import (
    IdentifierError,
    check_extensions_schema,
    check_identifier,
    check_role_name,
    check_schema_name,
)

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
#: libyaml's safe loader when PyYAML was built with it (the wheels are): ~10x faster to parse
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def _checked_by(check: Callable[[str], str]) -> AfterValidator:
    """A pydantic validator running an identifier check, its error becoming the problem."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(validate)


Identifier = Annotated[str, _checked_by(check_identifier)]
SchemaName = Annotated[str, _checked_by(check_schema_name)]
RoleName = Annotated[str, _checked_by(check_role_name)]
#: PostgreSQL's ``integer``: the columns that store these values, and the settings
#: (``statement_timeout``, ``lock_timeout``: milliseconds) they mirror
INT4_MAX = 2**31 - 1


def _int4(value: int) -> int:
    if value > INT4_MAX:
        raise ValueError(f"{value} is more than {INT4_MAX}, the largest PostgreSQL integer")
    return value


Int4 = Annotated[int, Field(ge=0), AfterValidator(_int4)]
Days = Annotated[int, Field(gt=0, le=36500)]
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0}


def duration_seconds(duration: str) -> float:
    """A validated :data:`Duration` (``"500ms"``, ``"2s"``, ``"5min"``) in seconds."""
    number = duration.rstrip("mins")
    return int(number) * _DURATION_UNITS[duration[len(number) :]]


def _settable(duration: str) -> str:
    """A duration PostgreSQL can hold in a millisecond setting (at most ~24.8 days)."""
    if duration_seconds(duration) * 1000 > INT4_MAX:
        raise ValueError(
            f"{duration} is more than PostgreSQL's limit for a timeout setting,"
            f" {INT4_MAX} ms (about 24 days)"
        )
    return duration


def _positive(duration: str) -> str:
    if duration_seconds(duration) == 0:
        raise ValueError(f"{duration} would wait forever: it must be more than 0")
    return duration


Duration = Annotated[str, Field(pattern=r"^[0-9]{1,7}(ms|s|min)$"), AfterValidator(_settable)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Schemas(_Strict):
    """Names of the application schemas; each tenant may map them to its own."""

    auth: SchemaName
    experiments: SchemaName
    production: SchemaName
    audits: SchemaName
    providers: SchemaName
    quarantine: SchemaName
    system: SchemaName

    @model_validator(mode="after")
    def _distinct(self) -> Schemas:
        _reject_duplicates(self.model_dump(), "schema")
        return self


class Roles(_Strict):
    """Group roles (NOLOGIN) that carry the application's privileges, and the NOLOGIN role
    that owns every object of the environment or tenant (migrations ``SET ROLE`` to it)."""

    readonly: RoleName
    readwrite: RoleName
    admin: RoleName
    owner: RoleName

    @model_validator(mode="after")
    def _distinct(self) -> Roles:
        _reject_duplicates(self.model_dump(), "role")
        return self


RoleKey = Literal["readonly", "readwrite", "admin"]


def _distinct_roles(keys: list[str]) -> list[str]:
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"role {twice[0]!r} is listed twice")
    return keys


ExecutingRoles = Annotated[list[RoleKey], AfterValidator(_distinct_roles)]


class FunctionExecute(_Strict):
    """Which group roles (keys of ``roles``) may call each function; PUBLIC never may."""

    encrypt_data: ExecutingRoles
    decrypt_data: ExecutingRoles
    add_encryption_key: ExecutingRoles
    retire_encryption_key: ExecutingRoles
    purge_expired: ExecutingRoles


class Privileges(_Strict):
    """Switches on what the group roles may do."""

    readwrite_can_delete: bool
    execute: FunctionExecute
    #: column of ``sensitive_columns`` -> group roles that may SELECT it; unlisted: none may
    sensitive_readers: dict[Identifier, ExecutingRoles]


class Retention(_Strict):
    """Days to keep each data class before the purge may delete it."""

    audit_log: Days
    experiments: Days
    analysis_sessions: Days
    quarantined_records: Days
    provider_health: Days
    provider_usage: Days


class ConnectionPool(_Strict):
    """Pool settings the application reads from ``connection_pool_settings``."""

    min_size: Annotated[int, Field(ge=0, le=10000)]
    max_size: Annotated[int, Field(ge=1, le=10000)]
    idle_timeout_seconds: Int4
    max_lifetime_seconds: Int4
    statement_timeout_ms: Int4

    @model_validator(mode="after")
    def _ordered(self) -> ConnectionPool:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) exceeds max_size ({self.max_size})")
        return self


class Ddl(_Strict):
    """How DDL steps behave on a live database."""

    lock_timeout: PositiveDuration
    #: how many times a step is retried after its lock was not granted within lock_timeout
    lock_retries: Annotated[int, Field(ge=0, le=100)]
    #: wait before the first retry; each further retry waits twice as long
    retry_backoff_ms: Annotated[int, Field(ge=1, le=600_000)]
    #: bound of every step's statements, except index builds and validations (their time
    #: grows with the table, so they run unbounded); "0s" bounds nothing
    statement_timeout: Duration
    #: how long a run waits for a still-executing backend of a killed earlier run of the same
    #: target before cancelling it; "0s" cancels at once
    orphan_wait: Duration


class Settings(_Strict):
    """The validated, merged configuration of one environment (and tenant)."""

    environment: Annotated[str, Field(pattern=ENV_NAME.pattern)]
    extensions_schema: Annotated[str, _checked_by(check_extensions_schema)]
    schemas: Schemas
    roles: Roles
    privileges: Privileges
    retention: Retention
    connection_pool: ConnectionPool
    ddl: Ddl
    sensitive_columns: Annotated[list[Identifier], Field(min_length=1)]
    #: a rollback that would drop tables holding rows refuses without --allow-data-loss;
    #: true by default for an environment named prod
    protected: bool = False

    @model_validator(mode="before")
    @classmethod
    def _protected_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "protected" not in data:
            return {**data, "protected": data.get("environment") == "prod"}
        return data


def _reject_duplicates(names: Mapping[str, str], kind: str) -> None:
    seen: dict[str, str] = {}
    for key, name in names.items():
        if name in seen:
            raise ValueError(f"{kind} name {name!r} is used by both {seen[name]} and {key}")
        seen[name] = key


class Placement(_Strict):
    """Where a tenant lives: the ``tenant:`` mapping of ``config/tenants/<name>.yaml``.

    Prefixes default to ``<name>_``; names set under ``schemas:``/``roles:`` in the same
    file win over the prefix. The database is a name on the default server, or the name of
    an environment variable holding a URL: never a URL (it may carry a password) in YAML.
    """

    schema_prefix: Annotated[str, Field(pattern=PREFIX.pattern)]
    role_prefix: Annotated[str, Field(pattern=PREFIX.pattern)]
    database: Annotated[str, Field(pattern=DATABASE_NAME.pattern)] | None = None
    database_url_env: Annotated[str, Field(pattern=ENV_VAR_NAME.pattern)] | None = None

    @model_validator(mode="after")
    def _one_database(self) -> Placement:
        if self.database is not None and self.database_url_env is not None:
            raise ValueError("set database or database_url_env, not both")
        return self

    @property
    def target(self) -> str:
        """The database this tenant's migrations run in, as shown to people."""
        if self.database_url_env is not None:
            return f"${self.database_url_env}"
        return self.database or DEFAULT_DATABASE


@dataclass(frozen=True)
class LoadedConfig:
    """Settings plus where they came from, for headers, digests and error messages."""

    settings: Settings
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
    """The file's mapping, parsed once per version of the file (a fan-out reads base.yaml
    and the environment file once per tenant). Shared between calls, so read it only:
    :func:`merge_layers` copies what it keeps."""
    return _parse_yaml(*_version(path))


def _version(path: Path) -> tuple[Path, int, int]:
    """The file and what tells its versions apart: its modification time and size."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(path, (), f"cannot read: {exc.strerror}") from None
    return path, stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=4096)
def _parse_yaml(path: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
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
) -> Settings:
    """Validate merged data; raise the first problem as a located ConfigError: a wrong value
    against the file that set it, a missing key against ``defaults`` (base.yaml), the file
    that holds every key an environment file does not override (``fallback`` without it)."""
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
    return settings


#: settings validated so far, by everything but their schema and role names (tenants of one
#: shape differ by those only)
_SHAPES: dict[str, Settings] = {}
#: shapes remembered at most (a bound, not a limit: past it they are validated afresh)
_MAX_SHAPES = 256


def _validated(data: dict[str, Any]) -> Settings:
    """``Settings.model_validate(data)``, the settings but for schema and role names validated
    once per shape (the names are validated every time; any problem is raised as validating
    all of ``data`` at once raises it)."""
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
def _merged_environment(versions: tuple[tuple[Path, int, int], ...]) -> Merged:
    return merge_layers([(version[0], _parse_yaml(*version)) for version in versions])


def load_config(project: Path, env: str, tenant: str | None = None) -> LoadedConfig:
    """Read, merge and validate the config of ``env`` (and ``tenant``) under ``project``."""
    files = config_files(project, env, tenant)
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
