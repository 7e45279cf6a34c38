"""Lint: each rule fires on a bad example at the right file and line, and stays quiet on the
safe variant; the project's own templates carry only the findings named below."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tmplmig import cli
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import Part, Step
from tmplmig.reviewing import lint
from tmplmig.reviewing.bundle import BundleFile, build_bundle
from tmplmig.reviewing.lint import RULES, Finding, lint_bundle

TABLE = 'CREATE TABLE IF NOT EXISTS "app"."t" (id int PRIMARY KEY, a int);'
DROP_TABLE = 'DROP TABLE IF EXISTS "app"."t";'


def example_bundle(project: Path, *steps: Step) -> tuple[list[Part], list[BundleFile]]:
    """One part made of ``steps``, rendered into bundle files like any template."""
    config = load_config(project, "dev")
    part = Part("003_example", "example", True, (), tuple(steps), "templates/003_example.sql.j2")
    return [part], build_bundle([part], config)


def lint_steps(project: Path, *steps: Step, tool: str | None = "tmplmig") -> list[Finding]:
    """Lint the bundle of :func:`example_bundle`: the findings of ``tool`` (None: all)."""
    findings = lint_bundle(*example_bundle(project, *steps))
    return [f for f in findings if tool is None or f.tool == tool]


def line_in(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` that contains ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def line_of(project: Path, needle: str, *steps: Step) -> int:
    """Where ``needle`` first appears in the apply file of :func:`example_bundle`."""
    [apply] = [f.text for f in example_bundle(project, *steps)[1] if f.direction == "apply"]
    return line_in(apply, needle)


def rules(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in findings]


def test_project_templates_lint_clean_in_every_environment_and_tenant(project: Path) -> None:
    findings = commands.lint_envs(project)
    envs = ("dev", "staging", "prod")
    assert set(findings) == {f"{e}{t}" for e in envs for t in ("", ":acme", ":globex")}
    assert {target: f for target, f in findings.items() if f} == {}


def test_a_statement_that_does_not_parse_is_reported_at_its_line(
    project: Path, conn: psycopg.Connection[Any]
) -> None:
    bad = "SELECT 1;\nCREATE TABLE app.t (id int,);"
    [finding] = lint_steps(project, Step("table", bad, None))
    assert (finding.file, finding.rule) == ("003_example.sql", "parse-error")
    assert finding.line == line_of(project, "CREATE TABLE app.t", Step("table", bad, None))
    assert 'syntax error at or near ")"' in finding.message
    with pytest.raises(psycopg.errors.SyntaxError):  # the server agrees
        conn.execute(bad)


def test_plpgsql_inside_a_do_block_is_parsed_too(project: Path) -> None:
    bad = "DO $x$\nBEGIN\n    PERFORM 1;\n    SELEC 2;\nEND\n$x$;"
    [finding] = lint_steps(project, Step("block", bad, None))
    assert finding.rule == "parse-error" and "SELEC" in finding.message


def test_a_rollback_that_does_not_parse_is_reported_in_the_rollback_file(project: Path) -> None:
    [finding] = lint_steps(project, Step("table", TABLE, "DROP TABEL app.t;"))
    assert (finding.file, finding.rule) == ("003_example.rollback.sql", "parse-error")


def test_an_object_whose_rollback_does_not_drop_it_is_reported(project: Path) -> None:
    steps = (
        Step("table", TABLE, 'DROP TABLE IF EXISTS "app"."other";'),
        Step("index", 'CREATE INDEX "i" ON "app"."t" (a);', 'DROP INDEX "other"."i";'),
        Step(
            "role",
            "DO $b$\nBEGIN\n    CREATE ROLE r NOLOGIN;\nEND\n$b$;",
            "DO $b$\nBEGIN\n    DROP ROLE r;\nEND\n$b$;",
        ),
        Step(
            "function",
            "CREATE FUNCTION app.f(a int) RETURNS int LANGUAGE sql AS 'SELECT a';",
            "DROP FUNCTION app.f(bigint);",
        ),
    )
    findings = lint_steps(project, *steps)
    assert [(f.rule, f.line, f.message.split(":")[0]) for f in findings] == [
        ("missing-rollback", line_of(project, "CREATE TABLE", *steps), "table app.t"),
        ("missing-rollback", line_of(project, "CREATE INDEX", *steps), "index app.i"),
        ("missing-rollback", line_of(project, "CREATE FUNCTION", *steps), "function app.f(int4)"),
    ]


def test_paired_creates_and_drops_are_clean(project: Path) -> None:
    assert (
        lint_steps(
            project,
            Step("table", TABLE, DROP_TABLE),
            Step("index", 'CREATE INDEX "i" ON "app"."t" (a);', 'DROP INDEX "app"."i";'),
            Step(
                "fk",
                "ALTER TABLE app.t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES app.t (id);",
                "ALTER TABLE app.t DROP CONSTRAINT c;",
            ),
            Step(
                "trigger",
                "CREATE TRIGGER tr AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f();",
                "DROP TRIGGER tr ON app.t;",
            ),
        )
        == []
    )


def test_an_acknowledged_rule_is_not_reported(project: Path) -> None:
    step = Step("ext", "-- lint: allow missing-rollback: database-wide\nCREATE EXTENSION x;", None)
    assert lint_steps(project, step) == []


@pytest.mark.parametrize(
    ("rule", "apply"),
    [
        ("require-concurrent-index-creation", 'CREATE INDEX IF NOT EXISTS "i" ON "app"."t" (a);'),
        (
            "adding-foreign-key-constraint",
            "ALTER TABLE app.t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES app.u (id);",
        ),
        ("constraint-missing-not-valid", "ALTER TABLE app.t ADD CONSTRAINT c CHECK (a > 0);"),
        ("changing-column-type", "ALTER TABLE app.t ALTER COLUMN a TYPE bigint;"),
        ("adding-required-field", "ALTER TABLE app.t ADD COLUMN b bigint NOT NULL;"),
        ("adding-not-nullable-field", "ALTER TABLE app.t ALTER COLUMN a SET NOT NULL;"),
    ],
)
def test_squawk_reports_unsafe_ddl_at_its_bundle_line_and_step(
    project: Path, rule: str, apply: str
) -> None:
    steps = (Step("change", apply, None),)
    found = [f for f in lint_steps(project, *steps, tool="squawk") if f.rule == rule]
    assert [(f.tool, f.line, f.step) for f in found] == [
        ("squawk", line_of(project, apply, *steps), "change")
    ]


def test_rollback_files_may_drop_what_apply_files_may_not(project: Path) -> None:
    steps = (Step("table", TABLE, DROP_TABLE), Step("drop", DROP_TABLE, None))
    found = lint_steps(project, *steps, tool="squawk")
    dropped = [(f.file, f.rule) for f in found if f.rule == "ban-drop-table"]
    assert dropped == [("003_example.sql", "ban-drop-table")]


def test_a_squawk_rule_acknowledged_with_a_reason_is_not_reported(project: Path) -> None:
    index = 'CREATE INDEX IF NOT EXISTS "i" ON "app"."t" (a);'
    acknowledged = "-- a small table\n-- squawk-ignore require-concurrent-index-creation\n" + index
    rules_found = {
        f.rule for f in lint_steps(project, Step("index", acknowledged, None), tool=None)
    }
    assert "require-concurrent-index-creation" not in rules_found
    assert "require-concurrent-index-creation" in {
        f.rule for f in lint_steps(project, Step("index", index, None), tool=None)
    }


@pytest.mark.parametrize(
    ("rule", "apply", "safe"),
    [
        (
            "grant-to-public",
            'GRANT SELECT ON "app"."t" TO PUBLIC;',
            'GRANT SELECT ON "app"."t" TO "reader";',
        ),
        (
            "security-definer-search-path",
            "CREATE OR REPLACE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER"
            " AS 'SELECT 1';",
            "CREATE OR REPLACE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER"
            " SET search_path = pg_catalog, pg_temp AS 'SELECT 1';",
        ),
        (
            "identifier-too-long",
            f'CREATE SCHEMA IF NOT EXISTS "{"s" * 64}";',
            f'CREATE SCHEMA IF NOT EXISTS "{"s" * 63}";',
        ),
    ],
)
def test_tmplmig_rules_squawk_lacks(project: Path, rule: str, apply: str, safe: str) -> None:
    def rollback(sql: str) -> str | None:
        if "SCHEMA" in sql:
            return "DROP SCHEMA IF EXISTS " + sql.split()[-1]
        return "DROP FUNCTION IF EXISTS app.f();" if "FUNCTION" in sql else None

    steps = (Step("step", apply, rollback(apply)),)
    findings = lint_steps(project, *steps)
    assert rules(findings) == [(rule, line_of(project, apply.split("\n")[0], *steps))]
    assert RULES[rule] in findings[0].message
    assert lint_steps(project, Step("step", safe, rollback(safe))) == []


def test_lint_cli_names_env_file_and_line_and_fails(
    sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = sandbox / "templates/002c_system_tables.sql.j2"
    template.write_text(
        template.read_text()
        + '{% call(d) step("retype") %}{% if d == "apply" %}\n'
        + "ALTER TABLE {{ schemas.audits|qualified('audit_log') }} ALTER COLUMN action TYPE"
        + " varchar(20);\n{% endif %}{% endcall %}\n"
    )
    assert cli.main(["--project", str(sandbox), "lint", "--env", "prod", "--tenant", "acme"]) == 1
    out = capsys.readouterr().out.splitlines()
    retype = [line for line in out if "changing-column-type" in line]
    rendered = commands.render_bundle(for_rendering(sandbox, "prod", "acme"))[
        "002c_system_tables.sql"
    ]
    line = line_in(rendered, 'ALTER TABLE "acme_audits"."audit_log" ALTER COLUMN action TYPE')
    assert len(retype) == 1
    assert retype[0].startswith(f"prod:acme/002c_system_tables.sql:{line}: changing-column-type: ")
    assert retype[0].endswith("[step: retype]")


def test_a_sensitive_column_a_role_may_read_unlisted_is_reported_where_it_became_readable(
    sandbox: Path,
) -> None:
    """Whatever makes it readable: a table written without m.table where default privileges
    grant SELECT, or a table-wide GRANT after m.table hid the column; m.table alone is clean."""
    [_, template] = sorted(commands.new(sandbox, "add_secrets"))
    template.write_text(
        template.read_text() + '{% call m.table(schema=s.auth, name="service_accounts") %}\n'
        "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    password_hash text NOT NULL\n"
        "{% endcall %}\n"
    )
    assert commands.lint(for_rendering(sandbox, "dev", "acme")) == []
    template.write_text(
        template.read_text()
        + '{% call(d) step("table", s.production, "keys") %}{% if d == "apply" %}\n'
        'CREATE TABLE {{ s.production|qualified("keys") }} (id bigint PRIMARY KEY, api_key text);\n'
        '{% else %}\nDROP TABLE {{ s.production|qualified("keys") }};\n{% endif %}{% endcall %}\n'
        '{{ m.grant(privileges="SELECT", on="TABLE", role=roles.readwrite,'
        ' target=s.auth|qualified("service_accounts")) }}\n'
    )
    findings = [
        f for f in commands.lint(for_rendering(sandbox, "dev", "acme")) if f.tool == "tmplmig"
    ]
    [apply] = [
        text for name, text in commands.render_bundle(for_rendering(sandbox, "dev", "acme")).items()
        if name == "003_add_secrets.sql"
    ]  # fmt: skip
    create = line_in(apply, 'CREATE TABLE "acme_production"."keys"')
    grant = line_in(apply, 'GRANT SELECT ON TABLE "acme_auth"."service_accounts"')
    assert [(f.file, f.line, f.rule, f.step, f.message.split(":")[0]) for f in findings] == [
        ("003_add_secrets.sql", create, "sensitive-column-readable",
         "table acme_production keys", f"acme_app_{role} can read acme_production.keys.api_key")
        for role in ("admin", "readonly")
    ] + [
        ("003_add_secrets.sql", grant, "sensitive-column-readable",
         'grant SELECT on "acme_auth"."service_accounts" to acme_app_readwrite',
         "acme_app_readwrite can read acme_auth.service_accounts.password_hash")
    ]  # fmt: skip


def test_the_readmes_new_migration_recipe_lints_clean_everywhere(
    sandbox: Path, project: Path
) -> None:
    """README's "Writing a new migration", as written there: `tmplmig new`, its template body
    (a table, an index, a foreign key, a column with a default, then NOT NULL)."""
    readme = (project / "README.md").read_text()
    section = readme[readme.index("## Writing a new migration") :]
    recipe = section[section.index("```jinja\n") + len("```jinja\n") :]
    recipe = recipe[: recipe.index("```")]
    assert "m.set_not_null(" in recipe and "m.add_column(" in recipe
    (template,) = (
        p for p in commands.new(sandbox, "add_widgets", transactional=False) if p.suffix == ".j2"
    )
    template.write_text(template.read_text() + recipe)
    findings = commands.lint_envs(sandbox)
    assert findings and all(found == [] for found in findings.values()), findings


# --- squawk failing ---------------------------------------------------------------------------


def fake_squawk(tmp_path: Path, body: str) -> str:
    """An executable standing in for squawk: a shell script of ``body``."""
    script = tmp_path / "squawk"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_a_squawk_that_fails_is_reported_with_what_it_said(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = fake_squawk(tmp_path, "echo 'unknown flag --pg-version' >&2; exit 2")
    monkeypatch.setattr(lint, "squawk_path", lambda: failing)
    with pytest.raises(commands.CommandError, match="squawk failed: unknown flag --pg-version"):
        commands.lint(for_rendering(project, "dev"))


def test_an_interrupted_lint_leaves_no_squawk_running(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both passes run side by side: when waiting for the first is cut short, the other one
    is stopped too, not left behind."""
    slow = fake_squawk(tmp_path, "sleep 30")
    monkeypatch.setattr(lint, "squawk_path", lambda: slow)
    started: list[subprocess.Popen[str]] = []
    popen = subprocess.Popen

    def tracked(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        started.append(popen(*args, **kwargs))
        return started[-1]

    def interrupted(self: subprocess.Popen[str], *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(popen, "communicate", interrupted)
    monkeypatch.setattr(subprocess, "Popen", tracked)
    with pytest.raises(KeyboardInterrupt):
        commands.lint(for_rendering(project, "dev"))
    assert len(started) == 2
    assert all(run.returncode is not None for run in started)  # killed and waited for
