"""Compare what was applied (the record) with today's render, and plan the SQL between them.

Steps are matched by identity (config key paths, not values), so an edited value shows as a
changed step, and the plan picks a rule by the step's kind, dropping what holds data only as
the recorded rollback of a step that is gone (:mod:`.destructive` marks and guards it):

- a schema or role renamed in YAML (the owner role too, first): ``ALTER SCHEMA/ROLE ...
  RENAME TO`` (rows, members, grants, ownership and default privileges stay); objects the
  server tracks by oid (tables, indexes, constraints, grants) then need nothing more, and the
  steps that ran as a renamed owner run as its new name from then on;
- grants and schema privileges: REVOKE what is no longer wanted, GRANT what is new, statement
  by statement, so default privileges not named by the change are never touched;
- functions, triggers, seeded rows, the extension and other idempotent steps: today's apply
  SQL again (CREATE OR REPLACE, upsert), in the part's one transaction when it has one;
- a table or column whose sensitive columns are hidden from other roles now (the statements
  after :data:`~tmplmig.rendering.sensitive.MARK`): those statements of today's render, and
  table-wide SELECT back for a role they no longer name, when the table or column is unchanged;
- an index whose definition changed: built CONCURRENTLY under a temporary name, the old one
  dropped CONCURRENTLY, the new one renamed;
- a step that is new: its apply; a step that is gone: its recorded rollback, first, except
  a function's, last (the changed triggers that used it have moved off it by then);
- a table that is gone takes what belongs to it (indexes, constraints, triggers, seeded rows,
  grants): nothing later in the plan names it again (:class:`Dropped`);
- anything else (a table's columns, a foreign key): no safe rule, :class:`UnsafeChange`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tmplmig.database.locking import session_settings_sql, unbounded_scans
from tmplmig.errors import REFUSED, TmplmigError
from tmplmig.migrating.record import (
    ConfigChange,
    PartRecord,
    RecordedStep,
    sha256,
)
from tmplmig.migrating.states import (
    PartState,
    StepChange,
    removed_objects,
    step_changes,
)
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.evolve import (
    bodies,
    hidden_difference,
    hide_again,
    outside_bodies,
    quote_ident,
    quote_literal,
    rebuild_index,
    reconcile_privileges,
    rename,
    without_relations,
)
from tmplmig.rendering.facts import DbObject, to_json
from tmplmig.rendering.parts import (
    Guarded,
    Part,
    Step,
    config_digest,
    statement_sql,
    uses_postgres_only_syntax,
)
from tmplmig.rendering.relations import table_of
from tmplmig.reviewing.bundle import (
    MANIFEST,
    STEP_MARK,
    BundleFile,
    bundle_context,
    manifest_text,
    psql_text,
    with_role_switches,
)

if TYPE_CHECKING:
    from tmplmig.reviewing.locks import BundleContext

#: when a step planned back from was "applied": never read, a record's field must be set
_NOW = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: steps that hold names as text (function bodies, seeded rows): a rename alone does not
#: update them, so any change applies them again (CREATE OR REPLACE, upsert)
TEXT_KINDS = frozenset({"function", "row"})
#: steps whose apply converges when re-run (IF NOT EXISTS, OR REPLACE, DO blocks that check
#: first); like every step the server tracks by oid, a rename of what they name needs nothing
RERUN_KINDS = frozenset({"trigger", "extension", "validate", "schema", "role", "owner role"})
PRIVILEGE_KINDS = frozenset({"privileges of", "grant"})
#: column-level grants that hide masked columns (a table's SELECT replaced by a list of its
#: other columns): a change undoes the old with its rollback and applies the new
NAME_LOOKUP_KINDS = frozenset({"columns hidden from"})
#: steps that make a table or a column, then hide its sensitive columns (after MARK)
HIDING_KINDS = frozenset({"table", "column"})
_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
#: a statement that alters one table, and that table as quoted
_ALTERED = re.compile(r'^ALTER TABLE (?:IF EXISTS )?("(?:[^"]|"")+"\."(?:[^"]|"")+")\s')
_LITERAL = re.compile(r"'((?:[^']|'')*)'")
#: the identity of a schema or role step: its kind and the key path of its name
_NAMED_BY_PATH = re.compile(r"^(schema|role|owner role) \{(schemas|roles)\.([a-z_]+)\}$")


class UnsafeChange(TmplmigError):
    """Changes the plan has no safe rule for: one line each, naming part, step and change."""

    exit_code = REFUSED

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))

    @property
    def report(self) -> list[str]:
        """Each change, then that nothing ran."""
        return [f"tmplmig: unsafe: {line}" for line in self.lines] + [
            "tmplmig: nothing was changed"
        ]


@dataclass(frozen=True)
class Action:
    """SQL for one step of the plan: statements run one by one, each under lock discipline."""

    identity: str
    label: str
    statements: tuple[Guarded | str, ...]
    #: the role the statements run as (``SET ROLE``): the step's; None for the deploying
    #: login (renames need its CREATEROLE and CREATE on the database)
    role: str | None = None
    #: what holds data among what the statements drop: a destructive action
    drops: tuple[DbObject, ...] = ()
    #: lines the plan file shows above the statements
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rename:
    """A schema or role whose name changed in YAML; its step stays the same step."""

    identity: str
    kind: str
    old: str
    new: str

    @property
    def is_role(self) -> bool:
        return self.kind != "schema"

    @property
    def action(self) -> Action:
        noun = "ROLE" if self.is_role else "SCHEMA"
        statement = rename(noun, self.old, self.new)
        return Action(self.identity, f"{self.kind} {self.old} renamed to {self.new}", (statement,))


def renames_in(state: PartState, settings: Mapping[str, Any]) -> list[Rename]:
    """The schemas and roles of ``state``'s part renamed between its record and ``settings``."""
    found = []
    for change in state.steps:
        match = _NAMED_BY_PATH.match(change.identity)
        if change.change != "changed" or match is None or state.record is None:
            continue
        kind, group, key = match.groups()
        old, new = state.record.settings[group][key], settings[group][key]
        if old != new:
            found.append(Rename(change.identity, kind, old, new))
    return found


@dataclass(frozen=True)
class Renames:
    """Schemas and roles renamed in YAML: old name to new name, each kind apart."""

    schemas: Mapping[str, str]
    roles: Mapping[str, str]

    @classmethod
    def between(cls, states: list[PartState], settings: Mapping[str, Any]) -> Renames:
        found = [r for state in states for r in renames_in(state, settings)]
        return cls(
            {r.old: r.new for r in found if not r.is_role},
            {r.old: r.new for r in found if r.is_role},
        )

    def __bool__(self) -> bool:
        return bool(self.schemas or self.roles)

    def of_step(self, step: Step) -> Step:
        """``step`` as it reads once the renames ran: its SQL, guards, role, objects and name.
        A rename moves what the schema holds and keeps what the role owns and was granted, so
        it describes the same objects; a function's body and a seeded row's values are text
        the server does not follow, and stay as they ran (the plan runs them anew)."""
        if not self:
            return step

        def sql(text: str) -> str:
            if step.kind == "function":
                return outside_bodies(text, self.apply_to)
            if step.kind == "row":
                return self._identifiers(text)
            return self.apply_to(text, schema_literals=step.kind in NAME_LOOKUP_KINDS)

        word = re.compile("|".join(rf"(?<![\w$]){re.escape(old)}(?![\w$])" for old in self.names))

        def named(o: DbObject) -> DbObject:
            if o.kind == "role":
                return replace(o, name=self.roles.get(o.name, o.name))
            if o.kind == "schema":
                return replace(o, name=self.schemas.get(o.name, o.name))
            return replace(o, schema=self.schemas.get(o.schema or "", o.schema))

        return replace(
            step,
            name=word.sub(lambda m: self.names[m[0]], step.name),
            apply=sql(step.apply),
            rollback=None if step.rollback is None else sql(step.rollback),
            role=None if step.role is None else self.roles.get(step.role, step.role),
            guards=tuple((d, self.apply_to(g)) for d, g in step.guards),
            objects=tuple(named(o) for o in step.objects),
        )

    @property
    def names(self) -> dict[str, str]:
        """Every old name, schema or role, to its new one."""
        return {**self.roles, **self.schemas}

    def _identifiers(self, text: str) -> str:
        """``text`` with its quoted names renamed (literals left as they are)."""
        names = self.names
        return _QUOTED.sub(lambda m: quote_ident(names[m[1]]) if m[1] in names else m[0], text)

    def apply_to(self, text: str, schema_literals: bool = False) -> str:
        """``text`` as it reads after the renames: quoted names, and role names as literals
        (schema names as literals too with ``schema_literals``: DO blocks that look schemas
        up by name; not by default, since seeded rows hold data that may look like a name)."""
        literals = self.names if schema_literals else self.roles
        text = self._identifiers(text)
        return _LITERAL.sub(
            lambda m: quote_literal(literals[m[1]]) if m[1] in literals else m[0],
            text,
        )


@dataclass(frozen=True)
class Dropped:
    """The tables a plan drops (removed table steps): what belongs to one goes with it, so
    no action names it afterwards, and its grants are not revoked one by one."""

    #: ``schema.table`` as :attr:`DbObject.relation` spells it, as recorded
    tables: frozenset[str] = frozenset()
    #: the quoted names grants use for those tables and the sequences they own, after renames
    quoted: frozenset[str] = frozenset()

    @classmethod
    def between(cls, states: list[PartState], renames: Renames) -> Dropped:
        tables: set[str] = set()
        quoted: set[str] = set()
        for change in (c for s in states for c in s.steps if c.change == "removed"):
            assert change.old is not None
            for o in removed_objects(change.old):
                if o.kind == "table" and o.schema is not None:
                    tables.add(f"{o.schema}.{o.name}")
                    table = table_of(o.schema, o.name, change.old.apply_sql)
                    quoted.update(renames.apply_to(n) for n in (table.qualified, *table.sequences))
        return cls(frozenset(tables), frozenset(quoted))

    def owner_of(self, objects: tuple[DbObject, ...]) -> str | None:
        """The dropped table that the one object of a step belongs to (its index, trigger,
        seeded row), if any."""
        if len(objects) == 1 and objects[0].kind != "table" and objects[0].relation in self.tables:
            return objects[0].relation
        return None

    def names(self, on: str) -> bool:
        """Whether a grant's ``TABLE x`` or ``SEQUENCE x`` names a dropped relation."""
        kind, _, name = on.partition(" ")
        return kind in ("TABLE", "SEQUENCE") and name in self.quoted


@dataclass(frozen=True)
class PartPlan:
    """What takes one applied part from its record to today's render."""

    part: Part
    actions: tuple[Action, ...]
    changes: tuple[StepChange, ...]
    config: tuple[ConfigChange, ...]
    #: lines the plan file's header shows (what its destructive actions lose)
    notes: tuple[str, ...] = ()
    #: the schemas and roles its own steps rename, and the tables it drops: once they ran,
    #: the other parts' records describe what is there then (:meth:`as_now`)
    renames: Renames = Renames({}, {})
    dropped: Dropped = Dropped()

    @property
    def moves_others(self) -> bool:
        """Whether it changes what the other parts' records describe."""
        return bool(self.renames) or bool(self.dropped.tables)

    def went_with(self, recorded: RecordedStep) -> bool:
        """Whether ``recorded`` (another part's) made only what a table it drops held, or,
        making nothing, only altered that table (a constraint's VALIDATE)."""
        if recorded.objects:
            return self.dropped.owner_of(recorded.objects) is not None
        altered = _ALTERED.match(recorded.apply_sql.strip())
        return altered is not None and self.dropped.names(f"TABLE {altered[1]}")

    def as_now(self, recorded: RecordedStep) -> Step | None:
        """``recorded`` (another part's step) as it reads once this plan ran: its names
        renamed, the dropped tables out of its grants; None when it reads the same."""
        before = recorded.as_step()
        step = self.renames.of_step(before)
        step = replace(
            step,
            apply=without_relations(step.apply, self.dropped.names),
            rollback=step.rollback and without_relations(step.rollback, self.dropped.names),
        )
        return None if step == before else step


def plan_part(
    state: PartState, renames: Renames, settings: Mapping[str, Any], dropped: Dropped = Dropped()
) -> PartPlan:
    """The actions for one changed part; raises :class:`UnsafeChange` for what has no rule."""
    actions = [r.action for r in renames_in(state, settings)]
    unsafe: list[str] = []
    removed = [c for c in state.steps if c.change == "removed"]
    dropped_last: list[Action] = []
    for change in sorted(removed, key=lambda c: c.old.position if c.old else 0, reverse=True):
        assert change.old is not None
        objects = removed_objects(change.old)
        if (table := dropped.owner_of(objects)) is not None:
            actions.append(Action(change.identity, f"{change.old.name} (goes with {table})", ()))
        elif change.old.rollback_sql:
            rollback = renames.apply_to(change.old.rollback_sql)
            role = renames.roles.get(change.old.role or "", change.old.role)
            drops = tuple(o for o in objects if o.holds_data)
            undo = Action(change.identity, f"{change.old.name} (removed)", (rollback,), role, drops)
            (dropped_last if change.old.kind == "function" else actions).append(undo)
    for change in state.steps:
        new = change.new
        if new is None:
            continue
        if change.change == "added":
            actions.append(
                Action(change.identity, f"{new.name} (new)", new.apply_statements, new.role)
            )
            continue
        assert change.old is not None
        if change.old.apply_sha256 == sha256(new.apply):
            continue  # runs as a renamed owner: only its record changes
        old = renames.apply_to(change.old.apply_sql)
        statements: tuple[Guarded | str, ...] | None
        if (
            new.kind == "function"
            and old == new.apply
            and bodies(change.old.apply_sql) == (bodies(new.apply))
        ):
            continue  # only names outside its body changed, and they follow by oid
        if new.kind in TEXT_KINDS:
            statements = new.apply_statements
        elif old == new.apply:
            continue
        elif new.kind in RERUN_KINDS:
            statements = new.apply_statements
        elif new.kind in PRIVILEGE_KINDS:
            statements = reconcile_privileges(old, new.apply, dropped.names)
        elif new.kind in NAME_LOOKUP_KINDS:
            if renames.apply_to(change.old.apply_sql, schema_literals=True) == new.apply:
                continue
            before = renames.apply_to(change.old.apply_sql, schema_literals=True)
            undo = renames.apply_to(change.old.rollback_sql or "", schema_literals=True)
            statements = hidden_difference(before, new.apply) or (undo, new.apply)
        elif new.kind in HIDING_KINDS:
            statements = hide_again(old, new.apply)
        elif new.kind == "index":
            statements = rebuild_index(new.apply)
        else:
            statements = None
        if statements is None:
            unsafe.append(
                f"{state.part.id}: step {new.name!r} ({change.identity}): its {new.kind} "
                "definition changed and no rule changes it safely: write a new migration"
            )
        elif statements:
            actions.append(Action(change.identity, f"{new.name} (changed)", statements, new.role))
    if unsafe:
        raise UnsafeChange(unsafe)
    return PartPlan(state.part, (*actions, *dropped_last), state.steps, state.config)


def plan(states: list[PartState], settings: Mapping[str, Any]) -> list[PartPlan]:
    """Plans of every changed part in part order; every unsafe change is reported at once."""
    renames = Renames.between(states, settings)
    dropped = Dropped.between(states, renames)
    plans, unsafe = [], []
    for state in states:
        if state.state != "changed":
            continue
        try:
            own = Renames.between([state], settings), Dropped.between([state], renames)
            planned = plan_part(state, renames, settings, dropped)
            plans.append(replace(planned, renames=own[0], dropped=own[1]))
        except UnsafeChange as exc:
            unsafe += exc.lines
    if unsafe:
        raise UnsafeChange(unsafe)
    return plans


def _as_part(recorded: PartRecord, today: Part) -> Part:
    """``today``'s part with the steps its record holds: what planning back to it aims at."""
    return replace(today, steps=tuple(r.as_step() for r in recorded.steps))


def _as_record(part: Part, settings: Mapping[str, Any]) -> PartRecord:
    """``part`` as if it had been applied with ``settings``: the start of planning back."""
    steps = tuple(
        RecordedStep(
            part.id,
            s.identity,
            i,
            s.kind,
            s.name,
            sha256(s.apply),
            s.apply,
            s.rollback,
            "",
            "",
            None,
            "",
            _NOW,
            s.role,
            dict(s.guards).get("apply"),
            dict(s.guards).get("rollback"),
            to_json(s.objects),
        )
        for i, s in enumerate(part.steps)
    )
    return PartRecord(part.id, steps, settings)


def plan_back(states: list[PartState], settings: Mapping[str, Any]) -> list[PartPlan]:
    """What undoes the plan of ``states``: each changed part planned from today's render
    (``settings``) back to its record, by the same rules, in reverse part order. Raises
    :class:`UnsafeChange` where going back has no safe rule."""
    back, recorded = [], None
    for state in states:
        if state.state != "changed" or state.record is None:
            continue
        old = _as_part(state.record, state.part)
        today = _as_record(state.part, settings)
        back.append(PartState(old, "changed", tuple(step_changes(old, today)), (), today))
        recorded = recorded or state.record.settings
    if recorded is None:
        return []
    return list(reversed(plan(back, recorded)))


def _shown(statement: Guarded | str, context: BundleContext) -> str:
    """A plan statement as the bundle shows a step's: with its lock notes; a session setting
    (``SET statement_timeout`` around a scan) as is."""
    from tmplmig.reviewing.locks import annotate

    guarded = statement if isinstance(statement, Guarded) else Guarded(statement)
    if guarded.sql.startswith("SET "):
        return guarded.sql
    return psql_text(replace(guarded, sql=annotate(guarded.sql, context)))


def _plan_file(
    plan: PartPlan,
    config: LoadedConfig,
    digest: str,
    context: BundleContext,
    direction: str = "apply",
) -> BundleFile:
    """One part's plan as a bundle file: the header says what changed, each action is marked
    like a step, with the lock notes the bundle has and ``statement_timeout`` 0 around a
    scan, and a transactional part is wrapped in BEGIN/COMMIT as apply runs it."""
    part = plan.part
    ddl = config.settings.ddl
    back = direction == "rollback"
    header = [
        f"-- tmplmig plan{' rollback' if back else ''}: {part.id} — {part.title}",
        *(
            ["-- undoes this part's plan: back to the config and templates it was applied with"]
            if back
            else []
        ),
        f"-- environment: {config.env}",
        f"-- tenant: {config.tenant or '-'}",
        f"-- to config digest: sha256:{digest}",
        *(
            f"-- changed step: {change}"
            + (f" ({'; '.join(change.causes)})" if change.causes else "")
            for change in plan.changes
        ),
        *(f"-- changed config: {change}" for change in plan.config),
        *plan.notes,
        "-- run with: psql -v ON_ERROR_STOP=1 -f <this file>; then"
        + (" restore the config and templates, and" if back else "")
        + ": tmplmig mark",
        "",
        session_settings_sql(config.settings.ddl),
        "",
    ]
    body = with_role_switches(
        (
            action.role,
            [
                f"{STEP_MARK}{action.label}",
                *action.notes,
                *(_shown(s, context) for s in unbounded_scans(action.statements, ddl)),
                "",
            ],
        )
        for action in plan.actions
    )
    if not body:
        body = ["-- nothing to run: what changed here follows the renames and drops above", ""]
    elif part.transactional:
        body = ["BEGIN;", "", *body, "COMMIT;", ""]
    text = "\n".join(header + body)
    ext = "pgsql" if uses_postgres_only_syntax(text) else "sql"
    name = f"{part.id}.plan.rollback.{ext}" if back else f"{part.id}.plan.{ext}"
    return BundleFile(name, part.id, direction, text)


#: the plan's review page, beside its MANIFEST
PLAN_REVIEW = "REVIEW.md"


def plan_review(
    plans: list[PartPlan],
    config: LoadedConfig,
    back: Sequence[PartPlan],
    context: BundleContext | None = None,
) -> str:
    """REVIEW.md of a plan: per part what changed and why, each action's statements with the
    locks they take (as the files note them), what it drops, and how to undo it. ``context``:
    the planned parts' :func:`bundle_context`, when the caller has it."""
    from tmplmig.reviewing.locks import LOCK_MARK, lock_lines, split_statements, statement_locks

    if context is None:
        context = bundle_context([p.part for p in plans])
    undone = {p.part.id for p in back}
    lines = [
        f"# Plan review: {config.env}" + (f", tenant {config.tenant}" if config.tenant else ""),
        "",
        f"To config digest `sha256:{config_digest(config)}`. Run the `[apply]` files of `MANIFEST`"
        " in order with `psql -v ON_ERROR_STOP=1 -f FILE`, then `tmplmig mark`; the `[rollback]`"
        " files, newest part first, undo them.",
        "",
    ]
    for p in plans:
        lines += [f"## {p.part.id}: {p.part.title}", ""]
        lines += [
            f"- {change}" + (f" ({'; '.join(change.causes)})" if change.causes else "")
            for change in p.changes
        ]
        lines += [f"- {note.removeprefix('-- ')}" for note in p.notes]
        lines += (
            ["", "| action | statement | lock |", "| --- | --- | --- |"]
            if p.actions
            else [
                "",
                "Nothing to run: what changed here follows the renames and drops above.",
            ]
        )
        for action in p.actions:
            for statement in action.statements:
                for parsed in split_statements(statement_sql(statement)):
                    shown = parsed.sql.split("\n", 1)[0].replace("|", "\\|")[:80]
                    locks = lock_lines(statement_locks(parsed.node, context))
                    held = "; ".join(line.removeprefix(LOCK_MARK) for line in locks)
                    lines.append(f"| {action.label} | `{shown}` | {held} |")
        undo = "its `.plan.rollback` file" if p.part.id in undone else "none (no safe rule back)"
        lines += ["", f"Undo: {undo}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def plan_contents(
    plans: list[PartPlan], config: LoadedConfig, back: Sequence[PartPlan] = ()
) -> dict[str, str]:
    """The plan as psql-runnable files, one per changed part in run order, then ``back``
    (:func:`plan_back`: what undoes it) in reverse order, plus MANIFEST."""
    digest = config_digest(config)
    context = bundle_context([p.part for p in plans])
    files = [_plan_file(p, config, digest, context) for p in plans]
    files += [_plan_file(p, config, digest, context, "rollback") for p in back]
    contents = {f.name: f.text for f in files}
    contents[PLAN_REVIEW] = plan_review(plans, config, back, context)
    contents[MANIFEST] = manifest_text(files, config)
    return contents
