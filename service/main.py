"""Builds the FastAPI app; nothing else. ``uvicorn --factory service.main:create_app`` serves it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from . import __version__
from .api.errors import install_error_handlers
from .api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from .api.routes import dashboard, health, jobs, profiles, score, scorers, search, vpo
from .core.config import Settings, get_settings
from .core.heap import freeze_startup_objects
from .core.state import AppState
from .dashboard.history import build_history
from .jobs.queue import JobQueue
from .replay.recorder import build_recorder
from .scorers.registry import ScorerRegistry
from .scoring.cache import LRUCache, RewardCache
from .scoring.pipeline import ScoringPipeline
from .store.cache import RedisCache
from .store.connections import create_redis
from .store.ratelimit import RateLimiter


def create_app(settings: Settings | None = None, registry: ScorerRegistry | None = None) -> FastAPI:
    """The service app. Without arguments, settings come from the environment / config file and the
    scorers from the built-ins plus the ``vpo_rewards.scorers`` entry points."""
    settings = settings or get_settings()
    redis = create_redis(settings.redis_url, settings.redis_timeout_s) if settings.redis_url else None
    cache: RewardCache = RedisCache(redis, settings.cache_ttl_s) if redis else LRUCache(settings.cache_size)
    state = AppState(
        settings=settings,
        registry=registry or ScorerRegistry.discover(settings),
        pipeline=ScoringPipeline(cache, settings.max_concurrent_groups),
        limiter=RateLimiter(settings.rate_limit_requests_per_minute, settings.rate_limit_answers_per_minute, redis),
        redis=redis,
        jobs=JobQueue(settings.redis_url, settings.redis_timeout_s) if settings.redis_url else None,
    )
    recorder = build_recorder(settings, redis)
    if recorder is not None:
        state.pipeline.observers.append(recorder.record)
        state.pipeline.metrics.watch_replay(recorder)
    state.history = build_history(settings, redis)
    if state.history is not None:
        state.pipeline.observers.append(state.history.record)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.registry.start()
        if recorder is not None:
            await recorder.start()
        if state.history is not None:
            await state.history.start()
        metrics = state.pipeline.metrics
        snapshots = asyncio.create_task(metrics.snapshots()) if metrics.directory else None  # several workers
        freeze_startup_objects()
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            if snapshots is not None:
                snapshots.cancel()
                metrics.write_snapshot()  # this worker's last counts stay in the others' totals
            await state.registry.close()
            if recorder is not None:
                await recorder.close()  # what was scored is in the log before the process ends
            if state.history is not None:
                await state.history.close()
            if isinstance(state.pipeline.cache, RedisCache):
                await state.pipeline.cache.drain()  # the last writes land before the connection closes
            if redis is not None:
                await redis.aclose()
            if state.jobs is not None:
                await state.jobs.close()

    app = FastAPI(
        title="vpo-rewards",
        version=__version__,
        summary="Reward vectors, VPO set scores and advantages for RL on language models.",
        lifespan=lifespan,
    )
    app.state.vpo = state
    state.pipeline.metrics.watch_scorers(lambda: list(state.registry))
    if state.jobs is not None:
        state.jobs_depth = state.pipeline.metrics.watch_jobs()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.limits.max_body_bytes)
    # outermost: every response, errors included, carries the id, and is counted
    app.add_middleware(RequestIdMiddleware, metrics=state.pipeline.metrics)
    for module in (health, scorers, score, vpo, search, jobs, profiles, dashboard):
        app.include_router(module.router)
    app.include_router(dashboard.page)
    app.mount("/dashboard", StaticFiles(directory=dashboard.STATIC), name="dashboard-assets")
    return app
