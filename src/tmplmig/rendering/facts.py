"""The structured facts of a step: the database objects it creates (and its rollback drops).

Each macro hands ``step()`` what its object is (kind from the step's kind, schema and name
from its arguments, ``on=[schema, table]`` for what belongs to a relation); the record keeps
them beside the SQL, so the planner's destructive check, ``status``'s cheap presence check,
``mark --rolled-back`` and the cluster-wide role check read facts, never SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tmplmig.rendering.identifiers import SHARED_SCHEMA

#: object kinds whose drop loses rows: what a destructive change is made of
DATA_KINDS = frozenset({"schema", "table", "column", "row"})
#: step kinds that create a constraint on a relation (named in ``on``)
_CONSTRAINT_KINDS = frozenset({"foreign key", "check", "unique"})


@dataclass(frozen=True, order=True)
class DbObject:
    """One object in the catalog: ``table`` is the relation (in ``schema``) it belongs to, for
    indexes, constraints, triggers, columns and seeded rows."""

    kind: str
    schema: str | None
    name: str
    table: str | None = None

    @property
    def holds_data(self) -> bool:
        """True when dropping it drops rows (a table, a schema, a column, a seeded row)."""
        return self.kind in DATA_KINDS

    @property
    def shared(self) -> bool:
        """True for what other databases or tenants may use too (roles are cluster-wide, an
        extension and tmplmig's own schema database-wide): a rollback keeps it while used."""
        return self.kind in ("role", "extension") or self.schema == SHARED_SCHEMA

    @property
    def relation(self) -> str | None:
        """``schema.table`` of what it is or belongs to, when it is a relation's."""
        if self.kind in ("table", "view"):
            return f"{self.schema}.{self.name}"
        return f"{self.schema}.{self.table}" if self.table else None

    def __str__(self) -> str:
        if self.kind in ("schema", "role", "extension"):
            return f"{self.kind} {self.name}"
        if self.table is not None:
            return f"{self.kind} {self.schema}.{self.table}.{self.name}"
        return f"{self.kind} {self.schema}.{self.name}"


def objects_of(
    kind: str,
    about: Sequence[str],
    on: Sequence[str] | None = None,
    creates: Iterable[Sequence[str]] = (),
) -> tuple[DbObject, ...]:
    """The objects a step of ``kind`` named ``about`` creates; ``on`` is (schema, table) of the
    relation it belongs to; ``creates`` the further objects it names, as (kind, schema, name)."""
    schema, table = (on[0], on[1]) if on else (None, None)
    main: DbObject | None = None
    if kind in ("schema", "extension") or kind in ("role", "owner role"):
        main = DbObject("role" if "role" in kind else kind, None, about[1])
    elif kind in ("table", "function", "view"):
        main = DbObject(kind, about[1], about[2])
    elif kind == "column":
        main = DbObject("column", about[1], about[3], about[2])
    elif kind == "index" and on:
        main = DbObject("index", schema, about[1], table)
    elif kind in _CONSTRAINT_KINDS and on:
        main = DbObject("constraint", schema, about[1], table)
    elif kind == "trigger" and on:
        main = DbObject("trigger", schema, about[1], table)
    elif kind == "row" and on:
        main = DbObject("row", schema, about[2], table)
    extra = tuple(DbObject(c[0], c[1], c[2]) for c in creates)
    return ((main,) if main else ()) + extra


def to_json(objects: Sequence[DbObject]) -> str:
    """Objects as the record stores them (a JSON list of [kind, schema, name, table])."""
    return json.dumps([[o.kind, o.schema, o.name, o.table] for o in objects])


def from_json(text: str) -> tuple[DbObject, ...]:
    """Objects as :func:`to_json` wrote them."""
    return tuple(DbObject(*item) for item in json.loads(text))
