"""Prometheus metrics of one app (its own registry, so several apps can live in one process, as in tests).

With ``workers > 1`` each uvicorn worker process counts for itself; scrape every pod (one process each,
as the Kubernetes deployment runs it) rather than relying on one process's view.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cache_hits = Counter(
            "vpo_cache_hits", "Reward rows found in the cache", ["scorer"], registry=self.registry
        )
        self.cache_misses = Counter(
            "vpo_cache_misses", "Reward rows not in the cache (scored)", ["scorer"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
