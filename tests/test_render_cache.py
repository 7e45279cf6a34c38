"""What rendering keeps between calls in one process (the Jinja environment, parsed YAML,
quoted names) never changes what it renders: many tenants in a row render as each does in
a fresh process, and an edited template or config file is read again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.fresh import Forker
from support.tenants import only_tenants

from tmplmig.migrating.tenants import load_tenants
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all

#: tenants that differ in what reaches the SQL: prefixes, an override of a schema and a
#: role, a retention value, a privilege switch (one more step), a database placement
TENANTS: dict[str, dict[str, Any]] = {
    "alpha": {},
    "beta": {"retention": {"audit_log": 31}},
    "gamma": {"tenant": {"schema_prefix": "g_", "role_prefix": "gr_"}},
    "delta": {"schemas": {"auth": "delta_identity"}, "roles": {"owner": "delta_keeper"}},
    "epsilon": {"privileges": {"readwrite_can_delete": True}, "tenant": {"database": "other"}},
    "o_brien": {"schemas": {"audits": 'O\'Brien "audits"'}, "retention": {"experiments": 7}},
}

_FRESH = (
    "import pathlib, sys\n"
    "from tmplmig.rendering.config import load_config\n"
    "from tmplmig.rendering.parts import render_all\n"
    "project, tenant = pathlib.Path(sys.argv[1]), sys.argv[2]\n"
    "parts = render_all(project, load_config(project, 'dev', tenant))\n"
    "sys.stdout.write(repr(parts))\n"
)


def rendered(project: Path, tenant: str) -> str:
    """Every part of ``tenant`` in dev, as text that shows every field of every step."""
    parts = render_all(project, load_config(project, "dev", tenant))
    return repr(parts)


def rendered_fresh(fresh: Forker, project: Path, *tenants: str) -> dict[str, str]:
    """The same for each tenant, each rendered by a new process (side by side) that has
    rendered nothing before."""
    outputs = fresh.run([(_FRESH, [str(project), tenant], {}) for tenant in tenants])
    return dict(zip(tenants, outputs, strict=True))


@pytest.fixture
def tenants(sandbox: Path) -> Path:
    return only_tenants(sandbox, TENANTS)


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` in the file and move its modification time on, as a later save does."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_many_tenants_in_one_process_render_as_each_does_fresh(
    tenants: Path, fresh: Forker
) -> None:
    each = rendered_fresh(fresh, tenants, *TENANTS)
    assert len(set(each.values())) == len(TENANTS)
    for order in (list(TENANTS), list(reversed(TENANTS)), [*TENANTS, *TENANTS]):
        assert {name: rendered(tenants, name) for name in order} == each
    # as a fan-out does: every tenant loaded first (twice), then each rendered
    configs = load_tenants(tenants, "dev")
    assert [c.placement for c in configs] == [c.placement for c in load_tenants(tenants, "dev")]
    in_row = {c.tenant: repr(render_all(tenants, c)) for c in configs}
    assert in_row == each


def test_an_edited_template_is_rendered_anew(tenants: Path, fresh: Forker) -> None:
    before = rendered(tenants, "alpha")
    edit(tenants / "templates" / "002a_indexes.sql.j2", "status, created_at DESC", "status")
    after = rendered(tenants, "alpha")
    assert after != before
    assert after == rendered_fresh(fresh, tenants, "alpha")["alpha"]


def test_an_edited_macro_library_is_rendered_anew(tenants: Path, fresh: Forker) -> None:
    before = rendered(tenants, "beta")
    edit(tenants / "templates" / "_macros.sql.j2", "CREATE SCHEMA IF NOT EXISTS", "CREATE SCHEMA")
    after = rendered(tenants, "beta")
    assert after != before
    assert after == rendered_fresh(fresh, tenants, "beta")["beta"]


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("config/tenants/beta.yaml", "audit_log: 31", "audit_log: 32"),
        ("config/base.yaml", "experiments: 730", "experiments: 731"),
        ("config/dev.yaml", "", "# a comment changes no SQL\n"),
    ],
)
def test_an_edited_config_file_is_read_anew(
    tenants: Path, fresh: Forker, file: str, old: str, new: str
) -> None:
    before = rendered(tenants, "beta")
    path = tenants / file
    if old:
        edit(path, old, new)
    else:
        edit(path, path.read_text(), new + path.read_text())
    after = rendered(tenants, "beta")
    assert after == rendered_fresh(fresh, tenants, "beta")["beta"]
    assert (after != before) == bool(old)
