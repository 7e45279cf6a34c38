"""Database URLs and connections: which database a command reaches, spelled for yoyo or libpq.

URLs come from the command line or the environment, never from config files.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tmplmig.errors import TmplmigError
from tmplmig.rendering.config import LoadedConfig

DATABASE_URL_VAR = "TMPLMIG_DATABASE_URL"
YOYO_DRIVER = "postgresql+psycopg://"


class UrlError(TmplmigError):
    """No usable database URL: a variable is unset or does not hold a postgresql:// URL."""


def given_database_url() -> str | None:
    """$TMPLMIG_DATABASE_URL, or None when unset or empty."""
    return os.environ.get(DATABASE_URL_VAR) or None


def yoyo_url(explicit: str | None = None) -> str:
    """``explicit``, else $TMPLMIG_DATABASE_URL, as yoyo takes it (the psycopg 3 driver)."""
    url = explicit or given_database_url()
    if not url:
        raise UrlError(f"no database: set {DATABASE_URL_VAR} (never put it in config files)")
    for prefix in (YOYO_DRIVER, "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return YOYO_DRIVER + url.removeprefix(prefix)
    raise UrlError(f"{DATABASE_URL_VAR} must be a postgresql:// URL")


def with_database(url: str, name: str) -> str:
    """``url`` pointed at the database ``name`` on the same server."""
    return _unsplit(urlsplit(url)._replace(path="/" + name))


def tenant_placement_url(config: LoadedConfig, default_url: str | None) -> str:
    """Where the tenant's placement puts it: the URL in its own variable, its database on the
    default server, or the default URL itself."""
    placement = config.placement
    if placement is not None and placement.database_url_env is not None:
        url = os.environ.get(placement.database_url_env, "")
        if not url:
            raise UrlError(
                f"tenant {config.tenant}: set {placement.database_url_env} to its database URL"
            )
        return url
    if default_url is None:
        raise UrlError(f"tenant {config.tenant}: no default database URL")
    if placement is not None and placement.database is not None:
        return with_database(default_url, placement.database)
    return default_url


def with_param(url: str, key: str, value: str | None) -> str:
    """``url`` with query parameter ``key`` set to ``value``, or removed."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k != key}
    if value is not None:
        query[key] = value
    return _unsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def _unsplit(parts: SplitResult) -> str:
    """``parts`` as a URL again, its ``//`` kept when the host is empty (``postgresql:///db``,
    the local socket), which ``urlunsplit`` drops for a scheme it does not know."""
    url = urlunsplit(parts)
    if parts.scheme and not parts.netloc:
        return f"{parts.scheme}://" + url.removeprefix(f"{parts.scheme}:")
    return url


def with_schema(url: str, schema: str | None) -> str:
    """``url`` with yoyo's ``schema`` query parameter set to ``schema``, or removed."""
    return with_param(url, "schema", schema)


#: the session setting a role step's DO block reads: where it is on, an existing role unfit for
#: its place (able to log in, holding an attribute) is a replay's to report, not to refuse
REPLAY_SETTING = "tmplmig.replay"


def replaying(url: str) -> str:
    """``url`` whose sessions replay migrations to learn what they create (verify's and the
    drift check's scratch databases): :data:`REPLAY_SETTING` on, beside its own options."""
    options = dict(parse_qsl(urlsplit(url).query)).get("options")
    replay = f"-c {REPLAY_SETTING}=on"
    return with_param(url, "options", f"{options} {replay}" if options else replay)


def application_name(verb: str, env: str, tenant: str | None) -> str:
    """How a run's connections show in ``pg_stat_activity``: ``tmplmig apply prod acme``."""
    name = " ".join(word for word in ("tmplmig", verb, env, tenant) if word)
    return name.encode()[:63].decode(errors="ignore")  # PostgreSQL keeps 63 bytes


def named(url: str, verb: str, env: str, tenant: str | None) -> str:
    """``url`` whose connections (yoyo's and libpq's alike) carry the run's application_name."""
    return with_param(url, "application_name", application_name(verb, env, tenant))


def libpq_url(url: str) -> str:
    """A yoyo URL as libpq takes it: no driver suffix, no yoyo-only ``schema`` parameter."""
    return with_schema(url, None).replace(YOYO_DRIVER, "postgresql://", 1)


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection for a yoyo-style or libpq URL (``application_name``
    from the URL, else ``tmplmig``)."""
    return psycopg.connect(libpq_url(url), autocommit=True, fallback_application_name="tmplmig")


def create_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create ``schema`` if missing."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def ensure_schema(url: str, schema: str) -> str:
    """Create ``schema`` if missing; return the yoyo URL that keeps yoyo's tables in it."""
    with connect(url) as conn:
        create_schema(conn, schema)
    return with_schema(url, schema)
