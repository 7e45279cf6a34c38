"""Where each part of a target stands: pending, applied as rendered today, changed since (the
step changes and what caused them), applied with no record, or with its objects missing; what
a removed step would drop. What ``status`` needs of a part, without the planner
(:mod:`.plan`), which plans the changed ones from these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from tmplmig.database.presence import checked
from tmplmig.migrating.record import (
    ConfigChange,
    PartRecord,
    Record,
    RecordedStep,
    config_changes,
    sha256,
)
from tmplmig.rendering.facts import DATA_KINDS, DbObject, objects_of
from tmplmig.rendering.parts import Part, Step

if TYPE_CHECKING:
    from tmplmig.migrating.destructive import Loss

State = Literal["pending", "applied", "changed", "no record", "missing"]


@dataclass(frozen=True)
class StepChange:
    """A step whose applied SQL differs from today's render, or that only one side has."""

    change: Literal["changed", "added", "removed"]
    identity: str
    old: RecordedStep | None
    new: Step | None
    #: what made it change: ``template <file>`` and/or the config key paths that reach it
    causes: tuple[str, ...] = ()

    def __str__(self) -> str:
        name = self.new.name if self.new is not None else self.old.name if self.old else ""
        return f"{self.identity} ({name}): {self.change}"


@dataclass(frozen=True)
class PartState:
    """One part: pending, applied as rendered today, changed since, or applied with no record."""

    part: Part
    state: State
    steps: tuple[StepChange, ...] = ()
    config: tuple[ConfigChange, ...] = ()
    record: PartRecord | None = None
    #: recorded objects the catalog no longer holds (state ``missing``: rolled back by hand?)
    missing: tuple[DbObject, ...] = ()
    #: what its removed steps would drop that holds data, measured by ``status``
    losses: tuple[Loss, ...] = ()

    @property
    def id(self) -> str:
        return self.part.id

    @property
    def applied(self) -> bool:
        """Recorded as applied by yoyo (whatever has changed since)."""
        return self.state != "pending"

    @property
    def all_missing(self) -> bool:
        """True when every recorded object the catalog tracks is gone (a rollback by hand),
        shared ones aside (a rollback keeps those while others use them)."""
        recorded = checked(self.record.objects) if self.record is not None else []
        return bool(self.missing) and set(self.missing) >= {o for o in recorded if not o.shared}

    @property
    def label(self) -> str:
        return {
            "changed": "applied, changed since",
            "no record": "applied, no record",
            "missing": "applied, objects missing",
        }.get(self.state, self.state)


def step_changes(part: Part, recorded: PartRecord) -> list[StepChange]:
    """Changed and added steps in today's order, then removed ones in applied order. A step
    that now runs as another role (its owner renamed) is changed even when its SQL is not."""
    old = recorded.by_identity()
    out = []
    for s in part.steps:
        before = old.get(s.identity)
        if before is None:
            out.append(StepChange("added", s.identity, None, s))
        elif before.apply_sha256 != sha256(s.apply) or before.role not in (None, s.role):
            out.append(StepChange("changed", s.identity, before, s))
    current = {s.identity for s in part.steps}
    out += [StepChange("removed", r.step, r, None) for r in recorded.steps if r.step not in current]
    return out


def _relevant(changes: list[ConfigChange], steps: list[StepChange]) -> list[ConfigChange]:
    """Config changes whose old or new value shows in the SQL of the changed steps."""
    texts = " ".join(
        (c.old.apply_sql if c.old else "") + (c.new.apply if c.new else "") for c in steps
    )
    shown = [c for c in changes if any(str(v) in texts for v in (c.old, c.new) if v is not None)]
    return shown or changes


def with_causes(state: PartState, as_recorded: Part, config: list[ConfigChange]) -> PartState:
    """``state`` with the cause of each step change, from ``as_recorded`` (today's template
    rendered with the recorded config): the template changed where it renders the recorded
    config otherwise than the record holds; the config where today's config renders otherwise
    than the recorded one, through the key paths of ``config`` (every change since the
    record) whose old or new value shows in the step. The part's config lines are then the
    key paths some step names, and only those."""
    if state.record is None:
        return state
    before = {s.identity: sha256(s.apply) for s in as_recorded.steps}
    texts = {s.identity: s.apply for s in as_recorded.steps}
    changes = []
    for change in state.steps:
        recorded = change.old.apply_sha256 if change.old is not None else None
        today = sha256(change.new.apply) if change.new is not None else None
        causes = []
        if recorded != before.get(change.identity):
            causes.append(f"template {as_recorded.template}")
        if before.get(change.identity) != today:
            text = texts.get(change.identity, "") + (change.new.apply if change.new else "")
            causes += [
                f"config {c.path}"
                for c in config
                if any(str(v) in text for v in (c.old, c.new) if v is not None)
            ] or ["config"]
        changes.append(replace(change, causes=tuple(causes)))
    named = {c.removeprefix("config ") for change in changes for c in change.causes}
    shown = tuple(c for c in config if c.path in named)
    return replace(state, steps=tuple(changes), config=shown)


def part_states(
    parts: list[Part], applied: set[str], rec: Record, settings: Mapping[str, Any]
) -> list[PartState]:
    """Where each part stands against the record and today's config."""
    states = []
    for part in parts:
        recorded = rec.parts.get(part.id)
        if part.id not in applied:
            states.append(PartState(part, "pending"))
        elif recorded is None:
            states.append(PartState(part, "no record"))
        elif changes := step_changes(part, recorded):
            config = _relevant(config_changes(recorded.settings, settings), changes)
            states.append(PartState(part, "changed", tuple(changes), tuple(config), recorded))
        else:
            states.append(PartState(part, "applied", record=recorded))
    return states


def removed_objects(step: RecordedStep) -> tuple[DbObject, ...]:
    """What a removed step's rollback drops: its recorded objects; for a row written before
    objects were recorded, what its kind and name say of a table, schema, column or row."""
    if step.objects is not None:
        return step.objects
    words = step.name.split(" ")
    if step.kind == "row" and len(words) == 3:
        return (DbObject("row", None, words[2], words[1]),)
    return objects_of(step.kind, words) if step.kind in DATA_KINDS else ()
