"""The tables earlier parts create, so that grants name them in plain SQL.

Grants written out table by table are what a DBA reads, run without a DO block, and cost the
same however many tenants share the database (``ON ALL TABLES IN SCHEMA`` scans all of
``pg_class``). The project knows every table it makes: each ``m.table`` step's apply is
``CREATE TABLE IF NOT EXISTS name (`` and then its column list, which is read here with
pglast, once per distinct column list (tenants share them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

from tmplmig.rendering import cache
from tmplmig.rendering.sqlfilters import RenderError, qualified

#: column types that make a sequence the inserting role must be allowed to use
_SERIAL = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})
_NAME_BYTES = 63
#: the cache entries of parsed column lists
COLUMNS = "columns"


@dataclass(frozen=True)
class Table:
    """One table a part creates, as grants name it: quoted names, plain column names."""

    qualified: str
    columns: tuple[str, ...]
    #: every sequence the table owns (identity and serial columns), quoted
    sequences: tuple[str, ...] = ()
    #: those an INSERT needs USAGE on: serial columns call nextval(); identity columns use
    #: their sequence without any privilege on it
    used_sequences: tuple[str, ...] = ()


def _sequence_name(table: str, column: str) -> str:
    name = f"{table}_{column}_seq"
    if len(name.encode()) > _NAME_BYTES:
        raise RenderError(f"table {table}: its sequence for {column} would be cut to 63 bytes")
    return name


Columns = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@lru_cache(maxsize=1)
@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """This module's source and the installed pglast: the answers kept depend on both."""
    return cache.digest(cache.source_stamp(__file__), cache.installed_stamp("pglast"))


@lru_cache(maxsize=1024)
def _columns(body: str) -> Columns:
    """What :func:`_parse_columns` says of ``body``, kept between processes
    (:mod:`tmplmig.rendering.cache`): importing pglast was the largest import of a command
    that renders (apply, status, rollback)."""
    key = cache.digest(_code_stamp(), body)
    kept = cache.read(COLUMNS, key)
    if isinstance(kept, list) and len(kept) == 3:
        lists = [tuple(p) for p in kept if isinstance(p, list) and all(type(c) is str for c in p)]
        if len(lists) == 3:
            return lists[0], lists[1], lists[2]
    parsed = _parse_columns(body)
    cache.write(COLUMNS, key, [list(p) for p in parsed])
    return parsed


def _parse_columns(body: str) -> Columns:
    """Columns, identity columns and serial columns of a column list (``body``: what follows
    ``CREATE TABLE name (``; statements after the table's, such as its grants, are ignored)."""
    from pglast import ast  # only when a column list is new: not for every import
    from pglast.enums import ConstrType
    from pglast.parser import ParseError, parse_sql

    try:
        raw = parse_sql("CREATE TABLE t (" + body)[0]
    except (ParseError, ValueError) as exc:
        raise RenderError(f"a table's column list does not parse: {exc}") from None
    columns, identity, serial = [], [], []
    for element in raw.stmt.tableElts or ():
        if not isinstance(element, ast.ColumnDef):
            continue
        columns.append(element.colname)
        if any(c.contype == ConstrType.CONSTR_IDENTITY for c in element.constraints or ()):
            identity.append(element.colname)
        if [n.sval for n in element.typeName.names][-1] in _SERIAL:
            serial.append(element.colname)
    return tuple(columns), tuple(identity), tuple(serial)


def column_names(body: str) -> tuple[str, ...]:
    """The columns a table's column list (the body of ``m.table``) defines, in order."""
    return _columns(body + ")")[0]


def table_of(schema: str, name: str, apply: str) -> Table:
    """The table an ``m.table`` step creates, from its apply SQL."""
    _, _, body = apply.partition("\n")
    columns, identity, serial = _columns(body)
    used = tuple(qualified(schema, _sequence_name(name, c)) for c in serial)
    owned = tuple(qualified(schema, _sequence_name(name, c)) for c in identity) + used
    return Table(qualified(schema, name), columns, tuple(sorted(owned)), used)


class TableStep(Protocol):
    """What the registry reads of a step (``parts.Step``): kind, what it is about, its apply."""

    @property
    def kind(self) -> str: ...
    @property
    def about(self) -> tuple[str, ...]: ...
    @property
    def apply(self) -> str: ...


def columns_of(steps: Iterable[TableStep], schema: str, table: str) -> tuple[str, ...]:
    """The columns ``steps`` give a table: those of its ``m.table``, then those ``m.add_column``
    adds."""
    columns: list[str] = []
    for s in steps:
        if s.kind == "table" and s.about[1:] == (schema, table):
            columns = list(table_of(schema, table, s.apply).columns)
        elif s.kind == "column" and s.about[1:3] == (schema, table) and s.about[3] not in columns:
            columns.append(s.about[3])
    return tuple(columns)


def readers_of(steps: Iterable[TableStep], schema: str, table: str | None = None) -> list[str]:
    """The roles ``steps`` let read a table of ``schema`` (``table``: None for one created now):
    those whose ``m.schema_privileges`` covers the schema (its tables, and through default
    privileges those created later), and those an ``m.grant`` of SELECT names on the table."""
    target = qualified(schema, table) if table is not None else None
    roles: list[str] = []
    for s in steps:
        if s.kind == "privileges of" and s.about[2:] == ("in", schema):
            role = s.about[1]
        elif s.kind == "grant" and target is not None and s.about[3] == target:
            role = s.about[5] if "SELECT" in s.about[1].replace(" ", "").split(",") else ""
        else:
            continue
        if role and role not in roles:
            roles.append(role)
    return roles


class CreatedTables:
    """The tables of ``m.table`` steps in the parts rendered before the current one.

    Templates see it as ``created``: ``created.tables(schema)`` lists a schema's tables by
    name. ``steps`` is called on first use only, so parts that grant nothing pay nothing.
    """

    def __init__(self, steps: Callable[[], Iterable[TableStep]]) -> None:
        self._steps = steps

    @cached_property
    def steps(self) -> list[TableStep]:
        """Every step of the parts before the current one."""
        return list(self._steps())

    @cached_property
    def _by_schema(self) -> dict[str, list[Table]]:
        out: dict[str, list[Table]] = {}
        for s in self.steps:
            if s.kind == "table" and len(s.about) == 3:
                out.setdefault(s.about[1], []).append(table_of(s.about[1], s.about[2], s.apply))
        return {schema: sorted(tables, key=lambda t: t.qualified) for schema, tables in out.items()}

    def tables(self, schema: object) -> list[Table]:
        """The tables earlier parts create in ``schema`` (a name, or a config value), by name."""
        return list(self._by_schema.get(getattr(schema, "value", schema), []))
