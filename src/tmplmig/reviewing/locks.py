"""The table lock each statement takes, read from the parsed statement with PostgreSQL's
lock levels ("Explicit Locking" chapter and each command's reference page), so the bundle
can say before every statement what it locks and whether reads and writes wait.

Only relations named in the statement (or known from the bundle: the table of an index, the
table a foreign key references) are reported; catalog locks and ACCESS SHARE reads of
catalogs are left out. ``tests/test_locks.py`` checks every note against ``pg_locks``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pglast import ast, enums
from pglast.parser import ParseError, parse_sql

from tmplmig.database.lockmodes import MODES

#: what other sessions can still do on a relation held in that mode
EFFECT = {
    "ACCESS SHARE": "reads and writes continue",
    "ROW SHARE": "reads and writes continue",
    "ROW EXCLUSIVE": "reads and writes continue",
    "SHARE UPDATE EXCLUSIVE": "reads and writes continue",
    "SHARE": "blocks writes; reads continue",
    "SHARE ROW EXCLUSIVE": "blocks writes; reads continue",
    "EXCLUSIVE": "blocks writes; reads continue",
    "ACCESS EXCLUSIVE": "blocks reads and writes",
}
#: pg_locks.mode -> the name the docs (and these notes) use
PG_LOCKS_MODE = {m.title().replace(" ", "") + "Lock": m for m in MODES}
NO_LOCK = "no table lock"
#: a DO block's statements are PL/pgSQL's business: their locks are not read from the block
DO_BLOCK = "not derived: the statements inside this DO block take their own locks"
LOCK_MARK = "-- lock: "
#: why dropping a foreign key also locks the table it references
FK_TRIGGERS = "only when the foreign key exists: its triggers on this table go"

_ATT = enums.AlterTableType
_OBJ = enums.ObjectType


@dataclass(frozen=True)
class Lock:
    """One relation locked in one mode, and why it matters for the reader."""

    mode: str
    relation: str
    #: said after the effect, in parentheses: "catalog update only, no scan"
    detail: str = ""


@dataclass
class BundleContext:
    """What one statement does not say but the bundle does: which table an index is on, and
    which table a constraint references."""

    index_table: dict[str, str] = field(default_factory=dict)
    references: dict[tuple[str, str], str] = field(default_factory=dict)
    table_references: dict[str, set[str]] = field(default_factory=dict)

    def learn(self, sql: str) -> None:
        lowered = sql.lower()
        if "index" not in lowered and "references" not in lowered:
            return  # neither an index nor a foreign key: nothing to learn, nothing to parse
        for node in (statement.node for statement in split_statements(sql)):
            if isinstance(node, ast.IndexStmt) and node.idxname:
                schema = node.relation.schemaname
                index = f"{schema}.{node.idxname}" if schema else node.idxname
                self.index_table[index] = relation_name(node.relation)
            for table, name, ref in _foreign_keys(node):
                if name:
                    self.references[(table, name)] = ref
                self.table_references.setdefault(table, set()).add(ref)


def relation_name(rv: ast.RangeVar) -> str:
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def _foreign_keys(node: Any) -> Iterable[tuple[str, str | None, str]]:
    """(table, constraint name, referenced table) of each foreign key a statement adds."""
    constraints: list[Any] = []
    if isinstance(node, ast.CreateStmt):
        table = relation_name(node.relation)
        for element in node.tableElts or ():
            if isinstance(element, ast.Constraint):
                constraints.append(element)
            elif isinstance(element, ast.ColumnDef):
                constraints += list(element.constraints or ())
    elif isinstance(node, ast.AlterTableStmt):
        table = relation_name(node.relation)
        constraints = [c.def_ for c in node.cmds if c.subtype == _ATT.AT_AddConstraint]
    for c in constraints:
        if c.contype == enums.ConstrType.CONSTR_FOREIGN:
            yield table, c.conname, relation_name(c.pktable)


def _alter_table(node: ast.AlterTableStmt, context: BundleContext) -> list[Lock]:
    """ALTER TABLE takes the strongest level any of its subcommands needs."""
    table = relation_name(node.relation)
    locks: list[Lock] = []
    for cmd in node.cmds:
        kind = cmd.subtype
        if kind == _ATT.AT_AddConstraint and cmd.def_.contype == enums.ConstrType.CONSTR_FOREIGN:
            ref = relation_name(cmd.def_.pktable)
            detail = (
                "catalog update only: NOT VALID, no scan"
                if cmd.def_.skip_validation
                else "while every row is checked"
            )
            locks += [Lock("SHARE ROW EXCLUSIVE", table, detail), Lock("SHARE ROW EXCLUSIVE", ref)]
        elif kind == _ATT.AT_ValidateConstraint:
            locks.append(Lock("SHARE UPDATE EXCLUSIVE", table, "while the rows are checked"))
            ref = context.references.get((table, cmd.name))
            if ref:
                locks.append(Lock("ROW SHARE", ref))
        elif kind == _ATT.AT_SetNotNull:
            detail = "scans every row, or none when a validated CHECK (column IS NOT NULL) holds"
            locks.append(Lock("ACCESS EXCLUSIVE", table, detail))
        elif kind == _ATT.AT_DropConstraint:
            locks.append(Lock("ACCESS EXCLUSIVE", table, "catalog update only, no scan"))
            ref = context.references.get((table, cmd.name))
            if ref:
                locks.append(Lock("ACCESS EXCLUSIVE", ref, FK_TRIGGERS))
        else:
            locks.append(Lock("ACCESS EXCLUSIVE", table))
    strongest = max(MODES.index(lock.mode) for lock in locks if lock.relation == table)
    return [lock for lock in locks if lock.relation != table or MODES.index(lock.mode) == strongest]


def _drop(node: ast.DropStmt, context: BundleContext) -> list[Lock]:
    if node.removeType == _OBJ.OBJECT_INDEX:
        mode = "SHARE UPDATE EXCLUSIVE" if node.concurrent else "ACCESS EXCLUSIVE"
        tables = [context.index_table.get(".".join(n.sval for n in obj)) for obj in node.objects]
        return [Lock(mode, t) for t in tables if t]
    if node.removeType == _OBJ.OBJECT_TABLE:
        tables = [".".join(n.sval for n in obj) for obj in node.objects]
        refs = sorted({r for t in tables for r in context.table_references.get(t, ())})
        return [Lock("ACCESS EXCLUSIVE", t) for t in tables] + [
            Lock("ACCESS EXCLUSIVE", r, FK_TRIGGERS) for r in refs
        ]
    if node.removeType == _OBJ.OBJECT_TRIGGER:
        return [
            Lock("ACCESS EXCLUSIVE", ".".join(n.sval for n in obj[:-1])) for obj in node.objects
        ]
    return []


def needs_context(node: Any) -> bool:
    """Whether :func:`statement_locks` reads the bundle's context for ``node``: dropping an
    index (its table) or a table (the tables it references), and validating or dropping a
    constraint (the table it references). Any other statement's locks are its own."""
    if isinstance(node, ast.DropStmt):
        return node.removeType in (_OBJ.OBJECT_INDEX, _OBJ.OBJECT_TABLE)
    if isinstance(node, ast.AlterTableStmt):
        return any(
            cmd.subtype in (_ATT.AT_ValidateConstraint, _ATT.AT_DropConstraint) for cmd in node.cmds
        )
    return False


def statement_locks(node: Any, context: BundleContext) -> list[Lock]:
    """The table locks one parsed statement takes, from PostgreSQL's lock levels."""
    if isinstance(node, ast.IndexStmt):
        if node.concurrent:
            return [
                Lock("SHARE UPDATE EXCLUSIVE", relation_name(node.relation), "built CONCURRENTLY")
            ]
        return [Lock("SHARE", relation_name(node.relation), "while the index is built")]
    if isinstance(node, ast.AlterTableStmt):
        return _alter_table(node, context)
    if isinstance(node, ast.CreateStmt):
        new = Lock("ACCESS EXCLUSIVE", relation_name(node.relation), "a new table, unused yet")
        refs = sorted({ref for _, _, ref in _foreign_keys(node)})
        return [new, *(Lock("SHARE ROW EXCLUSIVE", ref) for ref in refs)]
    if isinstance(node, ast.CreateTrigStmt):
        return [Lock("SHARE ROW EXCLUSIVE", relation_name(node.relation))]
    if isinstance(node, ast.DropStmt):
        return _drop(node, context)
    if isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        return [Lock("ROW EXCLUSIVE", relation_name(node.relation))]
    if isinstance(node, ast.TruncateStmt):
        return [Lock("ACCESS EXCLUSIVE", relation_name(rv)) for rv in node.relations]
    if isinstance(node, ast.LockStmt):
        return [Lock(MODES[node.mode - 1], relation_name(rv)) for rv in node.relations]
    return []


def lock_lines(locks: list[Lock]) -> list[str]:
    """``-- lock: MODE on a, b; what waits`` lines, strongest mode first."""
    if not locks:
        return [LOCK_MARK + NO_LOCK]
    lines = []
    for mode in sorted({lock.mode for lock in locks}, key=MODES.index, reverse=True):
        held = [lock for lock in locks if lock.mode == mode]
        names = ", ".join(dict.fromkeys(lock.relation for lock in held))
        details = "; ".join(dict.fromkeys(lock.detail for lock in held if lock.detail))
        lines.append(
            f"{LOCK_MARK}{mode} on {names}; {EFFECT[mode]}{f' ({details})' if details else ''}"
        )
    return lines


def strongest_per_relation(locks: Iterable[Lock]) -> dict[str, str]:
    """Relation -> the strongest mode among ``locks``."""
    out: dict[str, str] = {}
    for lock in locks:
        if MODES.index(lock.mode) > MODES.index(out.get(lock.relation, MODES[0])):
            out[lock.relation] = lock.mode
        out.setdefault(lock.relation, lock.mode)
    return out


def first_token_line(sql: str, offset: int) -> int:
    """Line of the first token at or after character ``offset`` (pglast's statement offsets
    count characters), skipping blanks and comments."""
    rest = sql[offset:]
    stripped = rest.lstrip()
    while stripped.startswith("--"):
        stripped = stripped.split("\n", 1)[-1].lstrip() if "\n" in stripped else ""
    return sql[: offset + len(rest) - len(stripped)].count("\n") + 1


@dataclass(frozen=True)
class ParsedStatement:
    """One top-level statement of a step: its node, text and where it starts (0-based line)."""

    node: Any
    sql: str
    line: int


@lru_cache(maxsize=16384)
def split_statements(sql: str) -> tuple[ParsedStatement, ...]:
    """The top-level statements of ``sql`` (empty when it does not parse).

    Cached: pglast builds its Python nodes slowly (about 0.5 ms a statement), and the bundle,
    its lock notes and REVIEW.md read the same statements several times."""
    try:
        raw = parse_sql(sql)
    except ParseError:
        return ()
    out = []
    for r in raw:
        end = r.stmt_location + r.stmt_len if r.stmt_len else len(sql)
        text = sql[r.stmt_location : end].strip()
        out.append(ParsedStatement(r.stmt, text, first_token_line(sql, r.stmt_location) - 1))
    return tuple(out)


def annotate(sql: str, context: BundleContext) -> str:
    """``sql`` with the lock lines of each statement just above the statement."""
    lines = sql.split("\n")
    notes: dict[int, list[str]] = {}
    for statement in split_statements(sql):
        at = statement.line
        while at > 0 and lines[at - 1].lstrip().startswith("--"):
            at -= 1  # above the statement's own comments: squawk-ignore must stay next to it
        notes.setdefault(at, []).extend(
            [LOCK_MARK + DO_BLOCK]
            if isinstance(statement.node, ast.DoStmt)
            else lock_lines(statement_locks(statement.node, context))
        )

    out: list[str] = []
    for number, line in enumerate(lines):
        out += notes.get(number, [])
        out.append(line)
    return "\n".join(out)
