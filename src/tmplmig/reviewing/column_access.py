"""Who may read which column of which table, followed statement by statement through a
bundle, to find sensitive columns a role reads without ``privileges.sensitive_readers``
listing it, whatever made it readable: a table created where default privileges grant
SELECT, a table-wide or column GRANT, a column added to a table a role reads whole.

Statements are read with PostgreSQL's own parser (pglast). What a role reads through
another role it is a member of, or as a table's owner, is not followed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums

from tmplmig.rendering.sensitive import Policy

PUBLIC = "PUBLIC"
#: (schema, table): names as PostgreSQL spells them, unquoted
TableKey = tuple[str | None, str]


@dataclass(frozen=True)
class Exposure:
    """``role`` reads sensitive ``column`` of ``table`` although no reader list names it."""

    table: TableKey
    column: str
    role: str

    def __str__(self) -> str:
        schema, name = self.table
        where = f"{schema}.{name}" if schema else name
        return f"{self.role} can read {where}.{self.column}"


def _role(spec: ast.RoleSpec) -> str:
    if spec.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC:
        return PUBLIC
    return str(spec.rolename)


def _reads(privileges: Any) -> tuple[bool, list[str] | None]:
    """Whether a privilege list (None: ALL) includes SELECT, and on which columns (None: the
    whole table)."""
    if privileges is None:
        return True, None
    for p in privileges:
        if p.priv_name in ("select", "all"):
            return True, [c.sval for c in p.cols] if p.cols else None
    return False, None


def _key(rv: ast.RangeVar) -> TableKey:
    return (rv.schemaname, rv.relname)


@dataclass
class ColumnAccess:
    """Tables, their columns, and the roles that may SELECT them, as statements leave them."""

    rules: Policy
    columns: dict[TableKey, list[str]] = field(default_factory=dict)
    #: (table) -> roles with table-wide SELECT
    whole: dict[TableKey, set[str]] = field(default_factory=dict)
    #: (table, column) -> roles with SELECT on that column
    some: dict[tuple[TableKey, str], set[str]] = field(default_factory=dict)
    #: schema (None: every schema) -> roles that new tables grant SELECT to by default
    defaults: dict[str | None, set[str]] = field(default_factory=dict)

    def run(self, node: Any) -> None:
        """Follow one statement."""
        if isinstance(node, ast.CreateStmt):
            self._create(node)
        elif isinstance(node, ast.AlterTableStmt):
            self._alter(node)
        elif isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
            for names in node.objects:
                self._forget((names[-2].sval if len(names) > 1 else None, names[-1].sval))
        elif isinstance(node, ast.GrantStmt) and node.objtype == enums.ObjectType.OBJECT_TABLE:
            self._grant(node)
        elif isinstance(node, ast.AlterDefaultPrivilegesStmt):
            self._default(node)

    def exposed(self) -> set[Exposure]:
        """Every sensitive column some role may read without being listed for it."""
        found = set()
        for table, columns in self.columns.items():
            for column in columns:
                if column not in self.rules:
                    continue
                readers = self.whole.get(table, set()) | self.some.get((table, column), set())
                found |= {
                    Exposure(table, column, role)
                    for role in readers
                    if role not in self.rules[column]
                }
        return found

    def _create(self, node: ast.CreateStmt) -> None:
        table = _key(node.relation)
        if table in self.columns and node.if_not_exists:
            return
        elements = node.tableElts or ()
        self._forget(table)
        self.columns[table] = [e.colname for e in elements if isinstance(e, ast.ColumnDef)]
        self.whole[table] = self.defaults.get(table[0], set()) | self.defaults.get(None, set())

    def _alter(self, node: ast.AlterTableStmt) -> None:
        table = _key(node.relation)
        columns = self.columns.get(table)
        if columns is None:
            return
        for cmd in node.cmds:
            if cmd.subtype == enums.AlterTableType.AT_AddColumn and cmd.def_.colname not in columns:
                columns.append(cmd.def_.colname)
            elif cmd.subtype == enums.AlterTableType.AT_DropColumn and cmd.name in columns:
                columns.remove(cmd.name)
                self.some.pop((table, cmd.name), None)

    def _forget(self, table: TableKey) -> None:
        self.columns.pop(table, None)
        self.whole.pop(table, None)
        for key in [k for k in self.some if k[0] == table]:
            del self.some[key]

    def _tables(self, node: ast.GrantStmt) -> Iterable[TableKey]:
        if node.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
            schemas = {s.sval for s in node.objects}
            return [t for t in self.columns if t[0] in schemas]
        return [_key(rv) for rv in node.objects]

    def _grant(self, node: ast.GrantStmt) -> None:
        reads, columns = _reads(node.privileges)
        if not reads:
            return
        roles = {_role(g) for g in node.grantees}
        for table in self._tables(node):
            if node.is_grant and columns is None:
                self.whole.setdefault(table, set()).update(roles)
            elif node.is_grant:
                for column in columns or ():
                    self.some.setdefault((table, column), set()).update(roles)
            elif columns is None:  # revoking table-wide SELECT takes the column grants too
                self.whole.get(table, set()).difference_update(roles)
                for key in [k for k in self.some if k[0] == table]:
                    self.some[key] -= roles
            else:
                for column in columns:
                    self.some.get((table, column), set()).difference_update(roles)

    def _default(self, node: ast.AlterDefaultPrivilegesStmt) -> None:
        action = node.action
        reads, _ = _reads(action.privileges)
        if action.objtype != enums.ObjectType.OBJECT_TABLE or not reads:
            return
        schemas = next(
            ([s.sval for s in o.arg] for o in node.options or () if o.defname == "schemas"), [None]
        )
        roles = {_role(g) for g in action.grantees}
        for schema in schemas:
            held = self.defaults.setdefault(schema, set())
            if action.is_grant:
                held.update(roles)
            else:
                held.difference_update(roles)
