"""Rendering: golden bundles, determinism, paired rollbacks and quoting of config values.

Update the golden bundles after an intended change with:
    tmplmig render --env dev --out tests/golden/dev
    tmplmig render --env prod --out tests/golden/prod
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering
from tmplmig.migrating.yoyo_bridge import RENDER_CHECK
from tmplmig.rendering import cache
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_part
from tmplmig.rendering.sqlfilters import RenderError

GOLDEN = Path(__file__).parent / "golden"
STEPS_WITHOUT_ROLLBACK = ("validate ", "extension ", "revoke PUBLIC ")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_bundle_matches_golden_files(project: Path, env: str) -> None:
    diff = commands.check_render(for_rendering(project, env), GOLDEN / env)
    assert diff == "", f"rendered SQL changed; review, then update the golden files:\n{diff}"


def test_render_is_byte_identical_across_processes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.DISABLE_VAR, "1")  # each process renders: none reads a kept one
    script = (
        "import sys, pathlib; from tmplmig.migrating import commands, target\n"
        "b = commands.render_bundle(target.for_rendering(pathlib.Path(sys.argv[1]), 'staging'))\n"
        "sys.stdout.write(''.join(k + '\\n' + v for k, v in sorted(b.items())))"
    )
    runs = [  # side by side, each with its own hash seed; this process has a third
        subprocess.Popen(
            [sys.executable, "-c", script, str(project)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "2")
    ]
    here = commands.render_bundle(for_rendering(project, "staging"))
    outputs = {run.communicate()[0] for run in runs}
    outputs.add("".join(k + "\n" + v for k, v in sorted(here.items())))
    assert [run.returncode for run in runs] == [0, 0]
    assert len(outputs) == 1 and len(next(iter(outputs))) > 10_000


def test_render_into_a_pipe_closed_early_stops_quietly(project: Path) -> None:
    command = [sys.executable, "-m", "tmplmig.cli", "--project", str(project), "render"]
    with subprocess.Popen(
        [*command, "--env", "dev"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as render:
        assert render.stdout is not None and render.stderr is not None
        assert render.stdout.readline().startswith("-- tmplmig apply: 001_baseline")
        render.stdout.close()  # as `| head -1` does: far more than a pipe buffer is left
        assert render.stderr.read() == ""
    assert render.returncode == 128 + 13  # as if killed by SIGPIPE


def test_every_step_has_a_rollback_unless_it_creates_nothing(project: Path) -> None:
    for part in commands.render(for_rendering(project, "dev")):
        for step in part.steps:
            if step.rollback is None:
                assert step.name.startswith(STEPS_WITHOUT_ROLLBACK), (part.id, step.name)


def test_seed_rollback_gap_is_closed(project: Path) -> None:
    part = render_part(project, "002a_indexes", load_config(project, "dev"))
    creates = [s for s in part.steps if s.apply.startswith("CREATE INDEX")]
    drops = [s for s in part.steps if (s.rollback or "").startswith("DROP INDEX")]
    assert len(creates) == len(drops) == 11 + 3 + 3  # the seed's, for foreign keys, for purges


@pytest.mark.parametrize(
    "expression",
    [
        "{{ schemas.auth }}",
        "{{ 'x' ~ schemas.auth }}",
        "{{ schemas.auth|string }}",
        "{{ sensitive_columns }}",
        "{{ 'x' ~ sensitive_columns }}",
        "{{ sensitive_columns|join(', ') }}",
        "{{ '%s'|format(schemas.auth) }}",
    ],
)
def test_config_values_cannot_reach_sql_unquoted(sandbox: Path, expression: str) -> None:
    (sandbox / "templates/003_bad.sql.j2").write_text(
        '{% set title = "bad" %}{% set transactional = true %}\n'
        "{% call(d) step('bad') %}SELECT " + expression + ";{% endcall %}\n"
    )
    with pytest.raises(RenderError, match="003_bad"):
        render_part(sandbox, "003_bad", load_config(sandbox, "dev"))


def test_sql_outside_a_step_is_refused(sandbox: Path) -> None:
    (sandbox / "templates/003_stray.sql.j2").write_text(
        '{% set title = "stray" %}{% set transactional = true %}\nDROP TABLE x;\n'
    )
    with pytest.raises(RenderError, match="SQL outside a step"):
        render_part(sandbox, "003_stray", load_config(sandbox, "dev"))


def test_every_template_has_a_migration_file(project: Path) -> None:
    templates = {p.name.removesuffix(".sql.j2") for p in (project / "templates").glob("0*.sql.j2")}
    migrations = {p.stem for p in (project / "migrations").glob("*.py")}
    assert migrations == templates | {RENDER_CHECK}
