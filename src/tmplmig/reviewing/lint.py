"""Lint the rendered bundle: squawk (a maintained PostgreSQL migration linter) for unsafe
DDL, plus the rules squawk lacks, read with PostgreSQL's own parser (pglast): syntax inside
DO blocks and functions, paired rollbacks, grants to PUBLIC, SECURITY DEFINER without a
pinned search_path, names PostgreSQL would truncate, and sensitive columns a role may read
without ``privileges.sensitive_readers`` listing it (:mod:`tmplmig.reviewing.column_access`).

A step may acknowledge one of tmplmig's rules with a comment line in its apply SQL,
``-- lint: allow RULE: why``; squawk's rules are acknowledged with squawk's own
``-- squawk-ignore RULE`` on the line before, under a comment saying why. Rollback files are
linted with squawk's drop rules off: dropping is what they are for.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pglast import ast, enums, parse_plpgsql
from pglast.parser import ParseError, parse_sql

from tmplmig.errors import TmplmigError
from tmplmig.rendering.parts import Part, Step
from tmplmig.rendering.sensitive import Policy
from tmplmig.reviewing.bundle import BundleFile, bundle_only_lines, step_lines
from tmplmig.reviewing.column_access import ColumnAccess, Exposure
from tmplmig.reviewing.locks import first_token_line

RULES = {
    "parse-error": "does not parse",
    "missing-rollback": "is created but the step's rollback does not drop it",
    "grant-to-public": "grants to PUBLIC: every role, including those created later",
    "security-definer-search-path": (
        "is SECURITY DEFINER without SET search_path (CVE-2018-1058: callers could plant objects)"
    ),
    "identifier-too-long": "is longer than 63 bytes: PostgreSQL would silently truncate it",
    "sensitive-column-readable": (
        "is in sensitive_columns, and privileges.sensitive_readers does not list the role for it"
    ),
}
ALLOW = re.compile(r"^\s*-- lint: allow ([a-z-]+)\b", re.MULTILINE)
ObjectKey = tuple[str, str]
#: squawk's rules against dropping things: what a rollback file is for
ROLLBACK_EXCLUDES = (
    "ban-drop-column",
    "ban-drop-constraint",
    "ban-drop-database",
    "ban-drop-function",
    "ban-drop-not-null",
    "ban-drop-schema",
    "ban-drop-table",
    "ban-drop-trigger",
)
SQUAWK_PG_VERSION = "15"
MAX_IDENTIFIER_BYTES = 63
_QUOTED_NAME = re.compile(r'"((?:[^"]|"")*)"')


class SquawkMissing(TmplmigError):
    """squawk (the ``lint`` extra, pinned squawk-cli) is not installed."""


@dataclass(frozen=True)
class Finding:
    """One rule broken at one line of one bundle file."""

    file: str
    line: int
    rule: str
    message: str
    step: str
    #: who keeps the rule: ``tmplmig`` or ``squawk``
    tool: str = "tmplmig"
    #: the template the file was rendered from
    template: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message} [step: {self.step}]"


@dataclass(frozen=True)
class Statement:
    """A parsed statement and the 1-based line it starts on, relative to its step."""

    node: Any
    line: int


class StepSyntaxError(TmplmigError):
    """A step's SQL, or the PL/pgSQL inside it, does not parse."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line


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


@lru_cache(maxsize=4096)
def parse_step(sql: str) -> list[Statement]:
    """Statements of one step, including those inside DO blocks; raises StepSyntaxError.

    Cached (pglast's nodes are slow to build); callers must not change the list."""
    data = sql  # pglast's offsets count characters
    try:
        raw = parse_sql(sql)
    except ParseError as exc:
        where = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
        raise StepSyntaxError(sql[:where].count("\n") + 1, exc.args[0]) from None
    out: list[Statement] = []
    for r in raw:
        line = first_token_line(data, r.stmt_location)
        out.append(Statement(r.stmt, line))
        node = r.stmt
        if isinstance(node, ast.CreateFunctionStmt) and _language(node.options) == "plpgsql":
            text = data[r.stmt_location : r.stmt_location + (r.stmt_len or len(data))]
            _plpgsql(text, line)
        if isinstance(node, ast.DoStmt) and _language(node.args, "plpgsql") == "plpgsql":
            out += _do_block_statements(node, data)
    return out


def _language(options: Any, default: str | None = None) -> str | None:
    language = _option(options, "language")
    return language.sval.lower() if language is not None else default


def _do_block_statements(node: ast.DoStmt, data: str) -> list[Statement]:
    """The SQL a DO block runs, each at its own line (the body keeps its line breaks)."""
    body = next(a for a in node.args if a.defname == "as")
    body_line = data[: body.arg_location].count("\n") + 1
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


def _grants_to_public(node: Any) -> bool:
    return (
        isinstance(node, ast.GrantStmt)
        and bool(node.is_grant)
        and any(g.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC for g in node.grantees or ())
    )


def _definer_without_search_path(node: Any) -> bool:
    if not isinstance(node, ast.CreateFunctionStmt):
        return False
    options = node.options or ()
    definer = _option(options, "security")
    pinned = any(
        o.defname == "set" and getattr(o.arg, "name", None) == "search_path" for o in options
    )
    return definer is not None and bool(getattr(definer, "boolval", definer)) and not pinned


def statement_rules(node: Any) -> list[tuple[str, str]]:
    """(rule, what) for each of tmplmig's own statement rules that ``node`` breaks."""
    found: list[tuple[str, str]] = []
    if _grants_to_public(node):
        found.append(("grant-to-public", "GRANT"))
    if _definer_without_search_path(node):
        found.append(("security-definer-search-path", f"function {_qualified(node.funcname)}"))
    return found


def long_identifiers(text: str) -> list[tuple[int, str]]:
    """(1-based line, name) of each double-quoted name over 63 bytes in ``text``."""
    return [
        (text[: m.start()].count("\n") + 1, m.group(1))
        for m in _QUOTED_NAME.finditer(text)
        if len(m.group(1).replace('""', '"').encode()) > MAX_IDENTIFIER_BYTES
    ]


def _segments(text: str) -> list[tuple[int, str]]:
    """(first line, text) of the part of a file before the first step and after each marker.

    Lines the bundle adds for psql (guard queries, meta-commands) are blanked: yoyo does
    not run them as they stand.
    """
    lines = [
        "" if added else line
        for line, added in zip(text.split("\n"), bundle_only_lines(text), strict=True)
    ]
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
    findings: list[Finding] = []
    for (start, text), step in zip(_segments(file.text)[1:], part.steps, strict=True):
        allowed = set(ALLOW.findall(step.apply))
        statements = parse_step(text)
        found = [
            (start + s.line - 1, rule, f"{what}: {RULES[rule]}")
            for s in statements
            for rule, what in statement_rules(s.node)
        ]
        found += [
            (start + line - 1, "identifier-too-long", f"{name!r}: {RULES['identifier-too-long']}")
            for line, name in long_identifiers(text)
        ]
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


def squawk_path() -> str:
    """The squawk executable installed with this Python (the ``lint`` extra), else on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    found = str(beside) if beside.is_file() else shutil.which("squawk")
    if found is None:
        raise SquawkMissing("squawk is not installed: pip install 'tmplmig[lint]'")
    return found


def _step_at(text: str, line: int, names: list[str]) -> str:
    """Name of the step whose SQL holds ``line`` (``-`` for the file's header)."""
    starts = step_lines(text)
    index = sum(1 for s in starts if s <= line + 1) - 1
    return names[index] if index >= 0 else "-"


def squawk_findings(parts: list[Part], files: list[BundleFile]) -> list[Finding]:
    """squawk's findings on every bundle file; rollback files without the drop rules. The
    apply and the rollback files are two squawk runs, side by side."""
    steps = {p.id: p.steps for p in parts}
    by_name = {f.name: f for f in files}
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="tmplmig-lint-") as tmp:
        for f in files:
            (Path(tmp) / f.name).write_text(f.text, encoding="utf-8")
        runs: list[tuple[str, subprocess.Popen[str]]] = []
        try:
            for direction, excluded in (("apply", ()), ("rollback", ROLLBACK_EXCLUDES)):
                names = [f.name for f in files if f.direction == direction]
                if not names:
                    continue
                command = [squawk_path(), "--reporter", "json", "--pg-version", SQUAWK_PG_VERSION]
                command += [f"--exclude={','.join(excluded)}"] if excluded else []
                started = subprocess.Popen(
                    [*command, *names],
                    cwd=tmp,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                runs.append((direction, started))
            outputs = [(direction, run, *run.communicate()) for direction, run in runs]
        finally:  # one failed to start, or the run was interrupted: none is left running
            for _, run in runs:
                if run.poll() is None:
                    run.kill()
                    run.wait()
        for direction, run, stdout, stderr in outputs:
            if run.returncode not in (0, 1) or not stdout.strip():
                raise SquawkMissing(f"squawk failed: {stderr.strip() or stdout.strip()}")
            for item in json.loads(stdout):
                file = by_name[Path(item["file"]).name]
                ordered = (
                    steps[file.part]
                    if direction == "apply"
                    else [s for s in reversed(steps[file.part]) if s.rollback is not None]
                )
                line = item["line"] + 1  # squawk counts lines from 0
                findings.append(
                    Finding(
                        file.name,
                        line,
                        item["rule_name"],
                        item["message"],
                        _step_at(file.text, line, [s.name for s in ordered]),
                        "squawk",
                    )
                )
    return findings


def sensitive_findings(parts: list[Part], files: list[BundleFile], rules: Policy) -> list[Finding]:
    """A sensitive column some role may read without being listed for it, at the statement
    that made it readable; looked at where a transaction commits: after each part that has
    one, after each step of a part that has not. Steps that do not parse are skipped."""
    access = ColumnAccess(rules)
    since: dict[Exposure, tuple[str, int, str]] = {}
    reported: set[Exposure] = set()
    findings: list[Finding] = []
    applies = {f.part: f for f in files if f.direction == "apply"}

    def commit() -> None:
        for exposure in sorted(access.exposed() - reported, key=str):
            file, line, step = since[exposure]
            message = f"{exposure}: {RULES['sensitive-column-readable']}"
            findings.append(Finding(file, line, "sensitive-column-readable", message, step))
            reported.add(exposure)

    for part in parts:
        file = applies[part.id]
        for (start, text), step in zip(_segments(file.text)[1:], part.steps, strict=True):
            try:
                statements = parse_step(text)
            except StepSyntaxError:
                continue
            allowed = "sensitive-column-readable" in ALLOW.findall(step.apply)
            for statement in statements:
                before = access.exposed()
                access.run(statement.node)
                for exposure in access.exposed() - before:
                    since[exposure] = (file.name, start + statement.line - 1, step.name)
                    if allowed:
                        reported.add(exposure)
            if not part.transactional:
                commit()
        commit()
    return findings


def lint_bundle(
    parts: list[Part], files: list[BundleFile], sensitive: Policy | None = None
) -> list[Finding]:
    """Findings for a whole rendered bundle: tmplmig's rules in part order, then squawk's.
    ``sensitive``: who may read each sensitive column (:func:`sensitive_findings`)."""
    by_part = {(f.part, f.direction): f for f in files}
    findings: list[Finding] = []
    for part in parts:
        findings += lint_part(part, by_part[(part.id, "apply")], by_part[(part.id, "rollback")])
    if sensitive:
        findings += sensitive_findings(parts, files, sensitive)
    order = {f.name: i for i, f in enumerate(files)}
    squawk = sorted(squawk_findings(parts, files), key=lambda f: (order[f.file], f.line, f.rule))
    templates = {f.name: next(p.template for p in parts if p.id == f.part) for f in files}
    return [replace(f, template=templates[f.file]) for f in findings + squawk]
