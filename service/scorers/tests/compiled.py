"""Compiled languages: each answer is compiled once, in the sandbox, and its program kept for the tests.

A compilation is an execution of its own on the sandbox pool (the compiler on the answer's source, under
the language's compile limits), whose result carries the program it left; every test of the answer then
runs that program, which its unit brings to the run directory. The compiler runs under the same sandbox as
the programs: a source that makes it read a file (``#include "/etc/passwd"``) sees only the sandbox's.
Outcomes are kept (programs up to ``MAX_BYTES`` in all, the oldest dropped first), and a compilation
already running is awaited rather than started again, so the answers of a batch and of concurrent requests
compile once each. A program is data to the host: it is only ever run inside the sandbox.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from ...sandbox.pool import SandboxPool
from .languages import Language

MAX_BYTES = 64 << 20  # the programs kept (base64)
HEAD_CHARS = 2000  # of the compiler's diagnostics, in a compile error's message


class Programs:
    """The outcomes of compilations: ``{"program": base64}``, or a unit result that scores every test of the
    answer (``compile_error``; a ``sandbox_error`` is not kept)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.kept: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self.size = 0
        self.running: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.compilations = 0

    async def get(self, pool: SandboxPool, language: Language, code: str, limits: dict[str, Any]) -> dict[str, Any]:
        key = (language.name, code)
        if key in self.kept:
            self.kept.move_to_end(key)
            return self.kept[key]
        future = self.running.get(key)
        if future is None:
            future = asyncio.ensure_future(self._compile(pool, language, code, limits))
            self.running[key] = future
            future.add_done_callback(lambda done: self._settle(key, done))
        # a caller that gives up (deadline) leaves the compilation to finish and be kept
        return await asyncio.shield(future)

    async def _compile(
        self, pool: SandboxPool, language: Language, code: str, limits: dict[str, Any]
    ) -> dict[str, Any]:
        self.compilations += 1
        unit = {"mode": "compile", "code": code, "stdin": "", "tests": [], "limits": limits,
                **language.compile_fields()}  # fmt: skip
        result = await pool.run(unit, budget_s=limits["wall_s"] + 5)
        if "sandbox_error" in result:
            return result
        if result.get("program"):
            return {"program": result["program"]}
        stderr = str(result.get("stderr", ""))
        ended = str(result.get("ended") or "")
        if ended in ("timeout", "signal:SIGXCPU"):
            message = f"the compilation took longer than {limits['wall_s']:g} s"
        elif result.get("output_limited"):
            message = "the compiler's output went over the output limit"
        elif result.get("done") or result.get("worker_died"):
            message = "the compiler left no program"
        else:
            message = stderr.strip()[:HEAD_CHARS] or f"the compiler failed ({ended})"
        return {"compile_error": {"type": "CompileError", "message": message}, "stdout": "", "stderr": stderr}

    def _settle(self, key: tuple[str, str], future: asyncio.Future[dict[str, Any]]) -> None:
        self.running.pop(key, None)
        if future.cancelled() or future.exception() is not None or "sandbox_error" in future.result():
            return
        outcome = future.result()
        self.kept[key] = outcome
        self.size += len(outcome.get("program", ""))
        while self.size > self.max_bytes and self.kept:
            _, dropped = self.kept.popitem(last=False)
            self.size -= len(dropped.get("program", ""))
