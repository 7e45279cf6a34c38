"""Tenants: one YAML file each under ``config/tenants/``, checked together, tracked apart.

Each tenant keeps yoyo's tables in its own tracking schema ``tmplmig_<tenant>`` (selected
with ``?schema=`` in the yoyo URL), so applying a part for one tenant never marks it
applied for another in the same database.
"""

from __future__ import annotations

from pathlib import Path

from tmplmig.rendering.config import (
    ConfigError,
    KeyPath,
    LoadedConfig,
    format_key_path,
    load_config,
)
from tmplmig.rendering.identifiers import TRACKING_PREFIX


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
