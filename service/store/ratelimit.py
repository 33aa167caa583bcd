"""Per-token rate limits (requests and answers per minute), fixed one-minute windows.

With Redis the counters are shared by every replica (``INCRBY`` + ``EXPIRE NX`` in one transaction);
without it they live in this process. When Redis fails the limiter lets requests through: a limit must not
turn a Redis outage into failed scoring.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter

import redis.asyncio as aioredis

from ..core.errors import RateLimited
from .connections import REDIS_ERRORS
from .constants import RATE_PREFIX

logger = logging.getLogger(__name__)
WINDOW_S = 60


class RateLimiter:
    def __init__(
        self, requests_per_minute: int | None, answers_per_minute: int | None, client: aioredis.Redis | None = None
    ) -> None:
        self.limits = {"requests": requests_per_minute, "answers": answers_per_minute}
        self.client = client
        self._local: Counter[str] = Counter()

    @property
    def enabled(self) -> bool:
        return any(limit is not None for limit in self.limits.values())

    async def spend(self, token: str | None, kind: str, amount: int) -> None:
        """Count ``amount`` of ``kind`` for this token; 429 (RateLimited) when the minute's budget is gone."""
        limit = self.limits[kind]
        if limit is None or amount <= 0:
            return
        window = int(time.time() // WINDOW_S)
        identity = hashlib.sha256((token or "anonymous").encode()).hexdigest()[:32]
        key = f"{RATE_PREFIX}{kind}:{identity}:{window}"
        count = await self._increment(key, amount)
        if count is not None and count > limit:
            retry_after = (window + 1) * WINDOW_S - time.time()
            raise RateLimited(
                f"rate limit of {limit} {kind} per minute exceeded for this token", kind, limit, retry_after
            )

    async def _increment(self, key: str, amount: int) -> int | None:
        if self.client is None:
            self._local[key] += amount
            if len(self._local) > 100_000:  # old windows
                self._local = Counter({k: v for k, v in self._local.items() if k.endswith(key.rsplit(":", 1)[1])})
            return self._local[key]
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incrby(key, amount)
                pipe.expire(key, WINDOW_S + 1, nx=True)
                count, _ = await pipe.execute()
            return int(count)
        except REDIS_ERRORS as exc:
            logger.warning("rate limiter cannot reach redis (%r); letting the request through", exc)
            return None
