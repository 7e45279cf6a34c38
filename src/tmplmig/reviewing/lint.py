"""Lint the rendered bundle with PostgreSQL's own parser (pglast): syntax, paired rollbacks
and squawk-class rules for DDL that blocks an existing table.

A table is "existing" unless an earlier statement of the same part created it. A step may
acknowledge a rule with a comment line in its apply SQL: ``-- lint: allow RULE: why``.
``missing-lock-timeout`` reads what the bundle file itself sets (``SET [LOCAL] lock_timeout``
before the statement), because that file is what a DBA runs with psql.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast, enums, parse_plpgsql
from pglast.parser import ParseError, parse_sql

from tmplmig.rendering.parts import Part, Step
from tmplmig.reviewing.bundle import BundleFile, step_lines

RULES = {
    "parse-error": "does not parse",
    "missing-rollback": "is created but the step's rollback does not drop it",
    "index-not-concurrent": "builds an index on an existing table without CONCURRENTLY",
    "constraint-not-valid": "adds a constraint to an existing table without NOT VALID",
    "column-type-change": "changes a column type of an existing table (rewrite under lock)",
    "not-null-without-default": "adds a NOT NULL column without DEFAULT to an existing table",
    "set-not-null": "sets NOT NULL on a column of an existing table (scan under lock)",
    "missing-lock-timeout": "locks an existing table while lock_timeout is not set",
}
ALLOW = re.compile(r"^\s*-- lint: allow ([a-z-]+)\b", re.MULTILINE)
ObjectKey = tuple[str, str]
ZERO = re.compile(r"^\s*0+\s*(ms|s|min|h|d)?\s*$")  # lock_timeout = 0 means "wait forever"


@dataclass(frozen=True)
class Finding:
    """One rule broken at one line of one bundle file."""

    file: str
    line: int
    rule: str
    message: str
    step: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message} [step: {self.step}]"


@dataclass(frozen=True)
class Statement:
    """A parsed statement and the 1-based line it starts on, relative to its step."""

    node: Any
    line: int


class StepSyntaxError(Exception):
    """A step's SQL, or the PL/pgSQL inside it, does not parse."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line


def _line_of(data: bytes, offset: int) -> int:
    """Line of the first token at or after byte ``offset``, skipping blanks and comments."""
    rest = data[offset:]
    stripped = rest.lstrip()
    while stripped.startswith(b"--"):
        stripped = stripped.split(b"\n", 1)[-1].lstrip() if b"\n" in stripped else b""
    return data[: offset + len(rest) - len(stripped)].count(b"\n") + 1


def _embedded_sql(tree: Any) -> Iterator[tuple[str, int]]:
    """SQL statements a PL/pgSQL block runs, with their line in the block."""
    if isinstance(tree, dict):
        execsql = tree.get("PLpgSQL_stmt_execsql")
        if execsql is not None:
            yield execsql["sqlstmt"]["PLpgSQL_expr"]["query"], execsql.get("lineno", 1)
        for value in tree.values():
            yield from _embedded_sql(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _embedded_sql(value)


def _plpgsql(function_sql: str, line: int) -> Any:
    try:
        return parse_plpgsql(function_sql)
    except ParseError as exc:
        raise StepSyntaxError(line, f"PL/pgSQL: {exc.args[0]}") from None


def _option(options: Any, name: str) -> Any:
    return next((o.arg for o in options or () if o.defname == name), None)


def parse_step(sql: str) -> list[Statement]:
    """Statements of one step, including those inside DO blocks; raises StepSyntaxError."""
    data = sql.encode()
    try:
        raw = parse_sql(sql)
    except ParseError as exc:
        where = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
        raise StepSyntaxError(sql[:where].count("\n") + 1, exc.args[0]) from None
    out: list[Statement] = []
    for r in raw:
        line = _line_of(data, r.stmt_location)
        out.append(Statement(r.stmt, line))
        node = r.stmt
        if isinstance(node, ast.CreateFunctionStmt) and _language(node.options) == "plpgsql":
            text = data[r.stmt_location : r.stmt_location + (r.stmt_len or len(data))].decode()
            _plpgsql(text, line)
        if isinstance(node, ast.DoStmt) and _language(node.args, "plpgsql") == "plpgsql":
            out += _do_block_statements(node, data)
    return out


def _language(options: Any, default: str | None = None) -> str | None:
    language = _option(options, "language")
    return language.sval.lower() if language is not None else default


def _do_block_statements(node: ast.DoStmt, data: bytes) -> list[Statement]:
    """The SQL a DO block runs, each at its own line (the body keeps its line breaks)."""
    body = next(a for a in node.args if a.defname == "as")
    body_line = data[: body.arg_location].count(b"\n") + 1
    quoted = "'" + body.arg.sval.replace("'", "''") + "'"
    function = f"CREATE FUNCTION pg_temp.lint_do() RETURNS void LANGUAGE plpgsql AS {quoted};"
    out: list[Statement] = []
    for query, lineno in _embedded_sql(_plpgsql(function, body_line)):
        line = body_line + lineno - 1
        try:
            out += [Statement(i.stmt, line) for i in parse_sql(query)]
        except ParseError as exc:
            raise StepSyntaxError(line, exc.args[0]) from None
    return out


def _qualified(names: Any) -> str:
    return ".".join(n.sval for n in names)


def _relation(rv: ast.RangeVar) -> str:
    return f"{rv.schemaname}.{rv.relname}" if rv.schemaname else rv.relname


def _type_names(types: Any) -> str:
    return ", ".join(t.names[-1].sval for t in types or ())


def _function_key(name: Any, arg_types: Any) -> str:
    return f"{_qualified(name)}({_type_names(arg_types)})"


INPUT_MODES = {
    enums.FunctionParameterMode.FUNC_PARAM_IN,
    enums.FunctionParameterMode.FUNC_PARAM_INOUT,
    enums.FunctionParameterMode.FUNC_PARAM_VARIADIC,
    enums.FunctionParameterMode.FUNC_PARAM_DEFAULT,
}


def created(node: Any) -> list[ObjectKey]:
    """Objects a statement creates, named as the matching DROP names them."""
    if isinstance(node, ast.CreateStmt):
        return [("table", _relation(node.relation))]
    if isinstance(node, ast.IndexStmt) and node.idxname:
        schema = node.relation.schemaname
        return [("index", f"{schema}.{node.idxname}" if schema else node.idxname)]
    if isinstance(node, ast.CreateSchemaStmt):
        return [("schema", node.schemaname)]
    if isinstance(node, ast.CreateFunctionStmt):
        args = [p.argType for p in node.parameters or () if p.mode in INPUT_MODES]
        return [("function", _function_key(node.funcname, args))]
    if isinstance(node, ast.CreateTrigStmt):
        return [("trigger", f"{node.trigname} on {_relation(node.relation)}")]
    if isinstance(node, ast.CreateRoleStmt):
        return [("role", node.role)]
    if isinstance(node, ast.CreateExtensionStmt):
        return [("extension", node.extname)]
    if isinstance(node, ast.ViewStmt):
        return [("view", _relation(node.view))]
    if isinstance(node, ast.CreateSeqStmt):
        return [("sequence", _relation(node.sequence))]
    if isinstance(node, ast.AlterTableStmt):
        return [
            ("constraint", f"{cmd.def_.conname} on {_relation(node.relation)}")
            for cmd in node.cmds
            if cmd.subtype == enums.AlterTableType.AT_AddConstraint and cmd.def_.conname
        ]
    return []


DROP_KINDS = {
    enums.ObjectType.OBJECT_TABLE: "table",
    enums.ObjectType.OBJECT_INDEX: "index",
    enums.ObjectType.OBJECT_SCHEMA: "schema",
    enums.ObjectType.OBJECT_FUNCTION: "function",
    enums.ObjectType.OBJECT_TRIGGER: "trigger",
    enums.ObjectType.OBJECT_EXTENSION: "extension",
    enums.ObjectType.OBJECT_VIEW: "view",
    enums.ObjectType.OBJECT_SEQUENCE: "sequence",
}


def _dropped_name(kind: str, obj: Any) -> str:
    if kind == "function":
        return _function_key(obj.objname, obj.objargs)
    if isinstance(obj, ast.String):
        return obj.sval
    if kind == "trigger":
        return f"{obj[-1].sval} on {_qualified(obj[:-1])}"
    return _qualified(obj)


def dropped(node: Any) -> list[ObjectKey]:
    """Objects a statement drops, named like :func:`created` names them."""
    if isinstance(node, ast.DropStmt) and node.removeType in DROP_KINDS:
        kind = DROP_KINDS[node.removeType]
        return [(kind, _dropped_name(kind, obj)) for obj in node.objects]
    if isinstance(node, ast.DropRoleStmt):
        return [("role", r.rolename) for r in node.roles]
    if isinstance(node, ast.AlterTableStmt):
        return [
            ("constraint", f"{cmd.name} on {_relation(node.relation)}")
            for cmd in node.cmds
            if cmd.subtype == enums.AlterTableType.AT_DropConstraint
        ]
    return []


def _locked_table(node: Any) -> str | None:
    """The table a statement locks against writes (or worse), if any."""
    if isinstance(node, ast.IndexStmt | ast.AlterTableStmt | ast.CreateTrigStmt):
        return _relation(node.relation)
    return None


@dataclass
class _Session:
    """Whether lock_timeout is in force, as psql would run the file statement by statement."""

    lock_timeout: bool = False
    local: bool = False

    def see(self, node: Any) -> None:
        ends = (
            enums.TransactionStmtKind.TRANS_STMT_COMMIT,
            enums.TransactionStmtKind.TRANS_STMT_ROLLBACK,
        )
        if isinstance(node, ast.TransactionStmt) and node.kind in ends and self.local:
            self.lock_timeout = self.local = False
        elif isinstance(node, ast.VariableSetStmt) and node.name == "lock_timeout":
            value = node.args[0].val if node.args else None
            text = str(getattr(value, "sval", getattr(value, "ival", "0")))
            self.lock_timeout = node.kind == enums.VariableSetKind.VAR_SET_VALUE and not ZERO.match(
                text
            )
            self.local = bool(node.is_local)


def unsafe_ddl(node: Any, existing: bool) -> list[tuple[str, str]]:
    """(rule, what) for each squawk-class problem of one statement on an existing table."""
    if not existing:
        return []
    found: list[tuple[str, str]] = []
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        found.append(
            ("index-not-concurrent", f"index {node.idxname} on {_relation(node.relation)}")
        )
    if isinstance(node, ast.AlterTableStmt):
        table = _relation(node.relation)
        for cmd in node.cmds:
            kind = cmd.subtype
            if kind == enums.AlterTableType.AT_AddConstraint and not cmd.def_.skip_validation:
                if cmd.def_.contype in (
                    enums.ConstrType.CONSTR_FOREIGN,
                    enums.ConstrType.CONSTR_CHECK,
                ):
                    found.append(("constraint-not-valid", f"{cmd.def_.conname} on {table}"))
            elif kind == enums.AlterTableType.AT_AlterColumnType:
                found.append(("column-type-change", f"{table}.{cmd.name}"))
            elif kind == enums.AlterTableType.AT_SetNotNull:
                found.append(("set-not-null", f"{table}.{cmd.name}"))
            elif kind == enums.AlterTableType.AT_AddColumn:
                types = {c.contype for c in cmd.def_.constraints or ()}
                if enums.ConstrType.CONSTR_NOTNULL in types and not types & {
                    enums.ConstrType.CONSTR_DEFAULT,
                    enums.ConstrType.CONSTR_IDENTITY,
                    enums.ConstrType.CONSTR_GENERATED,
                }:
                    found.append(("not-null-without-default", f"{table}.{cmd.def_.colname}"))
    return found


def _segments(text: str) -> list[tuple[int, str]]:
    """(first line, text) of the part of a file before the first step and after each marker.

    psql meta-commands (lines starting with a backslash) are blanked: they are not SQL.
    """
    lines = [("" if line.startswith("\\") else line) for line in text.split("\n")]
    starts = [1, *step_lines(text)]
    ends = [s - 1 for s in starts[1:]] + [len(lines) + 1]
    return [
        (start, "\n".join(lines[start - 1 : end - 1]))
        for start, end in zip(starts, ends, strict=True)
    ]


def lint_part(part: Part, apply_file: BundleFile, rollback_file: BundleFile) -> list[Finding]:
    """Every finding in the two bundle files of one part."""
    findings: list[Finding] = []
    for file, steps in (
        (rollback_file, [s for s in reversed(part.steps) if s.rollback is not None]),
        (apply_file, list(part.steps)),
    ):
        for (start, text), step in zip(_segments(file.text)[1:], steps, strict=True):
            try:
                parse_step(text)
            except StepSyntaxError as exc:
                findings.append(
                    Finding(file.name, start + exc.line - 1, "parse-error", str(exc), step.name)
                )
    if findings:
        return findings
    return _apply_rules(part, apply_file)


def _apply_rules(part: Part, file: BundleFile) -> list[Finding]:
    segments = _segments(file.text)
    session = _Session()
    for statement in parse_step(segments[0][1]):
        session.see(statement.node)
    created_tables: set[str] = set()
    findings: list[Finding] = []
    for (start, text), step in zip(segments[1:], part.steps, strict=True):
        allowed = set(ALLOW.findall(step.apply))
        found: list[tuple[int, str, str]] = []
        statements = parse_step(text)
        for statement in statements:
            node, line = statement.node, start + statement.line - 1
            session.see(node)
            table = _locked_table(node)
            existing = table is not None and table not in created_tables
            for rule, what in unsafe_ddl(node, existing):
                found.append((line, rule, f"{what}: {RULES[rule]}"))
            if existing and not session.lock_timeout:
                found.append(
                    (line, "missing-lock-timeout", f"{table}: {RULES['missing-lock-timeout']}")
                )
            created_tables.update(n for k, n in created(node) if k == "table")
        found += _missing_rollbacks(step, statements, start)
        findings += [
            Finding(file.name, line, rule, message, step.name)
            for line, rule, message in found
            if rule not in allowed
        ]
    return findings


def _missing_rollbacks(
    step: Step, statements: list[Statement], start: int
) -> list[tuple[int, str, str]]:
    drops = {key for s in parse_step(step.rollback or "") for key in dropped(s.node)}
    return [
        (start + s.line - 1, "missing-rollback", f"{kind} {name}: {RULES['missing-rollback']}")
        for s in statements
        for kind, name in created(s.node)
        if (kind, name) not in drops
    ]


def lint_bundle(parts: list[Part], files: list[BundleFile]) -> list[Finding]:
    """Findings for a whole rendered bundle, in part order."""
    by_part = {(f.part, f.direction): f for f in files}
    findings: list[Finding] = []
    for part in parts:
        findings += lint_part(part, by_part[(part.id, "apply")], by_part[(part.id, "rollback")])
    return findings
