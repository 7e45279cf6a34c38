"""Fleets of tenants in one database: side by side, canaries, selection and the JSON summary."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import deployer_dsn, scratch_takes, url_for
from support.tenants import only_tenants

from tmplmig import cli
from tmplmig.database import scratch
from tmplmig.database.catalog import snapshot
from tmplmig.migrating import commands, fanout, fleet_status, record
from tmplmig.migrating.rollout import Rollout
from tmplmig.migrating.seal_cache import SealCache
from tmplmig.migrating.target import CommandError, resolve
from tmplmig.rendering.config import load_config
from tmplmig.rendering.parts import render_all


def fleet(sandbox: Path, names: list[str], lost: str | None = None) -> Path:
    """The sandbox with exactly these (empty) tenant files; ``lost`` lives in a missing database."""
    tenants: dict[str, Any] = dict.fromkeys(names, "")
    if lost is not None:
        tenants[lost] = {"tenant": {"database": f"tmplmig_missing_{uuid.uuid4().hex[:8]}"}}
    return only_tenants(sandbox, tenants)


def states(outcomes: list[fanout.TenantOutcome]) -> dict[str, str]:
    return {o.tenant: o.state for o in outcomes}


def fleet_in_every_state(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], count: int
) -> tuple[Path, list[str]]:
    """``count`` tenants applied but for t01 (pending); then t02's config changed, an index of
    t03 dropped, t04's record of a part deleted and t05's record of a part edited by hand."""
    names = [f"t{i:02d}" for i in range(count)]
    project = fleet(sandbox, names)
    fanout.run_all(
        project, "dev", fanout.APPLY, jobs=2, url=db_url, rollout=Rollout(exclude=("t01",))
    )
    (project / "config/tenants/t02.yaml").write_text("retention:\n  audit_log: 45\n")
    conn.execute("DROP INDEX t03_audits.idx_audit_entity")
    conn.execute("DELETE FROM tmplmig_t04.tmplmig_applied WHERE part = '002e_functions'")
    conn.execute(
        "UPDATE tmplmig_t05.tmplmig_applied SET apply_sql = apply_sql || ' '"
        " WHERE part = '002a_indexes'"
    )
    return project, names


def run_alone(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tenants a fan-out runs one by one from now on (not answered database-wide)."""
    alone: list[str] = []
    run_tenant = fanout.run_tenant

    def spied(project: Path, config: Any, *args: Any, **kwargs: Any) -> fanout.TenantOutcome:
        alone.append(config.tenant)
        return run_tenant(project, config, *args, **kwargs)

    monkeypatch.setattr(fanout, "run_tenant", spied)
    return alone


def test_tenants_side_by_side_in_one_database_build_the_catalog_one_by_one_builds(
    sandbox: Path, database: str, second_database: str
) -> None:
    names = ["ta", "tb", "tc", "td", "te", "tf"]
    project = fleet(sandbox, names)
    side_by_side = url_for(deployer_dsn(second_database))
    serial = fanout.run_all(
        project, "dev", fanout.APPLY, jobs=1, url=url_for(deployer_dsn(database))
    )
    started = time.perf_counter()
    parallel = fanout.run_all(project, "dev", fanout.APPLY, jobs=4, url=side_by_side)
    wall = time.perf_counter() - started
    assert set(states(serial).values()) == set(states(parallel).values()) == {"applied"}
    # tenants overlapped: their own durations add up to more than the whole run took
    assert sum(o.seconds for o in parallel) > wall
    with psycopg.connect(database) as one, psycopg.connect(second_database) as other:
        assert snapshot(one) == snapshot(other)
        for name in names:  # each tenant's steps ran as its own owner role
            settings = load_config(project, "dev", name).settings
            owners = other.execute(
                "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s)",
                [list(settings.schemas.model_dump().values())],
            ).fetchall()
            assert owners == [(settings.roles.owner,)], name
    # both databases are fresh, so pgcrypto came from the once-per-database step
    rolled_back = fanout.run_all(project, "dev", fanout.ROLLBACK, jobs=4, url=side_by_side)
    assert set(states(rolled_back).values()) == {"rolled back"}


def test_a_failing_canary_stops_the_rest_and_the_summary_is_json(
    sandbox: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fleet(sandbox, ["ta", "tb", "tc"], lost="canary")
    argv = ["--project", str(project), "apply", "--env", "dev", "--all-tenants"]
    code = cli.main([*argv, "--database", db_url, "--canary", "canary", "--format", "json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {t["tenant"]: t["state"] for t in summary["tenants"]} == {
        "canary": "failed",
        "ta": "skipped",
        "tb": "skipped",
        "tc": "skipped",
    }
    assert summary["counts"] == {"failed": 1, "skipped": 3} and summary["failed"] == 1
    assert all(t["detail"] == "not started: canary canary failed" for t in summary["tenants"][1:])
    assert not any(s.applied for s in commands.status(resolve(project, "dev", "ta", url=db_url)))


def test_canaries_finish_before_any_other_tenant_starts(sandbox: Path, db_url: str) -> None:
    project = fleet(sandbox, ["ta", "tb", "tc", "td"])
    order: list[str] = []
    rollout = Rollout(canary=("tc", "ta"))
    outcomes = fanout.run_all(
        project,
        "dev",
        fanout.STATUS,
        jobs=4,
        url=db_url,
        rollout=rollout,
        on_done=lambda o: order.append(o.tenant),
    )
    assert set(order[:2]) == {"ta", "tc"} and set(order[2:]) == {"tb", "td"}
    assert set(states(outcomes).values()) == {"pending"}


def test_stop_on_failure_starts_no_further_tenant_and_continue_runs_them_all(
    sandbox: Path, db_url: str
) -> None:
    project = fleet(sandbox, ["tb", "tc"], lost="ta")
    stopped = fanout.run_all(
        project, "dev", fanout.APPLY, jobs=1, url=db_url, rollout=Rollout(stop_on_failure=True)
    )
    assert states(stopped) == {"ta": "failed", "tb": "skipped", "tc": "skipped"}
    carried_on = fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    assert states(carried_on) == {"ta": "failed", "tb": "applied", "tc": "applied"}


def test_drift_checks_of_a_fan_out_replay_once_per_shape_in_one_scratch_database_and_find_drift(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = fleet(sandbox, ["ta", "tb", "tc"])
    # tc's own retention gives its record a shape of its own; ta and tb differ by names only
    (project / "config/tenants/tc.yaml").write_text("retention:\n  provider_health: 9\n")
    # applied without checking what it applied: the plan's checks find nothing remembered
    unchecked = fanout.APPLY.given(check_after=False)
    fanout.run_all(project, "dev", unchecked, jobs=1, url=db_url)
    dev = project / "config/dev.yaml"
    dev.write_text(dev.read_text().replace("audit_log: 30", "audit_log: 45"))
    conn.execute("DROP INDEX tb_audits.idx_audit_entity")
    taken = scratch_takes(monkeypatch)
    outcomes = {
        o.tenant: o for o in fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    }
    assert {t: o.state for t, o in outcomes.items()} == {
        "ta": "planned",
        "tb": "failed",
        "tc": "planned",
    }
    assert "index tb_audits.idx_audit_entity: missing" in outcomes["tb"].detail
    # ta's record replayed in a scratch database made for it, renamed for tb; tc's replayed
    # in the same database, kept
    assert len(taken) == 2 and taken[0] is None and taken[1] is not None
    left = "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)"
    assert conn.execute(left, [scratch.PREFIX]).fetchone() == (0,)


def test_status_of_every_tenant_read_database_wide_says_what_each_tenants_own_status_says(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project, names = fleet_in_every_state(sandbox, db_url, conn, 12)
    own = {
        name: fanout.run_tenant(project, load_config(project, "dev", name), fanout.STATUS, db_url)
        for name in names
    }
    alone = run_alone(monkeypatch)
    for jobs in (2, 1):  # two connections read the tracking schemas side by side, or one
        wide = fanout.run_all(project, "dev", fanout.STATUS, jobs=jobs, url=db_url)
        assert [(o.tenant, o.state, o.detail) for o in wide] == [
            (o.tenant, o.state, o.detail) for o in own.values()
        ]
    assert states(wide) == {
        **dict.fromkeys(names, "up to date"),
        "t01": "pending",
        "t02": "changed",
        "t03": "objects missing",
        "t05": "failed",
    }
    assert own["t04"].detail == "no record: 002e_functions"
    assert own["t02"].detail == "002c_system_tables" and own["t03"].detail == "002a_indexes"
    assert "cannot be trusted" in own["t05"].detail
    assert alone == ["t05", "t05"]  # every other tenant was answered by the database-wide read
    argv = ["--project", str(project), "status", "--env", "dev", "--all-tenants", "--check"]
    assert cli.main([*argv, "--database", db_url, "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["tenant", "database", "result", "detail"]
    assert out.splitlines()[-1] == (
        "12 tenants: 1 changed, 1 failed, 1 objects missing, 1 pending, 8 up to date"
    )


def test_plan_of_every_tenant_runs_only_for_those_the_database_wide_read_finds_unsettled(
    sandbox: Path,
    db_url: str,
    conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fan-out's plan says what each tenant's own plan says; the tenants whose parts are all
    applied as rendered today (or not applied at all) are answered by the database-wide read,
    the others plan on their own: changed, objects gone by hand, a part unrecorded, a record
    edited by hand."""
    project, names = fleet_in_every_state(sandbox, db_url, conn, 10)
    own = {
        name: fanout.run_tenant(project, load_config(project, "dev", name), fanout.PLAN, db_url)
        for name in names
    }
    alone = run_alone(monkeypatch)
    wide = fanout.run_all(project, "dev", fanout.PLAN, jobs=1, url=db_url)
    assert [(o.tenant, o.state, o.detail) for o in wide] == [
        (o.tenant, o.state, o.detail) for o in own.values()
    ]
    assert states(wide)["t02"] == "planned" and states(wide)["t05"] == "failed"
    assert {states(wide)[n] for n in ("t00", "t01", "t06")} == {"up to date"}
    assert sorted(alone) == ["t02", "t03", "t04", "t05"]


def test_a_record_edited_by_hand_after_a_verified_database_wide_status_is_still_caught(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A database-wide status remembers the records it found sealed (rows and configs), by their
    rows' places and writing transactions; a row written since (by hand or by tmplmig) is
    verified in full, a recorded config's digest included."""
    project = fleet(sandbox, ["ta", "tb", "tc", "td"])
    fanout.run_all(project, "dev", fanout.APPLY, jobs=2, url=db_url)
    first = fanout.run_all(project, "dev", fanout.STATUS, jobs=2, url=db_url)
    assert set(states(first).values()) == {"up to date"}
    remembered = SealCache.of(conn).known
    assert set(remembered) == {"tmplmig_ta", "tmplmig_tb", "tmplmig_tc", "tmplmig_td"}
    conn.execute(
        "UPDATE tmplmig_tb.tmplmig_applied SET apply_sql = apply_sql || ' '"
        " WHERE part = '002a_indexes'"
    )
    # a write that leaves the row as it was still makes its fingerprint stale
    conn.execute("UPDATE tmplmig_tc.tmplmig_applied SET apply_sql = apply_sql")
    conn.execute("UPDATE tmplmig_td.tmplmig_applied_config SET settings = settings || '{\"x\": 1}'")
    then = {o.tenant: o for o in fanout.run_all(project, "dev", fanout.STATUS, jobs=1, url=db_url)}
    assert {name: o.state for name, o in then.items()} == {
        "ta": "up to date",
        "tb": "failed",
        "tc": "up to date",
        "td": "failed",
    }
    assert "cannot be trusted" in then["tb"].detail
    assert "does not match its digest" in then["td"].detail
    now = SealCache.of(conn).known
    assert "tmplmig_tb" not in now and "tmplmig_td" not in now  # verified in full next time
    assert now["tmplmig_ta"] == remembered["tmplmig_ta"]
    assert now["tmplmig_tc"] != remembered["tmplmig_tc"]  # verified again, remembered anew


def test_tenants_of_one_shape_share_one_render_renamed_as_their_own_would_be(
    sandbox: Path,
) -> None:
    project = fleet(sandbox, ["ta", "tb", "tc", "td"])
    (project / "config/tenants/tc.yaml").write_text("schemas:\n  auth: tc_identity\n")
    (project / "config/tenants/td.yaml").write_text("retention:\n  audit_log: 45\n")
    renders = fleet_status.Renders(project)
    for name in ("ta", "tb", "tc", "td"):
        config = load_config(project, "dev", name)
        real = {
            p.id: [(s.identity, record.sha256(s.apply), s.role) for s in p.steps]
            for p in render_all(project, config)
        }
        assert renders.units(config) == real, name
    shapes = list(renders.shapes.values())
    assert len(shapes) == 2 and all(s is not None and s.checked for s in shapes[:1])


def test_a_later_run_takes_each_tenants_part_digests_from_the_cache_whoever_its_shape_is(
    sandbox: Path,
) -> None:
    """The part digests of a shape's tenants are kept between runs under the shape's render with
    its names' prefix cut out: a run whose shape came from another tenant finds them."""
    names = ["t01", "t02", "t03"]  # ("ta_" is inside "data_": renaming ta is not by prefix)
    project = fleet(sandbox, names)
    configs = {name: load_config(project, "dev", name) for name in names}
    real = {
        name: {
            p.id: fleet_status.digest((s.identity, record.sha256(s.apply), s.role) for s in p.steps)
            for p in render_all(project, config)
        }
        for name, config in configs.items()
    }

    def digests(renders: fleet_status.Renders, order: list[str]) -> dict[str, dict[str, str]]:
        return {
            name: {p: renders.today(configs[name]).digest(p, frozenset()) for p in real[name]}
            for name in order
        }

    first = fleet_status.Renders(project)
    assert digests(first, names) == real
    first.save()
    later = fleet_status.Renders(project)
    assert digests(later, names[::-1]) == real  # its shape is t03's render
    (was,), (shape,) = first.shapes.values(), later.shapes.values()
    assert was is not None and shape is not None and shape.names != was.names
    assert shape.key is not None and shape.key == was.key and shape.checked
    assert not shape.grown  # every tenant's digests came from the cache


def test_only_and_exclude_select_exactly_the_named_tenants() -> None:
    names = ["acme", "acme_eu", "globex", "initech", "initrode"]
    assert Rollout(only=("acme*",)).select(names) == ["acme", "acme_eu"]
    assert Rollout(only=("init*", "globex"), exclude=("*rode",)).select(names) == [
        "globex",
        "initech",
    ]
    assert Rollout(exclude=("a?me",)).select(names) == ["acme_eu", "globex", "initech", "initrode"]
    with pytest.raises(CommandError, match="no tenant matches --only umbrella"):
        Rollout(only=("umbrella",)).select(names)
    with pytest.raises(CommandError, match="not selected: acme"):
        Rollout(exclude=("acme",), canary=("acme",)).canaries(["globex"])


def test_a_fan_out_apply_adopts_a_part_applied_without_a_record_and_leaves_no_scratch(
    sandbox: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """A tenant whose part lost its record is checked against a scratch apply before it is
    recorded again: the fan-out's kept sessions stay out of that scratch database, which is
    dropped after (a kept session left in it made the drop fail, and the tenant with it)."""
    project = fleet(sandbox, ["ta", "tb"])
    fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    conn.execute("DELETE FROM tmplmig_tb.tmplmig_applied WHERE part = '002e_functions'")
    again = fanout.run_all(project, "dev", fanout.APPLY, jobs=1, url=db_url)
    assert states(again) == {"ta": "up to date", "tb": "up to date"}
    status = commands.status(resolve(project, "dev", "tb", url=db_url))
    assert {s.state for s in status} == {"applied"}
    left = "SELECT count(*) FROM pg_database WHERE starts_with(datname, %s)"
    assert conn.execute(left, [scratch.PREFIX]).fetchone() == (0,)


def test_only_runs_the_selected_tenants_and_leaves_the_others_untouched(
    sandbox: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = fleet(sandbox, ["eu_one", "eu_two", "us_one"])
    argv = ["--project", str(project), "apply", "--env", "dev", "--all-tenants"]
    selection = ["--only", "eu_*", "--exclude", "*two", "--format", "json"]
    assert cli.main([*argv, "--database", db_url, *selection]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(t["tenant"], t["state"]) for t in summary["tenants"]] == [("eu_one", "applied")]
    for other in ("eu_two", "us_one"):
        assert not any(
            s.applied for s in commands.status(resolve(project, "dev", other, url=db_url))
        )


def test_rollout_options_without_all_tenants_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--project", str(project), "status", "--env", "dev", "--tenant", "acme"]
    assert cli.main([*argv, "--only", "acme"]) == 2
    assert "need --all-tenants" in capsys.readouterr().err


def test_schema_privileges_name_every_table_as_on_all_tables_in_schema_would(
    project: Path, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    """Grants name the tables the parts create (plain SQL, no catalog lookup per tenant) and
    reach what ON ALL TABLES IN SCHEMA reaches; identity sequences need no grant at all."""
    commands.apply(resolve(project, "dev", "acme", url=db_url))
    settings = load_config(project, "dev", "acme").settings
    applied = snapshot(conn)
    roles = settings.roles
    # schemas without sensitive columns, where every table carries table-level grants
    schemas = [settings.schemas.production, settings.schemas.quarantine]
    for schema in schemas:
        for role, tables in (
            (roles.readonly, "SELECT"),
            (roles.readwrite, "SELECT, INSERT, UPDATE"),
            (roles.admin, "SELECT, INSERT, UPDATE, DELETE"),
        ):
            conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM "{role}"')
            conn.execute(f'GRANT {tables} ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    assert snapshot(conn) == applied
    sequences = conn.execute(
        "SELECT c.relname, r.rolname FROM pg_class c CROSS JOIN pg_roles r"
        " WHERE c.relkind = 'S' AND c.relnamespace = %s::regnamespace"
        " AND r.rolname = ANY(%s)"
        " AND has_sequence_privilege(r.oid, c.oid, 'USAGE, SELECT, UPDATE')",
        [settings.schemas.providers, [roles.readonly, roles.readwrite, roles.admin]],
    ).fetchall()
    assert sequences == []
    assert conn.execute(
        "SELECT count(*) FROM pg_class WHERE relkind = 'S' AND relnamespace = %s::regnamespace",
        [settings.schemas.providers],
    ).fetchone() == (2,)  # provider_health's and provider_usage's identity columns
