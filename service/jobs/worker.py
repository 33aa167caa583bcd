"""The job worker (``vpo-rewards worker``): an arq worker whose one function scores a batch.

It builds the same scorers and pipeline as the API (from the same settings), scores the groups as they
finish and records progress in Redis. arq keeps a job in its queue until it completes, so a job whose worker
dies is run again by another worker once the dead one's claim expires (``job_timeout_s`` + 10 s).
"""

from __future__ import annotations

import contextlib
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker, func

from ..api.protocol import BatchRequest
from ..core.config import Settings
from ..core.heap import freeze_startup_objects
from ..dashboard.history import build_history
from ..replay.recorder import build_recorder
from ..scorers.registry import ScorerRegistry
from ..scoring.pipeline import ScoringPipeline
from ..scoring.prepare import prepare_batch
from ..store.cache import RedisCache
from ..store.connections import REDIS_ERRORS, create_redis
from ..store.constants import JOB_PROGRESS_PREFIX, JOB_QUEUE
from .queue import JOB_FUNCTION, deserialize, serialize


async def score_batch_job(ctx: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    settings: Settings = ctx["settings"]
    request = BatchRequest.model_validate(body)
    prepared = prepare_batch(request.groups, ctx["registry"], settings.limits, deadline_ms=request.deadline_ms)
    results: list[Any] = [None] * len(prepared)
    progress_key = JOB_PROGRESS_PREFIX + ctx["job_id"]
    # progress is best effort: Redis going away for a moment must not fail the job (arq stores the result once
    # Redis is back, or runs the job again)
    with contextlib.suppress(*REDIS_ERRORS):
        await ctx["redis"].hset(progress_key, mapping={"done": 0, "total": len(prepared)})  # a retry starts over
    async for index, result in ctx["pipeline"].stream_batch(prepared):
        results[index] = result.model_dump(mode="json")
        with contextlib.suppress(*REDIS_ERRORS):
            await ctx["redis"].hincrby(progress_key, "done", 1)
    return {"results": results}


async def _startup(ctx: dict[str, Any]) -> None:
    """Builds the scorers once: arq calls this again when the worker goes on after a Redis outage."""
    if "registry" in ctx:
        return
    settings: Settings = ctx["settings"]
    assert settings.redis_url is not None
    ctx["cache_redis"] = create_redis(settings.redis_url, settings.redis_timeout_s)
    registry = ScorerRegistry.discover(settings)
    await registry.start()
    ctx["registry"] = registry
    ctx["pipeline"] = ScoringPipeline(
        RedisCache(ctx["cache_redis"], settings.cache_ttl_s), settings.max_concurrent_groups
    )
    # the replay log and the dashboard's (Redis) history see the groups of jobs too
    for name, appender in (("recorder", build_recorder(settings, ctx["cache_redis"])),
                           ("history", build_history(settings, ctx["cache_redis"]))):  # fmt: skip
        if appender is not None:
            ctx["pipeline"].observers.append(appender.record)
            await appender.start()
            ctx[name] = appender
    freeze_startup_objects()


async def shutdown(ctx: dict[str, Any]) -> None:
    """Closes what ``_startup`` built (once, however often it is called)."""
    if "registry" in ctx:
        await ctx.pop("registry").close()
    for name in ("recorder", "history"):
        if name in ctx:
            await ctx.pop(name).close()
    if "cache_redis" in ctx:
        await ctx.pop("cache_redis").aclose()


def build_worker(settings: Settings, *, burst: bool = False) -> Worker:
    """The arq worker for these settings (``burst``: drain the queue, then return)."""
    if settings.redis_url is None:
        raise ValueError("the job worker needs Redis: set VPO_REDIS_URL")
    return Worker(
        functions=[func(score_batch_job, name=JOB_FUNCTION, timeout=settings.job_timeout_s)],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=JOB_QUEUE,
        burst=burst,
        job_timeout=settings.job_timeout_s,
        keep_result=settings.job_result_ttl_s,
        max_tries=settings.job_max_tries,
        poll_delay=0.2,
        on_startup=_startup,
        on_shutdown=shutdown,
        ctx={"settings": settings},
        job_serializer=serialize,
        job_deserializer=deserialize,
        handle_signals=False,
    )
