"""The Redis connection: short timeouts and no retries, so that an unreachable Redis costs a request at
most a fraction of a second (the callers then go on without it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from ..core.errors import Unavailable

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def create_redis(url: str, timeout_s: float) -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )
    return client


async def reachable(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except REDIS_ERRORS:
        return False


@contextmanager
def needs_redis(what: str) -> Iterator[None]:
    """For what cannot work without Redis (jobs, a shared history): a Redis failure inside is a 503."""
    try:
        yield
    except REDIS_ERRORS as exc:
        raise Unavailable(f"{what}: Redis cannot be reached ({type(exc).__name__})") from exc
