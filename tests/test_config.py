"""Config layering and validation: every bad input names its file, key path and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.yaml_edits import edit

from tmplmig.database.catalog import snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.rendering.config import ConfigError, load_config


def error_of(sandbox: Path, env: str = "dev") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(sandbox, env)
    return caught.value


def test_environment_overrides_base_and_keeps_the_rest(project: Path) -> None:
    prod = load_config(project, "prod").settings
    assert prod.retention.audit_log == 2555  # from prod.yaml
    assert prod.retention.analysis_sessions == 180  # from base.yaml
    assert prod.ddl.lock_timeout == "2s"
    assert load_config(project, "dev").settings.connection_pool.max_size == 5


def test_unknown_key_is_named_with_its_file(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_logs=3))
    err = error_of(sandbox)
    assert err.file.endswith("config/dev.yaml")
    assert err.key_path == ("retention", "audit_logs")
    assert "unknown key" in str(err)


def test_wrong_type_is_rejected(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d["retention"].update(audit_log="30"))
    err = error_of(sandbox)
    assert (err.file.endswith("dev.yaml"), err.key_path) == (True, ("retention", "audit_log"))
    assert "integer" in err.problem


def test_missing_value_points_at_the_base_file(sandbox: Path) -> None:
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].pop("admin"))
    err = error_of(sandbox)
    assert err.file.endswith("config/base.yaml")
    assert err.key_path == ("roles", "admin")
    assert "missing" in err.problem


def test_a_key_missing_from_base_is_blamed_on_base_although_the_env_file_sets_its_section(
    sandbox: Path,
) -> None:
    edit(sandbox / "config/base.yaml", lambda d: d["roles"].pop("admin"))
    edit(sandbox / "config/prod.yaml", lambda d: d.setdefault("roles", {}).update(readonly="ro"))
    err = error_of(sandbox, "prod")
    assert err.file.endswith("config/base.yaml")
    assert err.key_path == ("roles", "admin")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("x" * 64, "64 bytes"),
        ("é" * 32, "64 bytes"),
        ("bad\x00name", "NUL"),
        ("pg_auth", "reserved prefix"),
    ],
)
def test_invalid_schema_identifier_is_rejected(sandbox: Path, name: str, problem: str) -> None:
    edit(sandbox / "config/staging.yaml", lambda d: d.setdefault("schemas", {}).update(auth=name))
    err = error_of(sandbox, "staging")
    assert err.file.endswith("config/staging.yaml")
    assert err.key_path == ("schemas", "auth")
    assert problem in err.problem


INVISIBLE = {
    "right-to-left override": "system\u202e",
    "zero-width space": "system\u200b",
    "zero-width joiner": "sys\u200dtem",
    "byte order mark": "\ufeffsystem",
    "line separator": "sys\u2028tem",
    "paragraph separator": "sys\u2029tem",
    "private use": "sys\ue000tem",
    "unassigned": "sys\u0378tem",
    "no-break space": "sys\u00a0tem",
    "ideographic space": "sys\u3000tem",
}


@pytest.mark.parametrize("name", list(INVISIBLE.values()), ids=list(INVISIBLE))
@pytest.mark.parametrize(
    "key_path",
    [("schemas", "system"), ("roles", "admin"), ("sensitive_columns", 0), ("extensions_schema",)],
)
def test_invisible_and_format_characters_are_refused_in_every_name(
    sandbox: Path, name: str, key_path: tuple[str | int, ...]
) -> None:
    def put(data: dict[str, Any]) -> None:
        *parents, last = key_path
        for key in parents:
            data = data.setdefault(key, {} if key != "sensitive_columns" else [None])
        data[last] = name  # type: ignore[index]

    edit(sandbox / "config/staging.yaml", put)
    err = error_of(sandbox, "staging")
    assert (err.file, err.key_path) == (str(sandbox / "config/staging.yaml"), key_path)
    assert f"U+{ord(next(c for c in name if c not in 'system')):04X}" in err.problem


def test_visible_unicode_and_ascii_spaces_stay_allowed(sandbox: Path) -> None:
    names = {"auth": "naïve auth", "system": "名前", "audits": "\u0440\u043e\u0301\u043b\u044c"}
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("schemas", {}).update(names))
    assert load_config(sandbox, "dev").settings.schemas.model_dump().items() >= names.items()


def test_63_byte_identifier_is_accepted(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("schemas", {}).update(auth="a" * 63))
    assert load_config(sandbox, "dev").settings.schemas.auth == "a" * 63


def test_reserved_role_name_is_rejected(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("roles", {}).update(admin="public"))
    assert error_of(sandbox).key_path == ("roles", "admin")


def test_two_schemas_with_one_name_are_rejected(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("schemas", {}).update(system="auth"))
    err = error_of(sandbox)
    assert err.key_path == ("schemas",)
    assert "'auth' is used by both auth and system" in err.problem


def test_pool_min_above_max_is_rejected(sandbox: Path) -> None:
    edit(sandbox / "config/dev.yaml", lambda d: d["connection_pool"].update(min_size=50))
    err = error_of(sandbox)
    assert err.key_path == ("connection_pool",)
    assert "exceeds max_size" in err.problem


def test_broken_yaml_reports_line(sandbox: Path) -> None:
    (sandbox / "config/dev.yaml").write_text("retention:\n  audit_log: [1,\n")
    err = error_of(sandbox)
    assert err.file.endswith("dev.yaml") and "line" in err.problem


def test_unknown_environment_names_the_missing_file(sandbox: Path) -> None:
    with pytest.raises(ConfigError, match=r"config/qa\.yaml: <top>: file not found"):
        load_config(sandbox, "qa")


def test_environment_key_must_match_its_file(sandbox: Path) -> None:
    edit(sandbox / "config/prod.yaml", lambda d: d.update(environment="dev"))
    err = error_of(sandbox, "prod")
    assert err.key_path == ("environment",) and err.file.endswith("prod.yaml")


def test_bad_config_changes_nothing_in_the_database(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    before = snapshot(conn)
    edit(sandbox / "config/dev.yaml", lambda d: d.setdefault("schemas", {}).update(auth=""))
    with pytest.raises(ConfigError):
        commands.apply(resolve(sandbox, "dev", url=db_url))
    assert snapshot(conn) == before
    yoyo_tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%yoyo%'")
    assert yoyo_tables.fetchone() == (0,)
