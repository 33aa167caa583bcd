"""The languages the ``tests`` scorer runs answers in: one :class:`Language` entry each.

Python runs in the sandbox's own interpreter: the worker compiles the answer, a child forked from the
template runs it and every kind of test (``assert``, ``call``, ``stdio``). Any other language is a program
file and a command line: the child writes the answer to ``filename`` in its private run directory, then
``execve``s ``command`` under the same namespaces and limits. For a ``stdio`` test the command runs the
answer's file with the test's stdin and its stdout is compared outside the sandbox; for ``call`` tests it runs
the language's ``driver`` (``service/sandbox/drivers/``), which loads the answer, calls each test's function
and sends the return values back over the result pipe as the Python harness does. A compiled language (C++)
has a ``compile`` command: each answer compiles once, in an execution of its own, and its program then runs
for each test (see ``compiled.py``).

Adding a language is an entry here (its command, a driver for ``call`` tests, the address space its runtime
reserves), its fence tags in ``trainer_client.split.LANGUAGE_TAGS``, and its runtime installed on the host
under ``/usr`` (the sandbox mounts ``/usr`` read-only). A language whose command is missing, or does not run
inside the sandbox (probed at start-up with ``probe``), is refused with a 422 that says so, and ``/readyz``
lists the languages this host runs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ...sandbox.jail import JailConfig, run_inside

DRIVERS = Path(__file__).resolve().parents[2] / "sandbox" / "drivers"
# precompiled headers (headers.py): under /usr, which the sandbox mounts read-only, so its compilers see them
HEADERS = Path("/usr/local/lib/vpo-rewards/include")
CPP_FLAGS = ("-std=c++20", "-O2", "-pipe")


@dataclass(frozen=True)
class Language:
    name: str
    kinds: tuple[str, ...]  # the test kinds it runs
    # runs a program file (appended: the answer's, or the driver's); "{memory_mb}" stands for the test's
    # memory limit. Empty: the sandbox's own Python
    command: tuple[str, ...] = ()
    filename: str = ""  # the answer's file name in the run directory
    driver: str = ""  # the program (in DRIVERS) that runs call tests on the answer's file
    support: tuple[str, ...] = ()  # programs (in DRIVERS) written beside the answer for every unit ...
    setup: tuple[str, ...] = ()  # ... and the arguments, before the program file, that load them
    reserve_mb: int = 0  # address space the runtime reserves beyond the program's memory (the limit is the sum)
    out_of_memory: tuple[str, ...] = ()  # what the runtime writes to stderr when the program runs out of memory
    probe: tuple[str, ...] = ("--version",)  # arguments with which the command only says it runs
    # A compiled language: ``compile`` turns the answer, written to ``source``, into the program ``filename``
    # (in an execution of its own, once per answer), which ``command`` then runs for each test
    compile: tuple[str, ...] = ()
    source: str = ""
    # headers worth precompiling (see headers.py), and the compiler with the compile command's own flags (so
    # that it takes the precompiled header for the real one)
    precompiled: tuple[str, ...] = ()
    precompile: tuple[str, ...] = ()

    @property
    def executable(self) -> str:
        """The host's program this language needs: its compiler, or its runtime."""
        return (self.compile or self.command)[0]

    def available(self) -> bool:
        return not self.command or Path(self.executable).is_file()

    def unavailable_reason(self, why: str = "") -> str:
        why = why or f"{self.executable} is not installed"
        return f"language {self.name!r} is not available on this server: {why}"

    def runtime(self, memory_mb: int) -> list[str]:
        """The command, without the program file."""
        return [part.replace("{memory_mb}", str(memory_mb)) for part in self.command]

    def unit_fields(self, mode: str, memory_mb: int) -> dict[str, Any]:
        """How the sandbox runs a unit in this language: the command on the answer's file (``script``) or on
        the driver (call tests), the answer's file name, and the files the child writes beside it. Nothing
        for Python."""
        if not self.command:
            return {}
        if self.compile:  # the program comes with the unit (see compile_fields); nothing else to write
            return {"command": list(self.command), "filename": "", "files": {}}
        program = self.filename if mode == "script" else self.driver
        names = self.support if mode == "script" else (*self.support, self.driver)
        return {"command": [*self.runtime(memory_mb), *self.setup, program], "filename": self.filename,
                "files": {name: _read_driver(name) for name in names}}  # fmt: skip

    def compile_fields(self) -> dict[str, Any]:
        """How the sandbox compiles an answer: the compiler on the source file; the worker sends back the
        program it leaves (``output``)."""
        return {"command": list(self.compile), "filename": self.source, "files": {}, "output": self.filename}


def unrunnable(config: JailConfig) -> dict[str, str]:
    """Why each language that is not Python cannot run here (installed on the host, but not runnable inside
    the sandbox: say a link out of ``/usr``); the languages that run are not in it."""
    reasons = {}
    for name, language in LANGUAGES.items():
        if not language.command:
            continue
        if not language.available():
            reasons[name] = language.unavailable_reason()
            continue
        try:
            done = run_inside(config, [language.executable, *language.probe])
            failed = "" if done.returncode == 0 else done.stderr.strip()[-300:] or f"exit status {done.returncode}"
        except (OSError, subprocess.SubprocessError) as exc:
            failed = str(exc)
        if failed:
            reasons[name] = language.unavailable_reason(f"{language.executable} does not run in the sandbox ({failed})")
    return reasons


@cache
def _read_driver(name: str) -> str:
    return (DRIVERS / name).read_text(encoding="utf-8")


LANGUAGES: dict[str, Language] = {
    "python": Language("python", ("assert", "call", "stdio")),
    # node's heap is held to the test's memory; V8 reserves about 1 GB of address space for its cages up front
    "javascript": Language(
        "javascript",
        ("call", "stdio"),
        ("/usr/bin/node", "--max-old-space-size={memory_mb}"),
        "main.js",
        "node_calls.js",
        support=("node_stdio.js",),  # stdout and stderr written synchronously (see it)
        setup=("--require", "./node_stdio.js"),
        reserve_mb=1024,
        out_of_memory=("JavaScript heap out of memory", "Array buffer allocation failed"),
    ),
    # compiled once per answer (g++, C++20, -O2), then run for each stdio test
    "cpp": Language(
        "cpp",
        ("stdio",),
        ("./main",),
        "main",
        out_of_memory=("std::bad_alloc",),
        compile=("/usr/bin/g++", *CPP_FLAGS, f"-I{HEADERS}", "-o", "main", "main.cpp"),
        source="main.cpp",
        precompiled=("bits/stdc++.h",),  # what competitive programmers include: 2 s of g++'s time, 0.3 s precompiled
        precompile=("/usr/bin/g++", *CPP_FLAGS),
    ),
}
