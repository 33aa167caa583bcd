"""The replay log's sinks and line format: an :class:`~service.core.appender.Appender` writes every scored
group to a JSONL file (``O_APPEND``, one write per batch, rotated to ``<path>.1`` past a size) or a Redis stream
(``XADD`` with an approximate length cap); dropped entries are counted in
``vpo_replay_entries_total{outcome="dropped"}``. The log never slows down or fails a scoring request.

One line (or stream entry) per group::

    {"v": 1, "time": 1795660000.1, "request_id": "...", "version": "0.1.0",
     "request": {...the group, as a /v1/score body...}, "response": {...the /v1/score result...}}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..core.appender import Appender, Recorded, Sink
from ..core.text import dump_json

FORMAT_VERSION = 1


class JsonlSink:
    """Appends to a JSONL file; ``{pid}`` in the path gives each process its own file. Past ``max_bytes`` the
    file moves to ``<path>.1`` (replacing the previous one) and a new file starts."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path.replace("{pid}", str(os.getpid()))
        self.max_bytes = max_bytes
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)

    async def append(self, lines: Sequence[str]) -> None:
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


class RedisStreamSink:
    """``XADD key MAXLEN ~ max_entries * entry <json>`` per entry, one pipeline per batch."""

    def __init__(self, redis: Any, key: str, max_entries: int) -> None:
        self.redis = redis
        self.key = key
        self.max_entries = max_entries

    async def append(self, lines: Sequence[str]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for line in lines:
                pipe.xadd(self.key, {"entry": line}, maxlen=self.max_entries, approximate=True)
            await pipe.execute()


def entry_line(recorded: Recorded) -> str:
    """One log line; the request and response JSON are spliced in as pydantic writes them."""
    head = json.dumps(
        {"v": FORMAT_VERSION, "time": round(recorded.at, 3), "request_id": recorded.request_id, "version": __version__}
    )
    request, response = dump_json(recorded.group.request), dump_json(recorded.response)
    return f'{head[:-1]}, "request": {request}, "response": {response}}}'


def build_recorder(settings: Any, redis: Any) -> Appender[str] | None:
    """The replay log the settings ask for (``replay_log``), or None when it is off."""
    if not settings.replay_log:
        return None
    sink: Sink[str]
    if settings.replay_log == "redis":  # Settings made sure that redis_url is set
        sink = RedisStreamSink(redis, settings.replay_stream, settings.replay_max_entries)
    else:
        sink = JsonlSink(settings.replay_log, settings.replay_max_bytes)
    return Appender(sink, entry_line, "replay log")
