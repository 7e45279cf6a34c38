"""The record of what was applied: per part and step, the rendered SQL that ran and its rollback.

yoyo tracks migration ids only, so a config edited after apply goes unseen and rollback would
render today's YAML. The record lives beside yoyo's tables, in the tracking schema
(``current_schema()`` of the migrating connection: ``tmplmig_<tenant>`` per tenant), and is
written by the step callables themselves, so ``tmplmig apply``, plain ``yoyo apply`` and the
tenant fan-out all record, inside the step's transaction in a transactional part.

A step is keyed by its identity (:attr:`tmplmig.rendering.parts.Step.identity`: the step's name with
config values spelled as key paths), so renaming a schema in YAML changes the step's SQL,
not which step it is. The validated config is stored once per digest, so a later diff can
name the key paths that changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.sql import Literal

from tmplmig.database import catalog_versions
from tmplmig.errors import TmplmigError
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.facts import DbObject, from_json, to_json
from tmplmig.rendering.identifiers import RECORD_CONFIGS_TABLE, RECORD_STEPS_TABLE
from tmplmig.rendering.parts import Guarded, Part, Step, config_digest, names_of

if TYPE_CHECKING:
    from tmplmig.reviewing.expected import Naming

STEPS_TABLE = RECORD_STEPS_TABLE
CONFIGS_TABLE = RECORD_CONFIGS_TABLE
TABLES = (STEPS_TABLE, CONFIGS_TABLE)

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {CONFIGS_TABLE} (
    digest text PRIMARY KEY,
    env text NOT NULL,
    tenant text,
    settings jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {STEPS_TABLE} (
    part text NOT NULL,
    step text NOT NULL,
    position integer NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    apply_sha256 text NOT NULL,
    apply_sql text NOT NULL,
    rollback_sql text,
    role text,
    apply_guard text,
    rollback_guard text,
    objects text,
    config_digest text NOT NULL,
    env text NOT NULL,
    tenant text,
    row_sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (part, step)
)"""

#: columns later releases added to the steps table: one made by an older tmplmig gains them
#: from the next run that records (:func:`ensure`), and reads see NULL until then
_ADDED = ("role", "apply_guard", "rollback_guard", "objects")
_UPGRADE = f"ALTER TABLE {STEPS_TABLE} " + ", ".join(
    f"ADD COLUMN IF NOT EXISTS {column} text" for column in _ADDED
)
#: in the order of :class:`RecordedStep`'s fields
_COLUMNS = (
    "part",
    "step",
    "position",
    "kind",
    "name",
    "apply_sha256",
    "apply_sql",
    "rollback_sql",
    "config_digest",
    "env",
    "tenant",
    "row_sha256",
    "applied_at",
    *_ADDED,
)
#: the row checksum's format: rows sealed before objects (``v2:``) or guards (a bare sha256)
#: were still verify
_SEAL = "v3:"
_SEAL_V2 = "v2:"


class RecordError(TmplmigError):
    """The record cannot be trusted: edited by hand, unreadable, or naming a missing config."""


def sha256(text: str) -> str:
    """Digest of rendered SQL, taken after rendering (never of the template)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _row_sha256(
    part: str,
    step: str,
    apply_sha: str,
    rollback: str | None,
    digest: str,
    role: str | None,
    guards: tuple[str | None, str | None],
    objects: str | None,
) -> str:
    """Seals what rollback will run, as whom and after which guard, and the objects the step
    made: a hand edit of the SQL, the role, a guard, the objects or the config link shows."""
    sealed = [part, step, apply_sha, rollback, digest, role, *guards, objects]
    return _SEAL + sha256(json.dumps(sealed))


def _row_sha256_v2(*sealed: str | None) -> str:
    """The checksum of a row written before objects were recorded."""
    return _SEAL_V2 + sha256(json.dumps(list(sealed)))


@dataclass(frozen=True)
class RecordedStep:
    """One applied step as the record holds it."""

    part: str
    step: str
    position: int
    kind: str
    name: str
    apply_sha256: str
    apply_sql: str
    rollback_sql: str | None
    config_digest: str
    env: str
    tenant: str | None
    row_sha256: str
    applied_at: datetime
    #: the role the step ran as (``SET ROLE``); None: the deploying login itself
    role: str | None = None
    #: the guard queries the step's apply and rollback ran after (see ``parts.Guarded``)
    apply_guard: str | None = None
    rollback_guard: str | None = None
    #: the objects the step created, as :func:`tmplmig.rendering.facts.to_json` wrote them;
    #: None in a row written before objects were recorded
    objects_json: str | None = None

    @cached_property
    def objects(self) -> tuple[DbObject, ...] | None:
        """The objects the step created and its rollback drops; None when not recorded (read
        once: a plan asks for them per check)."""
        return from_json(self.objects_json) if self.objects_json is not None else None

    def guarded(self, direction: str) -> Guarded | None:
        """The recorded SQL of ``direction`` with its recorded guard; None when there is none."""
        sql = self.apply_sql if direction == "apply" else self.rollback_sql
        guard = self.apply_guard if direction == "apply" else self.rollback_guard
        return Guarded(sql, guard) if sql else None

    def as_step(self) -> Step:
        """The step as it was applied: its recorded SQL, guards (each under psql's ``\\if``: the
        record keeps guards, not modes), role and objects, and what it is about and creates, as
        the checks that read a render's steps (a rollback's blockers and locks) look for them."""
        guards = tuple(
            (d, g) for d, g in (("apply", self.apply_guard), ("rollback", self.rollback_guard)) if g
        )
        named = [_named(o) for o in self.objects or ()]
        return Step(
            self.name,
            self.apply_sql,
            self.rollback_sql,
            role=self.role,
            about=named[0] if named else (),
            creates=tuple(named[1:]),
            identity=self.step,
            kind=self.kind,
            guards=guards,
            psql=tuple((d, "if") for d, _ in guards),
            objects=self.objects or (),
        )

    def _seals(self) -> tuple[str, ...]:
        """The checksums this row may carry: today's format, or the bare sha256 of a row
        written before guards were sealed (over the role), or before roles were recorded."""
        sealed = [self.part, self.step, self.apply_sha256, self.rollback_sql, self.config_digest]
        guards = (self.apply_guard, self.rollback_guard)
        if self.row_sha256.startswith(_SEAL):
            return (_row_sha256(*sealed, self.role, guards, self.objects_json),)
        if self.objects_json is not None:  # objects are sealed from v3 on: added by hand
            return ()
        if self.row_sha256.startswith(_SEAL_V2):
            return (_row_sha256_v2(*sealed, self.role, *guards),)
        before_guards = sha256(json.dumps([*sealed, self.role]))
        if self.role is None and self.apply_guard is None and self.rollback_guard is None:
            return before_guards, sha256(json.dumps(sealed))
        return (before_guards,)

    def problem(self) -> str | None:
        """Why this row cannot be trusted, or None."""
        if sha256(self.apply_sql) != self.apply_sha256:
            return f"{self.part}: {self.step}: apply SQL does not match its sha256 (hand edit?)"
        if self.row_sha256 not in self._seals():
            return f"{self.part}: {self.step}: row checksum mismatch (edited by hand?)"
        return None


def _named(o: DbObject) -> tuple[str, ...]:
    """How a rendered step names ``o`` in ``about`` and ``creates``: a schema, role or extension
    by its name, anything else by its schema and name."""
    return (o.kind, o.name) if o.schema is None else (o.kind, o.schema, o.name)


@dataclass(frozen=True)
class PartRecord:
    """What was applied of one part: its steps in applied order and the config they came from."""

    part: str
    steps: tuple[RecordedStep, ...]
    settings: Mapping[str, Any]

    def by_identity(self) -> dict[str, RecordedStep]:
        return {s.step: s for s in self.steps}

    @property
    def objects(self) -> tuple[DbObject, ...]:
        """The objects its steps made, as recorded (rows of an older tmplmig name none)."""
        return tuple(o for s in self.steps for o in (s.objects or ()))


@dataclass(frozen=True)
class Record:
    """Everything recorded in one tracking schema; ``problems`` lists untrustworthy rows."""

    parts: dict[str, PartRecord] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    #: which transactions wrote its rows, digested (:func:`catalog_versions.record_digest`):
    #: another read finding the same rows the same versions read the same record
    versions: str = ""
    #: the recorded configs by digest
    configs: dict[str, Any] = field(default_factory=dict)

    def renamed_digest(self, prefix: str, mark: str) -> str:
        """A digest of every row (all but when it was applied and its seals), ``prefix``
        replaced by ``mark``: records that are one another's renamed have the same."""
        settings = {
            digest: sha256(json.dumps(config, sort_keys=True).replace(prefix, mark))
            for digest, config in self.configs.items()
        }
        rows = sorted(
            json.dumps(
                [
                    *(s.part, s.step, s.position, s.kind, s.name, s.role, s.apply_guard),
                    *(s.rollback_guard, s.objects_json, s.apply_sql, s.rollback_sql),
                    settings.get(s.config_digest),
                ]
            )
            for part in self.parts.values()
            for s in part.steps
        )
        text = "\n".join(rows)
        return sha256(text.replace(prefix, mark) if prefix else text)

    def check(self) -> None:
        """Raise :class:`RecordError` listing every problem, if any."""
        if self.problems:
            raise RecordError(
                "the record of applied steps cannot be trusted:\n  " + "\n  ".join(self.problems)
            )

    def replayed(self) -> list[RecordedStep]:
        """Every step in the order a replay of the record applies them (parts in id order)."""
        return [s for part in sorted(self.parts) for s in self.parts[part].steps]

    def naming(self) -> Naming:
        """What a replay applies (each step's role, SQL and guard, in order), with the schema
        and role names of the configs recorded: what :mod:`tmplmig.reviewing.expected`
        shapes. The rollback SQL only empties the scratch database again, so it is left out."""
        texts = tuple(
            text for s in self.replayed() for text in (s.role, s.apply_sql, s.apply_guard)
        )
        names = {pair for p in self.parts.values() for pair in names_of(p.settings).items()}
        from tmplmig.reviewing.expected import Naming  # the drift check's: not every command's

        return Naming(texts, tuple(sorted(names)))


def _columns(conn: psycopg.Connection[Any]) -> frozenset[str]:
    """The columns of the tracking schema's steps table; none before the first recorded step."""
    rows = conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute"
        f" WHERE attrelid = pg_catalog.to_regclass('{STEPS_TABLE}')"
        " AND attnum > 0 AND NOT attisdropped"
    ).fetchall()
    return frozenset(name for (name,) in rows)


def ensure(conn: psycopg.Connection[Any]) -> None:
    """Create the record, or bring one an older tmplmig made up to date. Every writer holds
    yoyo's lock on the tracking schema (a step callable, apply, rollback, mark), so two runs
    never create or alter it at once."""
    columns = _columns(conn)
    if not columns:
        conn.execute(_CREATE)
    elif not columns.issuperset(_ADDED):
        conn.execute(_UPGRADE)


def _in_transaction(conn: psycopg.Connection[Any]) -> bool:
    return conn.info.transaction_status == TransactionStatus.INTRANS


@dataclass(frozen=True)
class Recorder:
    """Writes steps of one rendered config; each step's row carries the config's row with it
    (kept once by its digest), so a step recorded alone never names a config the record lacks."""

    config: LoadedConfig
    digest: str
    settings_json: str

    @classmethod
    def of(cls, config: LoadedConfig) -> Recorder:
        settings = config.settings.model_dump(mode="json")
        return cls(config, config_digest(config), json.dumps(settings, sort_keys=True))

    def write(self, conn: psycopg.Connection[Any], part: str, step: Step, position: int) -> None:
        """Record ``step`` of ``part`` as applied now (replacing an earlier row of that step)."""
        ensure(conn)
        conn.execute(self.row_sql(conn, part, step, position))

    def row_sql(self, conn: psycopg.Connection[Any], part: str, step: Step, position: int) -> str:
        """The statement :meth:`write` runs, values inlined, so it can travel in one message
        with the step's own SQL (see ``run_with_lock_discipline``'s ``then``)."""
        apply_sha = sha256(step.apply)
        guards = dict(step.guards).get("apply"), dict(step.guards).get("rollback")
        objects = to_json(step.objects)
        return psycopg.ClientCursor(conn).mogrify(
            f"WITH config AS (INSERT INTO {CONFIGS_TABLE} (digest, env, tenant, settings)"
            " VALUES (%(digest)s, %(env)s, %(tenant)s, %(settings)s::jsonb)"
            " ON CONFLICT (digest) DO NOTHING)"
            f" INSERT INTO {STEPS_TABLE} (part, step, position, kind, name, apply_sha256,"
            " apply_sql, rollback_sql, role, apply_guard, rollback_guard, objects,"
            " config_digest, env, tenant, row_sha256)"
            " VALUES (%(part)s, %(step)s, %(position)s, %(kind)s, %(name)s, %(sha)s, %(apply)s,"
            " %(rollback)s, %(role)s, %(apply_guard)s, %(rollback_guard)s, %(objects)s,"
            " %(digest)s, %(env)s, %(tenant)s, %(row_sha)s)"
            " ON CONFLICT (part, step) DO UPDATE SET position = EXCLUDED.position,"
            " kind = EXCLUDED.kind, name = EXCLUDED.name, apply_sha256 = EXCLUDED.apply_sha256,"
            " apply_sql = EXCLUDED.apply_sql, rollback_sql = EXCLUDED.rollback_sql,"
            " role = EXCLUDED.role, apply_guard = EXCLUDED.apply_guard,"
            " rollback_guard = EXCLUDED.rollback_guard, objects = EXCLUDED.objects,"
            " config_digest = EXCLUDED.config_digest, env = EXCLUDED.env,"
            " tenant = EXCLUDED.tenant, row_sha256 = EXCLUDED.row_sha256, applied_at = now()",
            {
                "digest": self.digest,
                "env": self.config.env,
                "tenant": self.config.tenant,
                "settings": self.settings_json,
                "part": part,
                "step": step.identity,
                "position": position,
                "kind": step.kind,
                "name": step.name,
                "sha": apply_sha,
                "apply": step.apply,
                "rollback": step.rollback,
                "role": step.role,
                "apply_guard": guards[0],
                "rollback_guard": guards[1],
                "objects": objects,
                "row_sha": _row_sha256(
                    part,
                    step.identity,
                    apply_sha,
                    step.rollback,
                    self.digest,
                    step.role,
                    guards,
                    objects,
                ),
            },
        )

    def write_part(self, conn: psycopg.Connection[Any], part: Part) -> None:
        """Record every step of ``part`` as rendered now; forget the steps it no longer has.
        One message: a tenant's evolve rewrites every row of the parts it changes."""
        ensure(conn)
        rows = [self.row_sql(conn, part.id, step, i) for i, step in enumerate(part.steps)]
        gone = psycopg.ClientCursor(conn).mogrify(
            f"DELETE FROM {STEPS_TABLE} WHERE part = %s AND NOT step = ANY(%s)",
            (part.id, [s.identity for s in part.steps]),
        )
        conn.execute(";\n".join([*rows, gone]))


def rewrite_others(
    conn: psycopg.Connection[Any],
    part: str,
    recorder: Recorder,
    rewrite: Callable[[RecordedStep], Step | None],
    went: Callable[[RecordedStep], bool],
) -> None:
    """Record anew, in the caller's transaction, each step of the parts other than ``part``
    that ``rewrite`` changes (None: as it is), each still linked to its own config, and forget
    those whose objects ``went``: what ``part`` just ran (a rename, a table dropped) changed
    what their rows describe, and a reader of the record (a rollback, a replay, the next plan)
    must not meet the old names or the dropped table's index after a run stops there."""
    linked = {
        digest: replace(recorder, digest=digest, settings_json=json.dumps(settings, sort_keys=True))
        for digest, settings in conn.execute(f"SELECT digest, settings FROM {CONFIGS_TABLE}")
    }
    rows = []
    for s in _steps(conn, _columns(conn), "WHERE part <> %s", (part,)):
        if went(s):
            rows.append(forget_sql(conn, s.part, [s.step]))
        elif (step := rewrite(s)) is not None:
            rows.append(linked[s.config_digest].row_sql(conn, s.part, step, s.position))
    if rows:
        conn.execute(";\n".join(rows))


def forget(conn: psycopg.Connection[Any], part: str, steps: Iterable[str]) -> None:
    """Remove rows once their rollback ran."""
    conn.execute(forget_sql(conn, part, steps))


def forget_sql(conn: psycopg.Connection[Any], part: str, steps: Iterable[str]) -> str:
    """The statement :func:`forget` runs, values inlined (to send with the rollback's SQL),
    each quoted by psycopg: a third of a cursor's ``mogrify`` of a list, once per step."""

    def quoted(value: str) -> str:
        return Literal(value).as_string(conn)

    listed = ", ".join(quoted(step) for step in steps)
    return (
        f"DELETE FROM {STEPS_TABLE} WHERE part = {quoted(part)}"
        f" AND step = ANY(ARRAY[{listed}]::text[])"
    )


def _steps(
    conn: psycopg.Connection[Any], columns: frozenset[str], where: str, params: tuple[Any, ...]
) -> list[RecordedStep]:
    """Rows as :class:`RecordedStep`; a column an older tmplmig's table lacks reads as NULL."""
    rows = conn.execute(_steps_query(columns, where), params).fetchall()
    return [RecordedStep(*row) for row in rows]


def _steps_query(columns: frozenset[str], where: str = "", versions: bool = False) -> str:
    """The query of :func:`_steps`: every column of :class:`RecordedStep`, NULL where the
    table (an older tmplmig's) lacks it, in part and position order (``versions``: and each
    row's ``xmin`` as text, last)."""
    selected = ", ".join(c if c in columns else f"NULL AS {c}" for c in _COLUMNS)
    selected += ", xmin::text" if versions else ""
    return f"SELECT {selected} FROM {STEPS_TABLE} {where} ORDER BY part, position"


def part_steps(conn: psycopg.Connection[Any], part: str) -> list[RecordedStep]:
    """The recorded steps of one part in applied order; empty when none (or no record yet)."""
    columns = _columns(conn)
    return _steps(conn, columns, "WHERE part = %s", (part,)) if columns else []


def read(conn: psycopg.Connection[Any]) -> Record:
    """The whole record of the tracking schema, with every row checked for hand edits."""
    columns = _columns(conn)
    if not columns:
        return Record()
    try:
        with conn.cursor() as cur:  # both in one message (no parameters: simple query)
            cur.execute(
                f"{_steps_query(columns, versions=True)};\n"
                f"SELECT digest, settings, xmin::text FROM {CONFIGS_TABLE};"
            )
            rows = cur.fetchall()
            steps = [RecordedStep(*row[:-1]) for row in rows]
            cur.nextset()
            config_rows = cur.fetchall()
            configs = {digest: settings for digest, settings, _ in config_rows}
            xmins = [row[-1] for row in rows] + [row[-1] for row in config_rows]
    except psycopg.Error as exc:
        if _in_transaction(conn):
            conn.rollback()
        return Record(problems=(f"the record cannot be read: {exc}",))
    problems = [p for s in steps if (p := s.problem()) is not None]
    for digest, settings in configs.items():
        if sha256(json.dumps(settings, sort_keys=True)) != digest:
            problems.append(f"recorded config {digest[:12]}: does not match its digest")
    problems += [
        f"{s.part}: {s.step}: its config {s.config_digest[:12]} is not recorded"
        for s in steps
        if s.config_digest not in configs
    ]
    grouped: dict[str, list[RecordedStep]] = {}
    for s in steps:
        grouped.setdefault(s.part, []).append(s)
    parts = {}
    for part, rows in grouped.items():
        latest = max(rows, key=lambda r: r.applied_at)
        parts[part] = PartRecord(part, tuple(rows), configs.get(latest.config_digest, {}))
    return Record(parts, tuple(problems), catalog_versions.record_digest(xmins), configs)


def flatten(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Config as key path to leaf value (lists are leaves, as the merge treats them)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


@dataclass(frozen=True)
class ConfigChange:
    """One key path whose value differs between the recorded and the current config."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        def show(value: Any) -> str:
            return "(unset)" if value is _UNSET else json.dumps(value).strip('"')

        return f"{self.path}: {show(self.old)} -> {show(self.new)}"


_UNSET: Any = object()


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ConfigChange]:
    """Key paths whose values differ, in key order."""
    before, after = flatten(old), flatten(new)
    return [
        ConfigChange(path, before.get(path, _UNSET), after.get(path, _UNSET))
        for path in sorted(before.keys() | after.keys())
        if before.get(path, _UNSET) != after.get(path, _UNSET)
    ]
