"""Benchmark: the rendered prod bundle applied and rolled back by tmplmig and by the tools a
team would pick instead, running the same SQL: psql (file by file, as the MANIFEST says),
plain yoyo (one step per statement), alembic (``op.execute`` per statement, autocommit blocks
for the non-transactional parts) and sqitch (one change per part; its pg engine runs psql).

Every run gets a fresh database on one throwaway cluster; rounds are interleaved (the tool
order rotates each round, a CHECKPOINT before each timed phase). Prints min, median and the
median of the per-round ratio to psql (paired) for each tool and direction, checks that each
tool leaves psql's catalog after apply and the empty one after rollback, and times the
commands that touch no database (``--help``) and status on an applied database. Tools not
installed are skipped with a note (sqitch: Debian ``sqitch`` and ``libdbd-pg-perl``;
alembic: ``pip install -e '.[bench]'``). Asserts nothing.

yoyo and alembic cannot run psql's meta-commands (``\\gset``, ``\\if``, ...) that the bundle
uses for guards: their migrations, generated into a temporary folder, split each file as psql
does and honour them in Python (a guard's query, then its statement when it says so).

Run from the project root:  python bench/peers.py [--rounds 10] [--env prod]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tmplmig.database.catalog import Snapshot, difference, snapshot
from tmplmig.database.cluster import Cluster, throwaway_cluster
from tmplmig.reviewing.bundle import MANIFEST, manifest_files

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_PREFIX = "peers_"

#: one statement or psql meta-command of a bundle file, as psql reads it:
#: ("sql", text) | ("gset", query, prefix) | ("if"|"elif", condition) | ("else",) | ("endif",)
#: | ("unset", name) | ("warn", text)
Op = tuple[str, ...]

DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def psql_ops(text: str) -> list[Op]:
    """Split a psql script as psql does: statements end at ``;`` outside quotes, comments
    and dollar-quoted bodies; a line starting with a backslash there is a meta-command, and
    ``\\gset`` sends the query before it."""
    ops: list[Op] = []
    buf: list[str] = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "\\":
            end = text.find("\n", i)
            end = n if end < 0 else end
            word, _, rest = text[i + 1 : end].strip().partition(" ")
            pending = "".join(buf).strip()
            if word == "gset":
                ops.append(("gset", pending, rest.strip()))
            elif pending:
                raise ValueError(f"unterminated statement before \\{word}: {pending[:60]!r}")
            elif word in ("if", "elif"):
                ops.append((word, rest.strip()))
            elif word in ("else", "endif"):
                ops.append((word,))
            elif word in ("unset", "warn"):
                ops.append((word, rest.strip()))
            else:
                raise ValueError(f"meta-command \\{word} not supported")
            buf, i = [], end
            continue
        line_start = c == "\n"
        if text.startswith("--", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        if c in "'\"":
            end = text.index(c, i + 1)
            while text.startswith(c, end + 1):  # '' and "" are the quote itself
                end = text.index(c, end + 2)
            buf.append(text[i : end + 1])
            i = end + 1
            continue
        tag = DOLLAR.match(text, i) if c == "$" and not (buf and buf[-1][-1:].isalnum()) else None
        if tag:
            end = text.index(tag.group(), tag.end()) + len(tag.group())
            buf.append(text[i:end])
            i = end
            continue
        if c == ";":
            statement = "".join(buf).strip()
            if statement:
                ops.append(("sql", statement))
            buf, i = [], i + 1
            continue
        buf.append(c)
        i += 1
    if "".join(buf).strip():
        raise ValueError(f"unterminated statement at the end: {''.join(buf).strip()[:60]!r}")
    return ops


@dataclass(frozen=True)
class Script:
    """One bundle file made ready for a Python tool: its ops grouped into steps (the
    meta-commands before a statement, then the statement) and whether it runs in a
    transaction (psql: the file's own BEGIN/COMMIT, left out here as the tools add theirs)."""

    steps: list[list[Op]]
    transactional: bool


def script(path: Path) -> Script:
    ops = psql_ops(path.read_text())
    control = [op for op in ops if op[0] == "sql" and op[1].upper() in ("BEGIN", "COMMIT")]
    steps: list[list[Op]] = []
    pending: list[Op] = []
    for op in ops:
        if op in control:
            continue
        pending.append(op)
        if op[0] in ("sql", "gset"):
            steps.append(pending)
            pending = []
    # meta-commands after the last statement (\\elif, \\warn, \\endif) change nothing in the
    # database: left out
    return Script(steps=steps, transactional=bool(control))


#: the generated migrations' runtime: psql's variables and ``\if`` stack, stdlib only
PSQL_RUNTIME = '''\
"""psql's variables and \\\\if stack for generated migrations (bench/peers.py)."""

import sys

TRUE = ("t", "true", "on", "yes", "1", "y")


class Psql:
    def __init__(self):
        self.vars = {}
        self.stack = []  # per open \\\\if: [this branch runs, a branch ran]

    def active(self):
        return all(runs for runs, _ in self.stack)

    def test(self, condition):
        if condition.startswith(":{?"):
            return condition[3:-1] in self.vars
        return self.vars[condition[1:]].lower() in TRUE

    def step(self, ops, execute, query):
        """Run one step: its meta-commands, then its statement (or \\\\gset query)."""
        for op in ops:
            kind = op[0]
            if kind == "if":
                runs = self.active() and self.test(op[1])
                self.stack.append([runs, runs])
            elif kind == "elif":
                top = self.stack[-1]
                top[0] = not top[1] and self.test(op[1])
                top[1] = top[1] or top[0]
            elif kind == "else":
                top = self.stack[-1]
                top[0], top[1] = not top[1], True
            elif kind == "endif":
                self.stack.pop()
            elif not self.active():
                continue
            elif kind == "unset":
                self.vars.pop(op[1], None)
            elif kind == "warn":
                print(self.vars.get(op[1][1:], op[1]), file=sys.stderr)
            elif kind == "sql":
                execute(op[1])
            elif kind == "gset":
                for name, value in query(op[1]).items():
                    if value is None:
                        self.vars.pop(op[2] + name, None)
                    else:
                        text = {True: "t", False: "f"}.get(value, value)
                        self.vars[op[2] + name] = str(text)
'''

YOYO_MIGRATION = '''\
"""{name}: the bundle's statements as yoyo steps (generated by bench/peers.py)."""

import sys

sys.path.insert(0, {lib!r})
from psqlrun import Psql  # noqa: E402
from yoyo import step  # noqa: E402

__depends__ = {depends!r}
__transactional__ = {transactional!r}
APPLY = {apply!r}
ROLLBACK = {rollback!r}
PLAIN = {plain!r}
PSQL = {{"apply": Psql(), "rollback": Psql()}}


def execute(conn, statement):
    with conn.cursor() as cur:
        cur.execute(statement)


def query(conn, statement):
    with conn.cursor() as cur:
        cur.execute(statement)
        return dict(zip([d.name for d in cur.description], cur.fetchone()))


def runner(direction, index):
    """A plain SQL string when psql would just send it; else a callable honouring psql."""
    steps = APPLY if direction == "apply" else ROLLBACK
    if not 0 <= index < len(steps):
        return None
    if PLAIN[direction][index]:
        return steps[index][0][1]
    psql, ops = PSQL[direction], steps[index]
    return lambda conn: psql.step(ops, lambda s: execute(conn, s), lambda s: query(conn, s))


# apply step k pairs with rollback step n-1-k: yoyo rolls steps back in reverse order
for k in range(max(len(APPLY), len(ROLLBACK))):
    step(runner("apply", k), runner("rollback", len(ROLLBACK) - 1 - k))
'''

ALEMBIC_REVISION = '''\
"""{name}: the bundle's statements through op.execute (generated by bench/peers.py)."""

import sys
from contextlib import nullcontext

import sqlalchemy as sa
from alembic import op

sys.path.insert(0, {lib!r})
from psqlrun import Psql  # noqa: E402

revision = {name!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def run(script, transactional):
    bind = op.get_bind()

    def execute(statement):
        op.execute(sa.text(statement.replace(":", "\\\\:")))

    def query(statement):
        return dict(bind.execute(sa.text(statement.replace(":", "\\\\:"))).mappings().one())

    block = nullcontext() if transactional else op.get_context().autocommit_block()
    with block:
        psql = Psql()
        for ops in script:
            psql.step(ops, execute, query)


def upgrade():
    run({apply!r}, {apply_tx!r})


def downgrade():
    run({rollback!r}, {rollback_tx!r})
'''

ALEMBIC_ENV = """\
from alembic import context
from sqlalchemy import create_engine

url = context.get_x_argument(as_dictionary=True)["url"]
with create_engine(url).connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
"""


def plain_flags(steps: list[list[Op]]) -> list[bool]:
    """Per step: is it a bare statement outside any ``\\if`` (then a plain SQL string)?"""
    depth, flags = 0, []
    for ops in steps:
        for op in ops:
            depth += {"if": 1, "endif": -1}.get(op[0], 0)
        flags.append(len(ops) == 1 and ops[0][0] == "sql" and depth == 0)
    return flags


def generate(bundle: Path, root: Path, psql_bin: Path) -> dict[str, Path]:
    """Write the yoyo, alembic and sqitch projects for ``bundle`` under ``root``."""
    manifest = (bundle / MANIFEST).read_text()
    applies = manifest_files(manifest, "apply")
    rollbacks = {f.split(".")[0]: f for f in manifest_files(manifest, "rollback")}
    parts = [f.split(".")[0] for f in applies]
    lib = root / "lib"
    lib.mkdir(parents=True)
    (lib / "psqlrun.py").write_text(PSQL_RUNTIME)
    yoyo_dir, alembic_dir, sqitch_dir = root / "yoyo", root / "alembic", root / "sqitch"
    (alembic_dir / "versions").mkdir(parents=True)
    yoyo_dir.mkdir()
    for sub in ("deploy", "revert"):
        (sqitch_dir / sub).mkdir(parents=True)
    (alembic_dir / "env.py").write_text(ALEMBIC_ENV)
    (alembic_dir / "alembic.ini").write_text(f"[alembic]\nscript_location = {alembic_dir}\n")
    plan = ["%syntax-version=1.0.0", "%project=peers", ""]
    for index, (part, apply_file) in enumerate(zip(parts, applies, strict=True)):
        up, down = script(bundle / apply_file), script(bundle / rollbacks[part])
        if up.transactional != down.transactional:
            raise ValueError(f"{part}: apply and rollback differ in transactions")
        plain = {"apply": plain_flags(up.steps), "rollback": plain_flags(down.steps)}
        (yoyo_dir / f"{part}.py").write_text(
            YOYO_MIGRATION.format(
                name=part,
                lib=str(lib),
                depends=set(parts[index - 1 : index]),
                transactional=up.transactional,
                apply=up.steps,
                rollback=down.steps,
                plain=plain,
            )
        )
        (alembic_dir / "versions" / f"{part}.py").write_text(
            ALEMBIC_REVISION.format(
                name=part,
                lib=str(lib),
                down=parts[index - 1] if index else None,
                apply=up.steps,
                apply_tx=up.transactional,
                rollback=down.steps,
                rollback_tx=down.transactional,
            )
        )
        shutil.copy(bundle / apply_file, sqitch_dir / "deploy" / f"{part}.sql")
        shutil.copy(bundle / rollbacks[part], sqitch_dir / "revert" / f"{part}.sql")
        requires = f"[{parts[index - 1]}] " if index else ""
        plan.append(f"{part} {requires}2026-01-01T00:00:00Z bench <bench@example.com> # {part}")
    (sqitch_dir / "sqitch.plan").write_text("\n".join(plan) + "\n")
    (sqitch_dir / "sqitch.conf").write_text(
        f'[core]\n\tengine = pg\n\ttop_dir = .\n[engine "pg"]\n\tclient = {psql_bin}\n'
    )
    return {"yoyo": yoyo_dir, "alembic": alembic_dir, "sqitch": sqitch_dir}


@dataclass(frozen=True)
class Tool:
    """How one tool applies, rolls back and shows status; each takes the database name."""

    name: str
    label: str
    apply: Callable[[str], None]
    rollback: Callable[[str], None]
    status: Callable[[str], None] | None = None


def python_env() -> dict[str, str]:
    """The Python tools' environment: this tree's tmplmig first, and bytecode kept, as for
    an installed package (PYTHONDONTWRITEBYTECODE would make tmplmig alone compile its
    modules in every process; the peers' are installed with theirs)."""
    environ = dict(os.environ, PYTHONPATH=str(PROJECT / "src"))
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return environ


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ...: {result.stderr or result.stdout}")


#: CPU seconds (user + system) of the tool processes each timed action ran, by (tool, what)
CPU: dict[tuple[str, str], list[float]] = {}


def seconds(action: Callable[[], None], cpu: tuple[str, str] | None = None) -> float:
    """Wall seconds of ``action``; with ``cpu``, the CPU seconds of the processes it ran
    (steadier than wall time on a busy machine) are kept in :data:`CPU` under that name."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        CPU.setdefault(cpu, []).append(used)
    return wall


def tools(cluster: Cluster, bundle: Path, generated: dict[str, Path], env: str) -> list[Tool]:
    """Every tool that is installed, in table order; a note on stderr for each missing one."""
    host = f"127.0.0.1:{cluster.port}"

    def url(db: str) -> str:
        return f"postgresql+psycopg://postgres@{host}/{db}"

    manifest = (bundle / MANIFEST).read_text()
    psql = [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"]
    environ = python_env()

    def psql_files(direction: str) -> Callable[[str], None]:
        files = [bundle / f for f in manifest_files(manifest, direction)]

        def go(db: str) -> None:
            for file in files:
                run([*psql, f"postgresql://postgres@{host}/{db}", "-f", str(file)])

        return go

    yoyo = [str(BIN / "yoyo")]
    yoyo_dir = str(generated["yoyo"])
    # run where no yoyo.ini is (the project's would be read from its root, and it needs
    # TMPLMIG_DATABASE_URL): yoyo reads its configuration from the working directory
    yoyo_cwd = generated["yoyo"].parent
    alembic = [str(BIN / "alembic"), "-c", str(generated["alembic"] / "alembic.ini")]
    tmplmig = [str(BIN / "tmplmig"), "--project", str(PROJECT)]
    sqitch_env = dict(environ, SQITCH_FULLNAME="bench", SQITCH_EMAIL="bench@example.com")

    def sqitch(verb: str, *more: str) -> Callable[[str], None]:
        return lambda db: run(
            ["sqitch", verb, *more, "--target", f"db:pg://postgres@{host}/{db}"],
            cwd=generated["sqitch"],
            env=sqitch_env,
        )

    found = [
        Tool("psql", "psql, file by file", psql_files("apply"), psql_files("rollback")),
        Tool(
            "yoyo",
            "plain yoyo (same SQL, statement by statement)",
            lambda db: run(
                [*yoyo, "apply", "--batch", "-d", url(db), yoyo_dir], env=environ, cwd=yoyo_cwd
            ),
            lambda db: run(
                [*yoyo, "rollback", "--batch", "--all", "-d", url(db), yoyo_dir],
                env=environ,
                cwd=yoyo_cwd,
            ),
            lambda db: run(
                [*yoyo, "list", "--batch", "-d", url(db), yoyo_dir], env=environ, cwd=yoyo_cwd
            ),
        ),
        Tool(
            "alembic",
            "alembic (`op.execute`, autocommit blocks)",
            lambda db: run([*alembic, "-x", f"url={url(db)}", "upgrade", "head"], env=environ),
            lambda db: run([*alembic, "-x", f"url={url(db)}", "downgrade", "base"], env=environ),
            lambda db: run([*alembic, "-x", f"url={url(db)}", "current"], env=environ),
        ),
        Tool(
            "sqitch",
            "sqitch (Debian package, psql engine)",
            sqitch("deploy"),
            sqitch("revert", "-y"),
            sqitch("status"),
        ),
        Tool(
            "tmplmig",
            "**tmplmig**",
            lambda db: run([*tmplmig, "apply", "--env", env, "--database", url(db)], env=environ),
            lambda db: run(
                [*tmplmig, "rollback", "--env", env, "--all", "--database", url(db)], env=environ
            ),
            lambda db: run([*tmplmig, "status", "--env", env, "--database", url(db)], env=environ),
        ),
    ]
    missing = {
        "yoyo": not (BIN / "yoyo").exists(),
        "alembic": not (BIN / "alembic").exists(),
        "sqitch": shutil.which("sqitch") is None,
    }
    for name, gone in missing.items():
        if gone:
            print(f"note: {name} is not installed: skipped", file=sys.stderr)
    return [tool for tool in found if not missing.get(tool.name)]


def admin(cluster: Cluster, *statements: sql.Composable | str) -> None:
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def fresh(cluster: Cluster, db: str) -> None:
    """An empty database ``db``; earlier ones and roles a failed run left behind go."""
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        old = conn.execute(f"SELECT datname FROM pg_database WHERE datname LIKE '{DB_PREFIX}%'")
        for (name,) in old.fetchall():
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        roles = conn.execute(
            "SELECT rolname FROM pg_roles"
            " WHERE shobj_description(oid, 'pg_authid') = 'created by tmplmig'"
        ).fetchall()
        for (role,) in roles:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))


def tool_bookkeeping(row: tuple[Any, ...]) -> bool:
    """Rows of alembic's and sqitch's own tables (catalog.snapshot leaves out yoyo's and
    tmplmig's)."""
    return any(
        isinstance(v, str)
        and (v == "sqitch" or v.startswith("sqitch.") or " sqitch" in v or "alembic_version" in v)
        for v in row
    )


def catalog(cluster: Cluster, db: str) -> Snapshot:
    dsn = cluster.dsn.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(dsn) as conn:
        taken = snapshot(conn)
    return {
        kind: frozenset(r for r in rows if not tool_bookkeeping(r)) for kind, rows in taken.items()
    }


def summary(diff: dict[str, dict[str, list[tuple[Any, ...]]]]) -> str:
    return "; ".join(
        f"{kind}: +{len(d['added'])} -{len(d['removed'])} (e.g. {(d['added'] or d['removed'])[0]})"
        for kind, d in sorted(diff.items())
    )


def rotated(items: list[Any], by: int) -> list[Any]:
    by %= len(items)
    return items[by:] + items[:by]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--env", default="prod")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    which = [str(BIN / "python"), "-c", "import tmplmig; print(tmplmig.__file__)"]
    found = subprocess.run(which, env=python_env(), capture_output=True, text=True, check=True)
    print(f"tmplmig measured: {Path(found.stdout.strip()).parent}")

    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = root / "bundle"
        environ = python_env()
        run(
            [
                str(BIN / "tmplmig"),
                "--project",
                str(PROJECT),
                "render",
                "--env",
                args.env,
                "--out",
                str(bundle),
            ],
            env=environ,
        )
        generated = generate(bundle, root / "generated", cluster.bindir / "psql")
        compiled = [str(PROJECT / "src"), str(root / "generated")]
        run([sys.executable, "-m", "compileall", "-q", *compiled], env=environ)
        found = tools(cluster, bundle, generated, args.env)
        fresh(cluster, f"{DB_PREFIX}empty")
        empty = catalog(cluster, f"{DB_PREFIX}empty")
        times: dict[tuple[str, str], list[float]] = {}
        applied: dict[str, Snapshot] = {}
        problems: list[str] = []
        for round_ in range(args.rounds):
            for tool in rotated(found, round_):
                db = f"{DB_PREFIX}{tool.name}"
                fresh(cluster, db)
                for direction in ("apply", "rollback"):
                    admin(cluster, "CHECKPOINT")
                    action = getattr(tool, direction)
                    times.setdefault((tool.name, direction), []).append(
                        seconds(lambda action=action, db=db: action(db), (tool.name, direction))
                    )
                    after = catalog(cluster, db)
                    if tool.name == "psql" and direction == "apply":
                        applied.setdefault("psql", after)  # psql runs first in round 1
                    reference = empty if direction == "rollback" else applied["psql"]
                    diff = difference(reference, after)
                    if diff:
                        problems.append(f"{tool.name} after {direction}: {summary(diff)}")
                    if direction == "apply" and tool.status:
                        times.setdefault((tool.name, "status"), []).append(
                            seconds(lambda tool=tool, db=db: tool.status(db), (tool.name, "status"))
                        )
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        helps = help_times(found, args.rounds, root)
        load = os.getloadavg()

    report(found, times, helps, problems, args, load)
    return 0


VERBS = ("render", "apply", "status", "plan", "rollback", "verify", "mark", "diff", "lint", "new")


def help_times(found: list[Tool], rounds: int, cwd: Path) -> dict[str, list[float]]:
    """``--help`` of each Python tool and of every tmplmig verb, interleaved; from a folder
    without a yoyo.ini or alembic.ini."""
    names = {t.name for t in found}
    commands = {
        f"{name} --help": [str(BIN / name), "--help"]
        for name in ("yoyo", "alembic", "tmplmig")
        if name in names
    }
    commands |= {f"tmplmig {verb} --help": [str(BIN / "tmplmig"), verb, "--help"] for verb in VERBS}
    environ = python_env()
    out: dict[str, list[float]] = {}
    for round_ in range(rounds):
        for label, command in rotated(list(commands.items()), round_):
            out.setdefault(label, []).append(
                seconds(lambda command=command: run(command, cwd=cwd, env=environ))
            )
    return out


def paired(a: list[float], b: list[float]) -> float:
    """Median of the per-round ratios a/b."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def report(
    found: list[Tool],
    times: dict[tuple[str, str], list[float]],
    helps: dict[str, list[float]],
    problems: list[str],
    args: argparse.Namespace,
    load: tuple[float, float, float],
) -> None:
    med = statistics.median
    print(
        f"\n{args.env} bundle, fresh database per run, {args.rounds} interleaved rounds;"
        f" load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    print("| tool | apply min | apply median | ÷ psql | rollback min | rollback median | ÷ psql |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for tool in found:
        cells = []
        for direction in ("apply", "rollback"):
            mine, base = times[(tool.name, direction)], times[("psql", direction)]
            cells += [f"{min(mine):.2f} s", f"{med(mine):.2f} s", f"{paired(mine, base):.2f}x"]
        print(f"| {tool.label} | " + " | ".join(cells) + " |")
    names = {t.name for t in found}
    if {"yoyo", "tmplmig"} <= names:
        ratios = [
            f"{what} {paired(times[('tmplmig', what)], times[('yoyo', what)]):.2f}x"
            for what in ("apply", "rollback", "status")
        ]
        print("\ntmplmig ÷ plain yoyo, paired medians: " + ", ".join(ratios))
        cpu = [
            f"{what} {paired(CPU[('tmplmig', what)], CPU[('yoyo', what)]):.2f}x"
            f" ({med(CPU[('tmplmig', what)]):.2f} s ÷ {med(CPU[('yoyo', what)]):.2f} s)"
            for what in ("apply", "rollback", "status")
        ]
        print("the same in CPU seconds of the tools' processes: " + ", ".join(cpu))
    status_names = {"yoyo": "yoyo list", "alembic": "alembic current", "sqitch": "sqitch status"}
    status_names["tmplmig"] = "tmplmig status"
    shown = [
        f"`{status_names[t.name]}` {med(times[(t.name, 'status')]):.2f} s"
        for t in found
        if (t.name, "status") in times
    ]
    print("status on an applied database (medians): " + ", ".join(shown))
    tops = [f"`{label}` {med(v):.2f} s" for label, v in helps.items() if label.count(" ") == 1]
    verbs = {label: med(v) for label, v in helps.items() if label.count(" ") == 2}
    slowest = max(verbs, key=verbs.__getitem__)
    print(
        "no database (medians): "
        + ", ".join(tops)
        + f"; `tmplmig VERB --help` {min(verbs.values()):.2f}-{max(verbs.values()):.2f} s"
        + f" (slowest `{slowest}`)"
    )
    if "yoyo --help" in helps:
        yoyo_help = helps["yoyo --help"]
        worst = max(
            paired(v, yoyo_help) for label, v in helps.items() if label.startswith("tmplmig")
        )
        print(f"tmplmig --help and every VERB --help ÷ yoyo --help, paired, at most {worst:.2f}x")
    if problems:
        print("\ncatalogs DIFFER:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print(
            "\ncatalogs: every tool left psql's catalog after apply and the empty one after"
            " rollback, in every round"
        )


if __name__ == "__main__":
    sys.exit(main())
