"""What PostgreSQL accepts as a name we create, checked before any SQL is rendered."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

from tmplmig.errors import TmplmigError

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1: longer names are silently truncated by the server
#: schemas named ``tmplmig_<tenant>`` hold yoyo's tracking tables of a tenant
TRACKING_PREFIX = "tmplmig_"
#: the schema of tmplmig's database-wide functions, which every tenant of a database shares
SHARED_SCHEMA = "tmplmig"
#: tmplmig's record beside yoyo's tables in a tracking schema (:mod:`tmplmig.migrating.record`):
#: a row per applied step, and each config applied once; named here, in the lowest layer, so
#: that the catalog can leave them out of what migrations create
RECORD_STEPS_TABLE = "tmplmig_applied"
RECORD_CONFIGS_TABLE = "tmplmig_applied_config"
RESERVED_ROLE_NAMES = frozenset({"public", "none", "current_user", "session_user", "current_role"})
#: schemas PostgreSQL or tmplmig itself owns, and what for: an environment's schemas are
#: created and dropped with it, so none may be one of these (``pg_*`` is refused for every name)
RESERVED_SCHEMA_NAMES = {
    "public": "the schema every database has",
    "information_schema": "PostgreSQL's catalog views",
    SHARED_SCHEMA: "tmplmig's shared functions",
}
#: Unicode categories a reviewer cannot see or cannot trust to look like what they are:
#: format (bidi overrides, zero-width), line/paragraph separators, private use, unassigned,
#: surrogates. Spaces other than U+0020 are refused separately.
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Co", "Cn", "Cs"})


class IdentifierError(TmplmigError, ValueError):
    """A name that cannot be used as a PostgreSQL identifier."""


def check_identifier(name: str) -> str:
    """Return ``name`` if the server would keep it exactly as written, else raise."""
    if not isinstance(name, str):
        raise IdentifierError(f"identifier must be a string, got {type(name).__name__}")
    if name == "":
        raise IdentifierError("identifier is empty")
    if "\x00" in name:
        raise IdentifierError("identifier contains a NUL byte")
    if not (name.isascii() and name.isprintable()):  # printable ASCII has none of these
        _check_characters(name)
        _check_look_alikes(name)
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


#: script properties that go with any script (digits, ``_``, combining marks)
NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})
#: UTS #39's "highly restrictive" level: a name keeps to one script, or to one of these sets
#: (Latin with the scripts Chinese, Japanese and Korean are written in together)
HIGHLY_RESTRICTIVE = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def _check_look_alikes(name: str) -> None:
    """Refuse names that read as another: compatibility forms and mixed scripts (UTS #39).

    Python's ``unicodedata`` has no Script property, so the script of each character comes
    from ``confusable_homoglyphs`` (Unicode's Scripts.txt and confusables.txt as data, pure
    Python, no dependencies), which also says what a refused character looks like. A name
    must also be in NFKC, as UAX #31 asks of identifiers: compatibility characters such as
    U+1D42C MATHEMATICAL BOLD SMALL S (script Common) or U+FF53 FULLWIDTH LATIN SMALL LETTER S
    (Latin) would pass a script check and still read as ``s``.
    """
    from confusable_homoglyphs.categories import alias  # only non-ASCII names get here

    normal = _nfkc(name)
    if normal != name:
        end = next(i for i in range(1, len(name) + 1) if _nfkc(name[:i]) != name[:i])
        raise IdentifierError(
            f"identifier {name!r} is not in Unicode normalization form NFKC:"
            f" {_describe(name[end - 1])} makes it read as {normal!r}"
        )
    scripts = [s for s in map(alias, name) if s not in NEUTRAL_SCRIPTS]
    present = frozenset(scripts)
    if len(present) <= 1 or any(present <= allowed for allowed in HIGHLY_RESTRICTIVE):
        return
    main = Counter(scripts).most_common(1)[0][0]  # ties: the script seen first
    odd = next(c for c in name if alias(c) not in NEUTRAL_SCRIPTS | {main})
    raise IdentifierError(
        f"identifier {name!r} mixes scripts: {_describe(odd)} is {_title(alias(odd))},"
        f" the rest {_title(main)}{_looks_like(odd, main)}"
    )


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _describe(c: str) -> str:
    return f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})"


def _title(script: str) -> str:
    return script.replace("_", " ").title()


def _looks_like(c: str, script: str) -> str:
    """``; it looks like 's' (LATIN SMALL LETTER S)``: a look-alike of ``c`` in ``script``,
    from Unicode's confusables (loaded only here: it is a large table)."""
    from confusable_homoglyphs.categories import alias
    from confusable_homoglyphs.confusables import confusables_data

    for glyph in confusables_data.get(c, ()):
        if all(alias(g) in NEUTRAL_SCRIPTS | {script} for g in glyph["c"]):
            return f"; it looks like {glyph['c']!r} ({glyph['n']})"
    return ""


def check_schema_name(name: str) -> str:
    """Like :func:`check_identifier`, also refusing the schemas PostgreSQL or tmplmig own."""
    check_identifier(name)
    reserved_for = RESERVED_SCHEMA_NAMES.get(name.lower())
    if reserved_for is not None:
        raise IdentifierError(f"schema name {name!r} is reserved for {reserved_for}")
    if name.startswith(TRACKING_PREFIX):
        raise IdentifierError(
            f"schema name {name!r} uses the prefix {TRACKING_PREFIX!r},"
            " which is reserved for tenants' tracking schemas"
        )
    return name


def check_extensions_schema(name: str) -> str:
    """Like :func:`check_schema_name`, but ``public``, where extensions go by default, is fine."""
    return check_identifier(name) if name == "public" else check_schema_name(name)


def check_role_name(name: str) -> str:
    """Like :func:`check_identifier`, also refusing names that mean something else in GRANT."""
    check_identifier(name)
    if name.lower() in RESERVED_ROLE_NAMES:
        raise IdentifierError(f"role name {name!r} is reserved")
    return name


def common_prefix(names: Iterable[str]) -> str:
    """The longest text every one of ``names`` starts with."""
    listed = list(names)
    first, last = min(listed, default=""), max(listed, default="")
    pairs = enumerate(zip(first, last, strict=False))  # first is the shorter if one starts both
    size = next((i for i, (a, b) in pairs if a != b), len(first))
    return first[:size]
