"""Dynamic batching: items from concurrent requests are gathered into batches (at most ``max_batch_size``
items, waiting at most ``max_wait_ms`` after the first), sorted by length so that padding stays small, and
run by one synchronous function in a thread, one batch at a time, off the event loop.

A model's run may split a batch into several forwards (``loading.run_batches`` does, by length): the
batcher's counts are then the model's own (``counts``), one per forward, not one per batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


class ForwardCounts:
    """A model's forwards by their count of items (rows). One thread adds (the forward's); any may read: a
    reading is one copy of the counts (a C-level dict copy, whole under the GIL), so its forwards, items and
    sizes always agree, and no reader iterates a dict that the forward's thread is changing."""

    def __init__(self, sizes: Counter[int] | None = None) -> None:
        self._sizes: Counter[int] = Counter() if sizes is None else sizes

    def add(self, size: int) -> None:
        self._sizes[size] += 1

    def snapshot(self) -> tuple[int, int, Counter[int]]:
        """(forwards, items, forwards by size), as of one instant."""
        sizes = Counter(dict(self._sizes))
        return sum(sizes.values()), sum(size * count for size, count in sizes.items()), sizes

    @property
    def forwards(self) -> int:
        return self.snapshot()[0]

    @property
    def items(self) -> int:
        return self.snapshot()[1]


class DynamicBatcher(Generic[Item]):
    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Any]],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 5.0,
        length: Callable[[Item], int] = lambda item: 0,
        counts: ForwardCounts | None = None,
    ) -> None:
        self.run = run
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.length = length
        self.own_counts = counts is None  # without a model's counts, every call of ``run`` is one forward
        self.counts = ForwardCounts() if counts is None else counts
        self._pending: list[tuple[Item, _Call, int]] = []  # (item, its call, its index in the call)
        self._oldest = 0.0  # when the oldest pending item arrived
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, items: Sequence[Item]) -> list[Any]:
        """Results of ``run`` for these items, in order, computed together with other callers' items."""
        if not items:
            return []
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._loop())
        assert self._wake is not None
        call = _Call(asyncio.get_running_loop().create_future(), len(items))
        if not self._pending:
            self._oldest = time.monotonic()
            self._wake.set()  # the loop starts its wait for more
        self._pending.extend((item, call, i) for i, item in enumerate(items))
        if len(self._pending) >= self.max_batch_size:
            self._wake.set()  # a full batch goes at once
        return await call.future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        assert self._wake is not None
        wake, loop = self._wake, asyncio.get_running_loop()
        while True:
            await wake.wait()  # something is pending
            wake.clear()
            remaining = self._oldest + self.max_wait_s - time.monotonic()
            if len(self._pending) < self.max_batch_size and remaining > 0:
                timer = loop.call_later(remaining, wake.set)  # one timer per batch, not a wait per item
                await wake.wait()
                wake.clear()
                timer.cancel()
            batch, self._pending = self._pending[: self.max_batch_size], self._pending[self.max_batch_size :]
            if self._pending:  # the rest has waited too: it goes next, without a new wait
                self._oldest = 0.0
                wake.set()
            live = [entry for entry in batch if not entry[1].future.done()]  # callers still waiting
            if not live:
                continue
            live.sort(key=lambda entry: self.length(entry[0]))
            try:
                results = await asyncio.to_thread(self.run, [item for item, _, _ in live])
                if self.own_counts:
                    self.counts.add(len(live))
                for (_, call, i), result in zip(live, results, strict=True):
                    call.done(i, result)
            except Exception as exc:  # the callers see the model's failure; the loop serves the next batch
                for _, call, _ in live:
                    if not call.future.done():
                        call.future.set_exception(exc)


class _Call:
    """One ``submit``: its future and the results of its items as their batches finish (one future per call,
    not per item: a forward of 64 items from 16 requests sets 16 results)."""

    __slots__ = ("future", "results", "left")

    def __init__(self, future: asyncio.Future[list[Any]], size: int) -> None:
        self.future = future
        self.results: list[Any] = [None] * size
        self.left = size

    def done(self, index: int, result: Any) -> None:
        self.results[index] = result
        self.left -= 1
        if self.left == 0 and not self.future.done():
            self.future.set_result(self.results)
