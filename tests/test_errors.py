"""One error base: every error tmplmig raises is a TmplmigError, carrying the lines a command
line prints and its exit status; ``tmplmig`` catches it in one clause, and where plain yoyo's
command line is the caller, the bridge ends the process the same way."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path

import pytest

import tmplmig
from tmplmig import cli
from tmplmig.database.interrupts import Interrupted
from tmplmig.database.runlock import LockHeld
from tmplmig.errors import TmplmigError
from tmplmig.migrating.plan import UnsafeChange
from tmplmig.migrating.rollback_guard import Blocker, RollbackBlocked
from tmplmig.migrating.target import CommandError
from tmplmig.migrating.yoyo_bridge import ChangedSinceApplied, NoEnvironment, yoyo_command_line
from tmplmig.rendering.config import ConfigError


def exceptions_defined_in_tmplmig() -> dict[str, type[BaseException]]:
    """Every exception class a tmplmig module defines, by qualified name."""
    found = {}
    for module in pkgutil.walk_packages(tmplmig.__path__, "tmplmig."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.name:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_error_tmplmig_defines_is_a_tmplmig_error() -> None:
    """Except Interrupted: a KeyboardInterrupt, so that no ``except Exception`` eats a Ctrl-C."""
    defined = exceptions_defined_in_tmplmig()
    assert "tmplmig.migrating.target.CommandError" in defined
    others = {name for name, cls in defined.items() if not issubclass(cls, TmplmigError)}
    assert others == {"tmplmig.database.interrupts.Interrupted"}
    assert issubclass(Interrupted, KeyboardInterrupt)


def test_the_cli_catches_tmplmig_errors_in_one_clause() -> None:
    """Besides TmplmigError, ``main`` catches only what is not an error of tmplmig's: a closed
    pipe, a signal, and the driver's and yoyo's own errors (``_run_errors()``)."""
    tree = ast.parse(Path(cli.__file__).read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    caught = [ast.unparse(h.type) for h in ast.walk(main) if isinstance(h, ast.ExceptHandler)]
    assert sorted(caught) == ["BrokenPipeError", "Interrupted", "TmplmigError", "_run_errors()"]


REPORTED: dict[str, tuple[TmplmigError, int, list[str]]] = {
    "a config error": (
        ConfigError("config/dev.yaml", ("ddl", "lock_timeout"), "not a duration"),
        2,
        ["tmplmig: error: config/dev.yaml: ddl.lock_timeout: not a duration"],
    ),
    "a command that cannot run": (
        CommandError("no such part: 009_x"), 2, ["tmplmig: error: no such part: 009_x"]
    ),
    "an unsafe change": (
        UnsafeChange(["001_baseline: tables: a column type changed"]),
        1,
        [
            "tmplmig: unsafe: 001_baseline: tables: a column type changed",
            "tmplmig: nothing was changed",
        ],
    ),
    "a blocked rollback": (
        RollbackBlocked([Blocker("table", "app.t", "alice", "not created by the migrations")]),
        1,
        [
            "tmplmig: rollback refused, nothing was changed; these would stop it part-way:",
            "  table app.t (owner alice): not created by the migrations",
        ],
    ),
    "a held lock": (
        LockHeld("This database is locked"),
        1,
        ["tmplmig: failed: LockTimeout: This database is locked"],
    ),
}  # fmt: skip


def raising(error: TmplmigError) -> Callable[..., int]:
    """A verb that fails with ``error``."""

    def verb(*_: object) -> int:
        raise error

    return verb


@pytest.mark.parametrize("case", REPORTED)
def test_the_cli_prints_an_errors_report_and_exits_with_its_status(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error, status, lines = REPORTED[case]
    assert (error.exit_code, error.report) == (status, lines)
    monkeypatch.setitem(cli.VERBS, "render", raising(error))
    assert cli.main(["render", "--env", "dev"]) == status
    assert capsys.readouterr().err.splitlines() == lines


@pytest.mark.parametrize(
    ("error", "status", "lines"),
    [
        (
            ChangedSinceApplied(["001_baseline: applied, changed since"]),
            1,
            ["tmplmig: 001_baseline: applied, changed since", "tmplmig: nothing was applied"],
        ),
        (NoEnvironment("set TMPLMIG_ENV"), 2, ["tmplmig: set TMPLMIG_ENV"]),
    ],
)
def test_under_plain_yoyo_an_error_ends_the_process_with_its_report(
    error: TmplmigError, status: int, lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """yoyo's command line would log a traceback (and, while loading, skip the file)."""
    with pytest.raises(SystemExit) as ended, yoyo_command_line():
        raise error
    assert ended.value.code == status
    assert capsys.readouterr().err.splitlines() == lines
