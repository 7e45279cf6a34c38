"""The pydantic models that validate a merged config (:func:`tmplmig.rendering.config.validate`).

Imported only to validate: a config whose files were validated before is read back from the
cache (:mod:`tmplmig.rendering.cache`) as :class:`~tmplmig.rendering.config.Section` values,
and pydantic's import and model building were the largest part of a short command's start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tmplmig.rendering.config import (
    DATABASE_NAME,
    DEFAULT_DATABASE,
    ENV_NAME,
    ENV_VAR_NAME,
    INT4_MAX,
    PREFIX,
    duration_seconds,
)
from tmplmig.rendering.identifiers import (
    IdentifierError,
    check_extensions_schema,
    check_identifier,
    check_role_name,
    check_schema_name,
)


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


def _int4(value: int) -> int:
    if value > INT4_MAX:
        raise ValueError(f"{value} is more than {INT4_MAX}, the largest PostgreSQL integer")
    return value


Int4 = Annotated[int, Field(ge=0), AfterValidator(_int4)]
Days = Annotated[int, Field(gt=0, le=36500)]


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
