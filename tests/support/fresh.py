"""Fresh Python processes, cheaply: one helper process imports the modules a script needs and
then only forks, so each script runs in a child that has rendered nothing before, without
paying for Python's start and the imports again (a fork shares the helper's hash seed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tmplmig

#: the helper: reads one JSON list of runs a line, forks a child per run (side by side),
#: answers one JSON list of [exit status, stdout, stderr] when all have ended
_FORKER = r"""
import importlib, json, os, sys, tempfile

for name in sys.argv[1:]:
    importlib.import_module(name)
for line in sys.stdin:
    children = []
    for code, argv, env, out in json.loads(line):
        pid = os.fork()
        if pid == 0:
            os.environ.update(env)
            tempfile.tempdir = None
            sys.argv = ["-c", *argv]
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            err = os.open(out + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(err, 2)
            status = 0
            try:
                exec(compile(code, "<fresh>", "exec"), {"__name__": "__main__"})
            except BaseException:
                import traceback

                traceback.print_exc()
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        children.append((pid, out))
    answer = []
    for pid, out in children:
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        with open(out) as stdout, open(out + ".err") as stderr:
            answer.append([status, stdout.read(), stderr.read()])
    print(json.dumps(answer), flush=True)
"""


#: what a render imports, up to the templates (Jinja, YAML, the config models; not pglast,
#: which a render imports only to read a table's columns it has not kept)
RENDERER = (
    "yaml",
    "tmplmig.rendering.config",
    "tmplmig.rendering.models",
    "tmplmig.rendering.environment",
    "tmplmig.rendering.parts",
)


@dataclass
class Forker:
    """A running helper process; ``run`` starts fresh children of it."""

    process: subprocess.Popen[str]
    scratch: Path

    def run(self, runs: Sequence[tuple[str, Sequence[str], dict[str, str]]]) -> list[str]:
        """Each (script, argv, extra environment) in its own fresh child, side by side;
        their stdout, in order. A child that fails fails the test with its stderr."""
        assert self.process.stdin is not None and self.process.stdout is not None
        jobs = [
            [code, list(argv), env, str(self.scratch / f"run{index}.out")]
            for index, (code, argv, env) in enumerate(runs)
        ]
        self.process.stdin.write(json.dumps(jobs) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        for status, _, stderr in answer:
            assert status == 0, stderr
        return [stdout for _, stdout, _ in answer]


@contextmanager
def forker(scratch: Path, *modules: str) -> Iterator[Forker]:
    """A helper that has imported ``modules`` from the tree under test, and nothing else."""
    src = Path(tmplmig.__file__).resolve().parent.parent
    path = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    with subprocess.Popen(
        [sys.executable, "-c", _FORKER, *modules],
        env={**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "random"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield Forker(process, scratch)
        finally:
            assert process.stdin is not None
            process.stdin.close()
