"""Precompiled headers for compiled languages, built on the host once.

C++ answers mostly include ``<bits/stdc++.h>``, which takes g++ about 2 s of CPU to read; precompiled (a
``.gch`` file of about 120 MB) it takes a tenth of that. ``vpo-rewards precompile-headers`` builds each
language's ``precompiled`` headers into ``HEADERS`` (as root: it is under ``/usr``, which the sandbox mounts
read-only, so the compiler inside finds them there); the Docker image runs it when it is built. The compile
command names that directory first (``-I``): g++ takes a precompiled header it finds there when it was made
with the same compiler and flags, and otherwise reads the header itself, so a missing or stale one costs
time, never a wrong result. The headers are the system's own: the compiler runs on the host, on no input
from any answer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .languages import HEADERS, LANGUAGES, Language


class PrecompileFailed(RuntimeError):
    pass


def precompile_headers(directory: Path = HEADERS, languages: tuple[Language, ...] = ()) -> list[Path]:
    """Build every precompiled header of ``languages`` (all that have some) in ``directory``; their paths."""
    built = []
    for language in languages or tuple(LANGUAGES.values()):
        if not language.precompiled or not language.available():
            continue
        for header in language.precompiled:
            target = directory / f"{header}.gch"
            target.parent.mkdir(parents=True, exist_ok=True)
            folder = target.parent
            while True:  # readable by the sandbox's uids
                folder.chmod(0o755)
                if folder == directory:
                    break
                folder = folder.parent
            partial = target.with_name(f".{target.name}.{os.getpid()}")
            command = [*language.precompile, "-x", "c++-header", str(_locate(language, header)), "-o", str(partial)]
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                partial.unlink(missing_ok=True)
                raise PrecompileFailed(f"{' '.join(command)}: {done.stderr.strip()[-2000:]}")
            partial.chmod(0o644)
            partial.replace(target)  # whole, or not there: a compilation never meets half a file
            built.append(target)
    return built


def _locate(language: Language, header: str) -> Path:
    """Where the compiler finds ``header`` (its first line of ``-H``), without the precompiled directory."""
    command = [*language.precompile, "-x", "c++", "-fsyntax-only", "-H", "-"]
    done = subprocess.run(command, input=f"#include <{header}>\n", capture_output=True, text=True, timeout=120)
    for line in done.stderr.splitlines():
        if line.startswith(". "):
            return Path(line[2:].strip())
    raise PrecompileFailed(f"{language.precompile[0]} does not find <{header}>: {done.stderr.strip()[-500:]}")
