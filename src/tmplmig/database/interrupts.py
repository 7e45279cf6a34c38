"""SIGINT and SIGTERM as one exception that psycopg answers by cancelling the statement in flight.

psycopg 3 treats a ``KeyboardInterrupt`` raised while it waits for the server as Ctrl-C: it
sends a cancel request and waits for the statement to end before re-raising. Raising a subclass
for SIGTERM too gives both signals that behaviour; being a ``BaseException``, it passes through
yoyo's error handling, which would otherwise run rollback steps on the way out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run was stopped by a signal; ``part`` and ``step`` say where, when inside a step."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.part: str | None = None
        self.step: str | None = None

    @property
    def exit_code(self) -> int:
        """The shell's convention for death by a signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    @property
    def where(self) -> str:
        if self.step is None:
            return "between steps"
        return f"in {self.part}, step {self.step}" if self.part else f"in step {self.step}"


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only).

    The first signal restores the previous handlers, so a second one acts as usual even if
    cleaning up hangs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        for each, old in previous.items():
            signal.signal(each, old)
        raise Interrupted(signum)

    previous = {each: signal.signal(each, handler) for each in SIGNALS}
    try:
        yield
    finally:
        for each, old in previous.items():
            signal.signal(each, old)
