"""The ``tests`` scorer: run each answer's code against test cases in the sandbox, one component per test.

Work is planned across every task of a call: identical (code, test) pairs run once, the ``call`` and
``assert`` tests of one code run in one execution unit (the code loads once, each test then runs in turn),
and each ``stdio`` test is a unit of its own (the program runs with that stdin). All units go to the worker
pool at once. A unit identical to one already running for another call (another group of the same batch,
a concurrent request) is not run again: it waits for that execution's result. A verdict is the answer's
doing and scores 0 unless it is ``pass``; only a failure of the sandbox itself leaves a value missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import reprlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.errors import InvalidParams, LimitExceeded, Overloaded
from ...sandbox.jail import JailConfig
from ...sandbox.pool import Overloaded as PoolOverloaded
from ...sandbox.pool import PoolConfig, SandboxPool
from ..base import ComponentFailure, ScoreOutput, Scorer, ScoreTask
from .asserts import Check, rewrite_asserts
from .compare import (
    check_passes,
    compared_values,
    decode,
    normalize_stdout,
    returned_matches,
    similarity,
    stdout_matches,
    unit_equal,
)
from .compiled import Programs
from .extract import extract_code
from .languages import LANGUAGES, Language, unrunnable
from .params import AssertTest, CallTest, StdioTest, TestsParams

logger = logging.getLogger(__name__)
VERDICTS = ("pass", "fail", "error", "timeout", "memory", "output_limit", "exited_early")
DETAIL_CHARS = 500
JUDGE_INLINE_BYTES = 256 * 1024
FALSE_ASSERT = re.compile(r"assert \d{1,6} of the test is false")  # harness.FALSE_ASSERT
MAX_ASSERT_RUNS = 100_000  # an assert test's asserts, counted each time one runs (in a loop, once per pass)
# How a value the answer's code made is shown in a detail (a call test's return value, a failed assert's
# operands): Python's repr, with long containers, strings and numbers shortened.
SHOWN = reprlib.Repr()
SHOWN.maxlevel, SHOWN.maxstring, SHOWN.maxlong, SHOWN.maxother = 4, 200, 100, 100
SHOWN.maxlist = SHOWN.maxtuple = SHOWN.maxset = SHOWN.maxfrozenset = SHOWN.maxdict = 20
ERROR_TYPE_CHARS = 100  # an exception type's name, as the answer may have made it
_RAISED = re.compile(r"^([A-Za-z_$][\w$]*(?:Error|Exception))\b.*$", re.MULTILINE)
_LIMIT_SIGNALS = ("signal:SIGKILL", "signal:SIGXCPU", "signal:SIGXFSZ")  # a limit's (or a program killed itself)
BWRAP_PROCESSES = 3  # bwrap, its init and the worker share the worker's uid
OUT_OF_MEMORY_TOGETHER = "the execution's processes together ran out of memory"  # past the worker's cgroup
HARNESS_RESERVE_BYTES = 128 << 20  # a worker's cgroup holds the harness and its template beside the execution


@dataclass
class _Unit:
    """One execution: code plus the tests it runs (local index -> test key). Modes: ``functions`` (the code
    loads, then its call and assert tests run in turn) and ``script`` (the code runs as a program with a
    stdin), in the sandbox's Python or, for another language, under its command."""

    mode: str
    code: str
    timeout_s: float
    memory_mb: int
    stdin: str = ""
    language: Language = LANGUAGES["python"]
    tests: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    def identity(self) -> tuple[Any, ...]:
        """What makes two units one while a call plans them (their tests are gathered into it)."""
        return self.mode, self.language.name, self.code, self.stdin, self.timeout_s, self.memory_mb

    def key(self) -> tuple[Any, ...]:
        """What makes two planned units the same execution."""
        return *self.identity(), tuple(self.keys)


@dataclass
class _Execution:
    """A unit's execution on the pool, shared by every call that needs that unit while it runs."""

    result: asyncio.Future[dict[str, Any]]  # the pool's
    waiting: int = 0


@dataclass
class _Slot:
    """Where the verdict of one (task, answer, test) comes from."""

    unit: _Unit
    local: int | None  # index of the test inside a functions unit; None for a stdio unit
    test: Any
    checks: tuple[Check, ...] = ()
    partial: bool = False  # a stdio test's failure scores its output's similarity
    checker: _Unit | None = None  # a stdio test's checker, run on the program's output once the program ended


class TestsScorer(Scorer):
    name = "tests"
    description = (
        "Runs the answer's code against test cases (assert / call / stdio; JavaScript: call / stdio; C++: stdio) "
        "in a sandbox; "
        "1 pass, 0 else (with partial, a failed stdio test scores its output's similarity)."
    )
    Params = TestsParams

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings
        self.pool: SandboxPool | None = None
        self.verdicts: Counter[str] = Counter()  # exported as vpo_sandbox_verdicts_total
        self.running: dict[tuple[Any, ...], _Execution] = {}  # unit key -> its execution, while it runs
        self.unrunnable: dict[str, str] = {}  # language -> why it does not run in this sandbox (probed at start)
        self.programs = Programs()  # compiled languages: each answer's program

    @classmethod
    def from_settings(cls, settings: Any) -> TestsScorer:
        return cls(settings)

    def components(self, params: TestsParams) -> list[str]:
        return [f"tests/{i}" for i in range(len(params.tests))]

    def validate(self, params: TestsParams, limits: Any) -> None:
        reason = self._unavailable(params.language)
        if reason:
            raise InvalidParams(reason, {"language": params.language})
        if len(params.tests) > limits.max_tests_per_problem:
            raise LimitExceeded("max_tests_per_problem", len(params.tests), limits.max_tests_per_problem)
        if params.timeout_s > limits.max_seconds_per_test:
            raise LimitExceeded("max_seconds_per_test", params.timeout_s, limits.max_seconds_per_test)
        if params.memory_mb is not None and params.memory_mb > limits.max_memory_mb_per_test:
            raise LimitExceeded("max_memory_mb_per_test", params.memory_mb, limits.max_memory_mb_per_test)

    async def start(self) -> None:
        s = self.settings
        jail = JailConfig(mode=s.sandbox, python=s.sandbox_python, uid_base=s.sandbox_uid_base,
                          tmp_bytes=s.sandbox_tmp_bytes, shm_bytes=s.sandbox_shm_bytes,
                          site_packages=s.sandbox_site_packages)  # fmt: skip
        reserve = s.sandbox_tmp_bytes + s.sandbox_shm_bytes + HARNESS_RESERVE_BYTES
        config = PoolConfig(workers=s.sandbox_workers, spare_workers=s.sandbox_spares(),
                            queue_limit=s.sandbox_queue_limit, jail=jail, memory_cgroups=s.sandbox_memory_cgroup,
                            cgroup_reserve_bytes=reserve, pin_cpus=s.sandbox_pin_cpus)  # fmt: skip
        self.pool = SandboxPool(config)
        await self.pool.start()
        self.unrunnable = await asyncio.to_thread(unrunnable, jail)
        for reason in self.unrunnable.values():
            logger.warning("tests scorer: %s", reason)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def status(self) -> dict[str, Any]:
        languages = [name for name in LANGUAGES if not self._unavailable(name)]
        compiled = {"compilations": self.programs.compilations, "programs_kept": len(self.programs.kept)}
        return {"sandbox": self.settings.sandbox, "languages": languages, **compiled,
                **(self.pool.status() if self.pool else {})}  # fmt: skip

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        if self.pool is None:
            raise RuntimeError("the tests scorer is not started")
        units: dict[tuple[Any, ...], _Unit] = {}
        plans = [[[self._slot(units, _code(a, task.params), t, task.params) for t in task.params.tests]
                  for a in task.answers] for task in tasks]  # fmt: skip
        await self._run(list(units.values()), deadline)
        await self._run(self._checkers(plans), deadline)
        # what the executions sent is judged in time linear in its size, but that size is the answers' to choose
        # (within MAX_REPORTS a unit): past JUDGE_INLINE_BYTES, off the event loop, so that other requests are
        # not held up meanwhile (a thread per call would cost the common small call more than judging it)
        size = sum(int(unit.result.get("bytes", 0)) for unit in units.values() if isinstance(unit.result, dict))
        if size > JUDGE_INLINE_BYTES:
            outputs, verdicts = await asyncio.to_thread(_judge_all, tasks, plans)
        else:
            outputs, verdicts = _judge_all(tasks, plans)
        self.verdicts.update(verdicts)
        return outputs

    def _slot(self, units: dict[tuple[Any, ...], _Unit], code: str, test: Any, params: TestsParams) -> _Slot:
        memory = params.memory_mb or self.settings.sandbox_memory_mb
        language = LANGUAGES[params.language]
        if isinstance(test, StdioTest):
            script = _Unit("script", code, params.timeout_s, memory, test.stdin, language)
            return _Slot(units.setdefault(script.identity(), script), None, test, partial=params.partial)
        functions = _Unit("functions", code, params.timeout_s, memory, language=language)
        unit = units.setdefault(functions.identity(), functions)
        checks: tuple[Check, ...] = ()
        if isinstance(test, CallTest):
            wire = {"type": "call", "function": test.function, "args": test.args, "kwargs": test.kwargs}
        else:
            source, check_list = rewrite_asserts(test.code)
            wire, checks = {"type": "check", "source": source}, tuple(check_list)
        test_key = json.dumps(wire, sort_keys=True)
        if test_key not in unit.keys:
            unit.keys[test_key] = len(unit.tests)
            unit.tests.append({"i": len(unit.tests), **wire})
        return _Slot(unit, unit.keys[test_key], test, checks)

    def _checkers(self, plans: list[list[list[_Slot]]]) -> list[_Unit]:
        """The executions of the checkers of the stdio tests whose programs ran to their end: one per checker and
        output, each a call of ``check(input, output, expected)`` (set as the slots' ``checker``)."""
        units: dict[tuple[Any, ...], _Unit] = {}
        for slot in (slot for plan in plans for slots in plan for slot in slots):
            test, result = slot.test, slot.unit.result
            if not (isinstance(test, StdioTest) and test.checker and isinstance(result, dict) and result.get("done")):
                continue
            if result.get("output_limited") or "sandbox_error" in result:
                continue
            args = [test.stdin, result.get("stdout", ""), test.expected_stdout]
            unit = _Unit("functions", test.checker, slot.unit.timeout_s, slot.unit.memory_mb)
            unit.tests.append({"i": 0, "type": "call", "function": "check", "args": args, "kwargs": {}})
            unit.keys[json.dumps(args)] = 0
            slot.checker = units.setdefault(unit.key(), unit)
        return list(units.values())

    async def _run(self, units: list[_Unit], deadline: float | None) -> None:
        assert self.pool is not None
        pool = self.pool

        async def run(unit: _Unit) -> None:
            programs = {}
            if unit.language.compile:  # a compiled language: its program first (compiled once per answer)
                built = await self.programs.get(pool, unit.language, unit.code, self._compile_limits())
                if "program" not in built:
                    unit.result = built  # a compile error (every test's verdict) or the sandbox's failure
                    return
                programs = {unit.language.filename: built["program"]}
            key = unit.key()
            execution = self.running.get(key)
            if execution is None:
                wire = {"mode": unit.mode, "code": "" if programs else unit.code, "stdin": unit.stdin,
                        "tests": unit.tests, "limits": self._limits(unit), "programs": programs,
                        **unit.language.unit_fields(unit.mode, unit.memory_mb)}  # fmt: skip
                n = len(unit.tests) + 1
                budget_s = unit.timeout_s * n * (n + 1) + 5
                execution = _Execution(pool.submit(wire, budget_s=budget_s))
                self.running[key] = execution
                execution.result.add_done_callback(lambda _: self._forget(key, execution))
            execution.waiting += 1
            try:
                unit.result = await asyncio.shield(execution.result)
            finally:
                execution.waiting -= 1
                if not execution.waiting:  # nobody waits for it any more (deadline, client gone): drop it
                    self._forget(key, execution)  # a later call runs it anew
                    execution.result.cancel()

        jobs = [asyncio.ensure_future(run(unit)) for unit in units]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            done, pending = await asyncio.wait(jobs, timeout=timeout) if jobs else (set(), set())
        except asyncio.CancelledError:
            for job in jobs:
                job.cancel()
            raise
        for job in pending:
            job.cancel()  # left without a result: those values come back null with reason deadline
        for job in done:
            error = job.exception()
            if isinstance(error, PoolOverloaded):
                for other in jobs:
                    other.cancel()
                raise Overloaded(str(error), retry_after=error.retry_after)
            if error is not None:
                raise error

    def _unavailable(self, name: str) -> str | None:
        """Why ``name`` does not run on this server; None if it does."""
        language = LANGUAGES[name]
        return self.unrunnable.get(name) or (None if language.available() else language.unavailable_reason())

    def _forget(self, key: tuple[Any, ...], execution: _Execution) -> None:
        if self.running.get(key) is execution:
            del self.running[key]

    def _limits(self, unit: _Unit) -> dict[str, Any]:
        limits = self._limits_of(unit.timeout_s, (unit.memory_mb + unit.language.reserve_mb) << 20)
        if unit.language.compile:  # a native program's stack may take its whole memory (deep recursion)
            limits["stack_bytes"] = limits["memory_bytes"]
        return limits

    def _compile_limits(self) -> dict[str, Any]:
        s = self.settings
        return self._limits_of(s.sandbox_compile_seconds, s.sandbox_compile_memory_mb << 20)

    def _limits_of(self, seconds: float, memory_bytes: int) -> dict[str, Any]:
        s = self.settings
        extra = BWRAP_PROCESSES if s.sandbox == "bwrap" else 0
        return {
            "wall_s": seconds,
            "cpu_s": seconds,
            "memory_bytes": memory_bytes,
            "file_bytes": s.sandbox_file_bytes,
            "open_files": 64,
            "processes": s.sandbox_processes + extra,
            "output_bytes": s.sandbox_output_bytes,
        }


def _code(answer: str, params: TestsParams) -> str:
    """The code an answer gives, after the params' ``setup`` (on lines of its own)."""
    code = extract_code(answer, params.language)
    if not params.setup:
        return code
    return params.setup + ("" if params.setup.endswith("\n") else "\n") + code


def _judge_all(tasks: Sequence[ScoreTask], plans: list[list[list[_Slot]]]) -> tuple[list[ScoreOutput], Counter[str]]:
    """Every task's values, failures and details from its slots, and how many of each verdict."""
    outputs, verdicts = [], Counter[str]()
    for task, plan in zip(tasks, plans, strict=True):
        values = np.zeros((len(task.answers), len(task.params.tests)))
        failures: list[ComponentFailure] = []
        details = []
        for a, slots in enumerate(plan):
            answer_details = []
            for j, slot in enumerate(slots):
                verdict, info = _judged(slot)
                verdicts[verdict or info["reason"]] += 1
                if verdict is None:
                    values[a, j] = np.nan
                    failures.append(ComponentFailure(info["reason"], info["message"], answer=a, component=j))
                else:
                    values[a, j] = 1.0 if verdict == "pass" else info.get("similarity", 0.0)
                answer_details.append({"verdict": verdict, **info})
            details.append(answer_details)
        outputs.append(ScoreOutput(values, _merge(failures, values.shape), details))
    return outputs, verdicts


def _judged(slot: _Slot) -> tuple[str | None, dict[str, Any]]:
    """The verdict of one test, whatever its execution sent: an answer can find its token and forge a report
    of any shape, which fails its own test and no other."""
    try:
        return _verdict(slot)
    except Exception as error:  # noqa: BLE001 (any shape: nothing forged may fail the other answers' scoring)
        logger.warning("tests scorer: a malformed report (forged by the answer?) scores its test 0: %r", error)
        return "fail", {"message": "the test's report was malformed"}


def _verdict(slot: _Slot) -> tuple[str | None, dict[str, Any]]:
    """(verdict, facts) of one test; verdict None means the sandbox failed (or the deadline passed)."""
    result = slot.unit.result
    if result is None:
        return None, {"reason": "deadline", "message": "not run before the deadline"}
    if "sandbox_error" in result:
        return None, {"reason": "sandbox_error", "message": str(result["sandbox_error"])}
    info: dict[str, Any] = {
        "stdout": result.get("stdout", "")[:DETAIL_CHARS],
        "stderr": result.get("stderr", "")[:DETAIL_CHARS],
    }
    if result.get("worker_died"):
        if result.get("oom_killed"):
            return "memory", {**info, "message": OUT_OF_MEMORY_TOGETHER}
        return "exited_early", {**info, "message": "the program killed its sandbox worker"}
    language = slot.unit.language
    if result.get("load_error"):
        return _error_verdict(result["load_error"], info, language)
    if result.get("compile_error"):
        return "error", {**info, "error": "CompileError", "message": result["compile_error"]["message"][:DETAIL_CHARS]}
    if slot.local is None:  # stdio
        if result.get("output_limited"):
            return "output_limit", info
        test = slot.test
        ended_itself = result.get("ended") == "exit:0" and not language.command and not test.checker
        if not result.get("done") and not ended_itself:
            return _stopped(language, result.get("ended"), result, info)
        if test.checker:
            return _checked(slot.checker, info)
        expected = normalize_stdout(test.expected_stdout, test.compare)
        actual = normalize_stdout(result.get("stdout", ""), test.compare)
        equal = unit_equal(test.compare, test.abs_tol, test.rel_tol)
        if stdout_matches(actual, expected, equal):
            return "pass", info
        if not result.get("done"):
            # A Python program that ended itself with status 0 (os._exit(0) after flushing its output, as fast
            # solutions do) ended as a judge sees it: its output right, it passed; else it stays a suspect
            return _stopped(language, result.get("ended"), result, info)
        return "fail", ({**info, "similarity": similarity(actual, expected, equal)} if slot.partial else info)
    report = result.get("reports", {}).get(str(slot.local))
    if report is None:
        return _stopped(language, result.get("ended"), result, info)
    status = report.get("status")
    if status == "killed":
        return _stopped(language, report.get("ended"), result, info)
    if status == "error":
        if report.get("type") == "AssertionError" and FALSE_ASSERT.fullmatch(str(report.get("message", ""))):
            # an assert judged inside (the truth of a bare value) that was false: the test failed, no error
            return "fail", {**info, "message": str(report["message"])}
        return _error_verdict(report, info, language)
    if isinstance(slot.test, CallTest):
        try:
            value = decode(report.get("value"), array=True)
        except ValueError:
            return "fail", info
        if returned_matches(value, slot.test.expected, slot.test.abs_tol, slot.test.rel_tol):
            return "pass", info
        return "fail", {**info, "returned": _shown(value)}
    assert isinstance(slot.test, AssertTest)
    # every time an assert ran (once per pass of a loop around it), in the order they ran: each must hold
    entries = report.get("checks", [])
    if len(entries) > MAX_ASSERT_RUNS:
        return "fail", {**info, "message": f"its asserts ran more than {MAX_ASSERT_RUNS} times"}
    for entry in entries:
        # [id, values] or [id, values, report of the objects they refer to] or [id, None, why not plain data]
        check_id, values = entry[0], (entry[1] if len(entry) > 1 else None)
        objects = entry[2] if len(entry) > 2 and values is not None else None
        if not (0 <= check_id < len(slot.checks) and check_passes(slot.checks[check_id], values, objects)):
            return "fail", {**info, "message": _failed_check(slot.checks, check_id, values, objects)}
    missing = _never_ran(slot.checks, {entry[0] for entry in entries})
    if missing is not None:  # a report that leaves out asserts the test must have run (forged, then)
        return "fail", {**info, "message": f"assert {missing + 1} of the test never ran"}
    if slot.checks and not entries and not any(check.guarded for check in slot.checks):
        return "fail", {**info, "message": "no assertion ran"}  # and no try in the test could have skipped them
    return "pass", info


def _checked(checker: _Unit | None, info: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The verdict of a program's output that its test's checker judges: pass when ``check`` returned True. A
    checker that fails on the output (an exception: output it cannot read; its time) fails the test."""
    result = checker.result if checker is not None else None
    if result is None:
        return None, {"reason": "deadline", "message": "the checker did not run before the deadline"}
    if "sandbox_error" in result:
        return None, {"reason": "sandbox_error", "message": str(result["sandbox_error"])}
    report = result.get("reports", {}).get("0")
    failed = result.get("load_error") or (report if report and report.get("status") == "error" else None)
    if failed is not None:
        message = f"the checker raised {failed.get('type')}: {failed.get('message', '')}"
        return "fail", {**info, "message": message[:DETAIL_CHARS]}
    if report is None or report.get("status") == "killed":
        ended = (report or result).get("ended")
        return "fail", {**info, "message": f"the checker did not finish ({ended})"}
    try:
        accepted = returned_matches(decode(report.get("value")), True)
    except ValueError:
        accepted = False
    return ("pass", info) if accepted else ("fail", {**info, "message": "the checker rejected the output"})


def _never_ran(checks: tuple[Check, ...], ran: set[int]) -> int | None:
    """The first assert that a test which ended normally must have run and did not, or None: every assert of
    its module block, and of each function block it entered (see Check.block). A report lists the asserts
    that ran, and an answer that finds its token could send one that leaves out those it fails."""
    entered = {checks[i].block for i in ran if 0 <= i < len(checks)} | {("module", 0)}
    entered.discard(None)  # asserts in loops and branches may run any number of times, none included
    return next((i for i, check in enumerate(checks) if check.block in entered and i not in ran), None)


def _failed_check(checks: tuple[Check, ...], check_id: int, values: list[Any] | None, objects: Any = None) -> str:
    """What a detail says of a failed assert: which one (in the test's order) and the values it compared."""
    if not 0 <= check_id < len(checks):
        return "a report for an assert the test does not have"
    if values is None:
        return f"assert {check_id + 1} of the test: a value it compares is not plain data"
    try:
        operands = compared_values(checks[check_id], values, objects)
    except Exception as error:  # noqa: BLE001 (a forged report, or the host's work on the values failed)
        return f"assert {check_id + 1} of the test failed: {type(error).__name__}"
    return f"assert {check_id + 1} of the test failed; it compared {_shown(operands)}"


def _shown(value: Any) -> str:
    """A value the answer's code made, for a detail."""
    try:
        return SHOWN.repr(value)[:DETAIL_CHARS]
    except Exception:  # an int past str()'s digit limit, a recursion too deep...
        return "<a value too large to show>"


def _error_verdict(error: dict[str, Any], info: dict[str, Any], language: Language) -> tuple[str, dict[str, Any]]:
    kind, message = str(error.get("type", "")), str(error.get("message", ""))
    facts = {**info, "error": kind[:ERROR_TYPE_CHARS], "message": message[:DETAIL_CHARS]}
    out_of_memory = kind == "MemoryError" or any(marker in message for marker in language.out_of_memory)
    return ("memory" if out_of_memory else "error"), facts


def _stopped(
    language: Language, ended: Any, result: dict[str, Any], info: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The verdict of an execution that stopped before it reported a test (or, a program, before it ended
    with status 0). In another language the runtime's own failure is the answer's: out of memory, an uncaught
    exception (with its type); a timeout or a limit is as for Python."""
    ended = str(ended or "")
    if result.get("oom_killed"):  # the worker's cgroup: its processes together past the unit's memory
        return "memory", {**info, "message": OUT_OF_MEMORY_TOGETHER}
    if not language.command:
        return _ended(ended), info
    stderr = result.get("stderr", "")
    if any(marker in stderr for marker in language.out_of_memory):
        return "memory", info
    if language.compile and ended.startswith("signal:") and ended not in _LIMIT_SIGNALS:
        # a native program's runtime error (SIGSEGV, SIGFPE, SIGABRT...): the answer's, as judges have it
        return "error", {**info, "error": ended.removeprefix("signal:"), "message": stderr.strip()[-DETAIL_CHARS:]}
    if ended.startswith("exit:") or ended == "signal:SIGABRT":
        raised = _RAISED.search(stderr)  # an uncaught exception's "TypeError: message" line
        if raised:
            return "error", {**info, "error": raised[1][:ERROR_TYPE_CHARS], "message": raised[0][:DETAIL_CHARS]}
        return "error", {**info, "error": ended, "message": stderr.strip()[-DETAIL_CHARS:]}
    return _ended(ended), info


def _ended(ended: Any) -> str:
    """The verdict of an execution that stopped before reporting a test."""
    ended = str(ended or "")
    if ended in ("timeout", "signal:SIGXCPU"):
        return "timeout"
    if ended in ("output_limit", "signal:SIGXFSZ"):
        return "output_limit"
    return "exited_early"  # exited, crashed or killed itself before reporting


def _merge(failures: list[ComponentFailure], shape: tuple[int, ...]) -> list[ComponentFailure]:
    """One failure for the whole task when every value failed for the same reason."""
    if failures and len(failures) == shape[0] * shape[1] and len({f.reason for f in failures}) == 1:
        return [ComponentFailure(failures[0].reason, failures[0].message)]
    return failures
