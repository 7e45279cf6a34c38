"""The house by layer: no module imports a layer above its own, and a command loads its
config once however many migration files render from it."""

from __future__ import annotations

import ast
import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.servers import ALL_PARTS, PROJECT

import tmplmig
from tmplmig import cli
from tmplmig.migrating import commands, target, tenants, yoyo_bridge
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import LoadedConfig, load_config

PACKAGE = PROJECT / "src" / "tmplmig"
#: what a command needs and --help does not (the driver, yoyo, the parsers, the commands)
HEAVY = ("psycopg", "yoyo", "pglast", "pydantic", "jinja2", "yaml", "tmplmig.migrating.commands")
#: lowest first; a module may import its own layer and those before it
LAYERS = ["rendering", "database", "reviewing", "migrating"]


def imported_layers(module: Path) -> set[str]:
    """The layers a module imports from, read from its source."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        name = node.module or "" if isinstance(node, ast.ImportFrom) else ""
        if name.startswith("tmplmig."):
            found.add(name.split(".")[1])
    return found & set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    modules = sorted((PACKAGE / layer).glob("*.py"))
    assert modules
    upward = {m.name: imported_layers(m) - allowed for m in modules if imported_layers(m) - allowed}
    assert upward == {}


def test_apply_loads_the_config_once(
    project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[tuple[str, str | None]] = []

    def counting(project: Path, env: str, tenant: str | None = None) -> LoadedConfig:
        loads.append((env, tenant))
        return load_config(project, env, tenant)

    for module in (target, tenants, yoyo_bridge):
        monkeypatch.setattr(module, "load_config", counting)
    assert commands.apply(resolve(project, "dev", url=db_url)) == ALL_PARTS
    assert loads == [("dev", None)]


@pytest.mark.parametrize("args", [["--help"], ["apply", "--help"], ["status", "--help"]])
def test_help_imports_nothing_a_command_needs(args: list[str]) -> None:
    """Arguments parse before any command is imported: ``--help`` starts as fast as yoyo's."""
    code = (
        "import sys\nfrom tmplmig import cli\ntry:\n    cli.main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    src = Path(tmplmig.__file__).resolve().parent.parent  # the tree under test
    path = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "usage: tmplmig" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("fleet", "collecting"), [([], False), (["--all-tenants"], True)], ids=["one target", "fleet"]
)
def test_a_command_on_one_target_pauses_the_cycle_collector_and_a_fleet_keeps_it(
    fleet: list[str], collecting: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One target's run is short and its garbage is freed by reference counting; a fan-out runs
    as long as its fleet. Either way the process gets its collector back."""
    seen: list[bool] = []
    monkeypatch.setitem(cli.VERBS, "status", lambda args: seen.append(gc.isenabled()) or 0)
    assert gc.isenabled()
    assert cli.main(["status", "--env", "dev", *fleet]) == 0
    assert seen == [collecting]
    assert gc.isenabled()


#: what only a verb that changes the database runs: the evolve, the rollback, their locks
MIGRATING_ONLY = (
    "yoyo",
    "tmplmig.migrating.evolving",
    "tmplmig.migrating.rolling_back",
    "tmplmig.migrating.preflight",
    "tmplmig.migrating.rollback_guard",
)


@pytest.mark.parametrize("verb", ["status", "plan"])
def test_a_verb_that_only_reads_loads_no_migrating_machinery(
    verb: str, project: Path, db_url: str
) -> None:
    commands.apply(resolve(project, "dev", url=db_url))
    code = (
        "import sys\nfrom pathlib import Path\nfrom tmplmig.migrating import commands\n"
        "from tmplmig.migrating.target import resolve\n"
        f"commands.{verb}(resolve(Path(sys.argv[1]), 'dev', url=sys.argv[2]))\n"
        f"print(sorted(m for m in {MIGRATING_ONLY!r} if m in sys.modules))"
    )
    src = Path(tmplmig.__file__).resolve().parent.parent  # the tree under test
    path = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", code, str(project), db_url],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/support/ (fixtures in conftest.py): a test module that
    imports another runs that module's tests' setup twice and ties the two together."""
    tests = PROJECT / "tests"
    modules = {m.stem for m in tests.glob("test_*.py")}
    borrowed = {}
    for module in sorted([*tests.glob("*.py"), *(tests / "support").glob("*.py")]):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found = {n for n in names if n.removeprefix("tests.") in modules | {"conftest"}}
            if found:
                borrowed[module.name] = sorted(found)
    assert borrowed == {}
