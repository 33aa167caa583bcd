"""The reward cache in Redis, shared by replicas: same keys as the in-process cache, rows as packed float64.

Lookups and writes issued in the same event-loop turn (every group of a batch, every scorer of a group)
are coalesced into one ``MGET`` and one pipelined ``SET ... EX`` batch, so a batch costs O(1) round trips,
not O(answers). When Redis fails, the cache reports misses and drops writes for ``pause_s``, then tries
again: scoring never fails because of the cache, and caching resumes by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import redis.asyncio as aioredis

from .constants import CACHE_PREFIX

logger = logging.getLogger(__name__)


class RedisCache:
    def __init__(self, client: aioredis.Redis, ttl_s: int, pause_s: float = 1.0) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.pause_s = pause_s
        self.round_trips = 0
        self._down_until = 0.0
        self._gets: list[tuple[Sequence[str], asyncio.Future[list[list[float] | None]]]] = []
        self._sets: dict[str, list[float]] = {}
        self._get_flush: asyncio.Handle | None = None
        self._set_flush: asyncio.Handle | None = None
        self._flushing: set[asyncio.Future[None]] = set()

    @property
    def enabled(self) -> bool:
        return True

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def get_many(self, keys: Sequence[str]) -> list[list[float] | None]:
        if not keys or not self.available:
            return [None] * len(keys)
        future: asyncio.Future[list[list[float] | None]] = asyncio.get_running_loop().create_future()
        self._gets.append((keys, future))
        if self._get_flush is None:
            self._get_flush = asyncio.get_running_loop().call_soon(self._spawn, self._flush_gets)
        return await future

    async def set_many(self, rows: Mapping[str, list[float]]) -> None:
        if not rows or not self.available:
            return
        self._sets.update(rows)
        if self._set_flush is None:
            self._set_flush = asyncio.get_running_loop().call_soon(self._spawn, self._flush_sets)

    def _spawn(self, flush: object) -> None:
        task = asyncio.ensure_future(flush())  # type: ignore[operator]
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def drain(self) -> None:
        """Wait until every read and write handed over so far has reached Redis (or failed): at shutdown, so
        that no computed row is dropped, and wherever a caller must see its writes landed."""
        while self._flushing or self._get_flush is not None or self._set_flush is not None:
            await asyncio.gather(*self._flushing, asyncio.sleep(0))

    async def _flush_gets(self) -> None:
        batch, self._gets, self._get_flush = self._gets, [], None
        keys = [CACHE_PREFIX + key for wanted, _ in batch for key in wanted]
        try:
            self.round_trips += 1
            values = await self.client.mget(keys)
        except Exception as exc:  # whatever went wrong, the waiting requests get misses, never an error
            self._fail(exc)
            values = [None] * len(keys)
        rows: list[list[float] | None] = [
            np.frombuffer(v, dtype="<f8").tolist() if isinstance(v, bytes) else None for v in values
        ]
        start = 0
        for wanted, future in batch:
            if not future.done():
                future.set_result(rows[start : start + len(wanted)])
            start += len(wanted)

    async def _flush_sets(self) -> None:
        rows, self._sets, self._set_flush = self._sets, {}, None
        try:
            self.round_trips += 1
            async with self.client.pipeline(transaction=False) as pipe:
                for key, row in rows.items():
                    pipe.set(CACHE_PREFIX + key, np.asarray(row, dtype="<f8").tobytes(), ex=self.ttl_s)
                await pipe.execute()
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.available:
            logger.warning("redis cache unavailable (%r); scoring without it for %.1f s", exc, self.pause_s)
        self._down_until = time.monotonic() + self.pause_s
