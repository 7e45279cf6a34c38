"""Changes made by hand to one tenant's catalog, each as the drift check reports it: what
a check that remembers, or compares tenants with each other, must still catch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

#: a change to ``tenant``'s objects, made on a superuser connection
Drift = Callable[[psycopg.Connection[Any], str], None]


def function(conn: psycopg.Connection[Any], tenant: str, name: str) -> str:
    """The signature of ``tenant``'s function ``name`` in its system schema."""
    row = conn.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " WHERE p.pronamespace = %s::regnamespace AND p.proname = %s",
        [f"{tenant}_system", name],
    ).fetchone()
    assert row is not None
    return str(row[0])


def rewritten_body(conn: psycopg.Connection[Any], tenant: str) -> None:
    definition = conn.execute(
        "SELECT pg_get_functiondef(%s::regprocedure)", [function(conn, tenant, "purge_expired")]
    ).fetchone()
    assert definition is not None
    head, _, tail = str(definition[0]).rpartition("$function$")
    conn.execute(head + "-- edited by hand\n$function$" + tail)


def interrupted_drop(conn: psycopg.Connection[Any], tenant: str) -> None:
    """``DROP INDEX CONCURRENTLY`` cut short while it waits for a reader: the index is left
    INVALID by the server's own flag update (``index_set_state_flags``), not by a hand-made
    ``UPDATE``."""
    index = f"{tenant}_audits.idx_audit_entity"
    table = conn.execute(
        "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = %s::regclass", [index]
    ).fetchone()
    assert table is not None
    with psycopg.connect(conn.info.dsn) as reader:
        reader.execute(f"SELECT 1 FROM {table[0]} LIMIT 1")  # its lock stays: a transaction
        # the flag is set and committed first; only the wait for the reader's lock times out
        conn.execute("SET lock_timeout = '1s'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute(f"DROP INDEX CONCURRENTLY {index}")
        conn.execute("RESET lock_timeout")
    valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass"
    assert conn.execute(valid, [index]).fetchone() == (False,)


#: drifts made by hand in a tenant ({t}: its name), and what the check says of each
DRIFTS: dict[str, tuple[Drift, str]] = {
    "dropped index": (
        lambda c, t: c.execute(f"DROP INDEX {t}_audits.idx_audit_entity"),
        "index {t}_audits.idx_audit_entity: missing",
    ),
    "revoked grant": (
        lambda c, t: c.execute(
            f"REVOKE EXECUTE ON FUNCTION {function(c, t, 'purge_expired')} FROM {t}_app_admin"
        ),
        "function {t}_system.purge_expired",
    ),
    "invalid index": (
        lambda c, t: c.execute(
            "UPDATE pg_index SET indisvalid = false"
            f" WHERE indexrelid = '{t}_audits.idx_audit_entity'::regclass"
        ),
        "index {t}_audits.idx_audit_entity: INVALID",
    ),
    "interrupted drop index concurrently": (
        interrupted_drop,
        "index {t}_audits.idx_audit_entity: INVALID",
    ),
    "function body": (rewritten_body, "function {t}_system.purge_expired"),
    "group role made a login": (
        lambda c, t: c.execute(f"ALTER ROLE {t}_app_readonly LOGIN"),
        "role {t}_app_readonly: different (can login: expected False, found True)",
    ),
    "group role made a superuser": (
        lambda c, t: c.execute(f"ALTER ROLE {t}_app_readwrite SUPERUSER"),
        "role {t}_app_readwrite: different (holds SUPERUSER",
    ),
}
