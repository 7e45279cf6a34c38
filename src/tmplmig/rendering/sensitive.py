"""Which roles may not read which columns of a table: ``sensitive_columns`` and
``privileges.sensitive_readers`` applied to the roles that read it.

``m.table`` and ``m.add_column`` ask here, through the ``sensitive_hiding`` global, which
roles to take table-wide SELECT from and which columns to give back, in the step that makes
the table or the column: a table of a later migration is never readable whole by a role that
its schema's default privileges let read it. The day-2 plan finds those statements after
:data:`MARK`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tmplmig.rendering.config import Section

#: heads the statements of a table or column step that hide its sensitive columns
MARK = "-- sensitive columns hidden from the roles that read this table"


@dataclass(frozen=True)
class Hiding:
    """One role's SELECT on one table once the step has run: the columns it may read."""

    role: str
    #: the columns granted to it, in table order (the others are hidden)
    visible: tuple[str, ...]
    #: what it could read before the step: these columns, or (None) the whole table
    before: tuple[str, ...] | None = None


#: sensitive column -> the roles that may read it (every other role may not)
Policy = Mapping[str, frozenset[str]]


def policy(settings: Section) -> Policy:
    """``sensitive_columns`` with the role names ``privileges.sensitive_readers`` lists."""
    roles = settings.roles.model_dump()
    readers = settings.privileges.sensitive_readers
    return {
        c: frozenset(roles[key] for key in readers.get(c, [])) for c in settings.sensitive_columns
    }


def _hidden(rules: Policy, role: str, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in rules and role not in rules[c]]


def hidings(
    rules: Policy, readers: Sequence[str], columns: Sequence[str], added: str | None = None
) -> list[Hiding]:
    """For each of ``readers`` that may not read some of ``columns`` (with ``added``, the
    column a step adds to them), what it may read after the step; a reader that still reads
    everything is left out, with its table-wide SELECT."""
    after = [*columns, added] if added is not None and added not in columns else list(columns)
    out = []
    for role in sorted(readers):
        if hidden := _hidden(rules, role, after):
            had = _hidden(rules, role, columns)
            before = tuple(c for c in columns if c not in had) if had else None
            out.append(Hiding(role, tuple(c for c in after if c not in hidden), before))
    return out
