"""A drift check that passed is remembered by the catalog rows it compared: the next check of an
unchanged tenant costs one catalog read, and any change a check reports is still caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.drifts import DRIFTS
from support.servers import scratch_takes
from support.tenants import only_tenants

from tmplmig.database import catalog
from tmplmig.migrating import fanout
from tmplmig.rendering import cache
from tmplmig.reviewing.catalog_fingerprint import CatalogMemory, scope_of


def _answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each drift check from now on found its catalog as when it last passed."""
    answers: list[bool] = []
    unchanged = CatalogMemory.unchanged

    def spy(memory: CatalogMemory, conn: psycopg.Connection[Any]) -> bool:
        answers.append(unchanged(memory, conn))
        return answers[-1]

    monkeypatch.setattr(CatalogMemory, "unchanged", spy)
    return answers


def _planned_fleet(sandbox: Path, db_url: str) -> Path:
    """Three tenants applied, a one-value edit planned for each: their checks passed."""
    project = only_tenants(sandbox, {"ta": "", "tb": "", "tc": ""})
    fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    dev = project / "config/dev.yaml"
    dev.write_text(dev.read_text().replace("audit_log: 30", "audit_log: 45"))
    first = fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    assert {o.tenant: o.state for o in first} == dict.fromkeys(["ta", "tb", "tc"], "planned")
    return project


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_a_change_by_hand_after_a_remembered_check_is_still_caught_for_that_tenant_only(
    drift: str,
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = _planned_fleet(sandbox, db_url)
    change, said = DRIFTS[drift]
    change(conn, "tb")
    answers = _answers(monkeypatch)
    outcomes = {
        o.tenant: o for o in fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    }
    assert {t: o.state for t, o in outcomes.items()} == {
        "ta": "planned",
        "tb": "failed",
        "tc": "planned",
    }
    assert "not planning: the database differs" in outcomes["tb"].detail
    assert said.format(t="tb") in outcomes["tb"].detail
    # ta and tc were answered from what their first checks remembered; tb's had changed
    assert answers == [True, False, True]


def test_an_unchanged_tenant_is_not_replayed_again_until_its_record_changes(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _planned_fleet(sandbox, db_url)
    taken = scratch_takes(monkeypatch)
    again = fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    assert {o.state for o in again} == {"planned"} and taken == []
    evolved = fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    assert {o.state for o in evolved} == {"applied"}
    dev = project / "config/dev.yaml"
    dev.write_text(dev.read_text().replace("audit_log: 45", "audit_log: 46"))
    # a new record (the evolve's) is checked in full once, then remembered
    assert {o.state for o in fanout.run_all(project, "dev", fanout.PLAN, url=db_url)} == {"planned"}
    replays = len(taken)
    assert replays > 0
    assert {o.state for o in fanout.run_all(project, "dev", fanout.PLAN, url=db_url)} == {"planned"}
    assert len(taken) == replays


def test_tmplmig_no_cache_checks_in_full_every_time(
    sandbox: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _planned_fleet(sandbox, db_url)
    monkeypatch.setenv(cache.DISABLE_VAR, "1")
    cache.cache_dir.cache_clear()
    try:
        taken = scratch_takes(monkeypatch)
        again = fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    finally:
        cache.cache_dir.cache_clear()
    assert {o.state for o in again} == {"planned"} and len(taken) == 1


def test_the_remembered_scope_reads_the_same_rows_as_the_check_did() -> None:
    like: catalog.Snapshot = {
        "tables": frozenset({("s", "t", "r", "{a=r/b}"), ("s", "u", "r", None)}),
        "indexes": frozenset({("s", "i", "CREATE INDEX i ON s.t USING btree (x)", True)}),
        "constraints": frozenset({("s", "s.t", "c", "p", True, "PRIMARY KEY (x)")}),
        "functions": frozenset({("s", "f", "x integer", False, None, None, "SELECT 1")}),
        "roles": frozenset({("r1", False), ("r2", None)}),
        "comments": frozenset({("table s.t", "text")}),
    }
    assert catalog._queries(True, scope_of(like)) == catalog._queries(True, like)
