"""A throwaway local PostgreSQL cluster from the machine's own binaries, for demos and tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tmplmig.errors import TmplmigError

BIN_VAR = "TMPLMIG_PG_BIN"


class ClusterError(TmplmigError, RuntimeError):
    """The throwaway cluster could not be created or started."""


def find_bindir() -> Path:
    """Directory with initdb/pg_ctl: $TMPLMIG_PG_BIN, else the newest Debian install, else PATH."""
    candidates = [os.environ.get(BIN_VAR, "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else "")
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise ClusterError(
        "no PostgreSQL server binaries found (initdb); install postgresql or set " + BIN_VAR
    )


def _free_port(wanted: int = 0) -> int:
    """``wanted`` when it is free (0: any free port), else any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", wanted))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kept_port(root: Path) -> int:
    """The port a kept cluster had (its URLs key what tmplmig remembers of its databases), when
    it is still free; else any free port."""
    try:
        return _free_port(int((root / "port").read_text()))
    except (OSError, ValueError):
        return _free_port()


def _run_as() -> str | None:
    """initdb refuses root: when root, run the server as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError(
            "running as root needs a 'postgres' system user to own the cluster"
        ) from None
    return "postgres"


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster; ``dsn`` connects as its superuser."""

    datadir: Path
    port: int
    bindir: Path
    #: the system user the server runs as (``postgres`` when started by root)
    user: str | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """Restart the server as an operator does (``pg_ctl restart -m fast``): sessions end."""
        log = str(self.datadir.parent / "server.log")
        _pg(
            self.bindir,
            self.user,
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            log,
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "restart",
        )


def _pg(bindir: Path, user: str | None, *args: str) -> None:
    result = subprocess.run(
        [str(bindir / args[0]), *args[1:]], user=user, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ClusterError(f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


@contextmanager
def throwaway_cluster(
    settings: Mapping[str, str] | None = None, keep: Path | None = None
) -> Iterator[Cluster]:
    """Create, start and finally stop and delete a private cluster on a free loopback port.

    ``settings``: more server settings (``-c name=value``), such as a benchmark's
    ``shared_preload_libraries``. ``keep``: a folder the cluster lives in instead of a
    temporary one; it is made there the first time, started again from there later, and
    only stopped at the end (a benchmark's large database built once, measured many times),
    on the port it had when that is free.
    """
    bindir = find_bindir()
    user = _run_as()
    root = keep or Path(tempfile.mkdtemp(prefix="tmplmig-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    datadir, port = root / "data", _kept_port(root) if keep else _free_port()
    if user:
        shutil.chown(root, user)
    try:
        if not (datadir / "PG_VERSION").is_file():
            _pg(
                bindir,
                user,
                "initdb",
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        options += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
        _pg(
            bindir,
            user,
            "pg_ctl",
            "-D",
            str(datadir),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if keep:
            (root / "port").write_text(str(port))
        try:
            yield Cluster(datadir=datadir, port=port, bindir=bindir, user=user)
        finally:
            mode = "fast" if keep else "immediate"
            _pg(bindir, user, "pg_ctl", "-D", str(datadir), "-m", mode, "-w", "stop")
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
