"""Answers kept between processes in the per-user cache directory, keyed by their inputs.

A short command (``tmplmig status``, ``apply`` with nothing new) spent most of its time
importing PyYAML, pydantic and Jinja to load, validate and render what the previous command
had loaded, validated and rendered from the same files. Each answer is kept here as JSON under
a key that digests everything it depends on (file contents, the code that computes it), so an
edit of any of them is a different key and the stale entry is never read.

The directory is Jinja's own (``<tmp>/_jinja2-cache-<uid>``, where compiled templates are
kept too): created 0700, used only when it is a directory of this user that no one else may
write. An entry is used only when its file is this user's and writable by no one else, and
its content is whole: a digest of the payload and the key it answers are stored with it, so a
damaged, truncated or edited entry (or one copied under another key) is refused, and the
answer computed again.

The entries are bounded: past :data:`BUDGET_VAR` megabytes (default
:data:`DEFAULT_BUDGET_MB`) the oldest written go first, checked at a write when the last
check, by whichever process, is over a minute old (a fan-out keeps one render per tenant;
listing the directory costs ~0.1 s). An entry of :data:`LASTING_KINDS` counts as written a
day later than it was: a render is some 125 kB and costs a render again, a drift check's
memory some 3 kB and a replay, so the renders of a fan-out's last tenants (10,000 of them)
do not push out the checks of its first; memories a day old (of code since replaced, say) go
before today's renders.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import time
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

#: set (to anything) to neither read nor write cached answers
DISABLE_VAR = "TMPLMIG_NO_CACHE"
#: the megabytes tmplmig's entries may take, when set (a whole number)
BUDGET_VAR = "TMPLMIG_CACHE_MB"
DEFAULT_BUDGET_MB = 256
#: what names tmplmig's entries and the templates it compiled (``environment``'s bytecode
#: cache, one entry per template name and source); other users of the directory are left alone
_ENTRY_GLOBS = ("__tmplmig_*.json", "__tmplmig_*.marshal", "__tmplmig_*.cache")
#: the kinds whose answers cost a database check to compute again, a few kB each: past the
#: budget they go as if written :data:`LASTING_NS` later
#: (:mod:`tmplmig.reviewing.catalog_fingerprint`)
LASTING_KINDS = ("verified_catalog", "passing_catalog")
LASTING_NS = 24 * 3600 * 10**9
_LASTING = tuple(f"__tmplmig_{kind}_" for kind in LASTING_KINDS)
#: a write's temporary file older than this was left by a process that died writing it
_STALE_SECONDS = 3600


@lru_cache(maxsize=1)
def cache_dir() -> Path | None:
    """The per-user cache directory (made 0700 when missing), or None when it is not safe
    (:func:`private_dir`) or ``TMPLMIG_NO_CACHE`` is set."""
    if os.environ.get(DISABLE_VAR):
        return None
    return private_dir(Path(tempfile.gettempdir()) / f"_jinja2-cache-{os.getuid()}")


def private_dir(directory: Path) -> Path | None:
    """``directory``, made 0700 when missing, when it is a directory (not a link) of this
    user that no one else may enter or write; else None. Jinja checks its own the same way."""
    try:
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
        found = os.lstat(directory)
    except OSError:
        return None
    private = stat.S_IMODE(found.st_mode) == 0o700
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or not private:
        return None
    return directory


def digest(*pieces: bytes | str) -> str:
    """sha256 of ``pieces``, each length-prefixed, so no two lists of pieces share one."""
    h = hashlib.sha256()
    for piece in pieces:
        data = piece.encode() if isinstance(piece, str) else piece
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def source_stamp(*modules: str) -> str:
    """A digest of the source files of ``modules`` (file paths of this package's modules):
    answers computed by other code are other keys."""
    return digest(*(Path(module).read_bytes() for module in modules))


def installed_stamp(package: str) -> str:
    """A digest of the installed ``package``'s module files (name, size, time), found without
    importing it: an upgrade of a library an answer depends on is another key."""
    spec = find_spec(package)
    if spec is None or not spec.origin:
        return ""
    found = sorted(Path(spec.origin).parent.glob("*.py"))
    return digest(*(f"{p.name} {(s := p.stat()).st_size} {s.st_mtime_ns}" for p in found))


def _path(kind: str, key: str, suffix: str) -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / f"__tmplmig_{kind}_{key}{suffix}"


def read_bytes(kind: str, key: str, suffix: str) -> bytes | None:
    """The payload kept for ``key`` in a file named with ``suffix`` (its encoding), as
    written, or None when there is none that can be trusted (see the module's notes)."""
    path = _path(kind, key, suffix)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            found = os.fstat(handle.fileno())
            if found.st_uid != os.getuid() or found.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            head, _, payload = handle.read().partition(b"\n")
        entry = json.loads(head)
    except (OSError, ValueError):
        return None
    return payload if entry == {"key": key, "digest": digest(payload)} else None


def read(kind: str, key: str) -> Any | None:
    """The JSON payload kept for ``key``, or None when there is none that can be trusted."""
    payload = read_bytes(kind, key, ".json")
    try:
        return None if payload is None else json.loads(payload)
    except ValueError:
        return None


def encode(payload: Any) -> bytes:
    """``payload`` (JSON data) as :func:`write` keeps it."""
    return json.dumps(payload, separators=(",", ":")).encode()


def write(kind: str, key: str, payload: Any) -> None:
    """Keep ``payload`` (JSON data) for ``key``; a failed write only costs a later recompute."""
    write_encoded(kind, key, encode(payload), ".json")


def write_encoded(kind: str, key: str, text: bytes, suffix: str) -> None:
    """Keep ``text`` (a payload encoded as ``suffix`` names) for ``key``. The file is a line
    naming the key and the payload's digest, then the payload."""
    path = _path(kind, key, suffix)
    if path is None:
        return
    head = json.dumps({"key": key, "digest": digest(text)}).encode()
    with contextlib.suppress(OSError):
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(head + b"\n" + text)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    if _prune_due(path.parent):
        prune(path.parent)


#: marks when the directory was last pruned (listing thousands of entries costs ~0.1 s)
_PRUNED = "__tmplmig_pruned"
#: seconds between two prunes of the directory, whichever process writes
_PRUNE_SECONDS = 60


def _prune_due(directory: Path) -> bool:
    """Whether the last prune is older than :data:`_PRUNE_SECONDS` (then this one is marked)."""
    marker = directory / _PRUNED
    with contextlib.suppress(OSError):
        if time.time() - marker.stat().st_mtime < _PRUNE_SECONDS:
            return False
    with contextlib.suppress(OSError):
        marker.touch()
    return True


def _budget() -> int:
    try:
        return max(0, int(os.environ.get(BUDGET_VAR, DEFAULT_BUDGET_MB))) * 1024 * 1024
    except ValueError:
        return DEFAULT_BUDGET_MB * 1024 * 1024


def prune(directory: Path) -> list[Path]:
    """Remove the oldest written of tmplmig's entries in ``directory`` until they fit the
    budget (those of :data:`LASTING_KINDS` as if a day younger), and temporary files a dead
    writer left; return the entries removed (an entry removed is only an answer computed
    again)."""
    for temporary in directory.glob("*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - temporary.stat().st_mtime > _STALE_SECONDS:
                temporary.unlink()
    entries = []
    for entry in (e for pattern in _ENTRY_GLOBS for e in directory.glob(pattern)):
        with contextlib.suppress(OSError):
            found = entry.stat()
            written = found.st_mtime_ns + (LASTING_NS if entry.name.startswith(_LASTING) else 0)
            entries.append((written, found.st_size, entry))
    total, budget, removed = sum(size for _, size, _ in entries), _budget(), []
    for _, size, entry in sorted(entries):
        if total <= budget:
            break
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
            total -= size
    return removed
