"""``render --since-applied``: REVIEW.md says what a YAML change does to a deployed database,
read from the record of its last apply. Real PostgreSQL, applied as the deploying login."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.yaml_edits import edit

from tmplmig import cli
from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import config_digest
from tmplmig.reviewing.review import REVIEW

GOLDEN = Path(__file__).parent / "golden"
SECTION = "## Since the last apply"


def since_section(review: str) -> str:
    """The "Since the last apply" section of a REVIEW.md, up to the first part's heading."""
    start = review.index(SECTION)
    return review[start : review.index("\n## ", start + 1)]


def render_since(project: Path, db_url: str, out: Path) -> str:
    """``tmplmig render --since-applied --out``, as a CI job runs it; REVIEW.md's text."""
    argv = ["--project", str(project), "render", "--env", "dev", "--out", str(out)]
    assert cli.main([*argv, "--since-applied", "--database", db_url]) == 0
    return (out / REVIEW).read_text()


def test_without_the_flag_review_md_is_the_golden_one_and_needs_no_database(
    project: Path,
) -> None:
    for env in ("dev", "prod"):
        review = commands.render_bundle(for_rendering(project, env))[REVIEW]
        assert review == (GOLDEN / env / REVIEW).read_text()
        assert SECTION not in review


def test_since_applied_writes_review_md_so_printing_the_sql_refuses_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--project", str(project), "render", "--env", "dev", "--since-applied"]
    assert cli.main(argv) != 0
    assert "--since-applied writes REVIEW.md: give --out or --check" in capsys.readouterr().err


def test_a_database_never_applied_is_said_to_be_not_applied_yet(
    project: Path, db_url: str, tmp_path: Path
) -> None:
    review = render_since(project, db_url, tmp_path / "bundle")
    assert "Not applied yet" in since_section(review)
    assert "Recorded config digest" not in review


def test_review_md_names_the_key_paths_steps_and_plan_actions_changed_since_the_apply(
    sandbox: Path, db_url: str, tmp_path: Path
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    applied = config_digest(load_config(sandbox, "dev"))
    unchanged = since_section(render_since(sandbox, db_url, tmp_path / "before"))
    assert f"Recorded config digest `sha256:{applied}`; today's `sha256:{applied}` (the same)." in (
        unchanged
    )
    assert "**Config key paths changed:**\n\n- nothing\n" in unchanged
    assert "changed `" not in unchanged and "- `002d_roles_grants`: applied\n" in unchanged

    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log=45))
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].update(readonly="app_ro"))
    review = render_since(sandbox, db_url, tmp_path / "after")
    section = since_section(review)
    today = config_digest(load_config(sandbox, "dev"))
    assert f"Recorded config digest `sha256:{applied}`; today's `sha256:{today}`." in section
    assert "- `retention.audit_log: 30 -> 45`\n- `roles.readonly: app_readonly -> app_ro`\n" in (
        section
    )
    assert "- `001_baseline`: applied\n" in section
    assert (
        "- `002c_system_tables`: applied, changed since\n"
        "  - changed `row retention_policies audit_log`: "
        "plan: row retention_policies audit_log (changed)\n"
    ) in section
    assert (
        "- `002d_roles_grants`: applied, changed since\n"
        "  - changed `role app_ro`: plan: role app_readonly renamed to app_ro\n"
    ) in section
    assert "  - changed `columns hidden from app_ro`: plan: nothing to run\n" in section
    # the section comes right after the digest line, and the page is otherwise the offline one
    offline = commands.render_bundle(for_rendering(sandbox, "dev"))[REVIEW]
    assert review.index(SECTION) < review.index("\n## 001_baseline")
    assert review.replace(section + "\n", "") == offline
    assert render_since(sandbox, db_url, tmp_path / "again") == review


def test_a_change_with_no_safe_rule_shows_the_plans_refusal(
    sandbox: Path, db_url: str, tmp_path: Path
) -> None:
    commands.apply(resolve(sandbox, "dev", url=db_url))
    template = sandbox / "templates/001_baseline.sql.j2"
    template.write_text(
        template.read_text().replace("display_name text,", "display_name varchar(80),")
    )
    section = since_section(render_since(sandbox, db_url, tmp_path / "bundle"))
    assert "- `001_baseline`: applied, changed since\n  - changed `table auth users`\n" in section
    assert (
        "  - plan refuses: 001_baseline: step 'table auth users' (table {schemas.auth} users): "
        "its table definition changed and no rule changes it safely: write a new migration\n"
    ) in section


def test_a_tenant_reads_the_record_in_its_own_tracking_schema(
    sandbox: Path, db_url: str, tmp_path: Path
) -> None:
    commands.apply(resolve(sandbox, "dev", "globex", url=db_url))
    tenant = sandbox / "config/tenants/globex.yaml"
    tenant.write_text(tenant.read_text() + "\nretention:\n  audit_log: 60\n")
    globex = commands.render_bundle(
        resolve(sandbox, "dev", "globex", url=db_url), since_applied=True
    )
    section = since_section(globex[REVIEW])
    assert "- `retention.audit_log: 30 -> 60`\n" in section
    assert "  - changed `row retention_policies audit_log`: plan: " in section
    acme = commands.render_bundle(resolve(sandbox, "dev", "acme", url=db_url), since_applied=True)
    assert "Not applied yet" in since_section(acme[REVIEW])
