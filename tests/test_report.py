"""Lint findings in the formats reviewers' tools read: SARIF 2.1.0 and GitHub annotations.

No package on PyPI ships the official SARIF schema, so the SARIF test checks the structure
GitHub code scanning requires (version, tool.driver.name, rules, ruleId/ruleIndex, message,
physicalLocation with artifactLocation.uri and region.startLine).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tmplmig import cli
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering

RETYPE = (
    '{% call(d) step("retype") %}{% if d == "apply" %}\n'
    "ALTER TABLE {{ schemas.audits|qualified('audit_log') }} ALTER COLUMN action TYPE"
    " text;\n{% endif %}{% endcall %}\n"
)
BUNDLE_FILE = "review/prod/acme/002c_system_tables.sql"


@pytest.fixture
def unsafe(sandbox: Path) -> Path:
    """A project whose 002c changes a column type: squawk's changing-column-type."""
    template = sandbox / "templates/002c_system_tables.sql.j2"
    template.write_text(template.read_text() + RETYPE)
    return sandbox


def lint_output(project: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    argv = ["--project", str(project), "lint", "--env", "prod", "--tenant", "acme"]
    assert cli.main([*argv, "--format", fmt]) == 1
    return capsys.readouterr().out


def retype_line(project: Path) -> int:
    text = commands.render_bundle(for_rendering(project, "prod", "acme"))["002c_system_tables.sql"]
    return next(n for n, line in enumerate(text.splitlines(), 1) if "ALTER COLUMN action" in line)


def test_sarif_has_what_github_code_scanning_requires(
    unsafe: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = json.loads(lint_output(unsafe, "sarif", capsys))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    results = []
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] in ("tmplmig", "squawk")
        ids = [rule["id"] for rule in driver["rules"]]
        assert len(ids) == len(set(ids))
        for result in run["results"]:
            assert ids[result["ruleIndex"]] == result["ruleId"]
            assert result["level"] in ("error", "warning", "note")
            assert result["message"]["text"]
            location = result["locations"][0]["physicalLocation"]
            assert isinstance(location["region"]["startLine"], int)
            results.append(
                (
                    driver["name"],
                    result["ruleId"],
                    location["artifactLocation"]["uri"],
                    location["region"]["startLine"],
                    result["properties"]["step"],
                )
            )
    assert results == [
        ("squawk", "changing-column-type", BUNDLE_FILE, retype_line(unsafe), "retype")
    ]


def test_github_annotations_name_file_line_rule_template_and_step(
    unsafe: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [line] = lint_output(unsafe, "github", capsys).splitlines()
    match = re.fullmatch(r"::warning file=([^,]+),line=(\d+),title=([^:]+)::(.+)", line)
    assert match is not None, line
    assert match.group(1) == BUNDLE_FILE and int(match.group(2)) == retype_line(unsafe)
    assert match.group(3) == "squawk changing-column-type"
    assert match.group(4).endswith("(template templates/002c_system_tables.sql.j2, step retype)")


def test_json_findings_carry_target_path_and_step(
    unsafe: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [row] = json.loads(lint_output(unsafe, "json", capsys))
    assert (row["target"], row["path"], row["rule"], row["step"]) == (
        "prod:acme",
        BUNDLE_FILE,
        "changing-column-type",
        "retype",
    )
