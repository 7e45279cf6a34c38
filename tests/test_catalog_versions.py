"""A drift check remembered with the versions of the rows it compared is vouched for by one cheap
read, and by nothing else: every change the check would report makes the versions differ, for
that tenant only (:mod:`tmplmig.database.catalog_versions`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.drifts import DRIFTS, Drift
from support.tenants import only_tenants
from support.yaml_edits import edit

from tmplmig.database.catalog_versions import Names, digests, one_snapshot
from tmplmig.database.urls import connect
from tmplmig.migrating import commands, evolving, fanout, fleet_plan
from tmplmig.migrating.target import resolve
from tmplmig.migrating.tenants import tracking_schema
from tmplmig.rendering.identifiers import RECORD_STEPS_TABLE
from tmplmig.reviewing import catalog_fingerprint, verify
from tmplmig.reviewing.catalog_fingerprint import CatalogMemory

#: names no word of the templates holds (``ta_`` is in ``data_``): one shape, one prefix each
TENANTS = ["tb", "tc", "td"]


def applied(sandbox: Path, db_url: str) -> Path:
    """Three tenants applied by a fan-out, which checks and remembers what it applied."""
    project = only_tenants(sandbox, dict.fromkeys(TENANTS, ""))
    outcomes = fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=db_url)
    assert {o.state for o in outcomes} == {"applied"}
    return project


def vouched_for(project: Path, db_url: str) -> dict[str, bool]:
    """Whether each tenant's remembered drift check would pass now, as a fleet plan reads it:
    as the deploying login, in one snapshot."""
    entries = []
    for tenant in TENANTS:
        target = resolve(project, "dev", tenant, db_url)
        found = fleet_plan.member(target.config)
        assert found is not None
        key = CatalogMemory.key_at(target.tracked_url)
        entries.append((key, found[1].prefix, tracking_schema(tenant)))
    with connect(db_url) as conn, one_snapshot(conn):
        answers = catalog_fingerprint.vouched(conn, entries)
    return {tenant: answer is not None for tenant, answer in zip(TENANTS, answers, strict=True)}


def renamed_role(conn: psycopg.Connection[Any], tenant: str) -> None:
    """A grantee renamed: the ACLs spell the new name, the granted rows keep their version."""
    conn.execute(f"ALTER ROLE {tenant}_app_readonly RENAME TO {tenant}_app_reader")


def renamed_column(conn: psycopg.Connection[Any], tenant: str) -> None:
    table = conn.execute(
        "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = %s::regclass",
        [f"{tenant}_audits.idx_audit_entity"],
    ).fetchone()
    assert table is not None
    column = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indexrelid = %s::regclass",
        [f"{tenant}_audits.idx_audit_entity"],
    ).fetchone()
    assert column is not None
    conn.execute(f'ALTER TABLE {table[0]} RENAME COLUMN "{column[0]}" TO renamed_by_hand')


def disabled_trigger(conn: psycopg.Connection[Any], tenant: str) -> None:
    table, trigger = conn.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger"
        " WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE %s ORDER BY 2 LIMIT 1",
        [f"{tenant}\\_%"],
    ).fetchone() or (None, None)
    assert table is not None
    conn.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{trigger}"')


#: changes the check compares that touch no row's version but through what the rows name or
#: the values read beside the versions
MORE: dict[str, Drift] = {
    "grantee renamed": renamed_role,
    "indexed column renamed": renamed_column,
    "trigger disabled": disabled_trigger,
}


@pytest.mark.parametrize("drift", sorted(DRIFTS) + sorted(MORE))
def test_a_change_by_hand_unvouches_that_tenant_only(
    drift: str, sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    project = applied(sandbox, db_url)
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, True)
    change = DRIFTS[drift][0] if drift in DRIFTS else MORE[drift]
    change(conn, "tc")
    assert vouched_for(project, db_url) == {"tb": True, "tc": False, "td": True}


def test_what_every_tenant_names_outside_its_schemas_renamed_unvouches_them_all(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """Every tenant's triggers name ``tmplmig.keep_column``, so every check compares it: renamed
    by hand, no tenant is vouched for (a reference outside what the check compares is followed:
    the test below)."""
    project = applied(sandbox, db_url)
    conn.execute("ALTER FUNCTION tmplmig.keep_column() RENAME TO keep_column_by_hand")
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, False)


def test_a_record_rewritten_as_it_was_is_not_the_record_the_check_passed_for(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """The check vouches for the catalog against one record: rows written again (a ``mark``,
    an edit undone) are another version, so the plan reads them instead."""
    project = applied(sandbox, db_url)
    steps = f"{tracking_schema('tc')}.{RECORD_STEPS_TABLE}"
    conn.execute(f"UPDATE {steps} SET position = position")
    assert vouched_for(project, db_url) == {"tb": True, "tc": False, "td": True}


def test_vacuum_and_analyze_leave_every_tenant_vouched_for(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """They update ``pg_class`` in place (pages, tuples, frozen ids): no version changes."""
    project = applied(sandbox, db_url)
    conn.execute("VACUUM (FREEZE, ANALYZE)")
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, True)


def retention(project: Path, days: int) -> None:
    """A one-value edit: dev's ``retention.audit_log`` (a row each tenant's evolve upserts)."""
    edit(project / "config/dev.yaml", lambda data: data["retention"].update(audit_log=days))


def plan_reading_nothing(project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``plan --all-tenants`` plans every tenant with no replay and no definition read: each
    one's remembered drift check vouches for it by the versions of its rows."""
    replays: list[str] = []
    spelled: list[int] = []
    expected_objects = verify.expected_objects
    catalog_rows = fleet_plan._catalog_rows
    monkeypatch.setattr(
        verify,
        "expected_objects",
        lambda url, *a, **k: replays.append(url) or expected_objects(url, *a, **k),
    )
    monkeypatch.setattr(
        fleet_plan,
        "_catalog_rows",
        lambda conn, batch, *a: spelled.append(len(batch)) or catalog_rows(conn, batch, *a),
    )
    outcomes = fanout.run_all(project, "dev", fanout.PLAN, jobs=2, url=db_url)
    assert {o.tenant: o.state for o in outcomes} == dict.fromkeys(TENANTS, "planned")
    assert replays == []
    assert spelled == []


def test_the_plan_after_a_fleet_apply_replays_and_spells_out_no_catalog(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The apply checked what it applied: the plan that follows reads nothing more."""
    project = applied(sandbox, db_url)
    retention(project, 45)
    plan_reading_nothing(project, db_url, monkeypatch)


def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenants (tracked URLs' keys) whose drift check runs in full from now on: each one
    that passes is remembered."""
    checked: list[str] = []
    remember = CatalogMemory.remember
    monkeypatch.setattr(
        CatalogMemory,
        "remember",
        lambda self, *a: checked.append(self.key) or remember(self, *a),
    )
    return checked


def test_a_fleet_evolve_checks_one_tenant_in_full_and_the_next_plan_reads_nothing(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evolve upserted a row and changed no catalog row: the first tenant's check after
    it replays the new record and passes on the catalog the old one passed on (a verdict);
    every other tenant is answered by its own rows' versions, and so is the next plan."""
    project = applied(sandbox, db_url)
    retention(project, 45)
    checked = full_checks(monkeypatch)
    outcomes = fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    assert {o.tenant: o.detail for o in outcomes} == dict.fromkeys(
        TENANTS, "002c_system_tables (evolved)"
    )
    assert len(checked) == 1
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, True)
    retention(project, 46)
    plan_reading_nothing(project, db_url, monkeypatch)


def test_a_change_by_hand_during_a_fleet_evolve_is_caught_for_that_tenant_only(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A grant revoked in one tenant between its evolve and the check after it: its rows are
    other versions, so its check runs in full and says so; the others are vouched for."""
    project = applied(sandbox, db_url)
    retention(project, 45)
    revoke = DRIFTS["revoked grant"][0]
    evolve = evolving.evolve

    def evolved_then_revoked(backend: Any, plans: Any, target: Any, parts: Any) -> None:
        evolve(backend, plans, target, parts)
        if target.config.tenant == "tc":
            revoke(conn, "tc")

    monkeypatch.setattr(evolving, "evolve", evolved_then_revoked)
    fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    warned = [r.getMessage() for r in caplog.records if "differs from its record" in r.message]
    assert len(warned) == 1 and "tc_" in warned[0] and "tb_" not in warned[0]
    assert vouched_for(project, db_url) == {"tb": True, "tc": False, "td": True}
    retention(project, 46)
    outcomes = fanout.run_all(project, "dev", fanout.PLAN, jobs=2, url=db_url)
    assert {o.tenant: o.state for o in outcomes} == {
        "tb": "planned",
        "tc": "failed",
        "td": "planned",
    }


def test_a_record_evolved_without_its_statements_is_carried_by_no_verdict(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An index's columns edited, its new definition recorded but never run: every catalog row
    is the version its check passed with, yet no check of the new record passed on it, so
    nothing carries the old check over: each tenant's check after the evolve finds the index."""
    project = applied(sandbox, db_url)
    template = project / "templates/002a_indexes.sql.j2"
    template.write_text(template.read_text().replace('"entity_type, entity_id"', '"entity_id"'))
    monkeypatch.setattr(evolving, "run_with_lock_discipline", lambda *_, **__: None)
    outcomes = fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    assert {o.detail for o in outcomes} == {"002a_indexes (evolved)"}
    warned = [r.getMessage() for r in caplog.records if "differs from its record" in r.message]
    assert sorted(t for t in TENANTS for w in warned if f"{t}_audits.idx_audit_entity" in w) == (
        TENANTS
    )
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, False)


@pytest.fixture
def own_schema(conn: psycopg.Connection[Any]) -> Iterator[Names]:
    """A schema of one table whose default calls a function of another schema, granted to a
    role outside it: what the read names, by name."""
    conn.execute("CREATE SCHEMA elsewhere")
    conn.execute("CREATE FUNCTION elsewhere.seed() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    conn.execute("CREATE SCHEMA own")
    conn.execute("CREATE TABLE own.t (id int DEFAULT elsewhere.seed())")
    conn.execute("CREATE ROLE tmplmig_test_outsider NOLOGIN")
    conn.execute("GRANT SELECT ON own.t TO tmplmig_test_outsider")
    yield Names(schemas=frozenset({"own"}), relations=frozenset({("own", "t")}))
    conn.execute("DROP SCHEMA own, elsewhere CASCADE")
    conn.execute("DROP ROLE IF EXISTS tmplmig_test_outsider, tmplmig_test_renamed")


def versions(conn: psycopg.Connection[Any], names: Names) -> str | None:
    with one_snapshot(conn):
        return digests(conn, [names])[0]


def test_what_an_object_names_outside_its_schemas_is_followed(
    conn: psycopg.Connection[Any], own_schema: Names
) -> None:
    """The default spells the function's name: renamed, or its schema renamed, the read says so
    though no row of the schema changed."""
    before = versions(conn, own_schema)
    assert before is not None and versions(conn, own_schema) == before
    conn.execute("ALTER FUNCTION elsewhere.seed() RENAME TO seed_by_hand")
    renamed = versions(conn, own_schema)
    assert renamed not in (None, before)
    conn.execute("ALTER SCHEMA elsewhere RENAME TO elsewhere_by_hand")
    assert versions(conn, own_schema) not in (None, before, renamed)
    conn.execute("ALTER SCHEMA elsewhere_by_hand RENAME TO elsewhere")


def test_a_grantee_outside_the_tenant_renamed_is_read_in_the_acl(
    conn: psycopg.Connection[Any], own_schema: Names
) -> None:
    """A rename writes the role's row only: the table's ACL, read as text, spells the new name."""
    before = versions(conn, own_schema)
    conn.execute("ALTER ROLE tmplmig_test_outsider RENAME TO tmplmig_test_renamed")
    assert versions(conn, own_schema) not in (None, before)


def test_a_reference_to_a_kind_of_object_not_followed_vouches_for_nothing(
    conn: psycopg.Connection[Any], own_schema: Names
) -> None:
    """A text search configuration is not a kind the read follows: a column default naming one
    makes the digest None (the values are read instead)."""
    conn.execute("CREATE TEXT SEARCH CONFIGURATION elsewhere.words (COPY = pg_catalog.simple)")
    conn.execute(
        "ALTER TABLE own.t ADD COLUMN doc tsvector"
        " DEFAULT to_tsvector('elsewhere.words'::regconfig, '')"
    )
    assert versions(conn, own_schema) is None


def test_a_check_after_apply_that_fails_leaves_the_apply_done_and_nothing_vouched_for(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The apply committed: a check of it that cannot run is logged, and the next plan reads
    every tenant's catalog instead of trusting what was not checked."""

    def broken(*_: object) -> list[object]:
        raise psycopg.OperationalError("the scratch database is gone")

    monkeypatch.setattr(commands, "_drift", broken)
    project = applied(sandbox, db_url)
    assert "checking what" in caplog.text and "the scratch database is gone" in caplog.text
    assert vouched_for(project, db_url) == dict.fromkeys(TENANTS, False)
