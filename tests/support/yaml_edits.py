"""Edits of a sandbox project's YAML config and templates, as a user makes them by hand."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def edit(path: Path, change: Callable[..., None], *args: Any) -> None:
    """Change one YAML file in place: ``change(mapping, *args)`` edits its mapping (empty for
    an empty file)."""
    data = yaml.safe_load(path.read_text()) or {}
    change(data, *args)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


#: what takes experiments.promotions out of each template: the table, its index, foreign
#: key, audit trigger and the column guard's entry
_REMOVALS = {
    "001_baseline.sql.j2": r'\{% call m\.table\(schema=s\.experiments, name="promotions"\) %\}'
    r"[^{]*\{% endcall %\}\n",
    "002a_indexes.sql.j2": r".*idx_promotions_experiment.*\n",
    "002b_foreign_keys.sql.j2": r".*fk_promotions_experiment.*\n.*\n",
    "002e_functions.sql.j2": r".*audit_promotions_changes.*\n.*\n",
    "_retention.sql.j2": r'.*\(schemas\.experiments, "promotions", "experiment_id"\),\n',
}


def remove_promotions(sandbox: Path) -> None:
    """Take experiments.promotions and everything on it out of the templates."""
    for name, pattern in _REMOVALS.items():
        path = sandbox / "templates" / name
        text, count = re.subn(pattern, "", path.read_text(), count=1)
        assert count == 1, name
        path.write_text(text)
