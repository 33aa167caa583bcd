"""Appending scored groups somewhere (a file, a Redis stream or list) off the request's path.

``record`` only queues the group and its result; a background task turns each into an item (``render``: a
JSON line, or whatever its sink takes) and appends them in batches to a sink. A sink that fails (Redis down,
disk full) is retried with backoff while the queue holds; entries beyond its capacity are dropped and
counted: an appender never slows down or fails a scoring request. ``close`` appends what is queued (one try).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from ..store.connections import REDIS_ERRORS
from .logs import REQUEST_ID

if TYPE_CHECKING:
    from ..api.protocol import ScoreResponse
    from ..scoring.prepare import PreparedGroup

logger = logging.getLogger(__name__)
QUEUE_CAPACITY = 10_000  # entries waiting for the sink
BATCH = 256  # entries per append
RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Recorded:
    """A scored group as an observer of the pipeline saw it."""

    at: float  # time.time()
    request_id: str | None
    group: PreparedGroup
    response: ScoreResponse


Item = TypeVar("Item")
Item_contra = TypeVar("Item_contra", contravariant=True)


class Sink(Protocol[Item_contra]):
    async def append(self, items: Sequence[Item_contra]) -> None: ...


class Appender(Generic[Item]):
    """Queues scored groups and appends ``render(recorded)`` of each to ``sink`` from a background task."""

    def __init__(
        self, sink: Sink[Item], render: Callable[[Recorded], Item], name: str, capacity: int = QUEUE_CAPACITY
    ) -> None:
        self.sink = sink
        self.render = render
        self.name = name
        self.capacity = capacity
        self.pending: deque[Recorded] = deque()
        self.written = 0
        self.dropped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def record(self, group: PreparedGroup, response: ScoreResponse) -> None:
        if len(self.pending) >= self.capacity:
            self.dropped += 1
            return
        self.pending.append(Recorded(time.time(), REQUEST_ID.get(), group, response))
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self.pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self.pending[i] for i in range(min(BATCH, len(self.pending)))]
            try:
                await self.sink.append(self._render(batch))
            except REDIS_ERRORS as exc:  # OSError included: a full disk, a missing directory
                failures += 1
                if self._closing:
                    self.dropped += len(self.pending)
                    self.pending.clear()
                    logger.warning("%s: %s; %d entries not written", self.name, exc, self.dropped)
                    return
                if failures == 1:
                    logger.warning("%s: %s; retrying", self.name, exc)
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S)) - 1])
                continue
            failures = 0
            for _ in batch:
                self.pending.popleft()
            self.written += len(batch)

    def _render(self, batch: list[Recorded]) -> list[Item]:
        items = []
        for recorded in batch:
            try:
                items.append(self.render(recorded))
            except (ValueError, TypeError) as exc:  # not expected: a value that cannot be written as JSON
                self.dropped += 1
                logger.warning("%s: an entry could not be written as JSON: %s", self.name, exc)
        return items
