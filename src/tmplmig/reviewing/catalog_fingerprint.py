"""A passed drift check remembered: the live catalog rows it compared, by a digest of them.

A drift check (:func:`tmplmig.reviewing.verify.check_database`) replays a record in a scratch
database, reads the live catalog scoped to what the replay created and compares the two. When
it finds nothing, the rows of that live read are digested and remembered per database and
tracking schema, with a digest of the record (:meth:`Record.naming`) and the scope of the
read, in the per-user cache of :mod:`tmplmig.rendering.cache`. The next check of the same
record reads that scope again (one round trip: the scoped :func:`catalog.snapshot`); when the
digest is the same, the catalog holds exactly the values the passing check compared, so the
check would pass again, and it is answered without a replay, a renaming or a comparison.
Anything different (the record, a row, the code) runs the full check, which remembers anew.

The digest is of the values the comparison looks at, not of the rows' ``xmin``: every kind of
:data:`catalog.COLUMNS` is read by its own query, so a change the check would report changes
the digest whatever wrote it:

- schemas, tables, column privileges, default privileges, functions: their ACLs as text,
  which prints role names: a grantee renamed or a grant revoked shows;
- indexes: ``indisvalid`` as read, which ``index_set_state_flags`` sets (an interrupted
  ``DROP INDEX CONCURRENTLY``) and some releases update in place, keeping the row's ``xmin``
  and ``ctid``; and the definition the server spells (an operator class, a collation or a
  table renamed elsewhere shows);
- constraints, triggers, columns: definitions, types and defaults as spelled, so an object
  they name outside the tenant's schemas (a referenced table, a type) renamed shows too;
- functions: the body text itself and ``proconfig``, ``prosecdef``;
- roles (``pg_roles`` has no ``xmin`` to read for a non-superuser): name, ``rolcanlogin``
  and whether it holds an attribute a member could use through SET ROLE, of every role the
  check expects (the configs' are expected as tmplmig makes them, NOLOGIN and with none),
  or the replayed SQL names and exists;
- comments: their text.

What is remembered (the record's digest, the scope, the rows' digest) has the prefix its
configs' schema and role names share replaced by a mark: tenants of one shape whose records and
catalogs are one another's renamed remember the same entry. ``plan --all-tenants`` writes the
entry of the tenant it checked for the tenants it found holding the same, renamed
(:meth:`CatalogMemory.share`, :mod:`tmplmig.migrating.fleet_plan`); each one's next check still
reads its own catalog and compares its own digest.

Beside the digest, a passing check remembers which transaction wrote each row it compared
(``versions``, :mod:`tmplmig.database.catalog_versions`, read in the same snapshot as the rows)
and, when the record still holds the rows it was read from, which transactions wrote those
(``record_versions``) and the record's rows renamed (``record_rows``). The next check of the
same record first reads those versions (index lookups, nothing spelled out): the same versions
are the same rows, so it passes without reading the values; other versions (a change by hand,
a vacuum that rewrote a table) read the values as above, and a pass remembers the new versions.
:func:`vouched` reads them for many tenants at once: a tenant whose record's and catalog's rows
are the versions its check passed with would pass its check now, and ``plan --all-tenants``
plans such tenants once per group (:func:`tmplmig.migrating.fleet_plan.plan_vouched`). A
fan-out ``apply`` that applied or evolved anything checks the result (one replay per shape), so
the plan that follows finds every tenant's check remembered.

A passing check also leaves a verdict (:data:`VERDICT`): this record, marked, passes on a
catalog read as this scope with this rows' digest, in this database. The check of a record an
evolve wrote, where the entry remembered is of the record before it, is answered by that
entry when a verdict of the new record names its scope and digest: the catalog the old check
passed on is one a check of the new record passed on, at a tenant of the shape. Then the
versions (or values) are compared as above. An evolve that changed no catalog row (a row
upserted) so costs one full check per shape, and every other tenant a versions read.

The remembered digest is of the rows the passing check itself compared, not of a second read,
so a change made between the check's read and the remembering is never remembered as
verified. A false "changed" (a row outside what the check compares, a role created) only
costs a full check. ``TMPLMIG_NO_CACHE`` turns it off with every other cached answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tmplmig.database import catalog, catalog_versions
from tmplmig.database.catalog import Snapshot, snapshot
from tmplmig.database.catalog_versions import one_snapshot
from tmplmig.database.urls import with_schema
from tmplmig.rendering import cache
from tmplmig.rendering.identifiers import common_prefix

#: the cache entries' kind (:func:`tmplmig.rendering.cache.read`), and that of the verdicts:
#: a check of this record passed on a catalog read as this scope and digest, in this database
#: (marked: it holds for every tenant of the shape); kept longest (a replay to compute again)
KIND, VERDICT = cache.LASTING_KINDS

_HERE = Path(__file__).parent
#: the code whose check a remembered digest stands for (the replay and the record it reads
#: are the migrating layer's): another version of any checks afresh
_CHECKING = (
    Path(catalog.__file__),
    Path(catalog_versions.__file__),
    _HERE.parent / "database" / "scratch.py",
    Path(__file__),
    _HERE / "verify.py",
    _HERE / "expected.py",
    _HERE.parent / "migrating" / "commands.py",
    _HERE.parent / "migrating" / "record.py",
)

#: a plain word: the replayed SQL's words are matched against role names as the check does
_WORD = re.compile(r"[\w$]+")

#: the existing roles whose (ASCII) name is one of the words (%s, lowered), and every one
#: not plainly an ASCII word, which the check's own case-insensitive match might find
_NAMED_ROLES = f"""SELECT q.c0 FROM ({catalog.QUERIES["roles"]}) AS q(c0, c1, c2)
    WHERE q.c0 !~ '^[A-Za-z0-9_$]+$' OR pg_catalog.lower(q.c0) = ANY(%s)"""

#: :func:`catalog.snapshot`'s ``like`` reads only a row's first columns (its scope's and its
#: narrowing's): the rest of an expected row (a definition, a body) need not be kept
_SCOPE_WIDTH = {kind: max(columns) + 1 for kind, columns in catalog.SCOPE_COLUMNS.items()}


@lru_cache(maxsize=1)
def _code() -> str:
    return cache.source_stamp(*(str(path) for path in _CHECKING))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=user.split(":", 1)[0] + at + host))


#: what a tenant's names' prefix becomes in what is remembered (:func:`marked`): tenants of one
#: shape remember the same entry, which ``plan --all-tenants`` shares among them
MARK = "\x01"
#: a name the prefix is taken from: plain, as every character of it is in a JSON text or a repr
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


def name_prefix(names: Iterable[str]) -> str:
    """The prefix every one of ``names`` (a config's schema and role names) starts with, where
    each is plain and they are more than one; else empty: nothing is marked."""
    listed = set(names)
    if len(listed) < 2 or not all(_PLAIN.fullmatch(n) for n in listed):
        return ""
    return common_prefix(listed)


def marked(text: str, prefix: str) -> str:
    """``text`` (JSON or a repr: it holds no control character itself) with ``prefix``
    replaced by :data:`MARK`; as is without a prefix."""
    return text.replace(prefix, MARK) if prefix else text


def digest(rows: Snapshot, prefix: str = "") -> str:
    """One digest of a snapshot's rows, ``prefix`` marked, in an order of the marked rows."""
    lines = (marked(f"{kind}\0{row!r}", prefix) for kind in rows for row in rows[kind])
    return cache.digest(*sorted(lines))


def scope_of(like: Snapshot) -> Snapshot:
    """What a read ``like`` these rows needs of them: it reads the same rows again."""
    return {
        kind: frozenset(row[: _SCOPE_WIDTH[kind]] for row in rows) for kind, rows in like.items()
    }


#: what a remembered entry holds of one tenant's rows only
_VERSIONED = ("versions", "record_versions", "record_rows")


def _unversioned(entry: dict[str, Any]) -> dict[str, Any]:
    """A remembered entry without the versions of one tenant's rows."""
    return {k: v for k, v in entry.items() if k not in _VERSIONED}


def _named_roles(conn: psycopg.Connection[Any], texts: Iterable[str | None]) -> set[str]:
    """The existing roles the SQL ``texts`` may name as a word (:data:`_NAMED_ROLES`)."""
    found = {w for text in texts if text for w in _WORD.findall(text)}
    words = sorted({w.lower() for w in found} | {w.casefold() for w in found})
    return {name for (name,) in conn.execute(_NAMED_ROLES, [words]).fetchall()}


def _scope(packed: str, prefix: str) -> Snapshot | None:
    """A remembered scope (compressed, marked JSON), ``prefix`` restored; None if unreadable."""
    try:
        text = zlib.decompress(base64.b64decode(packed)).decode()
        # left marked (no ``prefix``), its strings hold the mark: a control character
        kept = json.loads(text.replace(MARK, prefix) if prefix else text, strict=bool(prefix))
        return {kind: frozenset(tuple(row) for row in rows) for kind, rows in kept.items()}
    except (AttributeError, TypeError, ValueError, binascii.Error, zlib.error):
        return None


@lru_cache(maxsize=64)
def _marked_names(packed: str) -> catalog_versions.Names | None:
    """The names a remembered scope compares, its prefix still marked: tenants of one shape
    remember the same scope, read once."""
    scope = _scope(packed, "")
    return catalog_versions.names_of(scope) if scope is not None else None


def remembered_at(key: str, prefix: str) -> tuple[dict[str, Any], Snapshot] | None:
    """The entry remembered under ``key`` (:meth:`CatalogMemory.key_at`), whatever record it
    is of, and the scope its check read, ``prefix`` restored; None when there is none."""
    entry = cache.read(KIND, key)
    scope = _scope(entry.get("scope"), prefix) if isinstance(entry, dict) else None
    return (entry, scope) if isinstance(entry, dict) and scope is not None else None


def vouched(conn: psycopg.Connection[Any], entries: Sequence[tuple[str, str, str]]) -> list[bool]:
    """For each tenant, given as the key of its remembered drift check
    (:meth:`CatalogMemory.key_at`), its names' prefix and its tracking schema: whether that
    check is of the record it holds and would pass now, found by one statement for all: the
    record's rows and the catalog rows the check compared are the versions they were when it
    passed (:meth:`CatalogMemory.unchanged` would answer yes). Each answer is its record's
    rows, the prefix marked (:attr:`CatalogMemory.record_rows`), or None: not vouched for."""
    kept = [cache.read(KIND, key) for key, _, _ in entries]
    names: list[catalog_versions.Names | None] = []
    for entry, (_, prefix, _) in zip(kept, entries, strict=True):
        packed = entry.get("scope") if isinstance(entry, dict) else None
        marked_names = _marked_names(packed) if isinstance(packed, str) else None
        names.append(marked_names.renamed(MARK, prefix) if marked_names is not None else None)
    asked = [t for t, n in enumerate(names) if n is not None]
    if not asked:
        return [None] * len(entries)
    found = catalog_versions.digests(conn, [n for n in names if n is not None])
    records = catalog_versions.record_digests(conn, [entries[t][2] for t in asked])
    out: list[str | None] = [None] * len(entries)
    for t, versions, record_versions in zip(asked, found, records, strict=True):
        entry = kept[t]
        assert isinstance(entry, dict)
        rows = entry.get("record_rows")
        if (
            versions is not None
            and record_versions is not None
            and versions == entry.get("versions")
            and record_versions == entry.get("record_versions")
            and isinstance(rows, str)
            and rows
        ):
            out[t] = rows
    return out


@dataclass(frozen=True)
class CatalogMemory:
    """The remembered passing check of one record in one database and tracking schema."""

    #: the cache key: the database and tracking schema, and the code that checks
    key: str
    #: what the check compares against: the record (its replayed SQL and config names)
    record: str
    #: the roles the record's configs name (their ``roles.`` key paths)
    roles: frozenset[str]
    #: the prefix of the configs' names, marked in what is remembered (:func:`name_prefix`)
    prefix: str = ""
    #: the tracking schema holding the record, and the versions of its rows when read
    #: (:attr:`Record.versions`): remembered with a passing check, when the record still holds
    #: them then, so that :func:`vouched` can tell the check is of the record a tenant holds
    tracking: str | None = None
    record_versions: str = ""
    #: the record's rows, the prefix marked (:meth:`Record.renamed_digest`): remembered with
    #: the record's versions, so that tenants whose records are one another's renamed are
    #: told so without reading them
    record_rows: str = ""
    #: the key of the database's verdicts (:meth:`verdicts_at`); empty: none kept
    verdicts: str = ""

    @staticmethod
    def key_at(url: str) -> str:
        """The cache key of the memories at ``url`` (the tracked URL, its password left out)."""
        return cache.digest(_without_password(url), _code())

    @staticmethod
    def verdicts_at(url: str) -> str:
        """The key of the verdicts kept for the database at ``url``, whatever tracking schema it
        names: its tenants' checks replay on one server and read one catalog."""
        return cache.digest("verdicts", _without_password(with_schema(url, None)), _code())

    @classmethod
    def of(
        cls,
        url: str,
        texts: Iterable[str | None],
        names: Iterable[tuple[str, str]],
        tracking: str | None = None,
        record_versions: str = "",
    ) -> CatalogMemory:
        """The memory of the check at ``url`` (the tracked URL) of the record replaying
        ``texts`` with the config ``names`` (name, key path), read from ``tracking`` with
        its rows at ``record_versions``."""
        names = tuple(names)
        prefix = name_prefix(n for n, path in names if path.startswith(("schemas.", "roles.")))
        record = cache.digest(marked(json.dumps([list(texts), [list(n) for n in names]]), prefix))
        roles = frozenset(name for name, path in names if path.startswith("roles."))
        key, verdicts = cls.key_at(url), cls.verdicts_at(url)
        return cls(key, record, roles, prefix, tracking, record_versions, verdicts=verdicts)

    def _versions(self, conn: psycopg.Connection[Any], scope: Snapshot) -> dict[str, str]:
        """The versions of the rows ``scope`` names (``versions``) and, when the record still
        holds the rows this memory's record was read from, of those (``record_versions``)."""
        out: dict[str, str] = {}
        names = catalog_versions.names_of(scope)
        found = catalog_versions.digests(conn, [names])[0] if names is not None else None
        if found is not None:
            out["versions"] = found
        if self.tracking is not None and self.record_versions:
            held = catalog_versions.record_digests(conn, [self.tracking])[0]
            if held == self.record_versions:
                out["record_versions"] = held
                out["record_rows"] = self.record_rows
        return out

    def _verdict(self, scope: str, rows: str) -> str:
        """The key of the verdict that this record's check passes on the catalog read as the
        (packed, marked) ``scope`` whose rows' digest is ``rows``."""
        return cache.digest(self.verdicts, self.record, scope, rows)

    def _entry(self) -> tuple[dict[str, Any], Snapshot] | None:
        """The remembered entry of a check this record's check would pass where it passed,
        and the scope it read (its prefix restored): one of this record, or of another one
        (before an evolve) whose scope and rows' digest a check of this record passed on at a
        tenant of this shape (a verdict: it compares the same rows with the same expected)."""
        found = remembered_at(self.key, self.prefix)
        if found is None or found[0].get("record") == self.record:
            return found
        scope, rows = found[0].get("scope"), found[0].get("digest")
        if not self.verdicts or not isinstance(scope, str) or not isinstance(rows, str):
            return None
        return found if cache.read(VERDICT, self._verdict(scope, rows)) is True else None

    def unchanged(self, conn: psycopg.Connection[Any]) -> bool:
        """Whether a check of this record passed here (or at a tenant of its shape that
        shared it, :meth:`share`; or a check of the record before an evolve, on a catalog a
        check of this one passed on: :meth:`_entry`) and the catalog it compared is as it was
        then: the versions of its rows as remembered
        (:mod:`~tmplmig.database.catalog_versions`), else the values themselves. A pass
        remembers this record, with the versions read now, for the next check."""
        found = self._entry()
        if found is None:
            return False
        entry, scope = found
        with one_snapshot(conn):
            now = self._versions(conn, scope)
            same = "versions" in now and now["versions"] == entry.get("versions")
            if not same:
                live = snapshot(conn, bodies=True, like=scope)
        if not same and digest(live, self.prefix) != entry.get("digest"):
            return False
        kept = {**_unversioned(entry), "record": self.record, **now}
        if kept != entry:  # this record's, with the versions read now
            cache.write(KIND, self.key, kept)
        return True

    def read(
        self, conn: psycopg.Connection[Any], like: Snapshot
    ) -> tuple[Snapshot, dict[str, str]]:
        """A check's live read of the rows ``like`` names, and the versions of those rows (and
        of the record's), in one snapshot: what :meth:`remember` keeps when the check passes."""
        with one_snapshot(conn):
            return snapshot(conn, bodies=True, like=like), self._versions(conn, scope_of(like))

    def share(self, urls: Iterable[str]) -> None:
        """Remember this memory's passing check at ``urls`` too: tenants whose record and
        catalog were found to be this one's with their own prefix (what is remembered is
        marked alike); a tenant whose record is not checks in full."""
        entry = cache.read(KIND, self.key)
        if isinstance(entry, dict):
            shared = _unversioned(entry)  # another's next check reads its own values
            for url in urls:
                cache.write(KIND, self.key_at(url), shared)

    def widened(
        self, conn: psycopg.Connection[Any], like: Snapshot, texts: Iterable[str | None]
    ) -> Snapshot:
        """``like`` (the check's live read) with every role a later check may expect: the
        configs' and the existing ones the replayed ``texts`` name (see the module's notes)."""
        roles = self.roles | _named_roles(conn, texts)
        return like | {"roles": like.get("roles", frozenset()) | {(r, None) for r in roles}}

    def remember(
        self, like: Snapshot, live: Snapshot, versions: dict[str, str] | None = None
    ) -> None:
        """Remember that the rows ``live`` read ``like`` passed the check of this record, with
        the ``versions`` read beside them (:meth:`read`), if any (the scope compressed: a
        tenant's names are some 15 kB of JSON, 2 kB so)."""
        scope = {kind: sorted(map(list, rows), key=repr) for kind, rows in scope_of(like).items()}
        text = marked(json.dumps(scope), self.prefix)
        packed = base64.b64encode(zlib.compress(text.encode())).decode()
        rows = digest(live, self.prefix)
        entry = {"record": self.record, "scope": packed, "digest": rows}
        cache.write(KIND, self.key, {**entry, **(versions or {})})
        if self.verdicts:
            cache.write(VERDICT, self._verdict(packed, rows), True)
