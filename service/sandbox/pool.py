"""A pool of long-lived sandbox workers (one per core by default) fed from one bounded queue.

Each worker runs one execution unit at a time and forks a child per unit inside its sandbox; the pool only
moves JSON lines, and keeps the next unit already written to a busy worker's stdin so that no worker idles
while the event loop gets round to it. A worker that dies (the answer's code may kill it: it runs as the
same uid) or stops answering is replaced: the unit it was running is reported with ``worker_died``, the
units waiting behind it go back to the queue. A full queue is refused at once (:class:`Overloaded`) instead
of growing without bound.

Spare workers take units from the queue only while workers are held by long executions (an answer that loops
or sleeps until its timeout holds its worker that long, and RL-generated code often does): one spare per held
worker, one unit at a time, so about ``workers`` units that are not held keep running.

Where the workers are a multiple of the CPUs this process may use (one per CPU by default), each regular worker
is pinned to one of them, round-robin (see :func:`cpu_plan`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from ..core.text import load_json_text
from .cgroups import MemoryCgroup, create_memory_cgroups
from .jail import JailConfig, WorkerSpec, probe, worker_spec

logger = logging.getLogger(__name__)
STREAM_LIMIT = 64 * 1024 * 1024  # one result line holds the unit's captured output
ANSWER_MARGIN_S = 5.0
PIPELINE = 2  # units handed to a worker ahead of their turn
HELD_S = 0.25  # a worker on one unit for longer than this is held: a spare may step in
SPARE_POLL_S = 0.05


class Overloaded(RuntimeError):
    """The queue is full; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the sandbox queue is full; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class SandboxFailure(RuntimeError):
    """The sandbox itself failed (not the answer's code)."""


@dataclass(frozen=True)
class PoolConfig:
    workers: int = 2
    queue_limit: int = 4096
    jail: JailConfig = JailConfig()
    spare_workers: int = 0
    # a memory cgroup per worker (see cgroups.py), bounding each unit's processes together to the unit's memory
    # plus this (the worker's own files in /tmp and /dev/shm, the harness); when the host allows one
    memory_cgroups: bool = False
    cgroup_reserve_bytes: int = 0
    # each regular worker (its template and executions with it) on one CPU of this process's affinity mask, when
    # the workers are a multiple of the mask's CPUs (see cpu_plan)
    pin_cpus: bool = True


def cpu_plan(workers: int, cpus: list[int]) -> list[int] | None:
    """The CPU of each regular worker, round-robin over ``cpus`` (this process's affinity mask), or None (they
    are not pinned). Pinned, a worker, its template and its execution wake one another on one CPU, and the
    CPUs no longer idle now and then while executions wait (``bench/humaneval_ab.py``: 1.07x-1.08x on 2
    cores). Only where the workers are a multiple of the CPUs, so that every CPU gets as many:
    fewer workers than CPUs (a CPU quota on a shared host, say) would pile every pool of a host onto the
    same first CPUs."""
    if not cpus or workers % len(cpus) != 0:
        return None
    return [cpus[index % len(cpus)] for index in range(workers)]


class _Worker:
    def __init__(self, spec: WorkerSpec, cgroup: MemoryCgroup | None = None, cpu: int | None = None) -> None:
        self.spec = spec
        self.cgroup = cgroup
        self.cpu = cpu  # pinned to this CPU (None: wherever the scheduler puts it)
        self.process: asyncio.subprocess.Process | None = None
        self.busy_since: float | None = None  # when the unit it is running began (monotonic); None: idle
        self.compiling = False  # the unit it is running is a compilation: long, but bounded and productive

    def begin(self, unit: dict[str, Any] | None) -> None:
        """The unit it now runs (None: it is idle)."""
        self.busy_since = None if unit is None else time.monotonic()
        self.compiling = unit is not None and unit.get("mode") == "compile"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.spec.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=self.spec.env,
            preexec_fn=self._prepare,  # uvloop has no user=/group= arguments
            start_new_session=True,
            limit=STREAM_LIMIT,
        )

    def _prepare(self) -> None:
        """In the worker's process, before it execs: into its cgroup (while still root), onto its CPU, then its
        own uid."""
        if self.cgroup is not None:
            self.cgroup.join()
        if self.cpu is not None:  # inherited by the template and every execution
            with contextlib.suppress(OSError):  # a CPU gone from the mask since: unpinned, not down
                os.sched_setaffinity(0, (self.cpu,))
        self.spec.drop_privileges()

    async def send(self, unit: dict[str, Any]) -> None:
        process = self.process
        if process is None or process.stdin is None or process.returncode is not None:
            raise ConnectionError("worker not running")
        process.stdin.write(json.dumps(unit).encode() + b"\n")
        await process.stdin.drain()

    async def receive(self, budget_s: float) -> dict[str, Any]:
        """The result of the oldest unit sent and not yet answered (the worker runs units in order)."""
        process = self.process
        if process is None or process.stdout is None:
            raise ConnectionError("worker not running")
        async with asyncio.timeout(budget_s + ANSWER_MARGIN_S):  # no task per line, unlike wait_for
            line = await process.stdout.readline()
        if not line:
            raise ConnectionError("worker exited")
        result: dict[str, Any] = load_json_text(line)  # the answer's errors and output: any text at all
        if isinstance(result, dict):
            result["bytes"] = len(line)  # what judging it may cost (the scorer judges big ones off the loop)
        return result

    async def stop(self) -> None:
        process = self.process
        self.process = None
        if process is not None and process.returncode is None:
            # The group (it leads its own session) and so the process. Not process.kill() as well: it polls the
            # process first (bpo-38630), which may reap it under asyncio's child watcher ("Unknown child
            # process pid ..., will report returncode 255").
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            if process.stdout is not None:  # drain to EOF, which closes the pipe's transport
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(process.stdout.read(), timeout=5)
            await process.wait()
        if self.spec.scratch:
            shutil.rmtree(self.spec.scratch, ignore_errors=True)


_Item = tuple[
    dict[str, Any], float, asyncio.Future[dict[str, Any]]
]  # a queued unit: the unit, its time budget, its result


def _closed(item: _Item) -> None:
    """A unit the pool closed on: its caller's result is the sandbox's failure (a null, not a verdict)."""
    unit, _, future = item
    if not future.done():
        future.set_result({"id": unit["id"], "sandbox_error": "the sandbox pool closed"})


class SandboxPool:
    """Runs execution units on sandboxed workers; ``run`` is safe to call from many tasks at once."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[_Worker] = []
        self._ids = itertools.count()
        self.counts: Counter[str] = Counter()
        self.started = False
        self.cgroups: list[MemoryCgroup] | None = None  # one per worker, when config.memory_cgroups and allowed
        self._spares_running = 0  # spares on a unit now
        self.cpus: list[int] | None = None  # the CPU of each regular worker, when pinned (spares never are)

    async def start(self) -> None:
        await asyncio.to_thread(probe, self.config.jail)
        count = self.config.workers + self.config.spare_workers
        if self.config.memory_cgroups:
            made = create_memory_cgroups([f"{os.getpid()}-{id(self):x}-{index}" for index in range(count)])
            if isinstance(made, str):
                logger.warning("sandbox: %s; an execution's processes are bounded one by one only", made)
            else:
                self.cgroups = made
        if self.config.pin_cpus and hasattr(os, "sched_getaffinity"):
            self.cpus = cpu_plan(self.config.workers, sorted(os.sched_getaffinity(0)))
        for index in range(count):
            worker = self._new_worker(index)
            await worker.start()
            self._workers.append(worker)
            self._tasks.append(asyncio.create_task(self._serve(index, worker)))
        self.started = True

    async def close(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():  # accepted, never started: their callers get an answer, not a hang
            _closed(self._queue.get_nowait())
        for worker in self._workers:
            await worker.stop()
        self._tasks.clear()
        self._workers.clear()
        for cgroup in self.cgroups or []:
            await asyncio.to_thread(cgroup.remove)
        self.cgroups = None

    def status(self) -> dict[str, Any]:
        regular = min(len(self._workers), self.config.workers)
        running = sum(1 for worker in self._workers if worker.busy_since is not None)  # units being run now
        return {"workers": regular, "spare_workers": len(self._workers) - regular, "spares_running":
                self._spares_running, "running": running, "queued": self._queue.qsize(),
                "memory_cgroup": self.cgroups is not None, "pinned_cpus": self.cpus is not None,
                **dict(self.counts)}  # fmt: skip

    def _new_worker(self, index: int) -> _Worker:
        """Worker ``index`` (a replacement takes the same uid, cgroup and CPU)."""
        cpu = self.cpus[index] if self.cpus is not None and index < len(self.cpus) else None
        cgroup = None if self.cgroups is None else self.cgroups[index]
        return _Worker(worker_spec(self.config.jail, index), cgroup, cpu)

    def _need(self, unit: dict[str, Any]) -> int:
        """What a unit's cgroup must allow: its address space, plus the reserve."""
        return int(unit.get("limits", {}).get("memory_bytes", 0)) + self.config.cgroup_reserve_bytes

    def _held(self) -> int:
        """Workers (spares too) on one unit for longer than HELD_S; not those compiling (a compilation is long
        CPU work with its own bound, not a program stuck until its timeout: a spare beside it only slows both)."""
        now = time.monotonic()
        return sum(
            1
            for worker in self._workers
            if worker.busy_since is not None and not worker.compiling and now - worker.busy_since > HELD_S
        )

    async def _spare_turn(self) -> None:
        """Wait until a spare may take a unit: work is queued and fewer spares run than workers are held (a
        held spare counts: about ``workers`` units keep running that are not held)."""
        while self._queue.empty() or self._spares_running >= self._held():
            await asyncio.sleep(SPARE_POLL_S)

    async def run(self, unit: dict[str, Any], budget_s: float) -> dict[str, Any]:
        """Queue one unit and wait for its result; ``budget_s`` bounds how long a worker may take on it."""
        return await self.submit(unit, budget_s)

    def submit(self, unit: dict[str, Any], budget_s: float) -> asyncio.Future[dict[str, Any]]:
        """Queue one unit; the future of its result. Cancelling the future drops the unit if it has not
        started."""
        if not self.started:
            raise SandboxFailure("the sandbox pool is not running")
        if self._queue.qsize() >= self.config.queue_limit:
            self.counts["overloaded"] += 1
            raise Overloaded(retry_after=max(1.0, self._queue.qsize() * budget_s / max(1, len(self._workers))))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(({**unit, "id": next(self._ids)}, budget_s, future))
        return future

    async def _serve(self, index: int, worker: _Worker) -> None:
        """Feeds one worker, keeping up to ``PIPELINE`` units in its stdin so that it never waits for the event
        loop between two units; the worker runs them in order and answers in order. A spare takes one unit at
        a time, and only when :meth:`_spare_turn` lets it."""
        spare = index >= self.config.workers
        depth = 1 if spare else PIPELINE
        in_flight: deque[_Item] = deque()
        try:
            await self._feed(index, worker, spare, depth, in_flight)
        finally:  # cancelled by close: the units it held are answered as the sandbox's failure
            for item in in_flight:
                _closed(item)

    async def _feed(
        self,
        index: int,
        worker: _Worker,
        spare: bool,
        depth: int,
        in_flight: deque[_Item],
    ) -> None:
        while True:
            while len(in_flight) < depth and not (in_flight and self._queue.empty()):
                if spare:
                    await self._spare_turn()
                    if self._queue.empty():
                        continue
                item = await self._queue.get()  # waits only while nothing is in flight
                if item[2].done():  # its request gave up (deadline, disconnect): skip the work
                    continue
                if worker.process is None:  # an earlier restart failed: try again, else it is our failure
                    try:
                        worker = await self._restart(index, worker)
                    except asyncio.CancelledError:
                        _closed(item)
                        raise
                    if worker.process is None:
                        item[2].set_result({"id": item[0]["id"], "sandbox_error": "the sandbox worker is down"})
                        continue
                in_flight.append(item)
                if worker.cgroup is not None:  # raised before the worker reads the unit; lowered only when idle
                    need = self._need(item[0])
                    worker.cgroup.set_limit(need if len(in_flight) == 1 else max(need, worker.cgroup.limit))
                if len(in_flight) == 1:
                    worker.begin(item[0])
                    self._spares_running += spare
                try:
                    await worker.send(item[0])
                except (ConnectionError, OSError):
                    break  # the failure is met (and handled) by receive below
            unit, budget_s, future = in_flight[0]
            try:
                result = await worker.receive(budget_s)
                if result.get("id") != unit["id"]:
                    raise ValueError(f"answer for unit {result.get('id')} while waiting for unit {unit['id']}")
                self.counts["executions"] += 1
            except (ConnectionError, TimeoutError, OSError, ValueError) as exc:
                # The answer's code may kill its worker or wedge it: that unit ends as the answer's fault; the
                # units queued behind it on that worker had not started and go back to the queue.
                logger.warning(
                    "sandbox worker %d lost while running unit %s: %r; restarting it", index, unit["id"], exc
                )
                self.counts["worker_restarts"] += 1
                result = {"id": unit["id"], "worker_died": True}
                for waiting in list(in_flight)[1:]:
                    self._queue.put_nowait(waiting)
                in_flight.clear()
                in_flight.append((unit, budget_s, future))
                worker = await self._restart(index, worker)
                if worker.process is None:
                    result = {"id": unit["id"], "sandbox_error": "the sandbox worker could not restart"}
            # the cgroup's bound (it outlives a restart): the unit's processes, or its worker, killed by the OOM killer
            if worker.cgroup is not None and worker.cgroup.new_oom_kills():
                result["oom_killed"] = True
            in_flight.popleft()
            if "recycle" in result:  # it could not clean up after the unit, and ends: a fresh sandbox instead
                reason = result.pop("recycle")
                logger.warning("sandbox worker %d is replaced after unit %s: %s", index, unit["id"], reason)
                self.counts["worker_recycles"] += 1
                for waiting in in_flight:  # sent to it, never started
                    self._queue.put_nowait(waiting)
                in_flight.clear()
                worker = await self._restart(index, worker)
            # the next unit (already in its stdin) starts now
            worker.begin(in_flight[0][0] if in_flight else None)
            if not in_flight:
                self._spares_running -= spare
            if not future.done():
                future.set_result(result)

    async def _restart(self, index: int, worker: _Worker) -> _Worker:
        await worker.stop()
        worker = self._new_worker(index)
        self._workers[index] = worker
        try:
            await worker.start()
        except OSError as start_error:
            logger.error("sandbox worker %d could not restart: %r", index, start_error)
            self.counts["failures"] += 1
            worker.process = None
        return worker
