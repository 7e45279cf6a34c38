"""yoyo's tracking read without yoyo: which parts it applied in a tracking schema.

A verb that only reads (``status``, ``plan``, ``render --since-applied``) needs no migration
loaded and no backend: yoyo marks a migration applied with a row in its migration table holding
the sha256 of the migration's id, and a part's migration is named as the part is. Reading that
table directly spares those verbs importing yoyo, executing every migration module and
yoyo's probes of its tables. ``tests/test_yoyo_pins.py`` pins the table's name and the hash to
yoyo's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import psycopg

#: yoyo's ``default_migration_table``: one row per applied migration
MIGRATION_TABLE = "_yoyo_migration"

_APPLIED = f"""SELECT migration_hash FROM {MIGRATION_TABLE}"""
_HELD = f"""SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
    WHERE c.relname = '{MIGRATION_TABLE}'
      AND c.relnamespace = pg_catalog.to_regnamespace(pg_catalog.current_schema()))"""


def migration_hash(migration_id: str) -> str:
    """The hash yoyo records for the migration ``migration_id`` (``get_migration_hash``)."""
    return hashlib.sha256(migration_id.encode("utf-8")).hexdigest()


def applied_parts(conn: psycopg.Connection[Any], part_ids: Iterable[str]) -> set[str]:
    """The parts of ``part_ids`` yoyo applied in the session's current schema (the tracking
    schema its ``search_path`` names); none where yoyo's table, or the schema, is not there."""
    held = conn.execute(_HELD).fetchone()
    if not held or not held[0]:
        return set()
    hashes = {row[0] for row in conn.execute(_APPLIED).fetchall()}
    return {pid for pid in part_ids if migration_hash(pid) in hashes}
