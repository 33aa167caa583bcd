"""The dashboard's live figures, read from the app's Prometheus metrics: totals of the scoring endpoints
(the dashboard's own polling, probes and metrics scrapes left out)."""

from __future__ import annotations

import math
import time
from typing import Any

from ..core.metrics import Metrics

STARTED = time.time()
NOT_SCORING = ("/v1/dashboard", "/metrics", "/healthz", "/readyz", "/dashboard", "/", "unmatched", "/v1/scorers")


def _scoring(endpoint: str) -> bool:
    return not any(endpoint == prefix or endpoint.startswith(prefix + "/") for prefix in NOT_SCORING)


def read_stats(metrics: Metrics) -> dict[str, Any]:
    requests = errors = latency_sum = hits = misses = 0.0
    buckets: dict[float, float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            endpoint = sample.labels.get("endpoint", "")
            if sample.name == "vpo_requests_total" and _scoring(endpoint):
                requests += sample.value
                errors += sample.value if sample.labels.get("status", "").startswith("5") else 0.0
            elif sample.name == "vpo_request_seconds_sum" and _scoring(endpoint):
                latency_sum += sample.value
            elif sample.name == "vpo_request_seconds_bucket" and _scoring(endpoint):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == "vpo_cache_hits_total":
                hits += sample.value
            elif sample.name == "vpo_cache_misses_total":
                misses += sample.value
    now = time.time()
    return {
        "time": now,
        "uptime_s": now - STARTED,
        "requests": requests,
        "errors": errors,
        "latency_sum_s": latency_sum,
        "latency_buckets": [(b if math.isfinite(b) else 1e9, c) for b, c in sorted(buckets.items())],
        "cache_hits": hits,
        "cache_misses": misses,
    }
