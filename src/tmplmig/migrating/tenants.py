"""Tenants: one YAML file each under ``config/tenants/``, checked together, tracked apart.

Each tenant keeps yoyo's tables in its own tracking schema ``tmplmig_<tenant>`` (selected
with ``?schema=`` in the yoyo URL), so applying a part for one tenant never marks it
applied for another in the same database.
"""

from __future__ import annotations

import os
from pathlib import Path

from tmplmig.rendering import cache
from tmplmig.rendering.config import (
    DEFAULT_DATABASE,
    ConfigError,
    KeyPath,
    LoadedConfig,
    format_key_path,
    load_config,
    version_of,
)
from tmplmig.rendering.identifiers import TRACKING_PREFIX


def tenant_names(project: Path) -> list[str]:
    """Every tenant of the project: the file names under ``config/tenants/``."""
    return sorted(p.stem for p in (project / "config" / "tenants").glob("*.yaml"))


def tracking_schema(tenant: str) -> str:
    """The schema that holds yoyo's tables for ``tenant``."""
    return TRACKING_PREFIX + tenant


def load_tenants(project: Path, env: str) -> list[LoadedConfig]:
    """Load and validate every tenant of ``env``, refusing names a tenant shares with another
    tenant or with the environment itself."""
    configs = [load_config(project, env, tenant) for tenant in tenant_names(project)]
    check_distinct(configs, load_config(project, env))
    return configs


def load_tenant(project: Path, env: str, tenant: str) -> LoadedConfig:
    """One tenant of ``env``, checked against its peers as :func:`load_tenants` checks them.

    The check loads every tenant file, so a passed one is remembered: under a digest of the
    environment's files and of the tenant folder's own version (a file added, removed or
    renamed changes it), with the version of each tenant file it read. A command for one
    tenant then stats its own file and the folder, not the others: it costs the same with one
    tenant file or 10,000. The check runs again when any of those changed; a peer's file
    edited in place is checked by its own tenant's next command (and by ``--all-tenants``),
    which is where a clash it brings is refused.
    """
    config = load_config(project, env, tenant)
    key = _checked_key(project, env)
    own = _file_version(project, tenant)
    checked = cache.read(CHECKED, key) if key is not None else None
    if own is None or not isinstance(checked, dict) or checked.get(tenant) != own:
        versions = _versions(project)  # before the files are read: a later write shows
        load_tenants(project, env)  # raises ConfigError naming the clash
        if key is not None and versions is not None:
            cache.write(CHECKED, key, versions)
    return config


#: the cache entries saying the tenants of an environment passed the check as they are now
CHECKED = "tenants_checked"
#: what decides the outcome of the check besides the files: the code that loads and checks
_RENDERING = Path(__file__).parent.parent / "rendering"
_CHECKING_CODE = (str(Path(__file__)), str(_RENDERING / "config.py"), str(_RENDERING / "models.py"))


def _checked_key(project: Path, env: str) -> str | None:
    """The key of the entry that holds the tenant files' versions a passed check of ``env``
    read: the environment's two files by their bytes, the tenant folder by its version
    (:func:`~tmplmig.rendering.config.version_of`); None when one cannot be read (then the
    check runs and reports it). Digesting every tenant file's version instead made a command
    for one tenant cost 80 ms more with 10,000 files than with one."""
    config = project / "config"
    try:
        environment = [config / "base.yaml", config / f"{env}.yaml"]
        contents = [x for f in environment for x in (f.name, f.read_bytes())]
        folder = _spelled((config / "tenants").stat())
        return cache.digest(env, cache.source_stamp(*_CHECKING_CODE), *contents, folder)
    except OSError:
        return None


def _file_version(project: Path, tenant: str) -> str | None:
    """What one tenant file's metadata says of its version, as the check's entry holds it."""
    try:
        return _spelled((project / "config" / "tenants" / f"{tenant}.yaml").stat())
    except OSError:
        return None


def _versions(project: Path) -> dict[str, str] | None:
    """Every tenant file's version by tenant name; None when the folder cannot be listed."""
    try:
        with os.scandir(project / "config" / "tenants") as entries:
            return {
                e.name[: -len(".yaml")]: _spelled(e.stat())
                for e in entries
                if _is_tenant_file(e.name)
            }
    except OSError:
        return None


def _spelled(stat: os.stat_result) -> str:
    """A file's version (:func:`~tmplmig.rendering.config.version_of`) as the check's key and
    entry spell it."""
    return " ".join(map(str, version_of(stat)))


def _is_tenant_file(name: str) -> bool:
    """What ``glob("*.yaml")`` in the tenants folder finds (no hidden files)."""
    return name.endswith(".yaml") and not name.startswith(".")


def database_of(config: LoadedConfig) -> str:
    """The database a tenant's placement names (:data:`DEFAULT_DATABASE`: the environment's)."""
    assert config.placement is not None
    return config.placement.target


def check_distinct(configs: list[LoadedConfig], environment: LoadedConfig) -> None:
    """Schemas must differ between tenants of one database; roles (cluster-wide) everywhere,
    and the environment without a tenant counts as one more: a tenant whose roles were the
    environment's would hand its data to the environment's members.

    tmplmig cannot tell from YAML whether two URLs reach one server, so role names are
    checked across all tenants of the environment.
    """
    owners: dict[tuple[str, ...], tuple[Path, KeyPath, str]] = {}

    def claim(
        key: tuple[str, ...], file: Path, path: KeyPath, whose: str = "", hint: str = ""
    ) -> None:
        """Take ``key`` for ``file`` at ``path``; ``whose`` describes the taker in a later
        clash, ``hint`` says why it clashes now."""
        if key in owners:
            first_file, first_path, first_whose = owners[key]
            kind = "role" if key[0] == "role" else "schema"
            raise ConfigError(
                file,
                path,
                f"{kind} {key[-1]!r} is also used by {first_file} at"
                f" {format_key_path(first_path)}{first_whose}{hint}",
            )
        owners[key] = (file, path, whose)

    itself = f" (environment {environment.env!r} itself, without a tenant)"
    for key, name in environment.settings.schemas.model_dump().items():
        path = ("schemas", key)
        claim(("schema", DEFAULT_DATABASE, name), environment.source(path), path, itself)
    for key, name in environment.settings.roles.model_dump().items():
        claim(("role", name), environment.source(("roles", key)), ("roles", key), itself)
    for config in configs:
        assert config.tenant is not None and config.placement is not None
        file, database = config.files[-1], database_of(config)
        claim(("schema", database, tracking_schema(config.tenant)), file, ("tenant",))
        for section, prefix_key, scope in (
            ("schemas", "schema_prefix", ("schema", database)),
            ("roles", "role_prefix", ("role",)),
        ):
            prefix = getattr(config.placement, prefix_key)
            unprefixed = getattr(environment.settings, section).model_dump()
            for key, name in getattr(config.settings, section).model_dump().items():
                derived = name == prefix + unprefixed[key]
                hint = f"; tenant.{prefix_key} is {prefix!r}" if derived else ""
                claim((*scope, name), file, (section, key), hint=hint)
