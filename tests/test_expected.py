"""One replay per shape: a fan-out's drift checks replay one tenant of each shape and rename
its catalog for the others, and still catch drift in one tenant among many, for it alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import scratch_takes
from support.tenants import only_tenants

from tmplmig.database.scratch import ScratchDatabases
from tmplmig.migrating import commands, fanout
from tmplmig.migrating.target import CommandError, resolve
from tmplmig.reviewing.expected import Naming, Renaming, Unsure

#: tenant files: names only; tf names two schemas itself (not by the prefix)
TENANTS = {
    "ta": "",
    "tb": "",
    "tc": "",
    "td": "",
    "te": "",
    "tf": "schemas:\n  system: tf_sys_v2\n  audits: tf_audit_trail\n",
}


def edit_one_value(project: Path) -> None:
    """The edit of issue 24: one retention in base.yaml, so every tenant has a plan."""
    base = project / "config/base.yaml"
    base.write_text(base.read_text().replace("experiments: 730", "experiments: 731"))


def plan_refusal(project: Path, tenant: str, url: str, shared: ScratchDatabases | None) -> str:
    """What ``plan`` refuses for ``tenant`` (empty when it plans), its drift checks sharing
    ``shared``'s replays as a fan-out's do, or each replaying its own record."""
    target = replace(resolve(project, "dev", tenant, url), scratch=shared)
    try:
        commands.plan(target)
    except CommandError as exc:
        return str(exc)
    return ""


def replace_body(conn: psycopg.Connection[Any], function: str) -> None:
    """Change a function's body by hand, keeping its name, arguments, owner and grants."""
    (definition,) = conn.execute(
        "SELECT pg_get_functiondef(%s::regproc)", [function]
    ).fetchone() or ("",)
    assert "BEGIN" in definition
    conn.execute(definition.replace("BEGIN", "BEGIN\n  PERFORM 1; -- edited by hand", 1))


def test_drift_in_one_tenant_among_many_is_caught_for_it_alone_after_one_replay(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = only_tenants(sandbox, TENANTS)
    applied = fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=db_url)
    assert {o.state for o in applied} == {"applied"}
    edit_one_value(project)
    conn.execute("DROP INDEX tb_audits.idx_audit_entity")
    conn.execute("REVOKE SELECT ON tc_audits.audit_log FROM tc_app_readonly")
    conn.execute(
        "UPDATE pg_index SET indisvalid = false"
        " WHERE indexrelid = 'td_audits.idx_audit_entity'::regclass"
    )
    replace_body(conn, "te_system.purge_expired")
    replace_body(conn, "tf_sys_v2.purge_expired")
    replays = scratch_takes(monkeypatch)
    with ScratchDatabases() as shared:
        renamed = {t: plan_refusal(project, t, db_url, shared) for t in TENANTS}
    assert replays == [None]  # ta's record replayed; the others renamed from it
    replayed = {t: plan_refusal(project, t, db_url, None) for t in TENANTS}
    assert renamed == replayed
    assert renamed["ta"] == ""
    assert "index tb_audits.idx_audit_entity: missing" in renamed["tb"]
    assert "table tc_audits.audit_log: different (acl: expected" in renamed["tc"]
    assert "index td_audits.idx_audit_entity: INVALID" in renamed["td"]
    assert "function te_system.purge_expired(" in renamed["te"]
    assert "function tf_sys_v2.purge_expired(" in renamed["tf"]
    for tenant, refusal in renamed.items():  # each names its own objects, none of another's
        problems = refusal.splitlines()[1:]
        assert all(f" {tenant}_" in p for p in problems), (tenant, problems)
        assert len(problems) == (tenant != "ta"), (tenant, problems)


NAMES = Naming((), (("acme_auth", "schemas.auth"), ("r", "roles.readonly"), ("text", "schemas.x")))


def test_only_names_the_server_never_prints_itself_are_renamed() -> None:
    renaming = Renaming.of(NAMES, frozenset({"text"}))
    assert renaming is not None
    sql = 'GRANT SELECT ON "acme_auth".t, acme_auth.u TO r; SELECT NULL::text, acme_auth_x'
    shaped = renaming.out(sql)
    assert "acme_auth" not in shaped.replace("acme_auth_x", "")
    assert " TO r;" in shaped and "::text" in shaped and "acme_auth_x" in shaped
    other = Renaming.of(Naming((), (("bx_identity", "schemas.auth"),)), frozenset())
    assert other is not None
    assert other.back(shaped) == sql.replace("acme_auth.", "bx_identity.").replace(
        '"acme_auth"', '"bx_identity"'
    )


@pytest.mark.parametrize(
    "sql",
    ["SELECT 1 FROM ACME_AUTH.t", 'SELECT 1 FROM "acme_auth old".t', 'SELECT 1 FROM "x.acme_auth"'],
)
def test_a_name_folded_from_another_case_or_inside_an_identifier_is_unsure(sql: str) -> None:
    renaming = Renaming.of(NAMES, frozenset())
    assert renaming is not None
    with pytest.raises(Unsure):
        renaming.out(sql)


def test_records_differing_by_names_only_share_a_shape_and_no_other_does() -> None:
    def naming(auth: str, retention: int) -> Naming:
        texts = (f"CREATE SCHEMA {auth}", f"INSERT INTO {auth}.r VALUES ({retention})", None)
        return Naming(texts, ((auth, "schemas.auth"),))

    shapes = [
        renaming.shape(n)
        for n in (naming("a_auth", 30), naming("b_auth", 30), naming("c_auth", 31))
        if (renaming := Renaming.of(n, frozenset())) is not None
    ]
    assert shapes[0] == shapes[1] != shapes[2]
    # one name at two key paths (a record across a swap of two names) has no renaming
    swapped = Naming((), (("a_auth", "schemas.auth"), ("a_auth", "schemas.audits")))
    assert Renaming.of(swapped, frozenset()) is None
