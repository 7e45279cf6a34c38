"""One replay per shape: tenants whose records differ by their schema and role names only
expect the same catalog but for those names.

A record's *shape* is what a replay of it runs (SQL, guards, roles) with each schema and role
name its configs gave replaced by a placeholder naming its key path (``schemas.auth``). Two
records of one shape run the same statements on renamed objects, so the catalog one replay
left, with that replay's names made placeholders, is the other's once its names go in.

Only names the server never prints on its own are replaced: plain identifiers with an
underscore or a digit that are no keyword, built-in type, function or access method (an ACL's
``r`` or a column's ``text`` must stay what they are). Where the renaming cannot be sure (a
name folded from another case, or inside a longer quoted identifier) it raises
:class:`Unsure`, and the caller replays that record itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg

from tmplmig.database.catalog import Snapshot
from tmplmig.errors import TmplmigError

#: words the server prints by itself: a name equal to one is never replaced
RESERVED = """
SELECT word FROM pg_catalog.pg_get_keywords()
UNION SELECT typname FROM pg_catalog.pg_type WHERE typnamespace = 'pg_catalog'::regnamespace
UNION SELECT proname FROM pg_catalog.pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace
UNION SELECT amname FROM pg_catalog.pg_am"""

_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_REPLACEABLE = re.compile(r"[a-z_][a-z0-9_]*")
#: NUL cannot occur in PostgreSQL text, so a placeholder never meets one already there
_PLACEHOLDER = re.compile("\x00([^\x00]*)\x00")
_MAX_NAME_BYTES = 63


class Unsure(TmplmigError):
    """The renaming cannot tell a name from other text here: replay instead."""


def reserved(conn: psycopg.Connection[Any]) -> frozenset[str]:
    """The words the server at ``conn`` prints by itself (see :data:`RESERVED`)."""
    return frozenset(word for (word,) in conn.execute(RESERVED).fetchall())


@dataclass(frozen=True)
class Naming:
    """What a replay of one record runs, in order, and the names its configs gave it, as
    (name, key path) pairs."""

    texts: tuple[str | None, ...]
    names: tuple[tuple[str, str], ...]


def _in_word(text: str, at: int) -> bool:
    """Whether ``text[at]`` is a character of an unquoted identifier (none outside ``text``)."""
    if not 0 <= at < len(text):
        return False
    char = text[at]
    return not char.isascii() or char.isalnum() or char in "_$"


def _replaceable(name: str, words: frozenset[str]) -> bool:
    return bool(
        _REPLACEABLE.fullmatch(name)
        and ("_" in name or any(c.isdigit() for c in name))
        and not name.startswith("pg_")
        and len(name.encode()) <= _MAX_NAME_BYTES
        and name not in words
    )


@dataclass(frozen=True)
class Renaming:
    """One target's names to their placeholders and back."""

    holders: Mapping[str, str]
    names: Mapping[str, str]  # key path -> name

    @classmethod
    def of(cls, naming: Naming, words: frozenset[str]) -> Renaming | None:
        """The renaming of ``naming``'s replaceable names; None when one name has two key
        paths or one key path two names (a record across a rename)."""
        pairs = {(n, p) for n, p in naming.names if _replaceable(n, words)}
        holders = {n: f"\x00{p}\x00" for n, p in pairs}
        names = {p: n for n, p in pairs}
        if len(holders) != len(pairs) or len(names) != len(pairs):
            return None
        return cls(holders, names)

    @cached_property
    def _names(self) -> re.Pattern[str]:
        """The names in any case, longest first (see :meth:`out`)."""
        alternatives = sorted(map(re.escape, self.holders), key=len, reverse=True)
        return re.compile("|".join(alternatives) or "(?!)", re.IGNORECASE)

    def out(self, text: str) -> str:
        """``text`` with each of the names made its placeholder where no identifier
        character borders it; :class:`Unsure` when a name is spelled in another case (it
        folds to the name) or is part of a longer quoted identifier."""
        if "\x00" in text:
            raise Unsure("text holds a NUL")
        pieces, done = [], 0
        for match in self._names.finditer(text):
            start, end = match.span()
            if _in_word(text, start - 1) or _in_word(text, end):
                continue  # a longer word: a shorter name here would end inside it too
            if match[0] not in self.holders:
                raise Unsure(f"{match[0]} folds to a name")
            pieces += [text[done:start], self.holders[match[0]]]
            done = end
        if not pieces:
            return text
        shaped = "".join([*pieces, text[done:]])
        for quoted in _QUOTED.findall(shaped):
            if "\x00" in quoted and _PLACEHOLDER.fullmatch(quoted[1:-1]) is None:
                raise Unsure(f"a name inside the identifier {quoted}")
        return shaped

    def back(self, text: str) -> str:
        """``text`` with each placeholder made this target's name."""

        def name(match: re.Match[str]) -> str:
            if match[1] not in self.names:
                raise Unsure(f"no name for {match[1]}")
            return self.names[match[1]]

        return _PLACEHOLDER.sub(name, text)

    def shape(self, naming: Naming) -> str:
        """The digest of ``naming``'s texts with the names made placeholders."""
        texts = [None if t is None else self.out(t) for t in naming.texts]
        return hashlib.sha256(json.dumps(texts).encode()).hexdigest()

    def snapshot_out(self, expected: Snapshot) -> Snapshot:
        """A snapshot with every name made its placeholder."""
        return _mapped(expected, self.out)

    def snapshot_back(self, shaped: Snapshot) -> Snapshot:
        """A snapshot of placeholders with this target's names put in."""
        return _mapped(shaped, self.back)


def _mapped(rows: Snapshot, change: Callable[[str], str]) -> Snapshot:
    return {kind: frozenset(_row(row, change) for row in found) for kind, found in rows.items()}


def _row(row: Iterable[Any], change: Callable[[str], str]) -> tuple[Any, ...]:
    return tuple(change(value) if isinstance(value, str) else value for value in row)
