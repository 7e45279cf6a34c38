"""``status --all-tenants`` database by database: two connections (one with ``--jobs 1``)
and one query per batch of tracking schemas, instead of one connection (and one render) per
tenant.

A tenant's line in the fan-out's summary needs, per part, what ``status`` reads for it
(:func:`tmplmig.migrating.commands.status`): whether yoyo applied it, whether the record
has it, whether today's render differs from the record, and whether the recorded objects are
still in the catalog. The server answers all of it for every tracking schema of a database
at once, sending back per part a digest of the recorded steps (identity, apply SQL digest,
role), a fingerprint of the record (whether every row still carries its seal is checked
when the fingerprint is not one found sealed before), and how many recorded objects are gone;
today's render is digested the same way, once per shape of tenants (configs that differ by
schema and role names only), renamed for each tenant, and the digests kept between runs.

``plan --all-tenants`` reads the same way first: a tenant whose parts are all applied as
rendered today (or not applied) has nothing to plan (:mod:`tmplmig.migrating.fanout`).

Where the server cannot vouch for a tenant (a row whose seal it cannot recompute, a config
whose digest differs, a record from an older tmplmig, a database it cannot reach, a render
that fails), the tenant is left to the per-tenant path, which says exactly what is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tmplmig.database.presence import CHECKED_KINDS, PRESENT, QUOTED_NAMES
from tmplmig.database.urls import connect, named
from tmplmig.migrating import record
from tmplmig.migrating.seal_cache import SealCache
from tmplmig.migrating.tenants import tracking_schema
from tmplmig.migrating.yoyo_tracking import MIGRATION_TABLE, migration_hash
from tmplmig.rendering import cache
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.identifiers import common_prefix
from tmplmig.rendering.parts import Part, part_ids, render_all

#: tracking schemas read by one statement: planning grows faster than the schemas it names
#: (measured: 2.7 ms per schema at 50, 10 ms at 200)
BATCH = 50
#: a name renamed by plain substitution: quoted as ``"name"`` and ``'name'`` alike
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")

#: the record's columns the query reads that a record of an older tmplmig lacks
_NEEDED = ("role", "apply_guard", "rollback_guard", "objects")
#: one step as the digest of a part takes it, in both the server's query and :func:`digest`
_UNIT, _RECORD = "\x1f", "\x1e"


#: one step as the record compares it: identity, sha256 of its apply SQL, role
Unit = tuple[str, str, str | None]


def digest(steps: Iterable[Unit]) -> str:
    """The digest of a part's steps, in identity order: equal digests, equal steps. (A step
    recorded without a role matches any role, as in :func:`~tmplmig.migrating.states.step_changes`:
    its role is left out on both sides.)"""
    rows = (f"{i}{_UNIT}{sha}{_UNIT}{role or ''}" for i, sha, role in sorted(steps))
    return hashlib.sha256(_RECORD.join(rows).encode()).hexdigest()


def digest_as_recorded(steps: list[Unit], roleless: frozenset[str]) -> str:
    """The :func:`digest` of ``steps`` with the roles of the steps ``roleless`` names left out,
    as the record of a step run as the deploying login has it."""
    return digest((i, sha, None if i in roleless else role) for i, sha, role in steps)


def summary(states: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """A tenant's state and detail in the fan-out's summary, from (part id, state) in part
    order: pending first, then changed, objects missing, up to date (naming unrecorded parts)."""

    def having(state: str) -> str:
        return ", ".join(part for part, s in states if s == state)

    for state, shown in (("pending", "pending"), ("changed", "changed")):
        if having(state):
            return shown, having(state)
    if having("missing"):
        return "objects missing", having("missing")
    unrecorded = having("no record")
    return "up to date", f"no record: {unrecorded}" if unrecorded else ""


# --- today's render, once per shape ----------------------------------------------------------


#: what joins the steps' texts of a shape into one text (PostgreSQL text never holds it)
_SEP = "\0"


@dataclass
class _Shape:
    """The render of a shape's first tenant: its names by key path, each part's number of
    steps, and the steps' identities, apply SQL and roles; ``checked`` once a second tenant's
    real render agreed with this one renamed."""

    names: dict[str, str]
    sizes: list[tuple[str, int]]
    identities: str
    applies: str
    roles: list[str | None]
    checked: bool = False
    #: each part's digest for a tenant of this shape, by the tenant's names (:meth:`digests`)
    known: dict[str, list[str]] = field(default_factory=dict)
    #: whether :attr:`known` gained tenants since it was read from the cache
    grown: bool = False

    @classmethod
    def of(cls, names: dict[str, str], rendered: list[Part]) -> _Shape:
        steps = [s for p in rendered for s in p.steps]
        return cls(
            names,
            [(p.id, len(p.steps)) for p in rendered],
            _SEP.join(s.identity for s in steps),
            _SEP.join(s.apply for s in steps),
            [s.role for s in steps],
        )

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile("|".join(sorted(self.names.values(), key=len, reverse=True)))

    @cached_property
    def _prefix(self) -> str | None:
        """The prefix every name of the first tenant starts with, when it occurs in the texts
        only as the start of a name: renaming is then replacing it."""
        prefix = common_prefix(self.names.values())
        texts = self.identities + _SEP + self.applies
        found = len(self._pattern.findall(texts))
        return prefix if prefix and texts.count(prefix) == found else None

    def _renamed(self, text: str, renamed: dict[str, str], prefix: str | None) -> str:
        if self._prefix is not None and prefix is not None:
            return text.replace(self._prefix, prefix)
        return self._pattern.sub(lambda m: renamed[m.group(0)], text)

    def _prefix_of(self, renamed: dict[str, str]) -> str | None:
        """The prefix that replaces :attr:`_prefix` to rename this shape's names as
        ``renamed`` does (old name: new name), when one does."""
        prefix = common_prefix(renamed.values())
        if self._prefix is None or any(
            new != prefix + old[len(self._prefix) :] for old, new in renamed.items()
        ):
            return None
        return prefix

    def units(self, names: dict[str, str]) -> dict[str, list[Unit]]:
        """Each part's steps for a tenant of this shape whose names are ``names``."""
        renamed = {self.names[path]: name for path, name in names.items()}
        prefix = self._prefix_of(renamed)
        identities = self._renamed(self.identities, renamed, prefix).split(_SEP)
        applies = self._renamed(self.applies, renamed, prefix).split(_SEP)
        roles = [renamed.get(r, r) if r is not None else None for r in self.roles]
        steps = zip(identities, applies, roles, strict=True)
        return {
            pid: [(i, record.sha256(a), r) for i, a, r in itertools.islice(steps, size)]
            for pid, size in self.sizes
        }

    @cached_property
    def key(self) -> str | None:
        """The cache key of :attr:`known`: this render with its names' prefix cut out (so any
        tenant of the shape gives it), and the code that renames and digests; None when
        renaming is not replacing the prefix."""
        if self._prefix is None:
            return None
        cut = self._prefix
        names = {path: name[len(cut) :] for path, name in self.names.items()}
        roles = [r.split(cut) if r is not None else None for r in self.roles]
        listed = json.dumps([names, self.sizes, roles])
        texts = json.dumps([self.identities.split(cut), self.applies.split(cut)])
        return cache.digest(cache.source_stamp(__file__, record.__file__), listed, texts)

    def digests(self, names: dict[str, str], roleless: dict[str, frozenset[str]]) -> list[str]:
        """Each part's :func:`digest` for a tenant of this shape whose names are ``names``, the
        roles of the steps ``roleless`` names by part left out (as recorded); remembered by both
        (between runs too, in the cache) where renaming is replacing the prefix."""
        tenant = json.dumps([names, {p: sorted(r) for p, r in roleless.items()}], sort_keys=True)
        found = self.known.get(tenant)
        if found is None:
            found = [
                digest_as_recorded(steps, roleless.get(pid, frozenset()))
                for pid, steps in self.units(names).items()
            ]
            renamed = {self.names[path]: name for path, name in names.items()}
            if self._prefix_of(renamed) is not None:
                self.known[tenant] = found
                self.grown = True
        return found


def units(rendered: list[Part]) -> dict[str, list[Unit]]:
    """Each part's steps as the record compares them."""
    return {p.id: [(s.identity, record.sha256(s.apply), s.role) for s in p.steps] for p in rendered}


def shape_of(config: LoadedConfig) -> tuple[str, dict[str, str]] | None:
    """The shape of ``config`` (its settings but for schema and role names) and those names by
    key path; None when its names cannot be renamed by substitution (one is not plain, or is
    part of another, or two are one)."""
    data = config.settings.model_dump(mode="json")
    names = {
        f"{section}.{key}": name
        for section in ("schemas", "roles")
        for key, name in data.pop(section).items()
    }
    values = list(names.values())
    if len(set(values)) < len(values) or not all(_PLAIN.fullmatch(v) for v in values):
        return None
    if any(a != b and a in b for a in values for b in values):
        return None
    return json.dumps([config.env, data], sort_keys=True), names


@dataclass
class Today:
    """Today's render of one tenant as the record compares it: each part's steps, made when
    first needed, and (for a tenant whose shape renames) each part's digest, the roles of the
    steps ``roleless`` names left out."""

    steps: Callable[[], dict[str, list[Unit]]]
    digests: dict[str, str] | None = None
    roleless: dict[str, frozenset[str]] = field(default_factory=dict)

    @cached_property
    def units(self) -> dict[str, list[Unit]]:
        return self.steps()

    def digest(self, part: str, roleless: frozenset[str]) -> str:
        """The digest of ``part``'s steps, the roles of ``roleless`` left out (as recorded)."""
        digests = self.digests or {}
        if part in digests and roleless == self.roleless.get(part, frozenset()):
            return digests[part]
        return digest_as_recorded(self.units.get(part, []), roleless)


#: the cache entries of a shape's part digests by tenant (:meth:`_Shape.digests`)
DIGESTS = "fleet_digests"


@dataclass
class Renders:
    """Digests of today's render per tenant, rendering once per shape where renaming the first
    tenant's render gives what a render of the tenant would (checked on the second tenant of
    each shape; a shape that fails the check renders every tenant)."""

    project: Path
    shapes: dict[str, _Shape | None] = field(default_factory=dict)

    def units(self, config: LoadedConfig) -> dict[str, list[Unit]]:
        """Each part's steps as today's render for ``config`` has them."""
        shaped = shape_of(config)
        if shaped is None:
            return units(render_all(self.project, config))
        key, names = shaped
        if key not in self.shapes:
            self.shapes[key] = _Shape.of(names, render_all(self.project, config))
        shape = self.shapes[key]
        if shape is None:
            return units(render_all(self.project, config))
        if not shape.checked and names != shape.names:
            real = units(render_all(self.project, config))
            shape.checked = real == shape.units(names)
            if not shape.checked:
                self.shapes[key] = None
            return real
        return shape.units(names)

    def today(
        self, config: LoadedConfig, roleless: dict[str, frozenset[str]] | None = None
    ) -> Today:
        """Today's render for ``config``: digests from its shape's render renamed, when the
        shape's check passed (the check itself renders), with the roles of the steps
        ``roleless`` names by part left out."""
        shaped = shape_of(config)
        if shaped is None or (shaped[0] in self.shapes and self.shapes[shaped[0]] is None):
            return Today(lambda: self.units(config))
        shape = self.shapes.get(shaped[0])
        if shape is None or (not shape.checked and shaped[1] != shape.names):
            real = self.units(config)  # the shape's first render, or its check
            shape = self.shapes[shaped[0]]
            if shape is None or (not shape.checked and shaped[1] != shape.names):
                return Today(lambda: real)
        if not shape.known and shape.key is not None:
            kept = cache.read(DIGESTS, shape.key)
            shape.known = kept if isinstance(kept, dict) else {}
        roleless = {p: r for p, r in (roleless or {}).items() if r}
        found = shape.digests(shaped[1], roleless)
        digests = dict(zip((pid for pid, _ in shape.sizes), found, strict=True))
        return Today(lambda: shape.units(shaped[1]), digests, roleless)

    def save(self) -> None:
        """Keep the part digests the shapes gained for the next run."""
        for shape in self.shapes.values():
            if shape is not None and shape.grown and shape.key is not None:
                cache.write(DIGESTS, shape.key, shape.known)
                shape.grown = False


# --- the tracking schemas of one database ----------------------------------------------------


@dataclass(frozen=True)
class _Recorded:
    """One part as the server summed up its recorded rows."""

    digest: str
    #: the steps recorded without a role (run as the deploying login): any role matches
    roleless: frozenset[str]
    #: recorded objects the catalog no longer holds
    gone: int


@dataclass(frozen=True)
class Tracked:
    """What one tenant's tracking schema holds: yoyo's applied hashes and the record by part;
    ``trusted`` False when the server could not vouch for the record."""

    hashes: frozenset[str]
    parts: dict[str, _Recorded]
    trusted: bool


_TABLES = """
SELECT n.nspname, c.relname,
    (SELECT count(*) FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = c.oid AND a.attname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
WHERE n.nspname = ANY(%s) AND c.relname = ANY(%s) AND c.relkind = 'r'
"""

#: python's ``json.dumps`` of the sealed columns (strings and None), as a record row's seal
#: takes them (:func:`record._row_sha256`); a row where it differs is checked by the tenant's own
#: status, so a difference in JSON spelling only costs time
SEALED_JSON = (
    "json_build_array(r.part, r.step, r.apply_sha256, r.rollback_sql, r.config_digest, r.role,"
    " r.apply_guard, r.rollback_guard, r.objects)::text"
)

#: one tracking schema's record rows ({t}: its number in the batch, {s}: the schema), each
#: with its place and the transaction that wrote it (for the record's fingerprint)
_ROWS = f"""SELECT {{t}} AS t, r.part, r.step, r.apply_sha256, r.role, r.objects,
    r.ctid AS place, r.xmin::text || r.row_sha256 AS mark
FROM {{s}}.{record.STEPS_TABLE} r"""

_NO_ROWS = (
    "SELECT NULL::int AS t, NULL::text AS part, NULL::text AS step, NULL::text AS apply_sha256,"
    " NULL::text AS role, NULL::text AS objects, NULL::tid AS place, NULL::text AS mark"
    " WHERE false"
)
#: one tracking schema's yoyo hashes
_HASHES = "SELECT {t} AS t, y.migration_hash FROM {s}.{m} y"
#: the places and writers of one tracking schema's recorded configs (for the fingerprint)
_CONFIGS = f"""SELECT {{t}} AS t, c.ctid AS place, c.xmin::text AS writer
FROM {{s}}.{record.CONFIGS_TABLE} c"""
_NO_CONFIGS = "SELECT NULL::int AS t, NULL::tid AS place, NULL::text AS writer WHERE false"

#: the batch: per tracking schema its hashes, the fingerprint of its record (its rows' and
#: configs' places and writers: any write to a row moves it and changes its writer) and per
#: part the digest of its steps, the steps without a role and the objects gone (the catalog is
#: asked once for the whole batch). Each table is scanned once, tagged with its schema's
#: number in the batch (``t``), and grouped by it: a sub-select per schema costs more to plan
#: than to run. The recorded objects are expanded as jsonb, parsed once per row.
_BATCH = f"""WITH r AS MATERIALIZED ({{rows}}),
g AS (
    SELECT o.t, o.part, count(*) AS gone FROM (
        SELECT t, part, kind, name, schema, {QUOTED_NAMES}
        FROM (SELECT r.t, r.part, e->>0 AS kind, e->>1 AS schema, e->>2 AS name, e->>3 AS tab
              FROM r, jsonb_array_elements(r.objects::jsonb) e) x
        WHERE kind IN ({", ".join(f"'{kind}'" for kind in sorted(CHECKED_KINDS))})
    ) o WHERE NOT {PRESENT} GROUP BY o.t, o.part
),
a AS (
    SELECT t, part,
        encode(sha256(convert_to(string_agg(
            step || E'{_UNIT}' || apply_sha256 || E'{_UNIT}' || coalesce(role, ''),
            E'{_RECORD}' ORDER BY step COLLATE "C"), 'UTF8')), 'hex') AS digest,
        coalesce(array_agg(step) FILTER (WHERE role IS NULL), ARRAY[]::text[]) AS roleless
    FROM r GROUP BY t, part
),
f AS (SELECT t, md5(string_agg(place::text || mark, ',' ORDER BY place)) AS rows FROM r GROUP BY t),
p AS (
    SELECT t, json_agg(json_build_array(part, digest, roleless, coalesce(gone, 0))) AS parts
    FROM a LEFT JOIN g USING (t, part) GROUP BY t
),
h AS (SELECT t, array_agg(migration_hash) AS hashes FROM ({{hashes}}) y GROUP BY t),
k AS (
    SELECT t, string_agg(place::text || writer, ',' ORDER BY place) AS marks
    FROM ({{configs}}) c GROUP BY t
)
SELECT b.t, coalesce(h.hashes, ARRAY[]::text[]), p.parts,
    encode(sha256(convert_to(coalesce(f.rows, '') || '|' || coalesce(k.marks, ''), 'UTF8')), 'hex')
FROM generate_series(0, {{last}}) b(t)
    LEFT JOIN h USING (t) LEFT JOIN p USING (t) LEFT JOIN k USING (t) LEFT JOIN f USING (t)"""

#: whether every record row of one tracking schema is sealed: its apply SQL matches its digest
#: and its seal, and its config is recorded (NULL: no rows); and its recorded configs
_SEALED = f"""SELECT {{t}} AS t, (
    SELECT bool_and(
        encode(sha256(convert_to(r.apply_sql, 'UTF8')), 'hex') = r.apply_sha256
        AND r.row_sha256 = 'v3:' || encode(sha256(convert_to({SEALED_JSON}, 'UTF8')), 'hex')
        AND EXISTS (SELECT FROM {{s}}.{record.CONFIGS_TABLE} c WHERE c.digest = r.config_digest))
    FROM {{s}}.{record.STEPS_TABLE} r
), (SELECT json_agg(json_build_array(c.digest, c.settings)) FROM {{s}}.{record.CONFIGS_TABLE} c)"""


def _batch(batch: list[str], found: dict[str, dict[str, int]]) -> sql.Composed:
    """The query over the tracking schemas of ``batch`` (each holding yoyo's tables)."""
    rows, hashes, configs = [], [], []
    m = sql.Identifier(MIGRATION_TABLE)
    for t, schema in enumerate(batch):
        names = {"t": sql.Literal(t), "s": sql.Identifier(schema)}
        hashes.append(sql.SQL(_HASHES).format(**names, m=m))
        if set(record.TABLES) <= set(found[schema]):
            rows.append(sql.SQL(_ROWS).format(**names))
            configs.append(sql.SQL(_CONFIGS).format(**names))
    union = sql.SQL(" UNION ALL ")
    return sql.SQL(_BATCH).format(
        rows=union.join(rows or [sql.SQL(_NO_ROWS)]),
        hashes=union.join(hashes),
        configs=union.join(configs or [sql.SQL(_NO_CONFIGS)]),
        last=sql.Literal(len(batch) - 1),
    )


def _sealed(conn: psycopg.Connection[Any], schemas: dict[int, str]) -> dict[int, bool]:
    """Whether the record of each tracking schema (by its number in the batch) is sealed:
    every row's seal recomputed, every config's digest too."""
    if not schemas:
        return {}
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL(_SEALED).format(t=sql.Literal(t), s=sql.Identifier(schema))
        for t, schema in schemas.items()
    )
    return {
        t: sealed is not False and _trusted_configs(configs)
        for t, sealed, configs in conn.execute(query)
    }


def _trusted_configs(configs: list[list[Any]] | None) -> bool:
    """Every recorded config matches its digest (as :func:`record.read` checks it)."""
    return all(
        record.sha256(json.dumps(settings, sort_keys=True)) == digest
        for digest, settings in configs or ()
    )


def read_tracking(
    conn: psycopg.Connection[Any], schemas: list[str], seals: SealCache
) -> Iterator[dict[str, Tracked | None]]:
    """What each tracking schema of ``schemas`` holds, read a batch at a time (each answer as
    soon as it is read); None for a schema the server cannot vouch for (a record an older
    tmplmig wrote lacks columns).

    A record whose fingerprint ``seals`` holds from a run that found it sealed (every row's
    seal and every config's digest) is taken as sealed; any other is verified row by row, in
    the same snapshot, and ``seals`` updated."""
    found: dict[str, dict[str, int]] = {}
    tables = [MIGRATION_TABLE, *record.TABLES]
    for schema, table, columns in conn.execute(_TABLES, (list(_NEEDED), schemas, tables)):
        found.setdefault(schema, {})[table] = columns
    out: dict[str, Tracked | None] = {}
    for schema in schemas:
        held = found.get(schema, {})
        recorded = [table in held for table in record.TABLES]
        half = any(recorded) and not all(recorded)  # the per-tenant path says it is unreadable
        older = held.get(record.STEPS_TABLE, len(_NEEDED)) < len(_NEEDED)
        if MIGRATION_TABLE not in held:  # never applied: yoyo finds nothing
            out[schema] = Tracked(frozenset(), {}, True)
        elif half or older:
            out[schema] = None
    yield out
    asked = [s for s in schemas if s not in out]
    for start in range(0, len(asked), BATCH):
        batch, out = asked[start : start + BATCH], {}
        with conn.transaction():  # one snapshot: the rows verified are the rows read
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            read = conn.execute(_batch(batch, found)).fetchall()
            prints = {i: fingerprint for i, *_, fingerprint in read}
            unknown = {
                i: batch[i]
                for i, *_ in read
                if set(record.TABLES) <= set(found[batch[i]]) and seals.get(batch[i]) != prints[i]
            }
            sealed = _sealed(conn, unknown)
        for i, hashes, parts, _ in read:
            recorded = {p: _Recorded(d, frozenset(n), int(g or 0)) for p, d, n, g in parts or ()}
            trusted = sealed.get(i, True)
            out[batch[i]] = Tracked(frozenset(hashes), recorded, trusted)
            if trusted:
                seals.verified(batch[i], prints[i])
            else:
                seals.forget(batch[i])
        yield out


def part_state(part: str, tracked: Tracked, today: Today) -> str:
    """One part's state as ``status`` names it."""
    if migration_hash(part) not in tracked.hashes:
        return "pending"
    recorded = tracked.parts.get(part)
    if recorded is None:
        return "no record"
    if recorded.digest != today.digest(part, recorded.roleless):
        return "changed"
    return "missing" if recorded.gone else "applied"


def tenant_states(
    project: Path,
    configs: Sequence[LoadedConfig],
    database: str,
    renders: Renders,
    readers: int = 1,
) -> Iterator[tuple[LoadedConfig, list[tuple[str, str]] | None]]:
    """Each tenant of ``configs`` (all in ``database``, a yoyo URL) with its parts' states,
    or None where only the per-tenant path can tell; ``readers``: connections reading the
    tracking schemas at once (at most :data:`READERS`)."""
    ids = part_ids(project / "templates")
    by_schema = {tracking_schema(c.tenant or ""): c for c in configs}
    schemas, env = list(by_schema), configs[0].env
    tracked: dict[str, Tracked | None] = {}
    for answered in _read_beside(database, env, schemas, max(1, min(readers, READERS))):
        tracked.update(answered)
        for schema in answered:
            config = by_schema[schema]
            found = tracked[schema]
            if found is None or not found.trusted:
                yield config, None
                continue
            try:
                roleless = {p: r.roleless for p, r in found.parts.items()}
                today = renders.today(config, roleless) if found.parts else Today(dict)
                states = [(part, part_state(part, found, today)) for part in ids]
            except Exception:  # the per-tenant path reports the render's error
                yield config, None
                continue
            yield config, states


#: connections that read one database's tracking schemas at once: the server's work on a
#: batch outweighs the client's on its answer, so a second reader keeps a second core busy
READERS = 2


def _open(database: str, env: str) -> psycopg.Connection[Any]:
    """A connection that reads tracking schemas (read only, no JIT)."""
    conn = connect(named(database, "status", env, None))
    try:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        # the planner prices the JSON expansion of every row high, and compiling the query
        # with JIT took seconds for a query that runs in milliseconds
        conn.execute("SET jit = off")
    except BaseException:
        conn.close()
        raise
    return conn


def _read_beside(
    database: str, env: str, schemas: list[str], readers: int = 1
) -> Iterator[dict[str, Tracked | None]]:
    """:func:`read_tracking` in ``readers`` threads of their own (each its share of
    ``schemas`` on its own connection), a batch ahead: the server reads the next batches while
    the caller renders and compares the last one. The seals are remembered once all are read."""
    answers: queue.Queue[dict[str, Tracked | None] | BaseException | None] = queue.Queue(
        2 * readers
    )
    first = _open(database, env)
    try:
        seals = SealCache.of(first)
    except BaseException:
        first.close()
        raise

    def read(conn: psycopg.Connection[Any] | None, share: list[str]) -> None:
        try:
            with conn or _open(database, env) as opened:
                for answer in read_tracking(opened, share, seals):
                    answers.put(answer)
                    if stopped.is_set():
                        return
            answers.put(None)
        except BaseException as exc:  # raised in the caller's thread
            answers.put(exc)

    stopped = threading.Event()
    threads = [
        threading.Thread(
            target=read,
            args=(first if n == 0 else None, schemas[n::readers]),
            name=f"tmplmig-status-read-{n}",
            daemon=True,
        )
        for n in range(readers)
    ]
    for thread in threads:
        thread.start()
    try:
        done = 0
        while done < readers:
            answer = answers.get()
            if answer is None:
                done += 1
            elif isinstance(answer, BaseException):
                raise answer
            else:
                yield answer
        seals.save()
    finally:  # the caller stopped early: let the readers finish their batches and close
        stopped.set()
        while any(thread.is_alive() for thread in threads):
            with contextlib.suppress(queue.Empty):
                answers.get(timeout=0.1)
