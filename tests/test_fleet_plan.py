"""``plan --all-tenants`` by shape: one tenant's plan, renamed, is every other tenant's of its
shape whose record and catalog are the first's renamed; drift in one tenant among many is still
caught, for that tenant only (:mod:`tmplmig.migrating.fleet_plan`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.drifts import DRIFTS
from support.tenants import only_tenants
from support.yaml_edits import edit

from tmplmig.migrating import commands, fanout
from tmplmig.migrating.target import CommandError, Target, resolve

#: tenants of one shape whose names are as long (their prefixes occur in no other word of the
#: SQL), and one whose name is longer: the plan's review cuts statements to a width
FLEET = ["alpha", "bravo", "delta", "hotel", "oscar", "charlie"]
#: the first planned (drift check included), the last of its length that checks its plan
#: renamed, and one whose plan is the first's renamed
LEAD, CHECKER, RENAMED = "alpha", "oscar", "delta"


def applied_fleet(
    sandbox: Path, db_url: str, files: dict[str, Any] | None = None, checked: bool = True
) -> Path:
    """The fleet applied (``files``: tenant files other than empty), then a one-value edit of
    dev.yaml that changes one row of every tenant's 002c. The apply checks what it applied
    (``checked``), so the plan vouches for each tenant by its remembered check; else the plan
    reads every tenant's record and catalog (status's wide read, then the digests)."""
    project = only_tenants(sandbox, {name: (files or {}).get(name, "") for name in FLEET})
    verb = fanout.APPLY.given(check_after=checked)
    applied = fanout.run_all(project, "dev", verb, jobs=2, url=db_url)
    assert {o.state for o in applied} == {"applied"}
    dev = project / "config/dev.yaml"
    dev.write_text(dev.read_text().replace("audit_log: 30", "audit_log: 45"))
    return project


@pytest.fixture
def planned_alone(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Each tenant planned on its own from now on, and whether its plan checked drift."""
    calls: list[tuple[str, bool]] = []
    plan_bundle = commands.plan_bundle

    def spy(target: Target, drift: bool = True) -> commands.PlanBundle:
        calls.append((str(target.tenant), drift))
        return plan_bundle(target, drift)

    monkeypatch.setattr(commands, "plan_bundle", spy)
    yield calls


def fleet_plans(project: Path, db_url: str) -> dict[str, fanout.TenantOutcome]:
    outcomes = fanout.run_all(project, "dev", fanout.PLAN, jobs=2, url=db_url)
    return {o.tenant: o for o in outcomes}


def written_plans(project: Path, db_url: str, out: Path) -> dict[str, dict[str, str]]:
    """Each tenant's plan bundle as ``plan --all-tenants --out`` writes it."""
    outcomes = fanout.run_all(project, "dev", fanout.writing_plans(out), jobs=2, url=db_url)
    assert {o.state for o in outcomes} == {"planned"}
    return {
        folder.name: {f.name: f.read_text() for f in folder.iterdir()} for folder in out.iterdir()
    }


@pytest.mark.parametrize("checked", [True, False], ids=["vouched for", "read"])
def test_every_tenant_gets_the_plan_its_own_run_makes_and_two_are_planned(
    checked: bool,
    sandbox: Path,
    db_url: str,
    tmp_path: Path,
    planned_alone: list[tuple[str, bool]],
) -> None:
    project = applied_fleet(sandbox, db_url, checked=checked)
    written = written_plans(project, db_url, tmp_path / "plans")
    # charlie, alone in its group, is planned as one tenant is; the first checks drift unless
    # its remembered check was just found passing (vouched for)
    lead = (LEAD, not checked)
    assert sorted(planned_alone) == [lead, ("charlie", True), (CHECKER, False)]
    own = {name: commands.plan(resolve(project, "dev", name, db_url)) for name in FLEET}
    assert written == own
    assert f"-- tenant: {RENAMED}\n" in written[RENAMED]["002c_system_tables.plan.sql"]
    assert f'"{RENAMED}_system"."retention_policies"' in written[RENAMED]["REVIEW.md"]
    assert LEAD not in "".join(written[RENAMED].values())


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_drift_in_a_tenant_among_many_is_caught_for_that_tenant_only(
    drift: str,
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    planned_alone: list[tuple[str, bool]],
) -> None:
    project = applied_fleet(sandbox, db_url)
    change, said = DRIFTS[drift]
    change(conn, RENAMED)
    outcomes = fleet_plans(project, db_url)
    assert {t: o.state for t, o in outcomes.items()} == {
        **dict.fromkeys(FLEET, "planned"),
        RENAMED: "failed",
    }
    assert "not planning: the database differs" in outcomes[RENAMED].detail
    assert said.format(t=RENAMED) in outcomes[RENAMED].detail
    # its catalog is not the first's renamed: its own plan ran, and its drift check said why;
    # the first's check was vouched for
    assert sorted(planned_alone) == [
        (LEAD, False),
        ("charlie", True),
        (RENAMED, True),
        (CHECKER, False),
    ]


@pytest.mark.parametrize("drifted", [LEAD, CHECKER])
def test_drift_in_the_tenant_planned_first_or_checking_the_renaming_is_caught_for_it_only(
    drifted: str, sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    project = applied_fleet(sandbox, db_url)
    change, said = DRIFTS["dropped index"]
    change(conn, drifted)
    outcomes = fleet_plans(project, db_url)
    assert {t: o.state for t, o in outcomes.items()} == {
        **dict.fromkeys(FLEET, "planned"),
        drifted: "failed",
    }
    assert said.format(t=drifted) in outcomes[drifted].detail


def test_a_tenant_whose_record_differs_from_the_firsts_is_planned_on_its_own(
    sandbox: Path, db_url: str, tmp_path: Path, planned_alone: list[tuple[str, bool]]
) -> None:
    # applied with a retention of its own, then given the fleet's: same shape, other record
    project = applied_fleet(sandbox, db_url, {RENAMED: {"retention": {"audit_log": 31}}})
    (project / f"config/tenants/{RENAMED}.yaml").write_text("")
    written = written_plans(project, db_url, tmp_path / "plans")
    assert sorted(planned_alone) == [
        (LEAD, False),
        ("charlie", True),
        (RENAMED, True),
        (CHECKER, False),
    ]
    plan = "002c_system_tables.plan.sql"
    assert "-- changed config: retention.audit_log: 31 -> 45" in written[RENAMED][plan]
    assert "-- changed config: retention.audit_log: 30 -> 45" in written[LEAD][plan]
    assert written[RENAMED] == commands.plan(resolve(project, "dev", RENAMED, db_url))


@pytest.mark.parametrize("drift", ["function body", "revoked grant", "invalid index"])
def test_drift_after_a_fleet_plan_remembered_the_check_for_a_tenant_is_caught_by_its_apply(
    drift: str, sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    project = applied_fleet(sandbox, db_url)
    assert {o.state for o in fleet_plans(project, db_url).values()} == {"planned"}
    change, said = DRIFTS[drift]
    change(conn, RENAMED)
    with pytest.raises(CommandError, match="differs from what tmplmig recorded") as refused:
        commands.apply(resolve(project, "dev", RENAMED, db_url))
    assert said.format(t=RENAMED) in str(refused.value)
    outcomes = fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=db_url)
    assert {o.tenant: o.state for o in outcomes} == {
        **dict.fromkeys(FLEET, "applied"),
        RENAMED: "failed",
    }


def test_a_grant_edit_gives_every_tenant_the_plan_its_own_run_makes_whatever_its_names_sort_by(
    sandbox: Path, db_url: str, tmp_path: Path, planned_alone: list[tuple[str, bool]]
) -> None:
    """GRANT and REVOKE lists are sorted by name: tenants whose names sort before and after the
    names every tenant shares (``public``, ``tmplmig``) get their own order."""
    names = ["abba", "kilo", "mike", "zulu"]
    project = only_tenants(sandbox, dict.fromkeys(names, ""))
    fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=db_url)
    edit(
        project / "config/base.yaml",
        lambda d: d["privileges"]["execute"].update(encrypt_data=["admin"]),
    )
    written = written_plans(project, db_url, tmp_path / "plans")
    # kilo and mike: renamed (abba's check vouched for: not run again)
    assert planned_alone == [("abba", False), ("zulu", False)]
    own = {name: commands.plan(resolve(project, "dev", name, db_url)) for name in names}
    assert written == own
    assert all("REVOKE" in "".join(plan.values()) for plan in written.values())
