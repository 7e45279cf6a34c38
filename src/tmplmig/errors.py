"""The one base of every error tmplmig reports: what the user reads, and the exit status.

Library code raises; only a command line prints and exits: ``tmplmig``'s (:mod:`tmplmig.cli`,
one ``except TmplmigError``) or, when plain ``yoyo`` runs a project's migrations, the
adapter in :mod:`tmplmig.migrating.yoyo_bridge`. This module imports nothing, so
``tmplmig --help`` stays light.
"""

from __future__ import annotations

#: a command that cannot run as asked: config, template, arguments, record, URL
USAGE = 2
#: a run that was refused or stopped, or that failed on the server
REFUSED = 1


class TmplmigError(Exception):
    """An error tmplmig reports on stderr as :attr:`report`, then exits with :attr:`exit_code`."""

    exit_code: int = USAGE

    @property
    def report(self) -> list[str]:
        """The lines a command line prints, each complete (prefix included)."""
        return [f"tmplmig: error: {self}"]
