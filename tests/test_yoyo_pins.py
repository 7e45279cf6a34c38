"""yoyo's code that tmplmig overrides or leans on is the code it was written against.

:class:`tmplmig.migrating.yoyo_bridge.Backend` replaces some of yoyo's backend methods and
calls others, and the lock guard and the render check lean on how yoyo runs them. A yoyo
release that changes one fails here, naming what to re-read, instead of a run going wrong
later. Each pin is a digest of the function's syntax tree without its docstring, so a
reformatted or re-documented yoyo passes and a changed one does not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend

from tmplmig.migrating.yoyo_bridge import Backend

#: yoyo's source the digests were taken from
YOYO = "9.0.0"
BASE = "yoyo.backends.base.DatabaseBackend"
POSTGRESQL = "yoyo.backends.core.postgresql.PostgresqlBackend"
RUN_ONE = "Backend._run_one (yoyo_bridge), which replaces yoyo's apply_one and rollback_one"
BEGIN = "Backend.begin (before_steps at the part's BEGIN)"
COMMIT = "Backend.commit (yoyo's tracking before the steps' commit)"
ROLLBACK = "Backend.rollback (no ROLLBACK outside a transaction)"
TRANSACTIONS = "Backend.begin, commit and rollback, which it calls"
SAVEPOINTS = "Backend.savepoint and savepoint_rollback (no savepoint per step)"
TABLES = "Backend.list_tables (yoyo's own tables only)"
APPLIED = "migrating/yoyo_tracking.py, which reads what this reads without yoyo"
LOCK = "database/runlock.py's guard on yoyo's lock row, and Backend._delete_lock_row"
CHECK = "yoyo_bridge._checking: the render check's BadMigration is skipped, never marked"
CONNECT = "Backend.connect (a fan-out's kept session: the schema yoyo takes from the URL)"
LOAD = "yoyo_bridge.parts_only: the render check is left out before its file loads"

#: yoyo's code -> (digest of it, what in tmplmig to re-read when it changes)
PINNED: dict[str, tuple[str, str]] = {
    # what Backend overrides, at each level of yoyo's classes that defines it
    f"{BASE}.__init__": ("a06c638efdba5ed5", "Backend: the attributes its overrides read"),
    f"{BASE}.connect": ("7d26842c0ac00a4e", CONNECT),
    f"{POSTGRESQL}.connect": ("97b86beb1af65ccb", CONNECT),
    f"{BASE}.copy": ("3a4d21fd22d0644a", "Backend.copy (one connection for every migration)"),
    f"{BASE}.__exit__": ("851d470e0e2eb83b", "Backend.__exit__ (a shared copy stays open)"),
    f"{BASE}.apply_one": ("3c7109c9fcb04d87", RUN_ONE),
    f"{BASE}.rollback_one": ("67d91e7ce8e04c38", RUN_ONE),
    f"{BASE}.begin": ("c733f535792cad14", BEGIN),
    f"{POSTGRESQL}.begin": ("184f11fa09a1fcb8", BEGIN),
    f"{BASE}.commit": ("3e9320f1d72b23d3", COMMIT),
    f"{POSTGRESQL}.commit": ("75082247d615ce1a", COMMIT),
    f"{BASE}.rollback": ("b15a3b21a5c1dbb2", ROLLBACK),
    f"{POSTGRESQL}.rollback": ("9677956d06fa8956", ROLLBACK),
    f"{BASE}.savepoint": ("857522aaff30da85", SAVEPOINTS),
    f"{BASE}.savepoint_rollback": ("fee37420c0cb30b6", SAVEPOINTS),
    f"{BASE}.init_database": ("612ae23790b9c13e", "Backend.init_database (no DDL probe)"),
    f"{BASE}.ensure_internal_schema_updated": (
        "0f5d3210a0b905e4", "Backend.ensure_internal_schema_updated (once per backend)"
    ),
    f"{BASE}.get_applied_migration_hashes": ("fc536184e9883d03", APPLIED),
    "yoyo.migrations.get_migration_hash": ("f0b50417716c9284", APPLIED),
    f"{BASE}.list_tables": ("c72afe5517d22b0e", TABLES),
    f"{POSTGRESQL}.list_tables": ("4422985debe4a923", TABLES),
    f"{BASE}._delete_lock_row": ("ff055612f73b648c", LOCK),
    # what those overrides call, and what calls them
    f"{BASE}.mark_one": ("daeaeb6b467a0d7d", RUN_ONE),
    f"{BASE}.unmark_one": ("d22757d88d36f169", RUN_ONE),
    f"{BASE}.log_migration": ("384af53f5877a4a9", RUN_ONE),
    "yoyo.migrations.Migration.process_steps": ("c21763c09f03d2c5", RUN_ONE),
    f"{BASE}.rollback_migrations": ("f59bba910cf50a52", RUN_ONE),
    f"{BASE}.transaction": ("ba640ddd29ccea9d", TRANSACTIONS),
    "yoyo.backends.base.TransactionManager": ("b2a98ecd5886e834", TRANSACTIONS),
    "yoyo.backends.base.SavepointTransactionManager": ("d74ba46dd3f38c38", SAVEPOINTS),
    f"{BASE}.apply_migrations_only": ("5b7f42934a37f770", CHECK),
    "yoyo.migrations.Migration.load": ("0ba5c8acb701ff89", LOAD),
    f"{BASE}.lock": ("541d50d710edb844", LOCK),
    f"{BASE}._insert_lock_row": ("c314f1c871b9408d", LOCK),
    f"{BASE}.create_lock_table": ("7f68ed459281b4d5", LOCK),
}  # fmt: skip


def resolve(name: str) -> Callable[..., Any] | type:
    """The object a dotted name names, importing its module."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = (
                found.__dict__[attribute] if isinstance(found, type) else getattr(found, attribute)
            )
        return found  # type: ignore[no-any-return]
    raise LookupError(name)


def digest(code: Callable[..., Any] | type) -> str:
    """Its syntax tree without docstrings, hashed: formatting and comments do not count."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", PINNED)
def test_yoyo_code_tmplmig_overrides_or_leans_on_is_unchanged(name: str) -> None:
    pinned, reread = PINNED[name]
    assert digest(resolve(name)) == pinned, (
        f"{name} differs from yoyo {YOYO}'s: re-read {reread}, then pin its new digest"
    )


def test_every_method_backend_overrides_is_pinned() -> None:
    """A new override of yoyo's backend needs its pin above, at each level yoyo defines it."""
    overridden = {
        name
        for name, value in vars(Backend).items()
        if callable(value) and hasattr(PostgresqlPsycopgBackend, name)
    }
    defined_by_yoyo = {
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for name in overridden
        for cls in PostgresqlPsycopgBackend.__mro__
        if name in vars(cls) and cls.__module__.startswith("yoyo.")
    }
    assert defined_by_yoyo - set(PINNED) == set()


def test_what_yoyo_tracking_reads_without_yoyo_is_what_yoyo_writes() -> None:
    """Verbs that only read take yoyo's table name and migration hashes from
    :mod:`tmplmig.migrating.yoyo_tracking`, not from yoyo."""
    from yoyo import default_migration_table
    from yoyo.migrations import get_migration_hash

    from tmplmig.migrating import yoyo_tracking

    assert default_migration_table == yoyo_tracking.MIGRATION_TABLE
    for part in ("001_baseline", "002e_functions", "050_ünïcode"):
        assert yoyo_tracking.migration_hash(part) == get_migration_hash(part)
