"""Tenant files of a sandbox project, written as an operator adds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def add_tenant(sandbox: Path, name: str, data: dict[str, Any] | str = "") -> Path:
    """``config/tenants/NAME.yaml``: ``data`` as YAML, or a file's text as given."""
    path = sandbox / "config" / "tenants" / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def only_tenants(sandbox: Path, tenants: dict[str, dict[str, Any] | str]) -> Path:
    """The sandbox with exactly these tenant files (the project's own ones removed)."""
    for old in (sandbox / "config" / "tenants").glob("*.yaml"):
        old.unlink()
    for name, data in tenants.items():
        add_tenant(sandbox, name, data)
    return sandbox
