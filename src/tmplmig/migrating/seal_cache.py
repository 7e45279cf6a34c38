"""The tracking schemas whose record a database-wide ``status`` found sealed, remembered per
database so that the next run need not recompute every row's digest and seal.

What is remembered for a schema is a fingerprint of its record as it stood when every row and
every recorded config's digest was verified (the server sums it up for
:func:`tmplmig.migrating.fleet_status.read_tracking`): each row's place (``ctid``), the
transaction that wrote it (``xmin``) and its seal, and the places and writers of the
recorded configs. Any write to a row (an ``UPDATE`` by hand as much as a new apply)
gives it a new ``xmin`` and a new place, so a record written to since no longer matches its
fingerprint and is verified again in full, in the snapshot its fingerprint was read in.

The fingerprints are an entry of the per-user cache (:mod:`tmplmig.rendering.cache`: checked,
bounded, off with ``TMPLMIG_NO_CACHE``), keyed by the cluster's system identifier, the
database and the code that verifies: another cluster, a recreated database or a new version
of the checks starts from nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from tmplmig.rendering import cache

#: the code whose checks a remembered fingerprint stands for (``record.py`` defines the seal)
_VERIFYING_CODE = tuple(
    str(Path(__file__).with_name(name))
    for name in ("seal_cache.py", "fleet_status.py", "record.py")
)
KIND = "sealed"

#: who the database is: the cluster (a copy of a cluster shares it, but not the later writes'
#: transaction ids) and the database within it
_IDENTITY = """SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text,
    d.oid::text, d.datname FROM pg_catalog.pg_database d WHERE d.datname = current_database()"""


class SealCache:
    """Fingerprints of verified records by tracking schema, for one database."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.known: dict[str, str] = {}
        self._changed = False
        loaded = cache.read(KIND, key) if key is not None else None
        if isinstance(loaded, dict):
            self.known = {str(k): str(v) for k, v in loaded.items()}

    @classmethod
    def of(cls, conn: psycopg.Connection[Any]) -> SealCache:
        """The cache of the database ``conn`` is connected to (empty and never saved when the
        server will not say who it is)."""
        try:
            with conn.transaction():
                identity = conn.execute(_IDENTITY).fetchone()
        except psycopg.Error:
            return cls(None)
        return cls(cache.digest(json.dumps(identity), cache.source_stamp(*_VERIFYING_CODE)))

    def get(self, schema: str) -> str | None:
        """The fingerprint ``schema``'s record had when it was last found sealed."""
        return self.known.get(schema)

    def verified(self, schema: str, fingerprint: str | None) -> None:
        """Remember that ``schema``'s record, as ``fingerprint`` says it stands, is sealed."""
        if fingerprint is not None and self.known.get(schema) != fingerprint:
            self.known[schema] = fingerprint
            self._changed = True

    def forget(self, schema: str) -> None:
        """``schema``'s record could not be vouched for: verify it in full next time."""
        if self.known.pop(schema, None) is not None:
            self._changed = True

    def save(self) -> None:
        """Write the fingerprints back (a failure to write only costs time)."""
        if self.key is not None and self._changed:
            cache.write(KIND, self.key, dict(sorted(self.known.items())))
