"""The house by layer: no module imports a layer above its own, and a command loads its
config once however many migration files render from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import ALL_PARTS, PROJECT

from tmplmig.migrating import commands, target, tenants, yoyo_bridge
from tmplmig.rendering.config import LoadedConfig, load_config

PACKAGE = PROJECT / "src" / "tmplmig"
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
    assert commands.apply(project, "dev", url=db_url) == ALL_PARTS
    assert loads == [("dev", None)]
