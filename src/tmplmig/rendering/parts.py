"""Render templates into migration parts: ordered steps, each an apply paired with its rollback.

This is the one code path behind ``yoyo apply``, ``tmplmig render`` and the DBA bundle.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from tmplmig.rendering.config import LoadedConfig
from tmplmig.rendering.facts import DbObject, objects_of
from tmplmig.rendering.identifiers import SHARED_SCHEMA
from tmplmig.rendering.relations import CreatedTables, column_names, columns_of, readers_of
from tmplmig.rendering.sensitive import MARK, Hiding, Policy, hidings, policy
from tmplmig.rendering.sqlfilters import ConfigText, RenderError, wrap_config

if TYPE_CHECKING:  # Jinja is imported to render, not to use what a render made
    import jinja2

TEMPLATE_SUFFIX = ".sql.j2"
PART_ID = re.compile(r"^[0-9]{3}[a-z]?_[a-z0-9_]+$")
_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)
#: how the psql bundle carries a guarded statement: ``run`` it as is (it is safe to repeat),
#: wrap it in psql's ``\if`` on its guard, or show it commented for the DBA to run ``by hand``
PsqlMode = Literal["run", "if", "by hand"]
PSQL_MODES: tuple[str, ...] = ("run", "if", "by hand")
DIRECTIONS = ("repair", "apply", "rollback")


@dataclass(frozen=True)
class Guarded:
    """SQL sent as one ``execute``, and the catalog question that decides whether yoyo sends it.

    ``guard`` is a query whose first column is a boolean ``run`` (and whose optional second,
    ``note``, says why not): yoyo skips ``sql`` when it is false, so a statement that would
    change nothing takes no lock. Plain SQL cannot ask, so ``psql`` says what the bundle does.
    """

    sql: str
    guard: str | None = None
    psql: PsqlMode = "run"


def statement_sql(statement: Guarded | str) -> str:
    """The SQL text of a statement, guarded or not."""
    return statement.sql if isinstance(statement, Guarded) else statement


#: statements whose time grows with the table they scan
_TABLE_SCAN = re.compile(r"\bCREATE\s+INDEX\s+CONCURRENTLY\b|\bVALIDATE\s+CONSTRAINT\b", re.I)


def scans_table(sql: str) -> bool:
    """True when ``sql`` builds an index concurrently or validates a constraint."""
    return bool(_TABLE_SCAN.search(sql))


@dataclass(frozen=True)
class Step:
    """One unit of change: SQL that applies it and SQL that undoes exactly that."""

    name: str
    apply: str
    rollback: str | None
    #: run as its own statement before every attempt of ``apply``, to clear what an
    #: interrupted earlier attempt left behind (an INVALID index that IF NOT EXISTS would keep)
    repair: str | None = None
    #: the role both directions run as (``SET ROLE``): the owner of the environment's objects;
    #: None for what only the deploying login may do (create roles, schemas, extensions)
    role: str | None = None
    #: what the step is about, as given to ``step()``: kind first, then schema and name
    about: tuple[str, ...] = ()
    #: objects the step creates besides what it is about, each as (kind, schema, name)
    creates: tuple[tuple[str, ...], ...] = ()
    #: the name with config values spelled as their key paths (``schema {schemas.auth}``):
    #: stays the same when a value in YAML changes, so a renamed schema is the same step
    identity: str = ""
    #: what kind of object the step makes (``schema``, ``index``, ``privileges of`` ...)
    kind: str = ""
    #: direction -> its guard query (see :class:`Guarded`)
    guards: tuple[tuple[str, str], ...] = ()
    #: direction -> how the psql bundle carries it, when not ``run``
    psql: tuple[tuple[str, PsqlMode], ...] = ()
    #: changes what every tenant of the database shares (an extension): a fan-out applies it
    #: once per database before tenants run side by side
    database_wide: bool = False
    #: the database objects the step creates and its rollback drops (:mod:`.facts`)
    objects: tuple[DbObject, ...] = ()

    def guarded(self, direction: str, sql: str) -> Guarded:
        """``sql`` with the guard and psql mode of this step's ``direction``."""
        return Guarded(sql, dict(self.guards).get(direction), dict(self.psql).get(direction, "run"))

    @property
    def apply_statements(self) -> tuple[Guarded, ...]:
        """What applying runs, in order, each as a separate statement."""
        repair = (self.guarded("repair", self.repair),) if self.repair else ()
        return (*repair, self.guarded("apply", self.apply))

    @property
    def rollback_statements(self) -> tuple[Guarded, ...]:
        """What rolling back runs (nothing when the step has no rollback)."""
        return (self.guarded("rollback", self.rollback),) if self.rollback else ()

    @property
    def scans_table(self) -> bool:
        """True when applying builds an index concurrently or validates a constraint: its
        time grows with the data, so no statement_timeout can fit every table."""
        return scans_table(self.apply)


@dataclass(frozen=True)
class Part:
    """One migration: what yoyo tracks as a single id, rendered for one config."""

    id: str
    title: str
    transactional: bool
    depends: tuple[str, ...]
    steps: tuple[Step, ...]
    template: str

    @property
    def dialect_specific(self) -> bool:
        """True when the SQL uses dollar-quoted bodies or DO blocks (a ``$`` in a name is not)."""
        return any(
            uses_postgres_only_syntax(g.sql)
            for s in self.steps
            for g in (*s.apply_statements, *s.rollback_statements)
        )


_QUOTED = r"--[^\n]*|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\""
_DOLLAR_QUOTE = r"(?<![\w$])\$(?:[A-Za-z_\x80-\uffff][\w\x80-\uffff]*)?\$"
_DO_BLOCK = r"(?:^|;)\s*DO\s+(?:LANGUAGE\s+\S+\s+)?(?:'|\$)"


def uses_postgres_only_syntax(sql: str) -> bool:
    """Whether ``sql`` holds a dollar-quoted string or a DO block, outside quotes and comments.

    A ``$`` inside a name (``a$b``, ``"x$y$"``) or a string literal does not count. (The
    patterns compile when first used: the dollar quote's character ranges took 5-10 ms, in
    every command, at import.)
    """
    if re.search(_DOLLAR_QUOTE, re.sub(_QUOTED, " ", sql)):
        return True
    return bool(re.search(_DO_BLOCK, re.sub(r"--[^\n]*", " ", sql), re.IGNORECASE))


#: a double-quoted identifier that is not the second half of ``"schema"."name"``
_LEADING_IDENT = re.compile(r'(?<![."])"((?:[^"]|"")+)"')


def name_paths(config: LoadedConfig) -> dict[str, str]:
    """Each schema and role name of ``config`` to its key path (``schemas.auth``).

    Schemas win over a role of the same name: in a step name a quoted schema leads a
    qualified name, while roles arrive as config values that carry their own path.
    """
    settings = config.settings
    return names_of(settings.model_dump(include={"roles", "schemas", "extensions_schema"}))


def names_of(settings: Mapping[str, Any]) -> dict[str, str]:
    """:func:`name_paths` of settings as a dict (a recorded config, say); keys it lacks name
    nothing."""
    paths = {name: f"roles.{key}" for key, name in settings.get("roles", {}).items()}
    paths.update({name: f"schemas.{key}" for key, name in settings.get("schemas", {}).items()})
    if "extensions_schema" in settings:
        paths.setdefault(settings["extensions_schema"], "extensions_schema")
    return paths


@dataclass
class _Collector:
    owner: str | None = None
    paths: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    #: the steps of the parts before this one, and which role may read which sensitive column
    created: CreatedTables | None = None
    rules: Policy = field(default_factory=dict)

    def hiding(
        self, schema: Any, table: Any, columns: str | None = None, column: Any = None
    ) -> list[Hiding]:
        """What ``m.table`` (``columns``: its column list) or ``m.add_column`` (``column``)
        hides: see :func:`tmplmig.rendering.sensitive.hidings`. The steps before it tell
        who reads the table and, for a column, which columns it has already; a table without
        a sensitive column needs none of them (the earlier parts are rendered on first use)."""
        names = column_names(columns) if columns is not None else ()
        if not self.rules or (columns is not None and not set(names) & set(self.rules)):
            return []
        schema, table = _plain((schema, table))
        steps = [*(self.created.steps if self.created is not None else ()), *self.steps]
        if columns is not None:
            return hidings(self.rules, readers_of(steps, schema), names)
        readers = readers_of(steps, schema, table)
        return hidings(self.rules, readers, columns_of(steps, schema, table), _plain([column])[0])

    def _identity(self, name: tuple[Any, ...]) -> str:
        """The step name with config values replaced by ``{key.path}``, unique in the part."""
        words = []
        for n in name:
            if isinstance(n, ConfigText):
                words.append(f"{{{n.path}}}")
            elif '"' in n:
                words.append(
                    _LEADING_IDENT.sub(
                        lambda m: f"{{{self.paths[m[1]]}}}" if m[1] in self.paths else m[0], n
                    )
                )
            else:
                words.append(n)
        identity = " ".join(words)
        count = self.seen[identity] = self.seen.get(identity, 0) + 1
        return identity if count == 1 else f"{identity} #{count}"

    def step(
        self,
        *name: Any,
        caller: jinja2.runtime.Macro,
        repair: bool = False,
        guarded: bool = False,
        psql: dict[str, str] | None = None,
        as_deployer: bool = False,
        creates: Sequence[Sequence[Any]] = (),
        database_wide: bool = False,
        on: Sequence[Any] | None = None,
    ) -> str:
        """Jinja ``{% call(direction) step(...) %}``: record both directions of one object.

        With ``repair=true`` the body also renders for ``direction == 'repair'``; with
        ``guarded=true`` also for ``'guard repair'``, ``'guard apply'`` and ``'guard rollback'``
        (the query deciding whether yoyo runs that direction). ``psql`` maps a direction to
        how the bundle carries it (``if`` or ``by hand``; default ``run``). The step runs as
        the owner role unless ``as_deployer=true`` (role and schema creation). ``creates``
        names further objects it makes, e.g. ``[["table", schema, "name"]]``; ``on`` the
        ``[schema, table]`` an index, constraint, trigger or seeded row belongs to.
        ``database_wide=true`` marks a step every tenant of a database shares.
        """
        about = _plain(name)
        label = " ".join(about)
        body = _body(caller)
        apply = body("apply")
        rollback = body("rollback") or None
        repair_sql = (body("repair") or None) if repair else None
        if not apply:
            raise RenderError(f"step {label!r} renders no apply SQL")
        guards = (
            tuple((d, text) for d in DIRECTIONS if (text := body(f"guard {d}"))) if guarded else ()
        )
        modes: list[tuple[str, PsqlMode]] = []
        for d, mode in sorted((psql or {}).items()):
            if d not in DIRECTIONS or mode not in PSQL_MODES or d not in dict(guards):
                raise RenderError(f"step {label!r}: psql mode {mode!r} for {d!r} needs a guard")
            modes.append((d, cast(PsqlMode, mode)))
        role = None if as_deployer else self.owner
        made = tuple(_plain(c) for c in creates)
        kind = name[0] if isinstance(name[0], str) else "step"
        self.steps.append(
            Step(
                label,
                apply,
                rollback,
                repair_sql,
                role=role,
                about=about,
                creates=made,
                identity=self._identity(name),
                kind=kind,
                guards=guards,
                psql=tuple(modes),
                database_wide=database_wide,
                objects=objects_of(kind, about, _plain(on) if on else None, made),
            )
        )
        return ""


def _body(caller: jinja2.runtime.Macro) -> Callable[[str], str]:
    """The step body of ``{% call(d) step(...) %}`` as a function of the direction, stripped;
    called two to five times a step, so through its compiled function when it can be."""
    from tmplmig.rendering.jinja_internals import compiled_body  # Jinja: only to render

    render = compiled_body(caller) or caller
    return lambda direction: str(render(direction)).strip()


def _plain(names: Sequence[Any]) -> tuple[str, ...]:
    """Names given to ``step()`` as plain strings (config values arrive wrapped)."""
    return tuple(getattr(n, "value", n) if not isinstance(n, str) else n for n in names)


#: the collector of the render in progress in this thread; the ``step`` global records into it
_collecting: ContextVar[_Collector] = ContextVar("tmplmig_collecting")


def _step(*name: Any, caller: jinja2.runtime.Macro, **options: Any) -> str:
    return _collecting.get().step(*name, caller=caller, **options)


def _sensitive_hiding(schema: Any, table: Any, **what: Any) -> list[Hiding]:
    return _collecting.get().hiding(schema, table, **what)


def template_context(config: LoadedConfig) -> dict[str, Any]:
    """What templates see: wrapped config values plus environment and tenant names."""
    data = config.settings.model_dump(mode="python")
    context = wrap_config(data)
    context["tenant"] = config.tenant
    return context


def config_digest(config: LoadedConfig) -> str:
    """sha256 of the validated settings: equal digests render equal SQL from equal templates."""
    canonical = json.dumps(config.settings.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def part_ids(templates_dir: Path) -> list[str]:
    """Every part template under ``templates_dir``, in id order."""
    ids = sorted(
        p.name.removesuffix(TEMPLATE_SUFFIX) for p in templates_dir.glob(f"*{TEMPLATE_SUFFIX}")
    )
    return [i for i in ids if not i.startswith("_")]


@lru_cache(maxsize=16)
def _environment(templates_dir: Path) -> jinja2.Environment:
    """One Jinja environment per templates folder, so each template compiles once per process
    and ``_macros.sql.j2`` (imported without context) is evaluated once, not once per render."""
    from tmplmig.rendering.environment import make_environment

    return make_environment(
        templates_dir,
        {
            "step": _step,
            "tmplmig_schema": SHARED_SCHEMA,
            "sensitive_hiding": _sensitive_hiding,
            "sensitive_mark": MARK,
        },
    )


def _collect(
    template: jinja2.Template,
    context: dict[str, Any],
    where: str,
    owner: str | None = None,
    paths: dict[str, str] | None = None,
    rules: Policy | None = None,
) -> tuple[Any, tuple[Step, ...]]:
    """Run ``template`` for ``context``: its module (title, transactional, ...) and its steps,
    which run as ``owner`` (None: as the login itself); ``rules`` say who may read which
    sensitive column of the tables and columns it makes."""
    import jinja2

    collector = _Collector(
        owner=owner, paths=paths or {}, created=context.get("created"), rules=rules or {}
    )
    token = _collecting.set(collector)
    try:
        module = template.make_module(context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise RenderError(f"{where}{f':{line}' if line else ''}: {exc}") from None
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from None
    finally:
        _collecting.reset(token)
    stray = _COMMENT_LINE.sub("", str(module)).strip()
    if stray:
        raise RenderError(f"{where}: SQL outside a step: {stray[:80]!r}")
    return module, tuple(collector.steps)


def render_steps(templates_dir: Path, source: str, context: dict[str, Any]) -> tuple[Step, ...]:
    """The steps of template text ``source`` (it may import the macros of ``templates_dir``)."""
    import jinja2

    env = _environment(templates_dir.resolve())
    try:
        template = env.from_string(source)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template text: {exc}") from None
    return _collect(template, context, "template text")[1]


def render_part(
    project: Path,
    part_id: str,
    config: LoadedConfig,
    context: dict[str, Any] | None = None,
    rendered: Mapping[str, Part] | None = None,
) -> Part:
    """Render one part template for ``config`` (``context``: its template_context, if known).

    Templates see ``created``, the tables of the parts before this one (taken from
    ``rendered``, the parts already rendered for ``config``, when it holds them all; else
    rendered when a template first asks, unless ``context`` already holds them). Without
    ``context``, a render kept for the same templates and settings is used as it is
    (:mod:`.render_cache`).
    """
    if context is None:
        from tmplmig.rendering import render_cache

        kept = render_cache.kept(project, config)
        if kept is not None and part_id in kept:
            return kept[part_id]
    env = _environment((project / "templates").resolve())
    if context is None or "created" not in context:
        context = dict(context or template_context(config))
        context["created"] = CreatedTables(
            lambda: _steps_before(project, part_id, config, rendered or {})
        )
    return _render_part(env, part_id, config, context, name_paths(config))


def _render_part(
    env: jinja2.Environment,
    part_id: str,
    config: LoadedConfig,
    context: dict[str, Any],
    paths: dict[str, str],
) -> Part:
    import jinja2

    if not PART_ID.match(part_id):
        raise RenderError(f"{part_id!r} is not a part id like 002a_indexes")
    name = part_id + TEMPLATE_SUFFIX
    where = f"templates/{name}"
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise RenderError(f"{where}: template not found") from None
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise RenderError(f"{where}{f':{line}' if line else ''}: {exc}") from None
    module, steps = _collect(
        template, context, where, config.settings.roles.owner, paths, policy(config.settings)
    )
    meta = {k: getattr(module, k, None) for k in ("title", "transactional", "depends")}
    if not isinstance(meta["title"], str) or not isinstance(meta["transactional"], bool):
        raise RenderError(f"{where}: must set title (string) and transactional (bool)")
    return Part(
        id=part_id,
        title=meta["title"],
        transactional=meta["transactional"],
        depends=tuple(meta["depends"] or ()),
        steps=steps,
        template=where,
    )


def _steps_before(
    project: Path, part_id: str, config: LoadedConfig, rendered: Mapping[str, Part]
) -> list[Step]:
    """Every step of the parts before ``part_id``: those of ``rendered`` when it holds each,
    else rendered now."""
    earlier = [p for p in part_ids(project / "templates") if p < part_id]
    if all(p in rendered for p in earlier):
        parts = [rendered[p] for p in earlier]
    else:
        parts = _render_in_order(project, earlier, config)
    return [s for part in parts for s in part.steps]


def _render_in_order(project: Path, ids: list[str], config: LoadedConfig) -> list[Part]:
    """Parts ``ids`` in order (the templates folder resolved, the context and the name paths
    built once for all), each seeing the tables of those before it as ``created``."""
    env = _environment((project / "templates").resolve())
    context, paths = template_context(config), name_paths(config)
    parts: list[Part] = []
    for pid in ids:
        done = list(parts)
        context["created"] = CreatedTables(lambda done=done: [s for p in done for s in p.steps])
        parts.append(_render_part(env, pid, config, context, paths))
    return parts


def render_all(project: Path, config: LoadedConfig) -> list[Part]:
    """Render every part for ``config`` in id order."""
    return _render_in_order(project, part_ids(project / "templates"), config)
