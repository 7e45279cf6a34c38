"""What PostgreSQL accepts as a name we create, checked before any SQL is rendered."""

from __future__ import annotations

import unicodedata

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names are silently truncated by the server
#: schemas named ``tmplmig_<tenant>`` hold yoyo's tracking tables of a tenant
TRACKING_PREFIX = "tmplmig_"
#: the schema of tmplmig's database-wide functions, which every tenant of a database shares
SHARED_SCHEMA = "tmplmig"
RESERVED_ROLE_NAMES = frozenset({"public", "none", "current_user", "session_user", "current_role"})
#: Unicode categories a reviewer cannot see or cannot trust to look like what they are:
#: format (bidi overrides, zero-width), line/paragraph separators, private use, unassigned,
#: surrogates. Spaces other than U+0020 are refused separately.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Co", "Cn", "Cs"})


class IdentifierError(ValueError):
    """A name that cannot be used as a PostgreSQL identifier."""


def check_identifier(name: str) -> str:
    """Return ``name`` if the server would keep it exactly as written, else raise."""
    if not isinstance(name, str):
        raise IdentifierError(f"identifier must be a string, got {type(name).__name__}")
    if name == "":
        raise IdentifierError("identifier is empty")
    if "\x00" in name:
        raise IdentifierError("identifier contains a NUL byte")
    if not (name.isascii() and name.isprintable()):  # printable ASCII has neither kind
        _check_characters(name)
    size = len(name.encode("utf-8"))
    if size > MAX_IDENTIFIER_BYTES:
        raise IdentifierError(
            f"identifier {name!r} is {size} bytes; PostgreSQL keeps at most {MAX_IDENTIFIER_BYTES}"
        )
    if name.lower().startswith("pg_"):
        raise IdentifierError(f"identifier {name!r} uses the reserved prefix 'pg_'")
    return name


def _check_characters(name: str) -> None:
    """Refuse control characters and characters a reviewer cannot see."""
    if any(unicodedata.category(c) == "Cc" for c in name):
        # a line break would end the `-- step:` comment that names it in the review bundle
        raise IdentifierError(f"identifier {name!r} contains a control character")
    hidden = next((c for c in name if _invisible(c)), None)
    if hidden is not None:
        # `system\u200b` reads as `system` in a review; U+202E reverses what follows it
        raise IdentifierError(
            f"identifier {name!r} contains the invisible or format character U+{ord(hidden):04X}"
            f" ({unicodedata.name(hidden, 'unassigned')})"
        )


def _invisible(c: str) -> bool:
    category = unicodedata.category(c)
    return category in INVISIBLE_CATEGORIES or (category == "Zs" and c != " ")


def check_role_name(name: str) -> str:
    """Like :func:`check_identifier`, also refusing names that mean something else in GRANT."""
    check_identifier(name)
    if name.lower() in RESERVED_ROLE_NAMES:
        raise IdentifierError(f"role name {name!r} is reserved")
    return name
