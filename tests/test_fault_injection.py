"""Fault injection on real PostgreSQL: ``tmplmig`` processes killed, the server restarted and the
migrating session terminated at moments spread over every part, with rows in the tables and an
application writing throughout. After each, the next run finishes with no manual step and the
database holds exactly what it should.

The moments come from a seeded random schedule (``SEED``): a part to stop in, then a delay once
the run is seen executing one of that part's statements in ``pg_stat_activity``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from support.servers import ALL_PARTS, WRITE_ROWS, fresh_database, lock_rows, run_tmplmig, url_for

from tmplmig import cli
from tmplmig.database.catalog import Snapshot, difference, snapshot
from tmplmig.database.cluster import Cluster, throwaway_cluster
from tmplmig.database.locking import step_statements
from tmplmig.migrating import commands
from tmplmig.migrating.target import resolve
from tmplmig.rendering.parts import render_all
from tmplmig.reviewing.verify import compare, expected_objects

SEED = 20261125
KILLS = 20
ROLLBACK_KILLS = 4
#: pg_stat_activity keeps the first 1024 bytes of a query: a step's message (its savepoint,
#: settings and role, then its statements) shows its first statement well within them, and
#: statements are told apart by their first 200 characters
PREFIX = 200
INVALID_INDEXES = "SELECT count(*) FROM pg_catalog.pg_index WHERE NOT indisvalid"


class Writer:
    """An application writing short transactions throughout, reconnecting after a restart."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.writes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self._stop.wait(0.02):
            try:
                if conn is None or conn.broken:
                    conn = psycopg.connect(self.dsn, autocommit=True, application_name="app")
                conn.execute(WRITE_ROWS, [1])
                self.writes += 1
            except psycopg.Error:
                self._stop.wait(0.05)  # tables not there yet, or the server is restarting
        if conn is not None:
            conn.close()


class Run:
    """One ``tmplmig`` process and where it is, as seen from the server."""

    def __init__(self, project: Path, url: str, verb: str) -> None:
        config = resolve(project, "dev", None, url).config
        ddl = config.settings.ddl
        direction = "apply" if verb == "apply" else "rollback"
        self.statements = {
            statement.sql[:PREFIX]: part.id
            for part in render_all(project, config)
            for s in part.steps
            for statement in step_statements(s, ddl, direction)
            if not statement.sql.startswith("SET ")
        }
        self.order = ALL_PARTS if verb == "apply" else ALL_PARTS[::-1]
        self.name = f"tmplmig {verb} dev"
        args = [verb, "--env", "dev"] + ([] if verb == "apply" else ["--all"])
        self.process = run_tmplmig(project, url, *args)

    def migrating(self, watcher: psycopg.Connection[Any]) -> tuple[int, str] | None:
        """The session running the run's steps and the part of the statement it executes (or
        executed last), found in the message that carries it."""
        rows = watcher.execute(
            "SELECT pid, query FROM pg_catalog.pg_stat_activity WHERE application_name = %s",
            [self.name],
        ).fetchall()
        for pid, query in rows:
            at = [(query.find(sql), part) for sql, part in self.statements.items() if sql in query]
            if at:  # the message's first statement (its record row quotes SQL too)
                return pid, min(at)[1]
        return None

    def part(self, watcher: psycopg.Connection[Any]) -> str | None:
        """The part whose statement the run executes, or executed last."""
        migrating = self.migrating(watcher)
        return migrating[1] if migrating else None

    def terminate(self, watcher: psycopg.Connection[Any]) -> None:
        """``pg_terminate_backend`` of the session running the run's steps."""
        migrating = self.migrating(watcher)
        if migrating:
            watcher.execute("SELECT pg_catalog.pg_terminate_backend(%s)", [migrating[0]])

    def stop_in(
        self, watcher: psycopg.Connection[Any], target: str, delay: float, stop: Callable[[], None]
    ) -> str | None:
        """Once the run is in part ``target`` (or beyond), wait ``delay`` s and ``stop`` it.

        Returns the part it was stopped in; None when it finished before.
        """
        while self.process.poll() is None:
            part = self.part(watcher)
            if part is not None and self.order.index(part) >= self.order.index(target):
                time.sleep(delay)
                hit = self.part(watcher) or part
                stop()
                self.process.communicate(timeout=60)
                return hit if self.process.returncode != 0 else None
            time.sleep(0.002)
        self.process.communicate()
        return None


def tmplmig(project: Path, url: str, *args: str) -> None:
    """The next run, as a person or CI job starts it; it must need nothing else."""
    assert cli.main(["--project", str(project), *args, "--env", "dev", "--database", url]) == 0


def seed(conn: psycopg.Connection[Any]) -> None:
    """Rows in the tables, so index builds and validations have data to scan."""
    conn.execute(WRITE_ROWS, [3000])


def test_apply_killed_at_20_moments_over_every_part_converges_each_time(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    rng = random.Random(SEED)
    targets = [ALL_PARTS[i % len(ALL_PARTS)] for i in range(KILLS)]
    rng.shuffle(targets)
    empty = snapshot(conn)
    target = resolve(project, "dev", None, db_url)
    expected = expected_objects(
        db_url,
        lambda url: commands.apply(target.at(url)),
        lambda url: commands.rollback(target.at(url)),
    )
    commands.apply(resolve(project, "dev", url=db_url))
    seed(conn)
    hits: list[str] = []
    with Writer(database) as writer:
        for part in targets:
            hit, delay = None, rng.uniform(0, 0.3)
            while hit != part:  # a run that finished before the moment, or was stopped past a
                # part quicker than the delay, is tried again, stopped sooner
                if hit is not None:
                    tmplmig(project, db_url, "apply")
                commands.rollback(resolve(project, "dev", url=db_url), part=part)
                run = Run(project, db_url, "apply")
                hit = run.stop_in(conn, part, delay, run.process.kill)
                delay /= 2
            hits.append(hit)

            tmplmig(project, db_url, "apply")
            assert conn.execute(INVALID_INDEXES).fetchone() == (0,)
            assert compare(expected, snapshot(conn)) == [] and lock_rows(conn) == []
            if part == ALL_PARTS[0]:
                seed(conn)
    assert writer.writes > 0 and set(hits) == set(ALL_PARTS), hits
    assert commands.verify(resolve(project, "dev", url=db_url)) == []

    tmplmig(project, db_url, "rollback", "--all")
    assert difference(empty, snapshot(conn)) == {}


def test_rollback_killed_at_moments_over_every_part_converges(
    project: Path, database: str, db_url: str, conn: psycopg.Connection[Any]
) -> None:
    rng = random.Random(SEED + 1)
    empty = snapshot(conn)
    hits: list[str] = []
    with Writer(database):
        for _ in range(ROLLBACK_KILLS):
            part, delay, hit = rng.choice(ALL_PARTS[1:]), rng.uniform(0, 0.2), None
            while hit is None:  # a rollback that finished before the moment is tried again,
                # stopped sooner
                commands.apply(resolve(project, "dev", url=db_url))
                seed(conn)
                run = Run(project, db_url, "rollback")
                hit = run.stop_in(conn, part, delay, run.process.kill)
                delay /= 2
            hits.append(hit)

            tmplmig(project, db_url, "rollback", "--all")
            assert difference(empty, snapshot(conn)) == {} and lock_rows(conn) == []
    assert "None" not in hits, hits


@pytest.fixture
def restartable(session_cluster: Cluster | None) -> Iterator[Cluster]:
    """A server this test may restart: the session's own, else a private one (the server of
    $TMPLMIG_TEST_DSN is not the tests' to restart)."""
    if session_cluster is not None:
        yield session_cluster
        return
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.mark.parametrize("verb", ["apply", "rollback"])
@pytest.mark.parametrize("fault", ["server restart", "terminated session"])
def test_run_hit_by_a_fault_mid_part_converges_on_the_next_run(
    project: Path, server_dsn: str, fault: str, verb: str, request: pytest.FixtureRequest
) -> None:
    rng = random.Random(f"{SEED} {fault} {verb}")
    server: Cluster | None = None
    if fault == "server restart":
        server = request.getfixturevalue("restartable")
    with fresh_database(server.dsn if server else server_dsn) as database:
        url = url_for(database)
        with psycopg.connect(database, autocommit=True) as conn:
            empty: Snapshot = snapshot(conn)
        with Writer(database) as writer:
            hit = None
            while hit is None:  # a run that finished before the moment is tried again
                with psycopg.connect(database, autocommit=True) as watcher:
                    commands.apply(resolve(project, "dev", url=url))
                    seed(watcher)
                    if verb == "apply":
                        commands.rollback(resolve(project, "dev", url=url), part="002a_indexes")
                    run = Run(project, url, verb)
                    stop = server.restart if server else partial(run.terminate, watcher)
                    hit = run.stop_in(watcher, "002a_indexes", rng.uniform(0, 0.2), stop)

            tmplmig(project, url, verb, *(["--all"] if verb == "rollback" else []))
            assert writer.writes > 0
        with psycopg.connect(database, autocommit=True) as conn:
            assert conn.execute(INVALID_INDEXES).fetchone() == (0,) and lock_rows(conn) == []
            if verb == "apply":
                assert commands.verify(resolve(project, "dev", url=url)) == []
            else:
                assert difference(empty, snapshot(conn)) == {}
