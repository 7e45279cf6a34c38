"""What one command works on, resolved once: project, environment, tenant, config, database.

Everything below a command takes a :class:`Target`; nothing loads the config again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmplmig.database.urls import (
    UrlError,
    given_database_url,
    tenant_placement_url,
    with_schema,
    yoyo_url,
)
from tmplmig.errors import TmplmigError
from tmplmig.migrating import tenants
from tmplmig.rendering.config import LoadedConfig, load_config

if TYPE_CHECKING:  # made by the commands that verify, not by every command
    from tmplmig.database.scratch import ScratchDatabases


class CommandError(TmplmigError):
    """A command cannot run as asked (missing URL, unknown part, ...)."""


@dataclass(frozen=True)
class Target:
    """One environment (and tenant) of one project, with its loaded config and database."""

    project: Path
    env: str
    tenant: str | None
    config: LoadedConfig
    #: the database, as yoyo takes it; None for commands that only render
    yoyo_url: str | None
    #: the schema holding yoyo's tables for a tenant; None: yoyo's default
    tracking_schema: str | None
    #: scratch databases the run's drift checks share (a fan-out); None: one per check
    scratch: ScratchDatabases | None = None
    #: roles the run may rename or drop although other databases of the server use them
    allow_shared_roles: frozenset[str] = frozenset()

    def at(self, url: str) -> Target:
        """This target migrating the database at ``url`` itself, whatever its placement says,
        on connections of its own: a session a fan-out keeps (``scratch``) would outlive the
        work there (a scratch database is then dropped, which a session left in it stops)."""
        return replace(self, yoyo_url=_checked(yoyo_url, url), scratch=None)

    @property
    def tracked_url(self) -> str:
        """The yoyo URL with the tracking schema selected (created by the caller if needed)."""
        if self.yoyo_url is None:
            raise CommandError("this command needs a database URL")
        if self.tracking_schema is None:
            return self.yoyo_url
        return with_schema(self.yoyo_url, self.tracking_schema)


def _checked(resolve_url: Callable[..., str], *args: Any) -> str:
    """``resolve_url(*args)``, a URL problem becoming a command error."""
    try:
        return resolve_url(*args)
    except UrlError as exc:
        raise CommandError(str(exc)) from None


def for_config(project: Path, config: LoadedConfig, url: str | None) -> Target:
    """The target of a config already loaded and checked (one tenant of a fan-out, say).

    A tenant's database is where its placement puts it, relative to ``url`` (default:
    $TMPLMIG_DATABASE_URL).
    """
    if config.tenant is None:
        database = _checked(yoyo_url, url)
        schema = None
    else:
        placed = _checked(tenant_placement_url, config, url or given_database_url())
        database = _checked(yoyo_url, placed)
        schema = tenants.tracking_schema(config.tenant)
    return Target(project, config.env, config.tenant, config, database, schema)


def for_rendering(project: Path, env: str, tenant: str | None = None) -> Target:
    """A target that only renders: its config, no database."""
    config = load_config(project, env, tenant)
    schema = None if tenant is None else tenants.tracking_schema(tenant)
    return Target(project, env, tenant, config, None, schema)


def resolve(
    project: Path,
    env: str,
    tenant: str | None = None,
    url: str | None = None,
    *,
    allow_shared_roles: Collection[str] = (),
) -> Target:
    """Load the config once and find the database; a tenant is checked with all its peers.
    ``allow_shared_roles``: roles the run may rename or drop though other databases use them."""
    if tenant is not None:
        config = tenants.load_tenant(project, env, tenant)
    else:
        config = load_config(project, env)
    target = for_config(project, config, url)
    return replace(target, allow_shared_roles=frozenset(allow_shared_roles))
