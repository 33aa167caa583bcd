"""Prometheus metrics of one app (its own registry, so several apps can live in one process, as in tests).

Request counts and latencies per endpoint (the route's template, so ids in paths do not make new series),
scorer calls and latencies per scorer, cache hits and misses; and, read from the scorers when scraped, the
sandbox (workers, queue depth, executions, failures by reason, verdicts) and the model batchers (forwards,
items, batch sizes). With ``workers > 1`` each uvicorn worker process counts for itself; scrape every pod (one
process each, as the Kubernetes deployment runs it) rather than relying on one process's view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cache_hits = Counter(
            "vpo_cache_hits", "Reward rows found in the cache", ["scorer"], registry=self.registry
        )
        self.cache_misses = Counter(
            "vpo_cache_misses", "Reward rows not in the cache (scored)", ["scorer"], registry=self.registry
        )
        self.requests = Counter(
            "vpo_requests", "HTTP requests answered", ["endpoint", "method", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "vpo_request_seconds", "HTTP request latency", ["endpoint"], buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.scorer_calls = Counter(
            "vpo_scorer_calls", "Scorer calls (one per batch of tasks)", ["scorer", "outcome"], registry=self.registry
        )
        self.scorer_seconds = Histogram(
            "vpo_scorer_seconds", "Scorer call latency", ["scorer"], buckets=LATENCY_BUCKETS, registry=self.registry
        )

    def watch_jobs(self) -> Gauge:
        """The job queue's depth (jobs waiting for a worker, shared by every replica), set at each scrape."""
        return Gauge("vpo_jobs_queue_depth", "Jobs waiting in the Redis queue", registry=self.registry)

    def watch_scorers(self, scorers: Callable[[], Iterable[Any]]) -> None:
        """Export what the scorers count themselves (sandbox pool, verdicts, model batchers) when scraped."""
        self.registry.register(_ScorerCollector(scorers))

    def watch_replay(self, recorder: Any) -> None:
        """Export the replay log's written and dropped entries and its queue when scraped."""
        self.registry.register(_ReplayCollector(recorder))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ReplayCollector(Collector):
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Any]:
        entries = CounterMetricFamily("vpo_replay_entries", "Replay log entries by outcome", labels=["outcome"])
        entries.add_metric(["written"], self.recorder.written)
        entries.add_metric(["dropped"], self.recorder.dropped)
        queued = GaugeMetricFamily("vpo_replay_queue_depth", "Replay log entries waiting to be written")
        queued.add_metric([], len(self.recorder.pending))
        yield from (entries, queued)


class _ScorerCollector(Collector):
    def __init__(self, scorers: Callable[[], Iterable[Any]]) -> None:
        self.scorers = scorers

    def collect(self) -> Iterator[Any]:
        workers = GaugeMetricFamily("vpo_sandbox_workers", "Sandbox workers running")
        queued = GaugeMetricFamily("vpo_sandbox_queue_depth", "Execution units waiting for a sandbox worker")
        spares = GaugeMetricFamily("vpo_sandbox_spares_running", "Spare workers on a unit while others are held")
        executions = CounterMetricFamily("vpo_sandbox_executions", "Execution units run in the sandbox")
        failures = CounterMetricFamily(
            "vpo_sandbox_failures", "Sandbox events by reason (worker restarts, failed restarts, refusals)",
            labels=["reason"],
        )  # fmt: skip
        verdicts = CounterMetricFamily("vpo_sandbox_verdicts", "Test verdicts of the tests scorer", labels=["verdict"])
        forwards = CounterMetricFamily("vpo_model_forwards", "Batched model forwards", labels=["scorer", "model"])
        items = CounterMetricFamily("vpo_model_items", "Items through model forwards", labels=["scorer", "model"])
        sizes = HistogramMetricFamily("vpo_model_batch_size", "Items per model forward", labels=["scorer", "model"])
        for scorer in self.scorers():
            pool = getattr(scorer, "pool", None)
            if pool is not None:
                status = pool.status()
                workers.add_metric([], status.get("workers", 0))
                queued.add_metric([], status.get("queued", 0))
                spares.add_metric([], status.get("spares_running", 0))
                executions.add_metric([], status.get("executions", 0))
                for reason in ("worker_restarts", "failures", "overloaded"):
                    failures.add_metric([reason], status.get(reason, 0))
            for verdict, count in sorted(getattr(scorer, "verdicts", {}).items()):
                verdicts.add_metric([verdict], count)
            for model, batcher in sorted(getattr(scorer, "batchers", {}).items()):
                labels = [scorer.name, model]
                forwards.add_metric(labels, batcher.forwards)
                items.add_metric(labels, batcher.items)
                counts = batcher.sizes
                buckets = [(str(b), sum(c for s, c in counts.items() if s <= b)) for b in BATCH_BUCKETS]
                buckets.append(("+Inf", batcher.forwards))
                sizes.add_metric(labels, buckets, sum_value=batcher.items)
        yield from (workers, queued, spares, executions, failures, verdicts, forwards, items, sizes)
