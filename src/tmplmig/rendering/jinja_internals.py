"""The two places tmplmig reaches past Jinja's public API, kept here and nowhere else.

Both save work Jinja repeats on every macro call, and rendering is most of a command that
renders (apply, status, rollback): a macro called from a template gets the eval context at
once (:class:`FastContext`), and a step body is called through its compiled function
(:func:`compiled_body`). They lean on Jinja 3.1's internals, which is why ``jinja2`` is
pinned below 4 and tests/test_jinja_internals.py fails when a fast path stops being taken,
rather than letting a Jinja release slow rendering or change it unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jinja2


class FastContext(jinja2.runtime.Context):
    """Jinja's context with a direct path for calling a macro (``m.index(...)``).

    ``Context.call`` asks each callable, twice, whether it wants the context, the eval
    context or the environment; a macro always takes the eval context, so it gets it at
    once. Everything else is asked as before. Private: the ``_block_vars`` and ``_loop_vars``
    keywords Jinja's compiled code passes, and ``Macro.__call__`` taking the eval context."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if type(__obj) is not jinja2.runtime.Macro:
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(__self.eval_ctx, *args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


def compiled_body(caller: jinja2.runtime.Macro) -> Callable[[Any], Any] | None:
    """The compiled function of a ``{% call(d) %}`` body that takes only ``d``; None when it
    must go through ``Macro.__call__`` (other arguments, autoescape, async, another Jinja).

    ``Macro.__call__`` sorts positional, keyword and caller arguments on every call, to the
    same single argument. Private: ``Macro._func``, ``_default_autoescape``, ``_environment``."""
    func = getattr(caller, "_func", None)
    simple = (
        func is not None
        and len(caller.arguments) == 1
        and not (caller.catch_kwargs or caller.catch_varargs or caller.caller)
        and getattr(caller, "_default_autoescape", True) is False
        and getattr(getattr(caller, "_environment", None), "is_async", True) is False
    )
    return func if simple else None
