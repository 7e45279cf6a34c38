"""Lint: each rule fires on a bad example at the right file and line, and stays quiet on the
safe variant; the project's own templates carry only the findings named below."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tmplmig import cli
from tmplmig.migrating import commands
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import Part, Step
from tmplmig.reviewing.bundle import BundleFile, build_bundle
from tmplmig.reviewing.lint import RULES, Finding, lint_bundle

TABLE = 'CREATE TABLE IF NOT EXISTS "app"."t" (id int PRIMARY KEY, a int);'
DROP_TABLE = 'DROP TABLE IF EXISTS "app"."t";'
LOCK_TIMEOUT = Step("lock timeout", "SET LOCAL lock_timeout = '5s';", None)


def example_bundle(
    project: Path, *steps: Step, lock_timeout: str = "0s"
) -> tuple[list[Part], list[BundleFile]]:
    """One part made of ``steps``, rendered into bundle files like any template.

    The bundle header sets ``lock_timeout`` from config; by default to 0 (none), so that
    the examples decide whether a lock timeout is in force.
    """
    config = load_config(project, "dev")
    ddl = config.settings.ddl.model_copy(update={"lock_timeout": lock_timeout})
    config = replace(config, settings=config.settings.model_copy(update={"ddl": ddl}))
    part = Part("003_example", "example", True, (), tuple(steps), "templates/003_example.sql.j2")
    return [part], build_bundle([part], config)


def lint_steps(project: Path, *steps: Step, lock_timeout: str = "0s") -> list[Finding]:
    """Lint the bundle of :func:`example_bundle`."""
    return lint_bundle(*example_bundle(project, *steps, lock_timeout=lock_timeout))


def line_in(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` that contains ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def line_of(project: Path, needle: str, *steps: Step) -> int:
    """Where ``needle`` first appears in the apply file of :func:`example_bundle`."""
    [apply] = [f.text for f in example_bundle(project, *steps)[1] if f.direction == "apply"]
    return line_in(apply, needle)


def rules(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in findings]


def test_project_templates_lint_clean_in_every_environment(project: Path) -> None:
    for env in ("dev", "staging", "prod"):
        assert commands.lint(project, env) == [], env


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


def test_index_without_concurrently_on_an_existing_table_is_reported(project: Path) -> None:
    steps = (
        LOCK_TIMEOUT,
        Step("index", 'CREATE INDEX "i" ON "app"."t" (a);', 'DROP INDEX "app"."i";'),
    )
    findings = lint_steps(project, *steps)
    assert rules(findings) == [("index-not-concurrent", line_of(project, "CREATE INDEX", *steps))]
    assert findings[0].message.startswith("index i on app.t: builds an index")


def test_index_on_a_table_created_earlier_in_the_same_part_is_fine(project: Path) -> None:
    assert (
        lint_steps(
            project,
            Step("table", TABLE, DROP_TABLE),
            Step("index", 'CREATE INDEX "i" ON "app"."t" (a);', 'DROP INDEX "app"."i";'),
        )
        == []
    )


def test_concurrent_index_on_an_existing_table_is_fine(project: Path) -> None:
    index = Step(
        "index", 'CREATE INDEX CONCURRENTLY "i" ON "app"."t" (a);', 'DROP INDEX "app"."i";'
    )
    assert lint_steps(project, LOCK_TIMEOUT, index) == []


@pytest.mark.parametrize(
    ("rule", "apply", "safe"),
    [
        (
            "constraint-not-valid",
            "ALTER TABLE app.t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES app.u (id);",
            "ALTER TABLE app.t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES app.u (id) NOT VALID;",
        ),
        (
            "constraint-not-valid",
            "ALTER TABLE app.t ADD CONSTRAINT c CHECK (a > 0);",
            "ALTER TABLE app.t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
        ),
        ("column-type-change", "ALTER TABLE app.t ALTER COLUMN a TYPE bigint;", None),
        (
            "not-null-without-default",
            "ALTER TABLE app.t ADD COLUMN b int NOT NULL;",
            "ALTER TABLE app.t ADD COLUMN b int NOT NULL DEFAULT 0;",
        ),
        ("set-not-null", "ALTER TABLE app.t ALTER COLUMN a SET NOT NULL;", None),
    ],
)
def test_unsafe_alter_table_on_an_existing_table_is_reported(
    project: Path, rule: str, apply: str, safe: str | None
) -> None:
    rollback = "ALTER TABLE app.t DROP CONSTRAINT c;" if " c " in apply else None
    steps = (LOCK_TIMEOUT, Step("change", apply, rollback))
    findings = lint_steps(project, *steps)
    assert rules(findings) == [(rule, line_of(project, apply, *steps))]
    assert RULES[rule] in findings[0].message
    if safe is not None:
        assert lint_steps(project, LOCK_TIMEOUT, Step("change", safe, rollback)) == []
    with_table = Step("table", TABLE.replace('"t"', "t"), 'DROP TABLE "app"."t";')
    assert lint_steps(project, with_table, Step("change", apply, rollback)) == []


def test_locking_an_existing_table_without_lock_timeout_is_reported(project: Path) -> None:
    trigger = Step(
        "trigger",
        "CREATE TRIGGER tr AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f();",
        "DROP TRIGGER tr ON app.t;",
    )
    [finding] = lint_steps(project, trigger)
    assert (finding.rule, finding.line) == (
        "missing-lock-timeout",
        line_of(project, "CREATE TRIGGER", trigger),
    )
    assert finding.message.startswith("app.t: locks an existing table")
    assert lint_steps(project, LOCK_TIMEOUT, trigger) == []
    assert lint_steps(project, trigger, lock_timeout="5s") == []  # the bundle header's SET
    turned_off = Step("off", "SET lock_timeout = '0s';", None)
    steps = (LOCK_TIMEOUT, turned_off, trigger)
    assert rules(lint_steps(project, *steps)) == [
        ("missing-lock-timeout", line_of(project, "CREATE TRIGGER", *steps))
    ]


def test_set_local_lock_timeout_ends_with_its_transaction(project: Path) -> None:
    steps = [
        LOCK_TIMEOUT,
        Step("commit", "COMMIT;\nBEGIN;", None),
        Step("fk", "ALTER TABLE app.t VALIDATE CONSTRAINT c;", None),
    ]
    assert rules(lint_steps(project, *steps)) == [
        ("missing-lock-timeout", line_of(project, "VALIDATE CONSTRAINT", *steps))
    ]


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
    assert cli.main(["--project", str(sandbox), "lint", "--env", "prod"]) == 1
    out = capsys.readouterr().out.splitlines()
    retype = [line for line in out if "column-type-change" in line]
    rendered = commands.render_bundle(sandbox, "prod")["002c_system_tables.sql"]
    line = line_in(rendered, 'ALTER TABLE "audits"."audit_log" ALTER COLUMN action TYPE')
    assert retype == [
        f"prod/002c_system_tables.sql:{line}: column-type-change: audits.audit_log.action: "
        f"{RULES['column-type-change']} [step: retype]"
    ]


def test_ddl_inside_a_do_block_is_checked_at_its_own_line(project: Path) -> None:
    block = (
        "SELECT 1;\nDO $x$ BEGIN\n    IF true THEN\n"
        "        ALTER TABLE app.t ADD CONSTRAINT c CHECK (a > 0);\n    END IF;\nEND $x$;"
    )
    steps = (LOCK_TIMEOUT, Step("check", block, "ALTER TABLE app.t DROP CONSTRAINT c;"))
    findings = lint_steps(project, *steps)
    assert rules(findings) == [("constraint-not-valid", line_of(project, "ADD CONSTRAINT", *steps))]
