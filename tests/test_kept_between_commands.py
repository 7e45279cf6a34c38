"""What one command keeps for the next (validated settings, every part rendered, compiled
templates, the tables a rollback locks) is used only for the same inputs and only when it can
be trusted: an edit of a config file or a template is another key, and an entry that was
changed, is writable by others or sits in a directory others may enter is refused and
computed again."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
import pytest
import yaml

from tmplmig.migrating import commands
from tmplmig.migrating.target import for_rendering
from tmplmig.rendering import cache, environment, render_cache
from tmplmig.rendering.config import ConfigError, load_config
from tmplmig.rendering.environment import make_environment
from tmplmig.rendering.parts import render_all, render_part
from tmplmig.reviewing.catalog_fingerprint import KIND, VERDICT


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache directory of the test's own, empty (where a child process whose
    TMPDIR is ``tmp_path`` finds its cache)."""
    directory = tmp_path / f"_jinja2-cache-{os.getuid()}"
    directory.mkdir(mode=0o700)
    monkeypatch.setattr(cache, "cache_dir", lambda: directory)
    render_cache._kept.cache_clear()
    return directory


def entries(directory: Path, kind: str) -> list[Path]:
    return sorted(directory.glob(f"__tmplmig_{kind}_*"))


def rewrite(entry: Path, change: dict[str, object], fix_digest: bool) -> None:
    """Change settings in a kept config entry; with ``fix_digest``, as a forger who knows the
    file format would (the digest matches the new payload)."""
    head, _, payload = entry.read_bytes().partition(b"\n")
    data = json.loads(payload)
    data["settings"].update(change)
    text = json.dumps(data).encode()
    header = json.loads(head)
    if fix_digest:
        header["digest"] = cache.digest(text)
    entry.write_bytes(json.dumps(header).encode() + b"\n" + text)


def edit(path: Path, key: str, value: object) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    data[key] = value
    path.write_text(yaml.safe_dump(data))


def test_a_config_read_back_is_the_config_validated(sandbox: Path, kept: Path) -> None:
    first = load_config(sandbox, "prod")
    assert len(entries(kept, "config")) == 1
    again = load_config(sandbox, "prod")
    assert again.settings == first.settings
    assert again.settings.model_dump() == first.settings.model_dump()
    assert again.origin == first.origin
    assert again.source(("ddl", "lock_timeout")) == first.source(("ddl", "lock_timeout"))


def test_an_edited_config_file_is_validated_again(sandbox: Path, kept: Path) -> None:
    load_config(sandbox, "prod")
    edit(sandbox / "config" / "prod.yaml", "protected", False)
    assert load_config(sandbox, "prod").settings.protected is False
    edit(sandbox / "config" / "prod.yaml", "protected", "no")
    with pytest.raises(ConfigError, match="protected"):
        load_config(sandbox, "prod")


def test_a_changed_config_entry_is_refused(sandbox: Path, kept: Path) -> None:
    load_config(sandbox, "prod")
    (entry,) = entries(kept, "config")
    rewrite(entry, {"protected": False}, fix_digest=False)
    assert load_config(sandbox, "prod").settings.protected is True


def test_an_entry_others_may_write_is_refused(sandbox: Path, kept: Path) -> None:
    load_config(sandbox, "prod")
    (entry,) = entries(kept, "config")
    rewrite(entry, {"protected": False}, fix_digest=True)
    os.chmod(entry, 0o666)
    assert load_config(sandbox, "prod").settings.protected is True  # validated and kept again
    (entry,) = entries(kept, "config")
    assert entry.stat().st_mode & 0o777 == 0o600
    # the same forgery in a private file is read: the digest finds damage, not the owner's edits
    rewrite(entry, {"protected": False}, fix_digest=True)
    assert load_config(sandbox, "prod").settings.protected is False


def test_an_entry_answers_only_the_key_it_was_written_for(kept: Path) -> None:
    cache.write("config", "a" * 64, {"x": 1})
    (kept / f"__tmplmig_config_{'a' * 64}.json").rename(kept / f"__tmplmig_config_{'b' * 64}.json")
    assert cache.read("config", "b" * 64) is None
    cache.write("config", "a" * 64, {"x": 1})
    assert cache.read("config", "a" * 64) == {"x": 1}


def test_the_entries_stay_within_their_budget_the_oldest_written_going_first(
    kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out keeps a render per tenant (about 200 kB each): past the budget the oldest
    written entries (and templates tmplmig compiled) go, the newest stay, and what is not
    tmplmig's (other users of Jinja's directory) is left alone."""
    monkeypatch.setenv(cache.BUDGET_VAR, "1")
    monkeypatch.setattr(cache, "_PRUNE_SECONDS", 0)  # checked at every write
    jinjas = kept / "__jinja2_0123.cache"
    jinjas.write_bytes(b"x" * 2_000_000)
    compiled = kept / "__tmplmig_0123_abc.cache"  # a template tmplmig compiled, long ago
    compiled.write_bytes(b"z" * 100_000)
    os.utime(compiled, (0, 0))
    payload = "y" * 300_000
    for n in range(8):
        cache.write("render", f"{n:064d}", payload)
    left = [int(e.name.split("_")[-1].split(".")[0]) for e in entries(kept, "render")]
    assert left == [5, 6, 7]  # 3 x 300 kB fit in 1 MB, 4 do not
    assert jinjas.exists() and not compiled.exists()
    assert cache.read("render", f"{7:064d}") == payload


def test_drift_memories_go_after_the_renders_of_their_day(
    kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,000 tenants' renders (125 kB each) would push out the first tenants' drift checks
    (3 kB, a replay each to compute again): those count as written a day later."""
    monkeypatch.setenv(cache.BUDGET_VAR, "1")
    monkeypatch.setattr(cache, "_PRUNE_SECONDS", 0)  # checked at every write
    for n in range(3):
        cache.write(KIND, f"{n:064d}", {"digest": "d" * 60_000})
        cache.write(VERDICT, f"{n:064d}", True)
    for n in range(8):
        cache.write("render", f"{n:064d}", "y" * 300_000)
    assert len(entries(kept, "render")) == 2  # 3 of 300 kB fit alone, not beside 3 of 60 kB
    assert len(entries(kept, KIND)) == len(entries(kept, VERDICT)) == 3
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(entries(kept, KIND)[0], (two_days_ago, two_days_ago))
    cache.write("render", f"{9:064d}", "y" * 300_000)
    assert len(entries(kept, KIND)) == 2  # older than a day: before today's renders
    assert len(entries(kept, "render")) == 3  # its room went to one


def test_the_directory_is_listed_for_pruning_at_most_once_a_minute(
    kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing thousands of entries costs a short command ~0.1 s: a write right after another
    process's prune does not prune again."""
    monkeypatch.setenv(cache.BUDGET_VAR, "0")
    cache.write("config", "a" * 64, {"x": 1})
    assert entries(kept, "config") == []  # pruned: nothing fits a budget of 0
    cache.write("config", "b" * 64, {"x": 2})
    assert [e.name for e in entries(kept, "config")] == [f"__tmplmig_config_{'b' * 64}.json"]


def test_with_the_cache_off_a_render_this_process_read_before_is_not_served(
    sandbox: Path, kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cache directory (``TMPLMIG_NO_CACHE``, or none safe to use) means render: not the
    entry this process already read back."""
    config = load_config(sandbox, "dev")
    render_cache.keep(sandbox, config, render_all(sandbox, config))
    assert render_cache.kept(sandbox, config) is not None  # read back, and remembered
    monkeypatch.setattr(cache, "cache_dir", lambda: None)
    assert render_cache.kept(sandbox, config) is None


def test_no_directory_others_may_enter_is_used(tmp_path: Path) -> None:
    private = tmp_path / "private"
    assert cache.private_dir(private) == private
    assert (private.stat().st_mode & 0o777) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    assert cache.private_dir(shared) is None
    link = tmp_path / "link"
    link.symlink_to(private)
    assert cache.private_dir(link) is None


def test_a_render_read_back_is_the_render(sandbox: Path, kept: Path) -> None:
    config = load_config(sandbox, "prod")
    parts = render_all(sandbox, config)
    render_cache.keep(sandbox, config, parts)
    assert len(entries(kept, "render")) == 1
    render_cache._kept.cache_clear()
    assert render_cache.kept(sandbox, config) == {p.id: p for p in parts}
    assert [render_part(sandbox, p.id, config) for p in parts] == parts


def test_the_review_bundle_and_lint_read_the_render_apply_kept(
    sandbox: Path, kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review bundle and a lint of the same templates and settings render once."""
    target = for_rendering(sandbox, "prod")
    bundle = commands.render_bundle(target)  # renders, and keeps it
    assert len(entries(kept, "render")) == 1
    render_cache._kept.cache_clear()  # as a later process reads it back
    monkeypatch.setattr(commands, "render_all", lambda *_: pytest.fail("rendered again"))
    assert commands.render_bundle(target) == bundle
    assert commands.lint(target) == []


def test_lint_keeps_no_render_of_its_own(sandbox: Path, kept: Path) -> None:
    """Linting a fleet would write a render for every environment and tenant."""
    assert commands.lint(for_rendering(sandbox, "prod")) == []
    assert entries(kept, "render") == []


def test_an_edited_template_is_rendered_again(sandbox: Path, kept: Path) -> None:
    config = load_config(sandbox, "prod")
    render_cache.keep(sandbox, config, render_all(sandbox, config))
    template = sandbox / "templates" / "002e_functions.sql.j2"
    template.write_text(template.read_text().replace('title = "', 'title = "Edited: ', 1))
    assert render_cache.kept(sandbox, config) is None
    assert render_part(sandbox, "002e_functions", config).title.startswith("Edited: ")


def test_a_render_for_other_settings_is_another_entry(sandbox: Path, kept: Path) -> None:
    prod = load_config(sandbox, "prod")
    render_cache.keep(sandbox, prod, render_all(sandbox, prod))
    edit(sandbox / "config" / "prod.yaml", "retention", {"audit_log": 99, "experiments": 7})
    assert render_cache.kept(sandbox, load_config(sandbox, "prod")) is None


def test_a_changed_render_entry_is_refused(sandbox: Path, kept: Path) -> None:
    config = load_config(sandbox, "prod")
    parts = render_all(sandbox, config)
    render_cache.keep(sandbox, config, parts)
    (entry,) = entries(kept, "render")
    entry.write_bytes(entry.read_bytes().replace(b"DROP ", b"DROP  ", 1))
    render_cache._kept.cache_clear()
    assert render_cache.kept(sandbox, config) is None
    assert render_part(sandbox, parts[-1].id, config) == parts[-1]


@pytest.mark.parametrize(
    "damage",
    [
        lambda payload: payload[: len(payload) // 2],  # cut short
        lambda payload: marshal.dumps((["not a kind"],)),  # marshal data of another shape
        lambda payload: marshal.dumps([[0, "a part", "short of its fields"]]),
    ],
    ids=["truncated", "unknown kind", "wrong fields"],
)
def test_a_malformed_render_entry_is_rendered_again_even_with_its_digest_fixed(
    sandbox: Path, kept: Path, damage: Callable[[bytes], bytes]
) -> None:
    config = load_config(sandbox, "prod")
    parts = render_all(sandbox, config)
    render_cache.keep(sandbox, config, parts)
    (entry,) = entries(kept, "render")
    head, _, payload = entry.read_bytes().partition(b"\n")
    forged = damage(payload)
    header = json.loads(head) | {"digest": cache.digest(forged)}
    entry.write_bytes(json.dumps(header).encode() + b"\n" + forged)
    render_cache._kept.cache_clear()
    assert render_cache.kept(sandbox, config) is None
    assert render_part(sandbox, parts[0].id, config) == parts[0]


def test_only_every_part_together_is_kept(sandbox: Path, kept: Path) -> None:
    config = load_config(sandbox, "prod")
    render_cache.keep(sandbox, config, render_all(sandbox, config)[:-1])
    assert entries(kept, "render") == []


_READ_BACK = """
import sys
from collections.abc import Callable
from pathlib import Path
from tmplmig.rendering import render_cache
from tmplmig.rendering.config import load_config
project = Path(sys.argv[1])
config = load_config(project, "prod")
assert render_cache.kept(project, config) is not None
print(sorted(m for m in ("yaml", "pydantic", "jinja2", "pglast") if m in sys.modules))
"""


def test_a_command_that_finds_both_imports_no_parser_validator_or_template_engine(
    sandbox: Path, kept: Path
) -> None:
    config = load_config(sandbox, "prod")
    render_cache.keep(sandbox, config, render_all(sandbox, config))
    environ = {**os.environ, "TMPDIR": str(kept.parent), "PYTHONPATH": os.pathsep.join(sys.path)}
    found = subprocess.run(
        [sys.executable, "-c", _READ_BACK, str(sandbox)],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]"


def code_files(code: CodeType) -> set[str]:
    """The file names of ``code`` and of every function compiled within it."""
    inner = (code_files(c) for c in code.co_consts if isinstance(c, CodeType))
    return {code.co_filename}.union(*inner)


def test_a_copy_of_the_templates_compiles_nothing_and_its_errors_name_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates are kept by name and source, not path: another checkout of the
    project (or a test's sandbox) reads what the first compiled, as compiled from its own
    files."""
    compiled = tmp_path / "compiled"
    compiled.mkdir(mode=0o700)
    kept = environment._BytecodeCache(str(compiled))
    monkeypatch.setattr(environment, "_bytecode_cache", lambda: kept)
    compiles: list[str | None] = []
    compile_ = jinja2.Environment.compile

    def counted(env: jinja2.Environment, source: str, name: Any, filename: Any, *a: Any) -> Any:
        compiles.append(filename)
        return compile_(env, source, name, filename, *a)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    copies = [tmp_path / "checkout", tmp_path / "worktree"]
    for copy in copies:
        copy.mkdir()
        (copy / "t.sql.j2").write_text(
            "{% macro share(n, d) %}{{ n // d }}{% endmacro %}\n{{ share(n, d) }}"
        )
    for copy in copies:
        path = str(copy / "t.sql.j2")
        template = make_environment(copy, {}).get_template("t.sql.j2")
        assert template.render(n=6, d=3) == "2"
        assert template.filename == path
        assert code_files(template.root_render_func.__code__) == {path}
        with pytest.raises(ZeroDivisionError) as raised:
            template.render(n=1, d=0)
        assert (raised.traceback[-1].path, raised.traceback[-1].lineno + 1) == (
            copy / "t.sql.j2",
            1,
        )
    assert compiles == [str(copies[0] / "t.sql.j2")]
