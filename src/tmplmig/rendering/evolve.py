"""Statement text that takes a step from the SQL it was applied with to today's render,
where running today's apply again would not: privileges reconciled, an index rebuilt beside
the old one, a hiding of sensitive columns changed pair by pair, a schema or role renamed.
Text in, text out, no database; :mod:`tmplmig.migrating.plan` decides which one a changed
step takes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from psycopg import sql

from tmplmig.rendering.sensitive import MARK

_GRANT = re.compile(
    r"^(?P<default>ALTER DEFAULT PRIVILEGES IN SCHEMA \S+ )?GRANT (?P<privileges>.+?) "
    r"ON (?P<on>.+) TO (?P<role>\S+);$"
)
#: a step's reset of what a role holds on the relations it names, before granting the lists
_RESET = re.compile(r"^REVOKE ALL ON (?P<on>(?:TABLE|SEQUENCE) .+) FROM (?P<role>\S+);$")
#: a quoted, schema-qualified relation name
_RELATION = re.compile(r'"(?:[^"]|"")+"\."(?:[^"]|"")+"')


def quote_ident(name: str) -> str:
    """``name`` double-quoted as PostgreSQL reads it (already checked where it came from)."""
    return sql.Identifier(name).as_string(None)


def quote_literal(value: str) -> str:
    """``value`` as a string literal."""
    return sql.Literal(value).as_string(None)


def _each(on: str) -> tuple[str, ...]:
    """``TABLE a, b`` as (``TABLE a``, ``TABLE b``): a grant that names several relations
    counts per relation, so a relation added to the list is told from one granted more."""
    kind, _, names = on.partition(" ")
    found = _RELATION.findall(names)
    if kind in ("TABLE", "SEQUENCE") and found and ", ".join(found) == names:
        return tuple(f"{kind} {name}" for name in found)
    return (on,)


_Grants = dict[tuple[str, str, str], set[str]]


def _grants(text: str) -> tuple[_Grants, set[tuple[str, str]], list[str]]:
    """A step's GRANT statements as (default-privileges prefix, ON one object, role) ->
    privileges; its resets (``REVOKE ALL`` on relations it names) as (ON one relation, role);
    and its other lines."""
    out: _Grants = {}
    resets: set[tuple[str, str]] = set()
    others: list[str] = []
    for line in filter(None, map(str.strip, text.splitlines())):
        if (match := _GRANT.match(line)) is not None:
            for on in _each(match["on"]):
                key = (match["default"] or "", on, match["role"])
                out.setdefault(key, set()).update(p.strip() for p in match["privileges"].split(","))
        elif (match := _RESET.match(line)) is not None:
            resets.update((on, match["role"]) for on in _each(match["on"]))
        else:
            others.append(line)
    return out, resets, others


def _statements(verb: str, changes: dict[tuple[str, str, str], list[str]]) -> list[str]:
    """One statement per (prefix, privileges, role, kind of object), naming its relations."""
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for (prefix, on, role), privileges in changes.items():
        kind, _, name = on.partition(" ")
        if kind not in ("TABLE", "SEQUENCE") or not _RELATION.fullmatch(name):
            kind, name = on, ""
        grouped.setdefault((prefix, ", ".join(privileges), role, kind), []).append(name)
    word = "TO" if verb == "GRANT" else "FROM"
    return [
        f"{prefix}{verb} {privileges} ON {kind}{' ' if names != [''] else ''}"
        f"{', '.join(names)} {word} {role};"
        for (prefix, privileges, role, kind), names in sorted(grouped.items())
    ]


def reconcile_privileges(
    old: str, new: str, dropped: Callable[[str], bool] = lambda on: False
) -> tuple[str, ...] | None:
    """REVOKE what ``old`` granted and ``new`` does not, then GRANT what is new; None when
    something other than a GRANT statement or the relations a reset names changed (no safe
    rule). A relation new to the step is reset first (``REVOKE ALL``), as its apply does.
    Privileges both grant are left alone, so what later steps narrowed (SELECT on some
    columns only) stays narrowed. Grants on what ``dropped`` names (``TABLE x``) go with it."""
    (before, reset_before, rest_before), (after, reset_after, rest_after) = (
        _grants(old),
        _grants(new),
    )
    before = {k: v for k, v in before.items() if not dropped(k[1])}
    reset_before = {r for r in reset_before if not dropped(r[0])}
    if rest_before != rest_after:
        return None
    resets = [f"REVOKE ALL ON {on} FROM {role};" for on, role in sorted(reset_after - reset_before)]
    revokes: dict[tuple[str, str, str], list[str]] = {}
    grants: dict[tuple[str, str, str], list[str]] = {}
    for key in sorted(before.keys() | after.keys()):
        if gone := sorted(before.get(key, set()) - after.get(key, set())):
            revokes[key] = gone
        if added := sorted(after.get(key, set()) - before.get(key, set())):
            grants[key] = added
    return (*resets, *_statements("REVOKE", revokes), *_statements("GRANT", grants))


#: one GRANT or REVOKE line that names a list of relations: what comes before the list, the
#: list, and the grantee clause after it
_ON_RELATIONS = re.compile(
    r"^(?P<head>.*\bON (?P<kind>TABLE|SEQUENCE) )(?P<names>.+?)(?P<tail> (?:TO|FROM) \S+;)$"
)


def without_relations(text: str, gone: Callable[[str], bool]) -> str:
    """``text`` with the relations ``gone`` names (``TABLE x``) left out of its GRANT and REVOKE
    lines, a line naming only those left out whole: what a step granted on a table dropped
    since went with the table."""
    kept: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        match = _ON_RELATIONS.match(body)
        names = _RELATION.findall(match["names"]) if match else []
        if match is None or ", ".join(names) != match["names"]:
            kept.append(line)
            continue
        left = [n for n in names if not gone(f"{match['kind']} {n}")]
        if left:
            kept.append(f"{match['head']}{', '.join(left)}{match['tail']}{line[len(body) :]}")
    return "".join(kept)


#: a dollar-quoted string: a function's body, where names are text the server does not follow
_DOLLAR_QUOTED = re.compile(r"(\$[A-Za-z_]*\$)(.*?)\1", re.S)


def outside_bodies(text: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` made to what lies outside its dollar-quoted strings."""
    pieces, done = [], 0
    for match in _DOLLAR_QUOTED.finditer(text):
        pieces += [change(text[done : match.start()]), match[0]]
        done = match.end()
    return "".join([*pieces, change(text[done:])])


def bodies(text: str) -> list[str]:
    """The dollar-quoted strings of ``text``, in order."""
    return [m[2] for m in _DOLLAR_QUOTED.finditer(text)]


#: today's apply of an index step
_INDEX = re.compile(
    r'^CREATE INDEX CONCURRENTLY IF NOT EXISTS (?P<name>"(?:[^"]|"")+") '
    r'ON (?P<schema>"(?:[^"]|"")+")\.'
)


def rebuild_index(apply: str) -> tuple[str, ...] | None:
    """The index of ``apply`` built beside the old one, then swapped in, never leaving the
    table unindexed for longer than the drop and rename take; None for another statement."""
    match = _INDEX.match(apply)
    if match is None:
        return None
    name, schema = match["name"], match["schema"]
    plain = name[1:-1].replace('""', '"')
    temporary = quote_ident("tmplmig_" + hashlib.sha256(plain.encode()).hexdigest()[:20])
    create = apply.replace(f"IF NOT EXISTS {name} ON", f"{temporary} ON", 1)
    return (
        f"DROP INDEX CONCURRENTLY IF EXISTS {schema}.{temporary};",
        create,
        f"DROP INDEX CONCURRENTLY IF EXISTS {schema}.{name};",
        f"ALTER INDEX {schema}.{temporary} RENAME TO {name};",
    )


#: one (table, role) of a "columns hidden from" step: the table's SELECT replaced by a list
_HIDDEN_PAIR = re.compile(
    r'^(REVOKE SELECT ON TABLE ("(?:[^"]|"")+"\."(?:[^"]|"")+") FROM ("(?:[^"]|"")+");)\n'
    r"(GRANT SELECT \(.*\) ON TABLE \2 TO \3;)$",
    re.M,
)


def _hidden_pairs(text: str) -> dict[tuple[str, str], str] | None:
    """(table, role) -> its column GRANT, when ``text`` is nothing but such pairs."""
    pairs = {(m[2], m[3]): m[4] for m in _HIDDEN_PAIR.finditer(text)}
    return pairs if _HIDDEN_PAIR.sub("", text).strip() == "" else None


def hidden_difference(old: str, new: str) -> tuple[str, ...] | None:
    """Only what changed between two hidings (a column moved between readers): a pair the
    new one drops gets its table-wide SELECT back, a pair new or changed is hidden anew, the
    rest is left alone; one statement, so no role reads a table whole in between. None when
    either is not made only of pairs."""
    before, after = _hidden_pairs(old), _hidden_pairs(new)
    if before is None or after is None:
        return None
    lines = [
        f"REVOKE SELECT ON TABLE {table} FROM {role};\n{grant}"
        for (table, role), grant in after.items()
        if before.get((table, role)) != grant
    ] + [
        f"REVOKE SELECT ON TABLE {table} FROM {role};\nGRANT SELECT ON TABLE {table} TO {role};"
        for table, role in before
        if (table, role) not in after
    ]
    return ("\n".join(lines),) if lines else ()


#: a role's table-wide SELECT taken, in the statements after MARK
_HIDDEN_FROM = re.compile(
    r'^REVOKE SELECT ON TABLE ("(?:[^"]|"")+"\."(?:[^"]|"")+") FROM ("(?:[^"]|"")+");$', re.M
)


def hide_again(old: str, new: str) -> tuple[str, ...] | None:
    """The hiding of today's render, after table-wide SELECT given back to each role only the
    old hiding named (only the pairs that differ, as :func:`hidden_difference` says, when
    both are made of pairs); None when what the step makes (before MARK) changed. One
    statement, so that no role reads the table whole in between, even outside a transaction."""
    old_made, _, old_hidden = old.partition(MARK)
    new_made, _, new_hidden = new.partition(MARK)
    if old_made.strip() != new_made.strip():
        return None
    if (differing := hidden_difference(old_hidden, new_hidden)) is not None:
        return tuple(f"{MARK}\n{statement}" for statement in differing)
    kept = set(_HIDDEN_FROM.findall(new_hidden))
    restored = [
        f"REVOKE SELECT ON TABLE {table} FROM {role};\nGRANT SELECT ON TABLE {table} TO {role};"
        for table, role in _HIDDEN_FROM.findall(old_hidden)
        if (table, role) not in kept
    ]
    hiding = [MARK + new_hidden.rstrip()] if new_hidden.strip() else []
    return ("\n".join(restored + hiding),)


def rename(noun: str, old: str, new: str) -> str:
    """``ALTER SCHEMA`` or ``ALTER ROLE`` (``noun``) ``old`` ``RENAME TO`` ``new``."""
    return f"ALTER {noun} {quote_ident(old)} RENAME TO {quote_ident(new)};"
