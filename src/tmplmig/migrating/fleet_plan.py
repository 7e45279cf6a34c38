"""``plan --all-tenants`` by shape: plan one tenant of each shape, rename its plan for the others.

Tenants of one database whose configs differ by their schema and role names only (one
*shape*, :func:`fleet_status.shape_of`), whose names' prefixes are as long, and whose parts
stand alike (status's wide read) form a group. Its first tenant is planned as one tenant is
(:func:`commands.plan_bundle`: record, drift check, planner, bundle); so is its last, without
the drift check, to check that the first's plan renamed (:func:`renamed`) is its own byte for
byte. The plan must rename nothing, drop nothing and lose nothing
(:attr:`~commands.PlanBundle.portable`): a row count or a role another database uses is
measured per tenant. Meanwhile the server reads every member's digests (:func:`read_digests`):

- its record: every recorded row (guards, role, objects, position, the config it was recorded
  with; the SQL of the changed parts), its names' prefix replaced by a mark;
- its catalog: every row the drift check compares (:data:`catalog.QUERIES`: ACLs, index and
  constraint definitions, validity, columns, function bodies, triggers, roles' attributes,
  default privileges, comments) of its schemas and roles, its prefix marked the same way.

A tenant whose digests are the first's holds the first's record and catalog with its own names
(a text that held the mark is never compared), so the first's drift check stands for its own.
Once the first's check is found remembered and its catalog still as it passed, it is remembered
for those tenants too (:meth:`CatalogMemory.share`: their apply's check stays one scoped read),
and each gets the first's plan renamed. Any other tenant is planned on its own: a hand-dropped
index, a revoked grant, an INVALID index or an altered function body in one tenant makes its
digest differ, and its own drift check says what is wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg
from psycopg import sql

from tmplmig.database import catalog, catalog_versions
from tmplmig.database.catalog_versions import one_snapshot
from tmplmig.database.schema_functions import functions
from tmplmig.database.urls import connect
from tmplmig.database.urls import named as named_url
from tmplmig.migrating import record
from tmplmig.migrating.commands import PlanBundle
from tmplmig.migrating.fleet_status import shape_of
from tmplmig.migrating.tenants import tracking_schema
from tmplmig.migrating.yoyo_tracking import MIGRATION_TABLE
from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.parts import config_digest
from tmplmig.reviewing import catalog_fingerprint
from tmplmig.reviewing.bundle import MANIFEST, BundleFile, manifest_files, manifest_text
from tmplmig.reviewing.catalog_fingerprint import MARK, CatalogMemory, name_prefix

#: tenants whose digests one statement reads
BATCH = 50
#: a group's tenants planned on their own: the first, and the last, which checks the first's
#: plan renamed
CHECKED = 2


@dataclass(frozen=True)
class Member:
    """A tenant as its group sees it: its config, the prefix every one of its schema and role
    names starts with, and those names."""

    config: LoadedConfig
    prefix: str
    names: tuple[str, ...]

    @property
    def tenant(self) -> str:
        assert self.config.tenant is not None
        return self.config.tenant

    @cached_property
    def digest(self) -> str:
        """Its config's digest, as its plan's files show it (the first's, once per group)."""
        return config_digest(self.config)


def member(config: LoadedConfig) -> tuple[str, Member] | None:
    """The shape key of ``config`` and the tenant as a member of its group; None when its names
    do not rename by substitution or share no prefix."""
    shaped = shape_of(config)
    if shaped is None or config.tenant is None:
        return None
    key, names = shaped
    prefix = name_prefix(names.values())
    if not prefix:
        return None
    return key, Member(config, prefix, tuple(sorted(names.values())))


# --- what the server compares ----------------------------------------------------------------

#: a record row as the comparison takes it: every column the plan and the drift check's replay
#: read but the SQL, quoted; the SQL both ways only for the parts ``%(changed)s`` names, the
#: changed ones (an applied part's apply SQL is today's render, renamed: status compared its
#: digests); and the config it was recorded with (``c.settings``, once per config)
_RECORD_ROW = (
    "pg_catalog.concat_ws(',', pg_catalog.quote_nullable(r.part),"
    " pg_catalog.quote_nullable(r.step), r.position, pg_catalog.quote_nullable(r.kind),"
    " pg_catalog.quote_nullable(r.name), pg_catalog.quote_nullable(r.role),"
    " pg_catalog.quote_nullable(r.apply_guard), pg_catalog.quote_nullable(r.rollback_guard),"
    " pg_catalog.quote_nullable(r.objects), pg_catalog.quote_nullable(c.settings),"
    " CASE WHEN r.part = ANY(%(changed)s) THEN pg_catalog.quote_nullable(r.apply_sql) || ','"
    " || pg_catalog.quote_nullable(r.rollback_sql) END)"
)
_RECORD = f"""SELECT {{t}} AS t, 'record' AS kind, {_RECORD_ROW} AS row
FROM {{s}}.{record.STEPS_TABLE} r LEFT JOIN (
    SELECT digest, CASE WHEN pg_catalog.strpos(settings::text, E'\\x01') > 0 THEN E'\\x01'
        ELSE pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
            pg_catalog.replace(settings::text, {{p}}, E'\\x01'), 'UTF8')), 'hex') END AS settings
    FROM {{s}}.{record.CONFIGS_TABLE}
) c ON c.digest = r.config_digest"""

#: the names of the objects in one tenant's schemas (%(s)s: the schemas): a shape's tenants
#: name their relations, functions and constraints alike, so the first's names find every
#: tenant's objects through the catalog's indexes (name, namespace), not by scanning it. An
#: object of another name is not compared, nor does a tenant's drift check compare it: its
#: catalog read is narrowed to the names the record's replay made
_NAMES = """SELECT
    ARRAY(SELECT DISTINCT c.relname::text FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%(s)s)),
    ARRAY(SELECT DISTINCT p.proname::text FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%(s)s)),
    ARRAY(SELECT DISTINCT co.conname::text FROM pg_catalog.pg_constraint co
          JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace
          WHERE n.nspname = ANY(%(s)s))"""

#: the oids of a batch's objects, found by name through the catalog's indexes (name,
#: namespace; functions among their schemas' dependents): %(ns)s its schemas' oids, %(s)s its
#: role names, %(r)s, %(p)s, %(c)s the relation, function and constraint names
_OIDS = f"""WITH rel AS (SELECT c.oid FROM pg_catalog.pg_class c
        WHERE c.relname = ANY(%(r)s::name[]) AND c.relnamespace = ANY(%(ns)s::oid[])),
pro AS ({functions("= ANY(%(ns)s::oid[])", "= ANY(%(p)s::name[])")}),
con AS (SELECT co.oid FROM pg_catalog.pg_constraint co
        WHERE co.conname = ANY(%(c)s::name[]) AND co.connamespace = ANY(%(ns)s::oid[])),
trg AS (SELECT t.oid FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rel))
SELECT %(ns)s::oid[], ARRAY(SELECT oid FROM rel), ARRAY(SELECT oid FROM pro),
    ARRAY(SELECT oid FROM con), ARRAY(SELECT oid FROM trg),
    ARRAY(SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%(s)s::name[]))"""
#: the oids of the batch's schemas (%(s)s: its schema and role names)
_SCHEMAS = (
    "SELECT ARRAY(SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY(%(s)s::name[]))"
)

#: a kind of :data:`catalog.QUERIES`: what narrows it to the batch's objects (appended to its
#: WHERE; %(ns)s, %(rel)s, %(pro)s, %(con)s, %(trg)s, %(rol)s: their oids, :data:`_OIDS`) and
#: which column names the tenant a row belongs to
_OWNED: dict[str, tuple[str, str]] = {
    "schemas": (" AND n.oid = ANY(%(ns)s::oid[])", "q.c0"),
    "tables": (" AND c.oid = ANY(%(rel)s::oid[])", "q.c0"),
    "column_privileges": (" AND c.oid = ANY(%(rel)s::oid[])", "q.c0"),
    "indexes": (" AND i.indexrelid = ANY(%(rel)s::oid[])", "q.c0"),
    "constraints": (" AND co.oid = ANY(%(con)s::oid[])", "q.c0"),
    "functions": (" AND p.oid = ANY(%(pro)s::oid[])", "q.c0"),
    "columns": (" AND c.oid = ANY(%(rel)s::oid[])", "q.c0"),
    "triggers": (" AND t.oid = ANY(%(trg)s::oid[])", "pg_catalog.split_part(q.c0, '.', 1)"),
    "roles": (" AND r.oid = ANY(%(rol)s::oid[])", "q.c0"),
    "default_privileges": (" WHERE d.defaclrole = ANY(%(rol)s::oid[])", "coalesce(q.c1, q.c0)"),
    "comments": (
        " AND ds.objoid = ANY(%(ns)s::oid[] || %(rel)s::oid[] || %(pro)s::oid[]"
        " || %(con)s::oid[] || %(trg)s::oid[])",
        "",  # its rows name objects in text: matched by any name of a tenant
    ),
}
assert set(_OWNED) == set(catalog.QUERIES)
assert MARK == "\x01"  # the SQL here spells it E'\\x01'

#: per tenant of the batch (``t``), the digest of its rows with its prefix marked, and
#: whether one of them held the mark before (then nothing is vouched for)
_DIGESTS = """SELECT x.t,
    pg_catalog.md5(pg_catalog.string_agg(x.kind || E'\\x1f' || x.row, E'\\x1e'
        ORDER BY x.kind, x.row COLLATE "C")),
    bool_or(x.marked)
FROM (SELECT DISTINCT o.t, o.kind, pg_catalog.replace(o.row, p.prefix, E'\\x01') AS row,
        pg_catalog.strpos(o.row, E'\\x01') > 0 AS marked
    FROM ({rows}) o JOIN unnest(%(ts)s::int[], %(prefixes)s::text[]) AS p(t, prefix) USING (t)) x
GROUP BY x.t"""


def _catalog_rows(
    conn: psycopg.Connection[Any],
    batch: Sequence[Member],
    named: tuple[list[str], ...],
    ts: Sequence[int],
) -> tuple[sql.Composable, dict[str, Any]]:
    """Every catalog row of the batch's objects (``named``: the relation, function and
    constraint names a tenant of the shape has), as (t, kind, row text), ``ts`` numbering
    the batch's members."""
    names = [name for m in batch for name in m.names]
    owners = [t for t, m in zip(ts, batch, strict=True) for _ in m.names]
    relations, functions, constraints = named
    schemas = (conn.execute(_SCHEMAS, {"s": names}).fetchone() or ([],))[0]
    values = {"s": names, "ns": schemas, "r": relations, "p": functions, "c": constraints}
    found = conn.execute(_OIDS, values)
    oids = dict(zip(("ns", "rel", "pro", "con", "trg", "rol"), found.fetchone() or (), strict=True))
    selects: list[sql.Composable] = []
    for kind, query in catalog.QUERIES.items():
        narrowing, owner = _OWNED[kind]
        query = query.replace(catalog.BODY_MD5, "p.prosrc")
        columns = ", ".join(f"c{i}" for i in range(len(catalog.COLUMNS[kind][1])))
        matched = f"{owner} = m.name" if owner else "pg_catalog.strpos(q.c0, m.name) > 0"
        selects.append(
            sql.SQL(
                f"SELECT m.t, '{kind}' AS kind, q::text AS row"
                f" FROM ({query}{narrowing}) AS q({columns})"
                " JOIN unnest(%(names)s::text[], %(owners)s::int[]) AS m(name, t) ON " + matched
            )
        )
    return sql.SQL(" UNION ALL ").join(selects), {**oids, "names": names, "owners": owners}


def _record_rows(
    batch: Sequence[Member], ts: Sequence[int], changed: list[str]
) -> tuple[sql.Composable, dict[str, Any]]:
    """Every record row of the batch's tracking schemas, as (t, kind, row text), ``ts``
    numbering the batch's members."""
    rows = sql.SQL(" UNION ALL ").join(
        sql.SQL(_RECORD).format(
            t=sql.Literal(t), s=sql.Identifier(tracking_schema(m.tenant)), p=sql.Literal(m.prefix)
        )
        for t, m in zip(ts, batch, strict=True)
    )
    return rows, {"changed": changed}


@dataclass(frozen=True)
class Digests:
    """One tenant's record, renamed to its shape and digested, and its catalog the same way;
    or, when its own remembered drift check is of the record it holds and would pass now
    (:func:`catalog_fingerprint.vouched`), neither (but the group's first's record): then
    ``vouched`` is that record's rows, renamed and digested as that check remembered them."""

    record: str | None
    catalog: str | None
    vouched: str | None = None


def read_digests(
    conn: psycopg.Connection[Any],
    batch: Sequence[Member],
    changed: list[str],
    named: Callable[[psycopg.Connection[Any]], tuple[list[str], ...]],
    remembered: Sequence[tuple[str, str]] | None = None,
    first: Member | None = None,
) -> list[Digests | None]:
    """The :class:`Digests` of each member of ``batch``, in one snapshot (``changed``: the parts
    whose recorded SQL is compared; ``named``: the object names of a tenant of the shape,
    :func:`object_names`); None for a tenant where a text held the mark. A member whose own
    remembered check (``remembered``: its key and tracking schema) would pass now is not
    digested (:func:`catalog_fingerprint.vouched`), but for the record of the group's
    ``first``."""
    entries = [(k, m.prefix, s) for (k, s), m in zip(remembered or (), batch, strict=True)]
    found: list[dict[str, str | None]] = [{} for _ in batch]
    marked = [False] * len(batch)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SET LOCAL jit = off")  # many small lookups
        # the names as the checks spelled them (the session's search_path)
        vouched = catalog_fingerprint.vouched(conn, entries) if entries else [None] * len(batch)
        conn.execute("SET LOCAL search_path TO pg_catalog")  # regclass text: schema-qualified
        # every lookup goes by oid or by name and namespace, through the catalog's indexes; the
        # names every tenant shares match rows of all of them, so the planner would estimate a
        # scan of the whole catalog, which grows with the tenants, as the cheaper way
        conn.execute("SET LOCAL enable_seqscan = off")
        unvouched = [t for t in range(len(batch)) if vouched[t] is None]
        recorded = [t for t, m in enumerate(batch) if vouched[t] is None or m is first]
        reads = []
        if recorded:
            chosen = [batch[t] for t in recorded]
            rows = _record_rows(chosen, recorded, changed)
            reads.append(("record", rows, _marks(chosen, recorded)))
        if unvouched:
            chosen = [batch[t] for t in unvouched]
            rows = _catalog_rows(conn, chosen, named(conn), unvouched)
            reads.append(("catalog", rows, _marks(chosen, unvouched)))
        for what, (query, args), marks in reads:
            statement = sql.SQL(_DIGESTS).format(rows=query)
            for t, digest, held in conn.execute(statement, {**args, **marks}):
                found[t][what] = digest
                marked[t] = marked[t] or bool(held)
    return [
        None if marked[t] else Digests(found[t].get("record"), found[t].get("catalog"), vouched[t])
        for t in range(len(batch))
    ]


def _marks(members: Sequence[Member], ts: Sequence[int]) -> dict[str, Any]:
    """What :data:`_DIGESTS` marks of each of ``members`` (numbered by ``ts``): its prefix."""
    return {"ts": list(ts), "prefixes": [m.prefix for m in members]}


def object_names(conn: psycopg.Connection[Any], first: Member) -> tuple[list[str], ...]:
    """The relation, function and constraint names in the schemas of ``first``."""
    row = conn.execute(_NAMES, {"s": list(first.names)}).fetchone()
    return tuple(list(names) for names in row or ([], [], []))


def _read_all(
    database: str,
    env: str,
    members: Sequence[Member],
    changed: list[str],
    named: Callable[[psycopg.Connection[Any]], tuple[list[str], ...]],
    tracked: Callable[[LoadedConfig], str],
    first: Member,
) -> list[Digests | None]:
    """:func:`read_digests` of ``members``, a batch at a time, on a connection of its own, with
    the object names of the group's ``first`` member and each one's remembered drift check,
    at its ``tracked`` URL."""
    with connect(named_url(database, "plan", env, None)) as conn:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.execute("SET jit = off")
        conn.execute("SET max_parallel_workers_per_gather = 0")  # the readers are the parallelism
        out: list[Digests | None] = []
        for start in range(0, len(members), BATCH):
            batch = members[start : start + BATCH]
            remembered = [
                (CatalogMemory.key_at(tracked(m.config)), tracking_schema(m.tenant)) for m in batch
            ]
            out += read_digests(conn, batch, changed, named, remembered, first)
        return out


class _FirstNames:
    """The object names of a group's first member (:func:`object_names`), read once, by the
    first reader that digests a catalog."""

    def __init__(self, first: Member) -> None:
        self._first = first
        self._lock = threading.Lock()
        self._names: tuple[list[str], ...] | None = None

    def __call__(self, conn: psycopg.Connection[Any]) -> tuple[list[str], ...]:
        with self._lock:
            if self._names is None:
                self._names = object_names(conn, self._first)
            return self._names


def _read_beside(
    database: str,
    env: str,
    members: Sequence[Member],
    changed: list[str],
    readers: int,
    tracked: Callable[[LoadedConfig], str],
) -> Future[list[Digests | None]]:
    """:func:`read_digests` of every member, ``readers`` connections at once, in threads of
    their own (the first plans of the group run meanwhile)."""
    result: Future[list[Digests | None]] = Future()
    named = _FirstNames(members[0])
    shares = [list(members[n::readers]) for n in range(readers)]
    answers: dict[str, Digests | None] = {}
    guard = threading.Lock()

    def read(share: list[Member]) -> None:
        try:
            found = _read_all(database, env, share, changed, named, tracked, members[0])
        except BaseException as exc:  # the group is planned tenant by tenant
            with guard:
                if not result.done():
                    result.set_exception(exc)
            return
        with guard:
            answers.update(zip((m.tenant for m in share), found, strict=True))
            if len(answers) == len(members) and not result.done():
                result.set_result([answers[m.tenant] for m in members])

    for n, share in enumerate(shares):
        name = f"tmplmig-plan-read-{n}"
        threading.Thread(target=read, args=(share,), name=name, daemon=True).start()
    return result


# --- one plan, renamed -----------------------------------------------------------------------


def renamed(contents: dict[str, str], first: Member, other: Member) -> dict[str, str]:
    """``first``'s plan bundle as ``other``'s: its names' prefix, tenant and config digest
    replaced, and the MANIFEST's digests of the files made anew."""
    marks = {
        first.digest: ("\x00d", other.digest),
        f"tenant: {first.tenant}\n": ("\x00t", f"tenant: {other.tenant}\n"),
        f", tenant {first.tenant}\n": ("\x00r", f", tenant {other.tenant}\n"),
    }

    def rename(text: str) -> str:
        for old, (mark, _) in marks.items():
            text = text.replace(old, mark)
        text = text.replace(first.prefix, other.prefix)
        for mark, new in marks.values():
            text = text.replace(mark, new)
        return text

    out = {name: rename(text) for name, text in contents.items() if name != MANIFEST}
    if MANIFEST in contents:
        files = [
            BundleFile(name, name.split(".", 1)[0], direction, out[name])
            for direction in ("apply", "rollback")
            for name in manifest_files(contents[MANIFEST], direction)
        ]
        out[MANIFEST] = manifest_text(files, other.config)
    return out


#: the part states a group's tenants may have: any other is for the tenant's own plan to name
_GROUPED = frozenset({"applied", "pending", "changed"})


@dataclass(frozen=True)
class Group:
    """Tenants of one database and shape whose parts stand alike and whose names' prefixes
    are as long; ``changed``: the parts the record and today's render differ in."""

    database: str
    members: list[Member]
    changed: list[str]


def groups(
    configs: Sequence[LoadedConfig],
    states: dict[str, Sequence[tuple[str, str]]],
    database_of: Callable[[LoadedConfig], str | None],
) -> tuple[list[Group], list[str]]:
    """The groups of more than :data:`CHECKED` tenants of ``configs`` (``states``: their parts'
    states, as status reads them), and the other tenants, by name."""
    keyed: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Member]] = {}
    alone: list[str] = []
    for config in configs:
        assert config.tenant is not None
        found, database = member(config), database_of(config)
        standing = tuple(states.get(config.tenant, ()))
        if found is None or database is None or not {s for _, s in standing} <= _GROUPED:
            alone.append(config.tenant)
            continue
        key, m = found
        # a plan shows names cut to a width (REVIEW.md's statements): one of another length
        # renamed would be cut elsewhere
        keyed.setdefault((database, f"{len(m.prefix)}:{key}", standing), []).append(m)
    out = []
    for (database, _, standing), members in keyed.items():
        if len(members) > CHECKED and standing:
            # in the order of their prefixes (all as long): a name another tenant's plan sorts
            # against (a shared role in a GRANT) sorts before the first's and the last's
            # prefixed names, between them or after both; when both plans agree, every
            # member's name lies on their side
            members.sort(key=lambda m: m.prefix)
            out.append(Group(database, members, [p for p, s in standing if s == "changed"]))
        else:
            alone += [m.tenant for m in members]
    return out, alone


#: what a member of a group gets: its plan bundle's contents, the error its own plan raised,
#: or None: it is planned on its own
Planned = dict[str, str] | Exception | None


class _FirstAndChecked:
    """A group's first member planned by ``plan_one`` (in ``pool``), drift check included
    unless ``checked`` already, and its last, without it, to check that the first's plan
    renamed is its own: the last is the farthest from the first in prefix order
    (:func:`groups`)."""

    def __init__(
        self,
        members: Sequence[Member],
        pool: Executor,
        plan_one: Callable[[LoadedConfig, bool], PlanBundle],
        checked: bool = False,
    ) -> None:
        def planned(m: Member, drift: bool) -> PlanBundle | Exception:
            try:
                return plan_one(m.config, drift)
            except Exception as exc:  # the first's: its outcome; the last's: planned on its own
                return exc

        self.members = members
        self._ahead = [
            pool.submit(planned, members[0], not checked),
            pool.submit(planned, members[-1], False),
        ]

    def lead(self) -> PlanBundle | Exception:
        """The first member's plan, or the error its plan raised."""
        return self._ahead[0].result()

    def checked(self) -> bool:
        """Whether the first's plan renamed is the last's byte for byte, and renames, drops
        and loses nothing (:attr:`PlanBundle.portable`)."""
        lead, check = self.lead(), self._ahead[1].result()
        if not isinstance(lead, PlanBundle) or not isinstance(check, PlanBundle):
            return False
        if not lead.portable or not check.portable:
            return False
        return renamed(lead.contents, self.members[0], self.members[-1]) == check.contents


# --- tenants vouched for: no wide read -------------------------------------------------------


def vouch_all(
    database: str,
    env: str,
    tenants: Sequence[tuple[Member, str]],
    readers: int = 1,
) -> dict[str, str | None]:
    """For each tenant (a member and the key of its remembered drift check), ``readers``
    connections at once: what its remembered check vouches for, when it would pass now and
    the record and yoyo's applied parts are as when it passed
    (:func:`catalog_fingerprint.vouched`): its record's rows renamed and digested, and the
    parts yoyo applied; else None."""
    found: dict[str, str | None] = {}
    guard = threading.Lock()

    def read(share: Sequence[tuple[Member, str]]) -> None:
        with connect(named_url(database, "plan", env, None)) as conn:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            for start in range(0, len(share), BATCH):
                batch = share[start : start + BATCH]
                schemas = [tracking_schema(m.tenant) for m, _ in batch]
                entries = [(key, m.prefix, s) for (m, key), s in zip(batch, schemas, strict=True)]
                with one_snapshot(conn):
                    rows = catalog_fingerprint.vouched(conn, entries)
                    applied = [None] * len(batch)
                    if any(r is not None for r in rows):  # nothing remembered: nothing to read
                        applied = catalog_versions.column_digests(
                            conn, schemas, MIGRATION_TABLE, "migration_hash"
                        )
                with guard:
                    for (m, _), r, a in zip(batch, rows, applied, strict=True):
                        found[m.tenant] = f"{r}:{a}" if r is not None and a is not None else None

    shares = [tenants[n::readers] for n in range(readers)]
    with ThreadPoolExecutor(readers, thread_name_prefix="tmplmig-plan-vouch") as pool:
        list(pool.map(read, [share for share in shares if share]))
    return found


def vouched_groups(
    members: Sequence[Member], vouched: dict[str, str | None]
) -> tuple[list[list[Member]], list[str]]:
    """The members (of one database) that :func:`plan_vouched` answers, grouped: those with
    what their checks vouch for alike (record renamed and parts applied), their names'
    prefixes as long and their shape one, more than :data:`CHECKED` to a group, in prefix
    order; and the others, by name."""
    keyed: dict[tuple[str, str], list[Member]] = {}
    left: list[str] = []
    for m in members:
        held = vouched.get(m.tenant)
        shaped = shape_of(m.config)
        if held is None or shaped is None:
            left.append(m.tenant)
            continue
        keyed.setdefault((f"{len(m.prefix)}:{shaped[0]}", held), []).append(m)
    out = []
    for group in keyed.values():
        if len(group) > CHECKED:
            out.append(sorted(group, key=lambda m: m.prefix))
        else:
            left += [m.tenant for m in group]
    return out, left


def plan_vouched(
    members: Sequence[Member], pool: Executor, plan_one: Callable[[LoadedConfig, bool], PlanBundle]
) -> Iterator[tuple[Member, Planned]]:
    """Each member of a group of :func:`vouched_groups` with what it gets (:data:`Planned`):
    the first planned by ``plan_one``, the last too, to check the renaming
    (:class:`_FirstAndChecked`); every other the first's plan renamed, once checked. Every
    member's own drift check would pass (vouched for: the first's is not run again), their
    records are the first's renamed and yoyo applied the same parts: what a plan reads of a
    tenant but row counts and the roles other databases use, which a portable plan does not
    depend on."""
    first = _FirstAndChecked(members, pool, plan_one, checked=True)
    lead = first.lead()
    yield members[0], lead.contents if isinstance(lead, PlanBundle) else lead
    given = isinstance(lead, PlanBundle) and first.checked()
    for m in members[1:]:
        yield (
            m,
            renamed(lead.contents, members[0], m)
            if given and isinstance(lead, PlanBundle)
            else None,
        )


def plan_group(
    group: Group,
    pool: Executor,
    plan_one: Callable[[LoadedConfig, bool], PlanBundle],
    share: Callable[[LoadedConfig, list[LoadedConfig]], bool],
    tracked: Callable[[LoadedConfig], str],
    readers: int = 1,
) -> Iterator[tuple[Member, Planned]]:
    """Each member of ``group`` with what it gets (:data:`Planned`). The first is planned by
    ``plan_one`` (in ``pool``), drift check included; the last too, without it, to check
    that the first's plan renamed is its own. Every member but the first then gets the first's
    plan renamed where its record is the first's and either its own drift check (remembered
    at its ``tracked`` URL) would pass now, or its catalog is the first's: then once ``share``
    found the first's drift check remembered and its catalog as it passed, and remembered it
    for them too (so their apply's drift check is as cheap as the first's)."""
    members = group.members
    env = members[0].config.env
    digests = _read_beside(group.database, env, members, group.changed, max(1, readers), tracked)

    first = _FirstAndChecked(members, pool, plan_one)
    lead = first.lead()
    yield members[0], lead.contents if isinstance(lead, PlanBundle) else lead
    checked = first.checked()
    try:
        read = dict(zip((m.tenant for m in members), digests.result(), strict=True))
    except Exception:  # each tenant's own plan reads its database
        read = {}
    mine = read.get(members[0].tenant)
    if not checked or not isinstance(lead, PlanBundle) or mine is None:
        yield from ((m, None) for m in members[1:])
        return
    # a member vouched for holds the first's record renamed, whole, and its own drift check
    # passes; another, the first's record where it matters to the plan and the first's catalog
    vouched = {
        m.tenant
        for m in members[1:]
        if (d := read.get(m.tenant)) and d.vouched is not None and d.vouched == mine.vouched
    }
    same = [
        m
        for m in members[1:]
        if m.tenant not in vouched
        and (d := read.get(m.tenant))
        and d.record is not None
        and d.record == mine.record
    ]
    alike = [m for m in same if read[m.tenant].catalog == mine.catalog]
    shared = False
    if alike and mine.catalog is not None:
        try:
            shared = share(members[0].config, [m.config for m in alike])
        except Exception:  # each tenant's own plan checks its database
            shared = False
    given = vouched | ({m.tenant for m in alike} if shared else set())
    for m in members[1:]:
        yield m, renamed(lead.contents, members[0], m) if m.tenant in given else None
