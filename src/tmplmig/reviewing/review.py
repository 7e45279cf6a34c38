"""``REVIEW.md``: the one page of a bundle a DBA reads in a pull request. Per part: its steps,
the strongest lock on each table and whether reads or writes wait, tmplmig's own lint
findings and every acknowledged finding with its reason, and what the rollback does.

It is rendered with the bundle, so it must not depend on what is installed: squawk's live
findings come from ``tmplmig lint`` (in CI); the page lists the ones the templates acknowledge.
Only ``render --since-applied`` adds what the record of a live database says
(:class:`SinceApplied`, plain data the migrating layer fills in), at the top of the page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from pglast import ast

from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.parts import Part, config_digest
from tmplmig.reviewing.bundle import NOT_SQL, BundleFile, bundle_context
from tmplmig.reviewing.lint import lint_part
from tmplmig.reviewing.locks import (
    EFFECT,
    MODES,
    BundleContext,
    Lock,
    split_statements,
    statement_locks,
)

REVIEW = NOT_SQL[1]
_IGNORE = re.compile(r"^\s*-- squawk-ignore(?:-file)? ([a-z0-9, -]+)$")
_ALLOW = re.compile(r"^\s*-- lint: allow ([a-z-]+): (.+)$")
_KIND = re.compile(r"^[A-Z][A-Z ]*?(?= IF | ON |\"|\(|$| [a-z])")


@dataclass(frozen=True)
class StepSince:
    """One step new, changed (its apply SQL differs) or gone since the last apply, and the
    actions ``tmplmig plan`` would run for it (as its files label them)."""

    change: str
    name: str
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartSince:
    """One part against its record: its steps that differ, and why ``tmplmig plan`` refuses
    the part if it does ("no safe rule")."""

    part: str
    #: where it stands, as ``tmplmig status`` says it (``applied, changed since``, ...)
    state: str
    steps: tuple[StepSince, ...] = ()
    refusals: tuple[str, ...] = ()


@dataclass(frozen=True)
class SinceApplied:
    """What changed since the last apply recorded in a target's database (every part
    pending: nothing applied there yet)."""

    #: the config digests the record's parts were last applied with, sorted
    recorded: tuple[str, ...]
    #: ``path: old -> new`` per config key path changed since, in key order
    config: tuple[str, ...] = ()
    parts: tuple[PartSince, ...] = ()


def _since_section(since: SinceApplied, digest: str) -> list[str]:
    """The section on what changed since the last apply: the digests, the key paths changed
    and, per part, the steps and what ``tmplmig plan`` would do about them."""
    lines = ["## Since the last apply", ""]
    if all(p.state == "pending" for p in since.parts):
        return [*lines, "Not applied yet: no part of this bundle is applied in the database.", ""]
    recorded = ", ".join(f"`sha256:{d}`" for d in since.recorded) or "none (no record)"
    same = since.recorded == (digest,)
    lines += [
        f"Recorded config digest {recorded}; today's `sha256:{digest}`"
        + (" (the same)." if same else "."),
        "",
    ]
    changed = [f"- `{c}`" for c in since.config] or ["- nothing"]
    lines += ["**Config key paths changed:**", "", *changed, "", "**Parts:**", ""]
    for p in since.parts:
        lines.append(f"- `{p.part}`: {p.state}")
        for s in p.steps:
            plan = "" if p.refusals else "; ".join(s.actions) or "nothing to run"
            lines.append(f"  - {s.change} `{s.name}`" + (f": plan: {plan}" if plan else ""))
        lines += [f"  - plan refuses: {r}" for r in p.refusals]
    idle = any(not s.actions and not p.refusals for p in since.parts for s in p.steps)
    if idle:
        lines += [
            "",
            '"nothing to run": what differs follows a schema or role the plan renames (the '
            "server tracks what it names by oid), or a step gone had nothing to undo.",
        ]
    lines += [
        "",
        "`tmplmig plan` prints the SQL of each action, once it finds the database still holds "
        "what was recorded.",
    ]
    return [*lines, ""]


def _locks(part: Part, direction: str, context: BundleContext) -> list[Lock]:
    """Every table lock the psql file of one direction takes (repairs by hand left out)."""
    return [
        lock
        for s in part.steps
        for g in (s.apply_statements if direction == "apply" else s.rollback_statements)
        if g.psql != "by hand"
        for statement in split_statements(g.sql)
        for lock in statement_locks(statement.node, context)
    ]


def _lock_table(locks: list[Lock]) -> list[str]:
    strongest: dict[str, Lock] = {}
    for lock in locks:
        held = strongest.get(lock.relation)
        if held is None or MODES.index(lock.mode) > MODES.index(held.mode):
            strongest[lock.relation] = lock
    if not strongest:
        return ["No table locks."]
    rows = ["| table | strongest lock | while it is held | note |", "| --- | --- | --- | --- |"]
    rows += [
        f"| `{t}` | {lock.mode} | {EFFECT[lock.mode]} | {lock.detail} |"
        for t, lock in sorted(strongest.items())
    ]
    return rows


def acknowledged(text: str) -> list[tuple[int, str, str]]:
    """(line, rule, reason) of each finding a file acknowledges: ``-- squawk-ignore RULE``
    under the comment lines that say why (or, after the first, as the last one of that rule
    said), and ``-- lint: allow RULE: why``."""
    lines = text.split("\n")
    out: list[tuple[int, str, str]] = []
    last: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if match := _ALLOW.match(line):
            out.append((number, match.group(1), match.group(2)))
        elif match := _IGNORE.match(line):
            why: list[str] = []
            for before in reversed(lines[: number - 1]):
                comment = before.strip()
                if not comment.startswith("--") or _IGNORE.match(before):
                    break
                if comment.startswith(("-- step:", "-- lock:")):
                    break
                why.insert(0, comment.lstrip("- "))
            for rule in (r.strip() for r in match.group(1).split(",")):
                last[rule] = " ".join(why) or last.get(rule, "(no reason given)")
                out.append((number, rule, last[rule]))
    return out


def _statement_kinds(part: Part) -> str:
    kinds: Counter[str] = Counter()
    for s in part.steps:
        for g in s.rollback_statements:
            for statement in split_statements(g.sql):
                match = _KIND.match(statement.sql)
                kinds[match.group(0).strip() if match else statement.sql.split()[0]] += 1
    return ", ".join(f"{n} x {kind}" for kind, n in kinds.most_common()) or "nothing"


def _part_section(
    part: Part, apply: BundleFile, rollback: BundleFile, context: BundleContext
) -> list[str]:
    by_hand = sum(g.psql == "by hand" for s in part.steps for g in s.apply_statements)
    asks = sum(
        g.psql == "if" for s in part.steps for g in (*s.apply_statements, *s.rollback_statements)
    )
    lines = [
        f"## {part.id}: {part.title}",
        "",
        f"`{apply.name}` (rollback `{rollback.name}`), from `{part.template}`; "
        + ("one transaction." if part.transactional else "no transaction: each statement commits."),
        "",
        f"**Steps ({len(part.steps)}):** " + ", ".join(s.name for s in part.steps) + ".",
        "",
        "**Locks (apply):**",
        "",
        *_lock_table(_locks(part, "apply", context)),
        "",
    ]
    blocks = sum(
        isinstance(statement.node, ast.DoStmt)
        for s in part.steps
        for g in (*s.apply_statements, *s.rollback_statements)
        for statement in split_statements(g.sql)
    )
    if blocks:
        lines += [f"**DO blocks:** {blocks}; the locks their statements take are not derived.", ""]
    if by_hand:
        lines += [
            f"**Repairs to run by hand:** {by_hand}, shown commented in the file with the "
            "query that tells when (yoyo runs them itself).",
            "",
        ]
    if asks:
        lines += [
            f"**Asked of the catalog first:** {asks} statement(s) run inside psql `\\if` "
            "on the same guard query yoyo asks.",
            "",
        ]
    findings = lint_part(part, apply, rollback)
    lines += ["**Lint (tmplmig's rules):** " + ("none." if not findings else ""), ""]
    lines += [f"- `{f.file}:{f.line}` {f.rule}: {f.message}" for f in findings]
    acks = [
        (f.name, n, rule, why) for f in (apply, rollback) for n, rule, why in acknowledged(f.text)
    ]
    if acks:
        lines += ["**Acknowledged findings:**", ""]
        lines += [f"- `{name}:{n}` {rule}: {why}" for name, n, rule, why in acks]
        lines.append("")
    rollback_steps = sum(1 for s in part.steps if s.rollback_statements)
    lines += [
        f"**Rollback:** {rollback_steps} step(s) in reverse order: {_statement_kinds(part)}.",
        "",
        *_lock_table(_locks(part, "rollback", context)),
        "",
    ]
    return lines


def review_markdown(
    parts: list[Part],
    files: list[BundleFile],
    config: LoadedConfig,
    since: SinceApplied | None = None,
) -> str:
    """The text of REVIEW.md for one rendered bundle; with ``since``, what changed since the
    last apply, after the digest line."""
    by_part = {(f.part, f.direction): f for f in files}
    context = bundle_context(parts)
    lines = [
        f"# Review: {config.env}" + (f", tenant {config.tenant}" if config.tenant else ""),
        "",
        f"Config digest `sha256:{config_digest(config)}`. Run the files in `MANIFEST` order with "
        "`psql -v ON_ERROR_STOP=1 -f FILE`; each notes above every statement the lock it takes "
        "(`-- lock:`). squawk's findings: `tmplmig lint` (CI runs it).",
        "",
    ]
    if since is not None:
        lines += _since_section(since, config_digest(config))
    for part in parts:
        lines += _part_section(
            part, by_part[(part.id, "apply")], by_part[(part.id, "rollback")], context
        )
    return "\n".join(lines).rstrip("\n") + "\n"
