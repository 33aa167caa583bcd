"""What one running app holds: its settings, scorers and scoring pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scorers.registry import ScorerRegistry
from ..scoring.pipeline import ScoringPipeline
from ..store.ratelimit import RateLimiter
from .config import Settings


@dataclass
class AppState:
    settings: Settings
    registry: ScorerRegistry
    pipeline: ScoringPipeline
    limiter: RateLimiter
    redis: Any = None  # redis.asyncio.Redis when VPO_REDIS_URL is set
    jobs: Any = None  # service.jobs.queue.JobQueue when VPO_REDIS_URL is set
    jobs_depth: Any = None  # its prometheus Gauge, set when /metrics is scraped
    history: Any = None  # service.dashboard.history.History when the dashboard is on
    ready: bool = False
