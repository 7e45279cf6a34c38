"""What the preflight of an evolve or a rollback reads to know the tables a plan locks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tmplmig.migrating import commands, preflight
from tmplmig.migrating.target import for_rendering
from tmplmig.reviewing.bundle import bundle_context
from tmplmig.reviewing.locks import BundleContext, needs_context, split_statements, statement_locks

APPLIED = [
    ("table", "CREATE TABLE a.p (id int PRIMARY KEY);"),
    ("table", "CREATE TABLE a.b (id int, p int, CONSTRAINT fk FOREIGN KEY (p) REFERENCES a.p);"),
    ("index", "CREATE INDEX ix ON a.b (id);"),
]


def test_a_statement_reads_the_bundle_context_only_where_needs_context_says(
    project: Path,
) -> None:
    """Every statement of the dev bundle, both ways: those needs_context passes over lock the
    same tables with an empty context as with the bundle's; some of the others do not."""
    parts = commands.render(for_rendering(project, "dev"))
    context = bundle_context(parts)
    statements = [
        s.node
        for p in parts
        for step in p.steps
        for g in (*step.apply_statements, *step.rollback_statements)
        for s in split_statements(g.sql)
    ]
    unaware = [n for n in statements if not needs_context(n)]
    assert unaware
    for node in unaware:
        assert statement_locks(node, BundleContext()) == statement_locks(node, context)
    assert any(
        statement_locks(n, BundleContext()) != statement_locks(n, context)
        for n in statements
        if needs_context(n)
    )


def _consumed(seen: list[str]) -> Iterator[tuple[str, str]]:
    for kind, text in APPLIED:
        seen.append(text)
        yield kind, text


def test_a_plan_that_drops_an_index_locks_its_table_known_from_the_applied_steps() -> None:
    read: list[str] = []
    locks = preflight.table_locks([("r", "DROP INDEX a.ix;")], _consumed(read), [])
    assert [(lock.relation, lock.mode, lock.role) for lock in locks] == [
        ("a.b", "ACCESS EXCLUSIVE", "r")
    ]
    assert read


def test_a_plan_that_drops_a_foreign_key_locks_the_table_it_references() -> None:
    statements = [(None, "ALTER TABLE a.b DROP CONSTRAINT fk;")]
    locks = preflight.table_locks(statements, APPLIED, [])
    assert [(lock.relation, lock.mode) for lock in locks] == [
        ("a.b", "ACCESS EXCLUSIVE"),
        ("a.p", "ACCESS EXCLUSIVE"),
    ]


def test_a_plan_that_upserts_a_row_does_not_read_the_applied_steps() -> None:
    """An evolve's one-row change: its lock is its own, and the applied steps (every step of
    every part, slow to parse) are left unread."""
    read: list[str] = []
    statements = [("r", "INSERT INTO a.b VALUES (1, 1) ON CONFLICT DO NOTHING;")]
    locks = preflight.table_locks(statements, _consumed(read), [])
    assert [(lock.relation, lock.mode) for lock in locks] == [("a.b", "ROW EXCLUSIVE")]
    assert read == []
