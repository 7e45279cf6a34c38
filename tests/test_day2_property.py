"""Property: any sequence of YAML edits, each followed by apply, keeps the database verified,
and rollback --all afterwards restores the catalog exactly. Without and with a tenant.

Each example costs a few seconds of real applies and scratch verifies, so the example count
stays small; the edits cover every rule of the plan.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.servers import DEPLOYER, PROJECT, WRITE_ROWS, deployer_dsn, fresh_database, url_for
from support.yaml_edits import edit, remove_promotions

from tmplmig.database.catalog import difference, snapshot
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve

Edit = Callable[[dict[str, Any], str], None]
SCHEMA_KEYS = ["auth", "production", "audits", "providers", "quarantine", "system"]
ROLE_KEYS = ["readonly", "readwrite", "admin"]
RETENTION = ["audit_log", "experiments", "quarantined_records", "provider_usage"]
FUNCTIONS = ["encrypt_data", "decrypt_data", "purge_expired"]


def rename_schema(key: str, n: int) -> Edit:
    return lambda d, prefix: d.setdefault("schemas", {}).update({key: f"{prefix}{key}_v{n}"})


def rename_role(key: str, n: int) -> Edit:
    return lambda d, prefix: d.setdefault("roles", {}).update({key: f"{prefix}app_{key}_v{n}"})


def retention(data_class: str, days: int) -> Edit:
    return lambda d, _: d.setdefault("retention", {}).update({data_class: days})


def can_delete(flag: bool) -> Edit:
    return lambda d, _: d.setdefault("privileges", {}).update(readwrite_can_delete=flag)


def execute(function: str, roles: list[str]) -> Edit:
    def change(d: dict[str, Any], _: str) -> None:
        base = yaml.safe_load((PROJECT / "config/base.yaml").read_text())["privileges"]["execute"]
        privileges = d.setdefault("privileges", {})
        privileges["execute"] = {**base, **privileges.get("execute", {}), function: roles}

    return change


def sensitive(columns: list[str]) -> Edit:
    """Masked columns; api_key stays, since privileges.sensitive_readers names it."""
    return lambda d, _: d.update(sensitive_columns=columns)


EDITS = st.one_of(
    st.builds(rename_schema, st.sampled_from(SCHEMA_KEYS), st.integers(2, 9)),
    st.builds(rename_role, st.sampled_from(ROLE_KEYS), st.integers(2, 9)),
    st.builds(retention, st.sampled_from(RETENTION), st.integers(1, 3650)),
    st.builds(can_delete, st.booleans()),
    st.builds(
        execute,
        st.sampled_from(FUNCTIONS),
        st.lists(st.sampled_from(ROLE_KEYS), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        sensitive,
        st.sampled_from([["api_key"], ["password_hash", "api_key", "display_name"]]),
    ),
)
PROPERTY = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check_edits_converge(server_dsn: str, edits: list[Edit], tenant: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(server_dsn) as dsn:
        project = Path(tmp)
        for folder in ("config", "templates", "migrations"):
            shutil.copytree(PROJECT / folder, project / folder)
        url = url_for(dsn)
        # a tenant's own file wins over base.yaml: its names carry its prefix
        edited = project / "config" / ("base.yaml" if tenant is None else f"tenants/{tenant}.yaml")
        prefix = "" if tenant is None else f"{tenant}_"
        with psycopg.connect(dsn, autocommit=True) as conn:
            before = snapshot(conn)
            commands.apply(resolve(project, "dev", tenant, url=url))
            for change in edits:
                edit(edited, change, prefix)
                commands.apply(resolve(project, "dev", tenant, url=url))
                assert commands.verify(resolve(project, "dev", tenant, url=url)) == []
                states = commands.status(resolve(project, "dev", tenant, url=url))
                assert {s.state for s in states} == {"applied"}
            commands.rollback(resolve(project, "dev", tenant, url=url))
            assert difference(before, snapshot(conn)) == {}


@PROPERTY
@given(edits=st.lists(EDITS, min_size=1, max_size=3))
@example(edits=[sensitive(["api_key"]), execute("purge_expired", ["readwrite", "admin"])])
def test_any_sequence_of_edits_applies_verified_and_rolls_back_exactly(
    server_dsn: str, edits: list[Edit]
) -> None:
    check_edits_converge(server_dsn, edits, None)


@PROPERTY
@given(edits=st.lists(EDITS, min_size=1, max_size=3))
def test_any_sequence_of_tenant_overrides_applies_verified_and_rolls_back_exactly(
    server_dsn: str, edits: list[Edit]
) -> None:
    check_edits_converge(server_dsn, edits, "acme")


# --- No dead ends: a failure injected at a random statement of apply, evolve or rollback ---

#: an event trigger that fails the N-th DDL statement the deploying login runs (N armed in
#: ``failpoint.at``); ``failpoint.seen`` is a sequence, so the count survives the rollback of
#: the transaction it failed, and an unlogged one: counting takes no transaction id, which
#: ``DROP INDEX CONCURRENTLY`` refuses to follow. Event triggers do not fire for roles
#: (cluster-wide objects).
FAILPOINT = f"""
CREATE SCHEMA failpoint;
CREATE TABLE failpoint.at (n bigint NOT NULL);
INSERT INTO failpoint.at VALUES (0);
CREATE UNLOGGED SEQUENCE failpoint.seen;
CREATE FUNCTION failpoint.fire() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    armed bigint := (SELECT n FROM failpoint.at);
BEGIN
    IF armed > 0 AND session_user = '{DEPLOYER}' AND nextval('failpoint.seen') = armed THEN
        RAISE EXCEPTION 'injected failure at DDL statement % (%)', armed, tg_tag;
    END IF;
END $$;
CREATE EVENT TRIGGER failpoint ON ddl_command_start EXECUTE FUNCTION failpoint.fire();
"""


def arm(conn: psycopg.Connection[Any], at: int) -> None:
    conn.execute("UPDATE failpoint.at SET n = %s", [at])
    conn.execute("SELECT setval('failpoint.seen', 1, false)")


def swap_index_columns(project: Path) -> None:
    """A template edit the plan rebuilds concurrently (002a)."""
    path = project / "templates/002a_indexes.sql.j2"
    text = path.read_text()
    path.write_text(text.replace('"entity_type, entity_id"', '"entity_id, entity_type"', 1))


def edit_function_body(project: Path) -> None:
    """A template edit the plan re-applies with CREATE OR REPLACE (002e)."""
    path = project / "templates/002e_functions.sql.j2"
    text = path.read_text()
    marker = "DECLARE\n    keep_days integer;"
    path.write_text(text.replace(marker, "DECLARE\n    -- edited\n    keep_days integer;", 1))


TEMPLATE_EDITS = st.sampled_from([swap_index_columns, edit_function_body, remove_promotions])
#: the evolve of ``remove_promotions`` drops a table: every apply here acknowledges it
ACKNOWLEDGED = {"experiments_v1.promotions": None}
NO_DEAD_ENDS = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def run(command: str, project: Path, url: str) -> None:
    if command == "apply":
        commands.apply(resolve(project, "dev", url=url), allow_drop=ACKNOWLEDGED)
    else:
        commands.rollback(resolve(project, "dev", url=url))


def applied_and_verified(project: Path, url: str) -> None:
    assert commands.verify(resolve(project, "dev", url=url)) == []
    assert {s.state for s in commands.status(resolve(project, "dev", url=url))} == {"applied"}


@NO_DEAD_ENDS
@given(
    edits=st.lists(EDITS, max_size=2),
    template_edits=st.lists(TEMPLATE_EDITS, max_size=2, unique=True),
    failing=st.sampled_from(["apply", "rollback"]),
    at=st.integers(1, 120),
    then=st.sampled_from(["apply", "rollback"]),
)
@example(edits=[], template_edits=[swap_index_columns], failing="apply", at=2, then="rollback")
@example(
    edits=[rename_schema("quarantine", 2)],
    template_edits=[],
    failing="rollback",
    at=30,
    then="apply",
)
@example(edits=[], template_edits=[remove_promotions], failing="apply", at=3, then="rollback")
# found with more examples: the first DDL statement (yoyo's lock table, which it made on every
# run and whose failure it swallowed); a rollback after a template edit removed a table
@example(edits=[], template_edits=[], failing="rollback", at=1, then="apply")
@example(edits=[], template_edits=[remove_promotions], failing="rollback", at=1, then="apply")
@example(edits=[], template_edits=[remove_promotions], failing="apply", at=2, then="rollback")
# found with more examples (session 11): an apply stopped in a part after one whose evolve had
# committed a schema or role rename or a table drop: the later parts' records still named the
# old schema or role or the dropped table, so a rollback ran their stale SQL (a DROP TRIGGER IF
# EXISTS on a missing relation skipped, leaving tmplmig.keep_column; a REVOKE on the dropped
# table failed), and the next apply's drift check failed replaying the mixed record
@example(
    edits=[rename_schema("production", 2)],
    template_edits=[],
    failing="apply",
    at=2,
    then="rollback",
)
@example(
    edits=[],
    template_edits=[remove_promotions, swap_index_columns],
    failing="apply",
    at=3,
    then="rollback",
)
@example(
    edits=[rename_schema("auth", 2)],
    template_edits=[swap_index_columns, edit_function_body],
    failing="apply",
    at=7,
    then="apply",
)
# a rollback of 002b stopped after a template edit: yoyo applied again, from today's render,
# the steps it had rolled back, recording today's positions beside the older rows
@example(edits=[], template_edits=[remove_promotions], failing="rollback", at=120, then="apply")
# a constraint's VALIDATE makes nothing to record: it goes with the table it altered
@example(
    edits=[],
    template_edits=[swap_index_columns, remove_promotions],
    failing="apply",
    at=2,
    then="apply",
)
# a function's body is text the server does not follow: recorded as it ran, re-created anew
@example(
    edits=[rename_schema("production", 2)], template_edits=[], failing="apply", at=2, then="apply"
)
@example(
    edits=[rename_role("readwrite", 2), execute("encrypt_data", ["readonly"])],
    template_edits=[],
    failing="apply",
    at=1,
    then="apply",
)
def test_a_failure_at_any_statement_leaves_a_database_both_apply_and_rollback_finish(
    server_dsn: str,
    edits: list[Edit],
    template_edits: list[Callable[[Path], None]],
    failing: str,
    at: int,
    then: str,
) -> None:
    """Whichever command fails, at whichever statement, either command then finishes (the
    apply verified), and both work from there on, back to the catalog before."""
    with tempfile.TemporaryDirectory() as tmp, fresh_database(server_dsn) as dsn:
        project = Path(tmp)
        for folder in ("config", "templates", "migrations"):
            shutil.copytree(PROJECT / folder, project / folder)
        url = url_for(deployer_dsn(dsn))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(FAILPOINT)
            before = snapshot(conn)
            commands.apply(resolve(project, "dev", url=url))
            conn.execute(WRITE_ROWS, [20])
            conn.execute(
                "INSERT INTO experiments_v1.promotions (experiment_id, target)"
                " SELECT id, 'prod' FROM experiments_v1.experiments"
            )
            for change in edits:
                edit(project / "config/base.yaml", change, "")
            for template_edit in template_edits:
                template_edit(project)
            arm(conn, at)
            try:
                run(failing, project, url)
            except Exception as exc:
                assert "injected failure" in str(exc) or "injected failure" in repr(exc.__cause__)
            else:
                # a rollback --all runs hundreds of DDL statements: the failure must have fired
                assert failing == "apply", f"no failure injected at {at}"
            arm(conn, 0)
            run(then, project, url)
            if then == "apply":
                applied_and_verified(project, url)
                commands.rollback(resolve(project, "dev", url=url))
            assert difference(before, snapshot(conn)) == {}
            commands.apply(resolve(project, "dev", url=url))
            applied_and_verified(project, url)
            commands.rollback(resolve(project, "dev", url=url))
            assert difference(before, snapshot(conn)) == {}
            conn.execute("DROP EVENT TRIGGER failpoint; DROP SCHEMA failpoint CASCADE")


def test_a_failure_to_make_yoyos_lock_table_is_reported_as_itself(server_dsn: str) -> None:
    """yoyo took any error making its lock table for "it exists"; the lock it then could not
    take read, a minute later, as a run held by someone else."""
    with fresh_database(server_dsn) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(FAILPOINT)
        arm(conn, 1)  # the first DDL statement of a first apply: yoyo's lock table
        url = url_for(deployer_dsn(dsn))
        with pytest.raises(
            psycopg.Error, match=r"injected failure at DDL statement 1 \(CREATE TABLE\)"
        ):
            commands.apply(resolve(PROJECT, "dev", url=url))
        arm(conn, 0)
        assert len(commands.apply(resolve(PROJECT, "dev", url=url))) == 6
        commands.rollback(resolve(PROJECT, "dev", url=url))
        conn.execute("DROP EVENT TRIGGER failpoint; DROP SCHEMA failpoint CASCADE")
