"""The fast paths of :mod:`tmplmig.rendering.jinja_internals` are taken with the installed
Jinja: a release that removes what they lean on fails here, instead of rendering slower or
differently unseen."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest
from support.servers import PROJECT

from tmplmig.rendering import cache
from tmplmig.rendering.config import load_config
from tmplmig.rendering.environment import make_environment
from tmplmig.rendering.jinja_internals import FastContext, compiled_body
from tmplmig.rendering.parts import render_part


def spy(
    monkeypatch: pytest.MonkeyPatch, cls: type, method: str, seen: list[str], name: Callable
) -> None:
    """Record ``name(obj)`` for each call of ``cls.method(self, obj, ...)``, then run it."""
    original = getattr(cls, method)

    @functools.wraps(original)  # keeps Jinja's pass_eval_context mark of Macro.__call__
    def recording(self: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(name(self, obj))
        return original(self, obj, *args, **kwargs)

    monkeypatch.setattr(cls, method, recording)


#: how a ``{% call %}`` body is named in the calls seen (Jinja gives its macro no name)
CALL_BODY = "{% call %} body"


@pytest.fixture
def rendered_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """What a part's render called: the callables our context was asked to call, those
    Jinja's own ``Context.call`` was asked to, and the macros run by ``Macro.__call__``."""
    calls: dict[str, list[str]] = {"ours": [], "jinja": [], "macro": []}
    by_type: Callable[[Any, Any], str] = lambda _, obj: type(obj).__name__  # noqa: E731
    spy(monkeypatch, FastContext, "call", calls["ours"], by_type)
    spy(monkeypatch, jinja2.runtime.Context, "call", calls["jinja"], by_type)
    by_name: Callable[[Any, Any], str] = lambda m, _: m.name or CALL_BODY  # noqa: E731
    spy(monkeypatch, jinja2.runtime.Macro, "__call__", calls["macro"], by_name)
    monkeypatch.setattr(cache, "cache_dir", lambda: None)  # render, not a render kept
    part = render_part(PROJECT, "002a_indexes", load_config(PROJECT, "dev"))
    assert part.steps
    return calls


def test_a_macro_called_from_a_template_goes_straight_to_the_macro(
    rendered_calls: dict[str, list[str]],
) -> None:
    """Compiled templates call macros through the context's ``call``: ours answers them, and
    Jinja's, which asks each callable what it takes, never sees a macro."""
    assert "Macro" in rendered_calls["ours"]
    assert "Macro" not in rendered_calls["jinja"]


def test_a_step_body_is_run_through_its_compiled_function(
    rendered_calls: dict[str, list[str]],
) -> None:
    """Every ``{% call(d) step(...) %}`` body skips ``Macro.__call__``; the macros called
    with arguments (``m.index(...)``) still go through it."""
    assert "index" in rendered_calls["macro"]
    assert CALL_BODY not in rendered_calls["macro"]


def caller_of(source: str, tmp_path: Path) -> jinja2.runtime.Macro:
    """The caller a global function receives from ``source``'s ``{% call %}``."""
    seen: list[jinja2.runtime.Macro] = []
    env = make_environment(tmp_path, {"probe": lambda caller: seen.append(caller) or ""})
    env.from_string(source).render()
    return seen[0]


def test_a_body_of_one_argument_has_a_compiled_function_that_renders_as_the_call(
    tmp_path: Path,
) -> None:
    caller = caller_of("{% call(d) probe() %}to {{ d }}{% endcall %}", tmp_path)
    body = compiled_body(caller)
    assert body is not None
    assert str(body("apply")) == str(caller("apply")) == "to apply"


def test_a_body_of_two_arguments_takes_jinjas_call(tmp_path: Path) -> None:
    caller = caller_of("{% call(d, e) probe() %}{{ d }}{{ e }}{% endcall %}", tmp_path)
    assert compiled_body(caller) is None
