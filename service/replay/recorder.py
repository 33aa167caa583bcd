"""Appending scored groups to the replay log, off the request's path.

``record`` only queues the group and its result; a background task serialises them and appends them in
batches to a sink: a JSONL file (``O_APPEND``, one write per batch, rotated to ``<path>.1`` past a size) or a
Redis stream (``XADD`` with an approximate length cap). A sink that fails (Redis down, disk full) is retried
with backoff while the queue holds; entries beyond its capacity are dropped and counted in
``vpo_replay_entries_total{outcome="dropped"}``: the log never slows down or fails a scoring request.

One line (or stream entry) per group::

    {"v": 1, "time": 1795660000.1, "request_id": "...", "version": "0.1.0",
     "request": {...the group, as a /v1/score body...}, "response": {...the /v1/score result...}}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from typing import Any, Protocol

from .. import __version__
from ..api.protocol import ScoreResponse
from ..core.logs import REQUEST_ID
from ..scoring.prepare import PreparedGroup
from ..store.connections import REDIS_ERRORS

logger = logging.getLogger(__name__)
FORMAT_VERSION = 1
QUEUE_CAPACITY = 10_000  # entries waiting for the sink
BATCH = 256  # entries per append
RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)


class Sink(Protocol):
    async def append(self, lines: list[str]) -> None: ...

    async def close(self) -> None: ...


class JsonlSink:
    """Appends to a JSONL file; ``{pid}`` in the path gives each process its own file. Past ``max_bytes`` the
    file moves to ``<path>.1`` (replacing the previous one) and a new file starts."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path.replace("{pid}", str(os.getpid()))
        self.max_bytes = max_bytes
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)

    async def append(self, lines: list[str]) -> None:
        await asyncio.to_thread(self._append, "".join(line + "\n" for line in lines).encode())

    def _append(self, data: bytes) -> None:
        with contextlib.suppress(FileNotFoundError):
            if os.path.getsize(self.path) + len(data) > self.max_bytes:
                os.replace(self.path, self.path + ".1")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    async def close(self) -> None:
        return None


class RedisStreamSink:
    """``XADD key MAXLEN ~ max_entries * entry <json>`` per entry, one pipeline per batch."""

    def __init__(self, redis: Any, key: str, max_entries: int) -> None:
        self.redis = redis
        self.key = key
        self.max_entries = max_entries

    async def append(self, lines: list[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for line in lines:
                pipe.xadd(self.key, {"entry": line}, maxlen=self.max_entries, approximate=True)
            await pipe.execute()

    async def close(self) -> None:
        return None


class ReplayRecorder:
    """Queues scored groups and appends them to ``sink`` from a background task (``start`` / ``close``)."""

    def __init__(self, sink: Sink, capacity: int = QUEUE_CAPACITY) -> None:
        self.sink = sink
        self.capacity = capacity
        self.pending: deque[tuple[float, str | None, PreparedGroup, ScoreResponse]] = deque()
        self.written = 0
        self.dropped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def record(self, group: PreparedGroup, response: ScoreResponse) -> None:
        if len(self.pending) >= self.capacity:
            self.dropped += 1
            return
        self.pending.append((time.time(), REQUEST_ID.get(), group, response))
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Appends what is queued (one try), then stops."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.sink.close()

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
                await self.sink.append(self._lines(batch))
            except REDIS_ERRORS as exc:  # OSError included: a full disk, a missing directory
                failures += 1
                if self._closing:
                    self.dropped += len(self.pending)
                    self.pending.clear()
                    logger.warning("replay log: %s; %d entries not written", exc, self.dropped)
                    return
                if failures == 1:
                    logger.warning("replay log: %s; retrying", exc)
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S)) - 1])
                continue
            failures = 0
            for _ in batch:
                self.pending.popleft()
            self.written += len(batch)

    def _lines(self, batch: list[tuple[float, str | None, PreparedGroup, ScoreResponse]]) -> list[str]:
        lines = []
        for item in batch:
            try:
                lines.append(entry_line(*item))
            except (ValueError, TypeError) as exc:  # not expected: a value pydantic cannot write as JSON
                self.dropped += 1
                logger.warning("replay log: an entry could not be written as JSON: %s", exc)
        return lines


def entry_line(at: float, request_id: str | None, group: PreparedGroup, response: ScoreResponse) -> str:
    """One log line; the request and response JSON are spliced in as pydantic writes them."""
    head = json.dumps({"v": FORMAT_VERSION, "time": round(at, 3), "request_id": request_id, "version": __version__})
    return f'{head[:-1]}, "request": {group.request.model_dump_json()}, "response": {response.model_dump_json()}}}'


def build_recorder(settings: Any, redis: Any) -> ReplayRecorder | None:
    """The recorder the settings ask for (``replay_log``), or None when the log is off."""
    if not settings.replay_log:
        return None
    if settings.replay_log == "redis":  # Settings made sure that redis_url is set
        return ReplayRecorder(RedisStreamSink(redis, settings.replay_stream, settings.replay_max_entries))
    return ReplayRecorder(JsonlSink(settings.replay_log, settings.replay_max_bytes))
