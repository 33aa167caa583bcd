"""Calls made in one turn of the event loop, run together.

Work often becomes ready for many requests at once: a model forward or a sandbox batch finishes and every
request waiting on it resumes in the same turn of the event loop. A ``TurnBatcher`` gathers the calls made
in that turn and runs them as one (one vectorised estimator call, one frame to the model process), at no
added latency: the run starts at the end of the turn. If the joint run fails, each call runs alone, so that
one caller's bad input fails that caller only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TurnBatcher(Generic[T, R]):
    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self.run = run  # one result per item, in order
        self.runs = 0  # joint runs (and lone reruns after a failed joint run)
        self._queued: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if not self._queued:
            loop.call_soon(self._flush)  # after the callbacks ready now: their calls join this one
        future: asyncio.Future[R] = loop.create_future()
        self._queued.append((item, future))
        return await future

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        task = asyncio.ensure_future(self._run([(item, future) for item, future in queued if not future.done()]))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, calls: list[tuple[T, asyncio.Future[R]]]) -> None:
        if not calls:
            return
        try:
            self.runs += 1
            results = await self.run([item for item, _ in calls])
        except asyncio.CancelledError:
            for _, future in calls:
                future.cancel()
            raise
        except Exception as exc:
            if len(calls) == 1:
                if not calls[0][1].done():  # else the caller gave up
                    calls[0][1].set_exception(exc)
                return
            for call in calls:  # each alone: the failure is whose it is
                await self._run([call])
            return
        for (_, future), result in zip(calls, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
