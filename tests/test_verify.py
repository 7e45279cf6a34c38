"""verify and mark on a real server: the expectation is the migrations applied to a scratch
database, so each test breaks one object of a migrated database and reads the report."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from support.bundles import run_with_psql
from support.logins import create_login
from support.servers import dsn_for

from tmplmig import cli
from tmplmig.database import scratch
from tmplmig.database.catalog import COLUMNS, KEY_COLUMNS, QUERIES
from tmplmig.database.scratch import ScratchDatabases
from tmplmig.database.urls import connect, create_schema, named, with_param, with_schema
from tmplmig.migrating import commands, record
from tmplmig.migrating.target import for_rendering, resolve
from tmplmig.migrating.yoyo_bridge import open_backend
from tmplmig.reviewing.verify import check_database, expected_objects

ENV = "dev"


@pytest.fixture
def migrated(project: Path, db_url: str) -> str:
    commands.apply(resolve(project, ENV, url=db_url))
    return db_url


def reported(project: Path, url: str) -> list[str]:
    return [str(p) for p in commands.verify(resolve(project, ENV, url=url))]


def test_verify_knows_the_columns_of_every_catalog_kind(
    project: Path, conn: psycopg.Connection[Any]
) -> None:
    assert set(COLUMNS) == set(KEY_COLUMNS) == set(QUERIES)
    for kind, query in QUERIES.items():
        width = len(conn.execute(query + " LIMIT 0").description or ())
        assert len(COLUMNS[kind][1]) == width, kind


def test_verify_passes_after_apply_and_keeps_its_scratch_runs_notes_to_itself(
    project: Path, migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli.main(["--project", str(project), "verify", "--env", ENV, "--database", migrated]) == 0
    )
    out, err = capsys.readouterr()
    assert "every expected object is present" in out
    assert "kept: it is still used elsewhere" not in err  # the scratch rollback's, not news


def test_verify_leaves_no_scratch_database_behind(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    commands.verify(resolve(project, ENV, url=migrated))
    left = "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)"
    assert conn.execute(left, [scratch.PREFIX]).fetchone() == (0,)


def test_verify_reports_a_dropped_index(
    project: Path, migrated: str, conn: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    conn.execute("DROP INDEX audits.idx_audit_entity")
    argv = ["--project", str(project), "verify", "--env", ENV, "--database", migrated]
    assert cli.main(argv) == 1
    assert capsys.readouterr().out.splitlines()[0] == "index audits.idx_audit_entity: missing"


def test_verify_reports_an_index_with_another_definition(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("DROP INDEX audits.idx_audit_entity")
    conn.execute("CREATE INDEX idx_audit_entity ON audits.audit_log (entity_id)")
    [problem] = reported(project, migrated)
    assert problem.startswith("index audits.idx_audit_entity: different (definition: expected")
    assert "(entity_type, entity_id)" in problem and "found 'CREATE INDEX" in problem


def test_verify_reports_an_invalid_index(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    # what a failed CREATE INDEX CONCURRENTLY leaves behind
    conn.execute(
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'production.idx_production_created_at'::regclass"
    )
    [problem] = reported(project, migrated)
    assert problem.startswith("index production.idx_production_created_at: INVALID")


def test_verify_reports_an_unvalidated_foreign_key(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "ALTER TABLE experiments_v1.promotions DROP CONSTRAINT fk_promotions_experiment;"
        "ALTER TABLE experiments_v1.promotions ADD CONSTRAINT fk_promotions_experiment"
        " FOREIGN KEY (experiment_id) REFERENCES experiments_v1.experiments (id)"
        " ON DELETE CASCADE NOT VALID"
    )
    [problem] = reported(project, migrated)
    assert problem.startswith(
        "constraint experiments_v1.promotions.fk_promotions_experiment: not validated"
    )


def test_verify_reports_a_revoked_grant(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("REVOKE SELECT ON production.projects FROM app_readonly")
    [problem] = reported(project, migrated)
    assert problem.startswith("table production.projects: different (acl: expected")
    assert "app_readonly=r/" in problem


def test_verify_reports_a_revoked_column_grant(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("REVOKE SELECT (email) ON auth.users FROM app_readonly")
    [problem] = reported(project, migrated)
    assert problem.startswith("column auth.users.email: different (acl: expected")
    assert "app_readonly=r/" in problem


def test_verify_reports_changed_function_security(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute("ALTER FUNCTION system.encrypt_data(text, uuid) SECURITY INVOKER RESET ALL")
    [problem] = reported(project, migrated)
    assert problem.startswith(
        "function system.encrypt_data(plaintext text, key_id uuid): different"
    )
    assert "security definer: expected True, found False" in problem
    assert "settings: expected '{\"search_path=pg_catalog, pg_temp\"}', found None" in problem


def test_verify_reports_a_group_role_its_members_become_superusers_through(
    project: Path, migrated: str, database: str, conn: psycopg.Connection[Any]
) -> None:
    """The attack first, as a real login: a readonly member SETs ROLE to its group, made
    SUPERUSER by hand, and is one. A replay finds the roles made already (by the live
    apply, on the same cluster), so the configs' roles are expected as tmplmig makes them."""
    user, password = create_login(conn, "app_readonly")
    conn.execute("ALTER ROLE app_readonly SUPERUSER")
    try:
        dsn = make_conninfo(dsn_for(database, conn.info.dbname, user=user), password=password)
        with psycopg.connect(dsn) as login:
            login.execute("SET ROLE app_readonly")
            assert login.execute("SELECT current_setting('is_superuser')").fetchone() == ("on",)
        assert reported(project, migrated) == [
            "role app_readonly: different (holds SUPERUSER, CREATEROLE, CREATEDB, REPLICATION"
            " or BYPASSRLS: expected False, found True)"
        ]
    finally:
        conn.execute("ALTER ROLE app_readonly NOSUPERUSER")
    assert reported(project, migrated) == []


@pytest.mark.parametrize(
    "role", ["app_admin", "app_owner"], ids=["a group role", "the owner (its replay stopped)"]
)
def test_verify_reports_a_role_given_a_login_by_hand(
    project: Path, migrated: str, database: str, conn: psycopg.Connection[Any], role: str
) -> None:
    """The replay sets tmplmig.replay: the role steps' refusal of an unfit existing role is
    for a real apply, not for the replay that must report it."""
    conn.execute(f"ALTER ROLE {role} LOGIN PASSWORD 'set by hand'")
    try:
        dsn = make_conninfo(dsn_for(database, conn.info.dbname, user=role))
        with psycopg.connect(dsn, password="set by hand") as login:  # every member's privileges
            assert login.execute("SELECT current_user").fetchone() == (role,)
        assert reported(project, migrated) == [
            f"role {role}: different (can login: expected False, found True)"
        ]
    finally:
        conn.execute(f"ALTER ROLE {role} NOLOGIN PASSWORD NULL")


def test_verify_ignores_objects_the_migrations_do_not_own(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "CREATE TABLE public.unrelated (id int); CREATE INDEX ON auth.users (display_name)"
    )
    assert reported(project, migrated) == []


def test_verify_of_an_empty_database_reports_everything_missing(project: Path, db_url: str) -> None:
    problems = commands.verify(resolve(project, ENV, url=db_url))
    assert {p.state for p in problems} == {"missing"}
    assert "index experiments_v1.idx_evaluations_experiment: missing" in map(str, problems)


def test_mark_records_a_bundle_applied_with_psql(
    project: Path, tmp_path: Path, database: str, db_url: str
) -> None:
    commands.write_render(for_rendering(project, ENV), tmp_path / "bundle")
    run_with_psql(database, tmp_path / "bundle", "apply")
    assert not any(s.applied for s in commands.status(resolve(project, ENV, url=db_url)))

    marked = commands.mark(resolve(project, ENV, url=db_url))
    assert marked == [s.id for s in commands.status(resolve(project, ENV, url=db_url))]
    assert all(s.applied for s in commands.status(resolve(project, ENV, url=db_url)))
    assert commands.apply(resolve(project, ENV, url=db_url)) == []


def test_mark_refuses_when_the_database_lacks_an_object(
    project: Path, tmp_path: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    commands.write_render(for_rendering(project, ENV), tmp_path / "bundle")
    run_with_psql(database, tmp_path / "bundle", "apply")
    conn.execute("DROP TRIGGER audit_users_changes ON auth.users")

    with pytest.raises(commands.CommandError, match="not marking") as refused:
        commands.mark(resolve(project, ENV, url=db_url))
    assert "trigger auth.users.audit_users_changes: missing" in str(refused.value)
    assert not any(s.applied for s in commands.status(resolve(project, ENV, url=db_url)))


def test_verify_reports_a_trigger_that_fires_on_other_events(
    project: Path, migrated: str, conn: psycopg.Connection[Any]
) -> None:
    conn.execute(
        "CREATE OR REPLACE TRIGGER audit_users_changes AFTER DELETE ON auth.users"
        " FOR EACH ROW EXECUTE FUNCTION audits.log_sensitive_operation()"
    )
    [problem] = reported(project, migrated)
    assert problem.startswith("trigger auth.users.audit_users_changes: different (definition:")


def test_a_shared_replay_gives_its_catalog_before_its_scratch_rollback_ends(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """In a fan-out the checks waiting for a replay's catalog do not wait for its rollback too
    (it created no role); closing the run waits for it, and no scratch database is left."""
    release, done = threading.Event(), threading.Event()

    def apply_at(url: str) -> None:
        with connect(url) as scratch:
            scratch.execute("CREATE TABLE public.replayed (id int PRIMARY KEY)")

    def rollback_at(url: str) -> None:
        release.wait(10)
        with connect(url) as scratch:
            scratch.execute("DROP TABLE public.replayed")
        done.set()

    with ScratchDatabases() as shared:
        expected = expected_objects(db_url, apply_at, rollback_at, shared)
        assert {row[:2] for row in expected["tables"]} == {("public", "replayed")}
        assert not done.is_set()
        release.set()
    assert done.is_set()
    left = "SELECT count(*) FROM pg_database WHERE datname LIKE 'tmplmig_verify_%'"
    assert conn.execute(left).fetchone() == (0,)


def test_a_run_hands_its_kept_session_to_the_next_tenant_reset_and_renamed(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The evolve's second connection, taken in turns by a fan-out's tenants: the next one
    finds its own name (what a later run's orphan check looks for) and no setting of the
    last (its role included); one left in a transaction is closed, not handed on."""
    admin = conn
    first = with_param(db_url, "application_name", "tmplmig apply dev ta")
    second = with_param(db_url, "application_name", "tmplmig apply dev tb")
    with ScratchDatabases() as shared:
        with shared.session(first) as conn:
            pid = conn.info.backend_pid
            login = conn.info.user
            grant = "DROP ROLE IF EXISTS verify_left_role; CREATE ROLE verify_left_role; GRANT"
            admin.execute(f'{grant} verify_left_role TO "{login}"')
            conn.execute("SET statement_timeout = '7s'; SET ROLE verify_left_role")
        with shared.session(second) as conn:
            assert conn.info.backend_pid == pid
            row = conn.execute(
                "SELECT current_setting('application_name'), current_setting('statement_timeout'),"
                " current_user"
            ).fetchone()
            assert row == ("tmplmig apply dev tb", "0", login)
            conn.execute("BEGIN")
        with shared.session(first) as conn:
            assert conn.info.backend_pid != pid


def test_a_kept_session_serves_its_uses_then_a_new_backend_takes_over(db_url: str) -> None:
    """A backend keeps what each tenant's run made it cache (PL/pgSQL plans, relation and type
    cache entries) and walks them on every catalog change: a kept session is handed out
    ``uses`` times, then closed, so what one backend holds does not grow with the tenants of
    a fan-out. A check's reading connection, which runs no tenant's code, stays kept."""
    with ScratchDatabases(uses=3) as shared:
        pids, sessions = [], []
        for _ in range(7):
            with shared.session(db_url) as conn:
                pids.append(conn.info.backend_pid)
                sessions.append(conn)
        assert len(set(pids[:3])) == len(set(pids[3:6])) == 1
        assert len({pids[0], pids[3], pids[6]}) == 3
        assert sessions[2].closed and sessions[5].closed
        readers = []
        for _ in range(7):
            with shared.reading(db_url) as conn:
                readers.append(conn.info.backend_pid)
        assert len(set(readers)) == 1


def test_a_kept_connection_the_server_ended_is_replaced_not_handed_on(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A server restart or an idle-session timeout between two tenants ends the run's idle
    connections: the next tenant gets a new one, not an error."""
    with ScratchDatabases() as shared:
        for kept in (shared.session, shared.reading):
            with kept(db_url) as first:
                pid = first.info.backend_pid
            conn.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            with kept(db_url) as second:
                assert second.execute("SELECT pg_backend_pid()").fetchone() != (pid,)


def test_a_fan_outs_yoyo_backend_on_the_kept_session_is_the_next_tenants(db_url: str) -> None:
    """yoyo's connection of a fan-out's tenant is the run's kept session when one is idle:
    its search_path is that tenant's tracking schema (where yoyo's tables and lock row go)
    and its name that tenant's, nothing of the last tenant's left; a command that fails
    closes it rather than hand it on."""
    with ScratchDatabases() as shared:
        for tenant in ("ta", "tb"):
            tracked = with_schema(db_url, f"tmplmig_{tenant}")
            with connect(tracked) as admin:
                create_schema(admin, f"tmplmig_{tenant}")
        pids = []
        for tenant in ("ta", "tb"):
            url = named(with_schema(db_url, f"tmplmig_{tenant}"), "apply", "dev", tenant)
            with shared.session(url) as session:
                backend = open_backend(url, session=session)
                assert backend.connection is session
                row = backend.execute(
                    "SELECT current_schema(), current_setting('application_name')"
                ).fetchone()
                assert row == (f"tmplmig_{tenant}", f"tmplmig apply dev {tenant}")
                assert "yoyo_lock" in backend.list_tables()
                pids.append(session.info.backend_pid)
                session.execute("SET search_path TO public")
        assert pids[0] == pids[1]
        target = replace(resolve(Path(__file__).parent.parent, "dev", None, db_url), scratch=shared)
        with pytest.raises(RuntimeError), commands._migrations(target, "apply") as (b, _, _):
            kept = b.connection
            raise RuntimeError("the command failed")
        assert kept.closed


@pytest.mark.parametrize("told", ["the rendered SQL", "the record's naming"])
def test_a_role_another_session_makes_and_drops_during_the_replay_is_not_expected(
    project: Path, migrated: str, conn: psycopg.Connection[Any], told: str
) -> None:
    """Roles are cluster-wide: one that another session creates while the scratch replay runs
    is among the roles the replay added, and gone again by the live read. The migrations never
    name it, so it is no drift (a fan-out's plan refused tenants for such a role)."""
    target = resolve(project, ENV, url=migrated)
    bystander = f"bystander_{uuid.uuid4().hex[:8]}"

    def apply_beside_another_session(url: str) -> None:
        commands.apply(target.at(url))
        conn.execute(f"CREATE ROLE {bystander}")

    def rollback_beside_another_session(url: str) -> None:
        commands.rollback(target.at(url))
        conn.execute(f"DROP ROLE {bystander}")

    parts = commands.render(target)
    with ScratchDatabases() as shared, connect(target.tracked_url) as tracked:
        found = check_database(
            target.tracked_url,
            apply_beside_another_session,
            rollback_beside_another_session,
            **(
                {"replayed": [g.sql for p in parts for s in p.steps for g in s.apply_statements]}
                if told == "the rendered SQL"
                else {"shared": shared, "naming": record.read(tracked).naming()}
            ),
        )
    assert found == []


def test_verify_of_an_applied_target_reads_the_render_apply_kept(
    project: Path, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify lists the SQL it replays and runs its scratch apply from the render the apply
    kept: Jinja renders nothing (it rendered everything twice)."""
    from tmplmig.rendering import cache, parts

    monkeypatch.delenv(cache.DISABLE_VAR, raising=False)
    renders: list[str] = []
    real = parts._render_part

    def counted(env: Any, part_id: str, *args: Any) -> Any:
        renders.append(part_id)
        return real(env, part_id, *args)

    monkeypatch.setattr(parts, "_render_part", counted)
    assert reported(project, migrated) == []
    assert renders == []
