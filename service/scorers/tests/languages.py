"""The languages the ``tests`` scorer runs answers in: one :class:`Language` entry each.

Python runs in the sandbox's own interpreter: the worker compiles the answer, a child forked from the
template runs it and every kind of test (``assert``, ``call``, ``stdio``). Any other language is a program
file and a command line: the child writes the answer to ``filename`` in its private run directory, then
``execve``s ``command`` + [``filename``] with the test's stdin, under the same namespaces and limits, and its
stdout is compared outside the sandbox. Such a language runs ``stdio`` tests; a compiled one would add a
compile step in the same child (its compiler as the command, then the binary).

Adding a language is an entry here (its command, the address space its runtime reserves), its fence tags
in ``trainer_client.split.LANGUAGE_TAGS``, and its runtime installed on the host under ``/usr`` (the sandbox
mounts ``/usr`` read-only); a language whose command is missing is refused with a 422 that says so, and
``/readyz`` lists the languages this host runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Language:
    name: str
    kinds: tuple[str, ...]  # the test kinds it runs
    # runs the program file (appended); "{memory_mb}" stands for the test's memory limit. Empty: the sandbox's
    # own Python
    command: tuple[str, ...] = ()
    filename: str = ""  # the program file's name in the run directory
    reserve_mb: int = 0  # address space the runtime reserves beyond the program's memory (the limit is the sum)
    out_of_memory: tuple[str, ...] = ()  # what the runtime writes to stderr when the program runs out of memory

    def available(self) -> bool:
        return not self.command or Path(self.command[0]).is_file()

    def unavailable_reason(self) -> str:
        return f"language {self.name!r} is not available on this server: {self.command[0]} is not installed"

    def argv(self, memory_mb: int) -> list[str]:
        return [part.replace("{memory_mb}", str(memory_mb)) for part in self.command] + [self.filename]


LANGUAGES: dict[str, Language] = {
    "python": Language("python", ("assert", "call", "stdio")),
    # node's heap is held to the test's memory; V8 reserves about 1 GB of address space for its cages up front
    "javascript": Language(
        "javascript",
        ("stdio",),
        ("/usr/bin/node", "--max-old-space-size={memory_mb}"),
        "main.js",
        reserve_mb=1024,
        out_of_memory=("JavaScript heap out of memory", "Array buffer allocation failed"),
    ),
}
