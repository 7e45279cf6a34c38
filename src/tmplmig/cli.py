"""``tmplmig``: a thin argparse layer over :mod:`tmplmig.migrating.commands`."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the commands and their errors are imported once a verb runs, after the
    # arguments parse: `tmplmig --help` and `tmplmig VERB --help` import none of them
    from typing import Any

    from tmplmig.migrating import fanout
    from tmplmig.migrating.rollout import Rollout
    from tmplmig.migrating.states import PartState
    from tmplmig.migrating.target import Target


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tmplmig", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        help="folder holding config/, templates/ and migrations/ (default: .)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True)

    def verb(name: str, help_: str, *, env: bool = True) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_)
        if env:
            p.add_argument("--env", required=True, help="dev, staging, prod, ...")
            p.add_argument("--tenant", help="tenant file under config/tenants/")
        return p

    render = verb("render", "print or write the rendered apply and rollback SQL")
    target = render.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, help="write the psql-runnable bundle here")
    target.add_argument(
        "--check",
        type=Path,
        metavar="DIR",
        help="exit 1 with a diff when the bundle in DIR is out of date",
    )
    render.add_argument(
        "--since-applied",
        action="store_true",
        help="REVIEW.md also says what changed since the last apply recorded in the database",
    )
    render.add_argument("--database", help="URL (default: $TMPLMIG_DATABASE_URL)")

    def fan_out(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database", help="URL (default: $TMPLMIG_DATABASE_URL)")
        p.add_argument("--all-tenants", action="store_true", help="every config/tenants/*.yaml")
        p.add_argument("--jobs", type=int, default=4, help="tenants worked on at once (4)")
        p.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar (there is none when stderr is not a terminal)",
        )
        fleet = p.add_argument_group("rollout, with --all-tenants")
        fleet.add_argument(
            "--only", action="append", default=[], metavar="PATTERN", help="tenants named like this"
        )
        fleet.add_argument(
            "--exclude", action="append", default=[], metavar="PATTERN", help="leave these out"
        )
        fleet.add_argument(
            "--canary",
            metavar="N|NAMES",
            help="run N tenants (or these, comma-separated) first; stop if any fails",
        )
        failure = fleet.add_mutually_exclusive_group()
        failure.add_argument(
            "--stop-on-failure",
            dest="stop_on_failure",
            action="store_true",
            help="after a failure start no further tenant",
        )
        failure.add_argument(
            "--continue-on-failure",
            dest="stop_on_failure",
            action="store_false",
            help="run every tenant whatever fails (default)",
        )
        fleet.add_argument(
            "--format", choices=("table", "json"), default="table", help="summary on stdout"
        )
        return p

    def shared_roles(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--allow-shared-role",
            action="append",
            default=[],
            metavar="ROLE",
            help="rename or drop ROLE although other databases of the server use it"
            " (roles are cluster-wide; see docs/day2.md)",
        )

    apply = fan_out(verb("apply", "apply pending migrations"))
    apply.add_argument(
        "--allow-drop",
        action="append",
        default=[],
        metavar="NAME[=ROWS]",
        help="let the evolve drop this table, schema, column or seeded row (as plan names it),"
        " holding at most ROWS rows at its drop (default: as many as it holds now)",
    )
    shared_roles(apply)
    status = fan_out(verb("status", "show which parts are pending, applied or changed since"))
    status.add_argument(
        "--check", action="store_true", help="exit 1 when anything is pending or changed (CI)"
    )
    plan = fan_out(verb("plan", "print the SQL that brings applied parts to today's config"))
    plan.add_argument("--out", type=Path, help="write it as a psql-runnable bundle here")
    shared_roles(plan)
    rollback = fan_out(verb("rollback", "roll back applied migrations"))
    which = rollback.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every applied migration")
    which.add_argument("--part", help="this migration and those after it")
    rollback.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="in a protected environment, drop tables that hold rows",
    )
    verb(
        "verify", "report expected objects missing, INVALID or different in a live database"
    ).add_argument("--database", help="URL (default: $TMPLMIG_DATABASE_URL)")
    mark = verb("mark", "record a bundle applied (or rolled back) by hand, after checking it")
    mark.add_argument("--database", help="URL (default: $TMPLMIG_DATABASE_URL)")
    mark.add_argument(
        "--rolled-back",
        action="store_true",
        help="record a rollback run by hand, once the parts' objects are gone",
    )
    mark.add_argument("--part", help="with --rolled-back: this migration and those after it")
    diff = verb("diff", "unified diff of the SQL rendered for two targets", env=False)
    diff.add_argument(
        "--env",
        action="append",
        required=True,
        metavar="ENV[:TENANT]",
        help="give twice: from, then to (e.g. --env staging --env prod:acme)",
    )
    lint = verb("lint", "check the rendered SQL with squawk and tmplmig's own rules", env=False)
    lint.add_argument("--env", help="one environment (default: every config/<env>.yaml)")
    lint.add_argument("--tenant", help="tenant file under config/tenants/")
    lint.add_argument("--format", choices=["text", "json", "sarif", "github"], default="text")
    lint.add_argument(
        "--bundle-root",
        default="review",
        help="where bundles are committed, for paths in findings: ROOT/ENV[/TENANT] (review)",
    )
    new = verb("new", "start a migration: migrations/NNN_NAME.py and its template", env=False)
    new.add_argument("name", metavar="NAME", help="lower case, digits and _ (e.g. add_widgets)")
    new.add_argument(
        "--non-transactional",
        action="store_true",
        help="run each step on its own (needed for concurrent index builds, NOT VALID checks)",
    )
    new.add_argument("--depends", metavar="PART", help="the part it follows (default: the latest)")
    demo = verb("demo", "apply and roll back on a throwaway local cluster", env=False)
    demo.add_argument("--env", default="dev")
    return parser


def _rollout(args: argparse.Namespace) -> Rollout:
    """The rollout options; refused without --all-tenants, where they would mean nothing."""
    from tmplmig.migrating.rollout import EVERY_TENANT, Rollout, parse_canary
    from tmplmig.migrating.target import CommandError

    rollout = Rollout(
        only=tuple(args.only),
        exclude=tuple(args.exclude),
        canary=parse_canary(args.canary) if args.canary else 0,
        stop_on_failure=args.stop_on_failure,
    )
    if not args.all_tenants and (rollout != EVERY_TENANT or args.format != "table"):
        raise CommandError(
            "--only, --exclude, --canary, --stop-on-failure and --format need --all-tenants"
        )
    return rollout


def _refuse_rollout_options(args: argparse.Namespace) -> None:
    """For one target: :func:`_rollout`'s check, made (importing the rollout) only when a
    rollout option is given."""
    given = args.only or args.exclude or args.canary is not None or args.stop_on_failure
    if given or args.format != "table":
        _rollout(args)


def _target(args: argparse.Namespace) -> Target:
    """What a verb works on, resolved once from ``--env``, ``--tenant`` and ``--database``."""
    from tmplmig.migrating.target import resolve

    allowed = getattr(args, "allow_shared_role", ())
    return resolve(args.project, args.env, args.tenant, args.database, allow_shared_roles=allowed)


def _all_tenants(args: argparse.Namespace, verb: fanout.TenantVerb[Any]) -> int:
    """Map ``verb`` over the tenants: progress on stderr (a bar on a terminal; elsewhere one line
    per tenant, since a log would keep the bar's carriage returns; none with --no-progress),
    a summary (table or JSON) on stdout."""
    from tqdm import tqdm

    from tmplmig.migrating import fanout

    bars: list[tqdm] = []
    finished: list[str] = []
    terminal = sys.stderr.isatty()

    def start(total: int) -> None:
        bars.append(
            tqdm(
                total=total,
                desc=f"{args.verb} {args.env}",
                unit="tenant",
                file=sys.stderr,
                disable=args.no_progress or not terminal,
            )
        )

    def done(outcome: fanout.TenantOutcome) -> None:
        bar = bars[0]
        bar.set_postfix_str(f"{outcome.tenant}: {outcome.state}", refresh=False)
        bar.update()
        finished.append(outcome.tenant)
        if not terminal and not args.no_progress:
            count = f"{len(finished)}/{bar.total}"
            line = f"{args.verb} {args.env} {count} {outcome.tenant}: {outcome.state}"
            print(line, file=sys.stderr)

    try:
        outcomes = fanout.run_all(
            args.project,
            args.env,
            verb,
            jobs=args.jobs,
            url=args.database,
            tenant=args.tenant,
            rollout=_rollout(args),
            allow_shared_roles=frozenset(getattr(args, "allow_shared_role", ())),
            on_start=start,
            on_done=done,
        )
    finally:
        for bar in bars:
            bar.close()
    summary = fanout.summary_json if args.format == "json" else fanout.summary_table
    sys.stdout.write(summary(outcomes))
    unsettled = getattr(args, "check", False) and any(
        o.state in ("pending", "changed", "objects missing") for o in outcomes
    )
    return 1 if unsettled or any(o.failed for o in outcomes) else 0


def _render(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.migrating.target import CommandError, for_rendering
    from tmplmig.reviewing.bundle import NOT_SQL

    if args.since_applied and not (args.check or args.out):
        raise CommandError("--since-applied writes REVIEW.md: give --out or --check")
    since = args.since_applied  # REVIEW.md reads the database's record
    target = _target(args) if since else for_rendering(args.project, args.env, args.tenant)
    if args.check:
        diff = commands.check_render(target, args.check, since)
        sys.stdout.write(diff or f"{args.check}: up to date\n")
        return 1 if diff else 0
    if args.out:
        for path in commands.write_render(target, args.out, since):
            print(path)
        return 0
    for name, text in commands.render_bundle(target).items():
        if name not in NOT_SQL:
            print(text)
    return 0


def _one_target(args: argparse.Namespace, flag: str) -> None:
    """Refuse ``flag`` with --all-tenants: it acknowledges what one target holds."""
    from tmplmig.migrating.target import CommandError

    if args.all_tenants:
        raise CommandError(
            f"{flag} acknowledges one target's data: give --tenant, not --all-tenants"
        )


def _apply(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.migrating.destructive import parse_allowed

    if args.allow_drop:
        _one_target(args, "--allow-drop")
    if args.all_tenants:
        from tmplmig.migrating import fanout

        return _all_tenants(args, fanout.APPLY)
    _refuse_rollout_options(args)
    allow_drop = parse_allowed(args.allow_drop)
    applied = commands.apply(_target(args), allow_drop=allow_drop)
    print("applied: " + (", ".join(applied) or "nothing, already up to date"))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands

    if args.allow_data_loss:
        _one_target(args, "--allow-data-loss")
    if args.all_tenants:
        from tmplmig.migrating import fanout

        return _all_tenants(args, fanout.ROLLBACK.given(part=args.part))
    _refuse_rollout_options(args)
    done = commands.rollback(_target(args), args.part, args.allow_data_loss)
    print("rolled back: " + (", ".join(done) or "nothing"))
    return 0


def status_text(states: list[PartState]) -> str:
    """One line per part; under a changed part its changed steps and config key paths."""
    width = max((len(s.id) for s in states), default=0)
    lines = []
    for state in states:
        lines.append(f"{state.id:{width}}  {state.label}")
        for change in state.steps:
            lines.append(f"    step {change}")
            lines += [
                f"        destructive: {loss}"
                for loss in state.losses
                if loss.identity == change.identity
            ]
            lines += [f"        cause: {cause}" for cause in change.causes]
        lines += [f"    config {change}" for change in state.config]
        if state.all_missing:
            lines.append(
                f"    gone: the {len(state.missing)} objects it made (rolled back by hand?"
                f" tmplmig mark --rolled-back --part {state.id})"
            )
        else:
            lines += [f"    gone: {o}" for o in state.missing]
    return "\n".join(lines) + "\n"


def _status(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands

    if args.all_tenants:
        from tmplmig.migrating import fanout

        return _all_tenants(args, fanout.STATUS)
    _refuse_rollout_options(args)
    states = commands.status(_target(args))
    sys.stdout.write(status_text(states))
    stale = ("pending", "changed", "missing")
    return 1 if args.check and any(s.state in stale for s in states) else 0


def _plan(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.reviewing.bundle import write_bundle

    if args.all_tenants:
        from tmplmig.migrating import fanout

        return _all_tenants(args, fanout.writing_plans(args.out) if args.out else fanout.PLAN)
    _refuse_rollout_options(args)
    contents = commands.plan(_target(args))
    if not contents:
        print("nothing to plan: every applied part matches today's config")
    elif args.out:
        for path in write_bundle(contents, args.out):
            print(path)
    else:  # what would run; --out writes the rollback section too
        from tmplmig.reviewing.bundle import MANIFEST, manifest_files

        for name in manifest_files(contents[MANIFEST], "apply"):
            print(contents[name])
    return 0


def _verify(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands

    problems = commands.verify(_target(args))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "every expected object is present")
    return 1 if problems else 0


def _mark(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.migrating.target import CommandError

    if args.rolled_back:
        done = commands.mark_rolled_back(_target(args), args.part)
        print("marked as rolled back: " + (", ".join(done) or "nothing, none applied"))
        return 0
    if args.part:
        raise CommandError("--part goes with --rolled-back (mark records every part applied)")
    marked = commands.mark(_target(args))
    print("marked as applied: " + (", ".join(marked) or "nothing, already recorded"))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.migrating.target import CommandError, for_rendering

    if len(args.env) != 2:
        raise CommandError("diff needs two targets: --env FROM --env TO")
    old, new = (for_rendering(args.project, *commands.parse_target(t)) for t in args.env)
    text = commands.diff(old, new)
    sys.stdout.write(text or f"{args.env[0]} and {args.env[1]} render the same SQL\n")
    return 1 if text else 0


def _lint(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands
    from tmplmig.reviewing.report import FORMATS

    per_target = commands.lint_envs(args.project, args.env, args.tenant)
    sys.stdout.write(FORMATS[args.format](per_target, args.bundle_root))
    return 1 if any(per_target.values()) else 0


def _new(args: argparse.Namespace) -> int:
    from tmplmig.migrating import commands

    for path in commands.new(args.project, args.name, not args.non_transactional, args.depends):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tmplmig.demo import run_demo

    return 0 if run_demo(args.project, args.env) else 1


#: verb -> its handler: call the command, print what it returns, give the exit status
VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    "render": _render,
    "apply": _apply,
    "rollback": _rollback,
    "status": _status,
    "plan": _plan,
    "verify": _verify,
    "mark": _mark,
    "diff": _diff,
    "lint": _lint,
    "new": _new,
    "demo": _demo,
}


def _run_errors() -> tuple[type[Exception], ...]:
    """What the driver or yoyo raise, not tmplmig: a migration that failed on the server (yoyo
    has rolled it back) or could not start. yoyo's only when the verb imported yoyo (a verb
    that only reads does not); an ``except`` clause asks when an exception is raised."""
    import psycopg

    yoyo = sys.modules.get("yoyo.exceptions")
    return (psycopg.Error, *((yoyo.BadMigration, yoyo.LockTimeout) if yoyo else ()))


@contextmanager
def _collector_paused(args: argparse.Namespace) -> Iterator[None]:
    """The cyclic garbage collector paused for a command on one target: it lives for one run,
    and what it allocates (imports, a render, the rows it reads) reference counting frees;
    the collections its imports would trigger cost some 10 ms of a 0.3 s apply
    (docs/benchmarks.md). A fan-out keeps the collector: it runs as long as its fleet."""
    paused = gc.isenabled() and not getattr(args, "all_tenants", False)
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tmplmig`` console script."""
    args = _parser().parse_args(argv)
    from tmplmig.database.interrupts import Interrupted, interruptible
    from tmplmig.errors import TmplmigError

    log = logging.getLogger("tmplmig")
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(logging.Formatter("tmplmig: %(message)s"))
    log.addHandler(to_stderr)  # server notices and lock retries, as they happen
    log.setLevel(logging.INFO)
    try:
        with interruptible(), _collector_paused(args):
            status = VERBS[args.verb](args)
            sys.stdout.flush()  # a closed pipe shows here, not at exit as a traceback
            return status
    except BrokenPipeError:
        # the reader went away (`tmplmig render | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except Interrupted as exc:
        print(
            f"tmplmig: {args.verb} interrupted by {exc} {exc.where}: its statement was cancelled"
            f" on the server and the lock released; run {args.verb} again to finish",
            file=sys.stderr,
        )
        return exc.exit_code
    except TmplmigError as exc:
        for line in exc.report:
            print(line, file=sys.stderr)
        return exc.exit_code
    except _run_errors() as exc:
        print(f"tmplmig: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        log.removeHandler(to_stderr)


if __name__ == "__main__":
    sys.exit(main())
