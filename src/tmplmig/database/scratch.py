"""Scratch databases: made beside a live one to apply the migrations into, and kept for the
next check of a run when the last left them as it found them (:class:`ScratchDatabases`)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from psycopg import sql

from tmplmig.database.urls import connect

T = TypeVar("T")
#: how scratch databases are named: a random suffix each
PREFIX = "tmplmig_verify_"


def create(url: str) -> str:
    """A new, empty database on the server of ``url`` (the role needs CREATEDB); its name."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    with connect(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop(url: str, scratch: str) -> None:
    """Drop ``scratch`` from the server of ``url``, if it is there."""
    # not WITH (FORCE): for a non-superuser that fails on an autovacuum worker in the scratch
    # database, which a plain DROP stops and waits for; ours are closed
    with connect(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))


class ScratchDatabases:
    """Scratch databases kept from one check to the next of a run (a fan-out over tenants)
    instead of dropped: creating one costs more than replaying a tenant into it. A database
    is kept only when its check left the catalog as it found it; :meth:`close` drops them.
    What a replay found is remembered for the run too (:meth:`remember`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: dict[str, list[str]] = {}  # server and login (URL netloc) -> names
        self._kept: dict[str, str] = {}  # name -> a URL on its server, to drop it from
        self._computing: dict[Hashable, threading.Lock] = {}
        self._remembered: dict[Hashable, Any] = {}

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` for the run; a check asking meanwhile waits for it.
        A failure is not remembered: the next check asking computes again."""
        with self._lock:
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            if key not in self._remembered:
                self._remembered[key] = compute()
            return self._remembered[key]  # type: ignore[no-any-return]

    def __enter__(self) -> ScratchDatabases:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def take(self, url: str) -> str | None:
        """A kept scratch database on the server of ``url``, now the caller's; None if none."""
        with self._lock:
            free = self._free.get(urlsplit(url).netloc)
            if not free:
                return None
            scratch = free.pop()
            del self._kept[scratch]
            return scratch

    def keep(self, url: str, scratch: str) -> None:
        """Give ``scratch`` (on the server of ``url``) back for a later check."""
        with self._lock:
            self._free.setdefault(urlsplit(url).netloc, []).append(scratch)
            self._kept[scratch] = url

    def close(self) -> None:
        """Drop every kept database (each is idle: its check gave it back)."""
        with self._lock:
            kept, self._kept, self._free = self._kept, {}, {}
        for scratch, url in kept.items():
            drop(url, scratch)
