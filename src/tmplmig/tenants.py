"""Tenants: one YAML file each under ``config/tenants/``, checked together, tracked apart.

Each tenant keeps yoyo's tables in its own tracking schema ``tmplmig_<tenant>`` (selected
with ``?schema=`` in the yoyo URL), so applying a part for one tenant never marks it
applied for another in the same database.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tmplmig.config import ConfigError, KeyPath, LoadedConfig, format_key_path, load_config
from tmplmig.identifiers import TRACKING_PREFIX


class TenantError(Exception):
    """A tenant's database cannot be reached as configured (e.g. its URL variable is unset)."""


def tenant_names(project: Path) -> list[str]:
    """Every tenant of the project: the file names under ``config/tenants/``."""
    return sorted(p.stem for p in (project / "config" / "tenants").glob("*.yaml"))


def tracking_schema(tenant: str) -> str:
    """The schema that holds yoyo's tables for ``tenant``."""
    return TRACKING_PREFIX + tenant


def load_tenants(project: Path, env: str) -> list[LoadedConfig]:
    """Load and validate every tenant of ``env``, refusing two tenants that share a name."""
    configs = [load_config(project, env, tenant) for tenant in tenant_names(project)]
    check_distinct(configs)
    return configs


def _database_key(config: LoadedConfig) -> str:
    assert config.placement is not None
    return config.placement.target


def check_distinct(configs: list[LoadedConfig]) -> None:
    """Schemas must differ between tenants of one database; roles (cluster-wide) everywhere.

    tmplmig cannot tell from YAML whether two URLs reach one server, so role names are
    checked across all tenants of the environment.
    """
    owners: dict[tuple[str, ...], tuple[Path, KeyPath]] = {}

    def claim(key: tuple[str, ...], file: Path, path: KeyPath) -> None:
        if key in owners:
            first_file, first_path = owners[key]
            kind = "role" if key[0] == "role" else "schema"
            raise ConfigError(
                file,
                path,
                f"{kind} {key[-1]!r} is also used by {first_file} at {format_key_path(first_path)}",
            )
        owners[key] = (file, path)

    for config in configs:
        assert config.tenant is not None
        file, database = config.files[-1], _database_key(config)
        claim(("schema", database, tracking_schema(config.tenant)), file, ("tenant",))
        for key, name in config.settings.schemas.model_dump().items():
            claim(("schema", database, name), file, ("schemas", key))
        for key, name in config.settings.roles.model_dump().items():
            claim(("role", name), file, ("roles", key))


def database_url(config: LoadedConfig, default_url: str | None) -> str:
    """The tenant's database URL: its own variable, its database on the default server, or
    the default itself."""
    placement = config.placement
    if placement is not None and placement.database_url_env is not None:
        url = os.environ.get(placement.database_url_env, "")
        if not url:
            raise TenantError(
                f"tenant {config.tenant}: set {placement.database_url_env} to its database URL"
            )
        return url
    if default_url is None:
        raise TenantError(f"tenant {config.tenant}: no default database URL")
    if placement is not None and placement.database is not None:
        parts = urlsplit(default_url)
        return urlunsplit(parts._replace(path="/" + placement.database))
    return default_url


def with_param(url: str, key: str, value: str | None) -> str:
    """``url`` with query parameter ``key`` set to ``value``, or removed."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k != key}
    if value is not None:
        query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def with_schema(url: str, schema: str | None) -> str:
    """``url`` with yoyo's ``schema`` query parameter set to ``schema``, or removed."""
    return with_param(url, "schema", schema)


def libpq_url(url: str) -> str:
    """A yoyo URL as libpq takes it: no driver suffix, no yoyo-only ``schema`` parameter."""
    return with_schema(url, None).replace("postgresql+psycopg://", "postgresql://", 1)


def prepare_tracking(url: str, tenant: str) -> str:
    """Create the tenant's tracking schema if missing; return the yoyo URL that selects it."""
    schema = tracking_schema(tenant)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    return with_schema(url, schema)
