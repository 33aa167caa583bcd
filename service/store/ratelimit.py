"""Per-token rate limits (requests and answers per minute), fixed one-minute windows.

With Redis the counters are shared by every replica (``INCRBY`` + ``EXPIRE NX`` in one transaction);
without it they live in this process. When Redis fails the limiter lets requests through: a limit must not
turn a Redis outage into failed scoring.
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis.asyncio as aioredis

from ..core.errors import RateLimited
from .constants import RATE_PREFIX
from .windows import WINDOW_S, WindowCounters, current_window

logger = logging.getLogger(__name__)


class RateLimiter:
    def __init__(
        self, requests_per_minute: int | None, answers_per_minute: int | None, client: aioredis.Redis | None = None
    ) -> None:
        self.limits = {"requests": requests_per_minute, "answers": answers_per_minute}
        self.counters = WindowCounters(client)

    @property
    def enabled(self) -> bool:
        return any(limit is not None for limit in self.limits.values())

    async def spend(self, token: str | None, kind: str, amount: int) -> None:
        """Count ``amount`` of ``kind`` for this token; 429 (RateLimited) when the minute's budget is gone."""
        limit = self.limits[kind]
        if limit is None or amount <= 0:
            return
        window = current_window()
        identity = hashlib.sha256((token or "anonymous").encode()).hexdigest()[:32]
        key = f"{RATE_PREFIX}{kind}:{identity}:{window}"
        counts = await self.counters.add({key: amount})
        if counts is None:
            logger.warning("rate limiter cannot reach redis; letting the request through")
        elif counts[key] > limit:
            retry_after = (window + 1) * WINDOW_S - time.time()
            raise RateLimited(
                f"rate limit of {limit} {kind} per minute exceeded for this token", kind, limit, retry_after
            )
