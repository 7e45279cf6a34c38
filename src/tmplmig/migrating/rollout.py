"""Rollout control for a fleet of tenants: which run, which go first, what a failure stops.

Selection is by name patterns (shell-style, :mod:`fnmatch`); canaries run before the
rest, and the rest start only when every canary succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from tmplmig.migrating.target import CommandError


@dataclass(frozen=True)
class Rollout:
    """How a fan-out walks the tenants; the default runs every tenant and carries on past
    failures (a re-run finishes what is left)."""

    #: patterns a tenant's name must match one of (none: every tenant)
    only: tuple[str, ...] = ()
    #: patterns whose tenants are left out, even when ``only`` matches them
    exclude: tuple[str, ...] = ()
    #: the first N selected tenants (by name), or these tenant names, run first
    canary: int | tuple[str, ...] = 0
    #: after a failure start no further tenant (those already running finish)
    stop_on_failure: bool = False

    def select(self, names: list[str]) -> list[str]:
        """The tenants this rollout runs, in the given order; none matching is an error."""
        chosen = [
            n
            for n in names
            if (not self.only or any(fnmatchcase(n, p) for p in self.only))
            and not any(fnmatchcase(n, p) for p in self.exclude)
        ]
        if not chosen:
            raise CommandError(f"no tenant matches {self._describe()}")
        return chosen

    def canaries(self, selected: list[str]) -> list[str]:
        """The selected tenants that run first; a named canary must be among the selected."""
        if isinstance(self.canary, int):
            if self.canary < 0:
                raise CommandError(f"--canary must be at least 0, got {self.canary}")
            return selected[: self.canary]
        missing = [n for n in self.canary if n not in selected]
        if missing:
            raise CommandError(f"canary tenant(s) not selected: {', '.join(missing)}")
        return [n for n in selected if n in self.canary]

    def _describe(self) -> str:
        parts = [f"--only {p}" for p in self.only] + [f"--exclude {p}" for p in self.exclude]
        return " ".join(parts) or "(no tenants)"


def parse_canary(text: str) -> int | tuple[str, ...]:
    """``--canary``: a number of tenants, or a comma-separated list of tenant names."""
    if text.strip().isdigit():
        return int(text)
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise CommandError(f"--canary needs a number or tenant names, got {text!r}")
    return names


#: every tenant, no canaries, carry on past failures: what a fan-out does unless told otherwise
EVERY_TENANT = Rollout()
