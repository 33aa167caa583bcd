"""Prometheus metrics of one app (its own registry, so several apps can live in one process, as in tests).

Request counts and latencies per endpoint (the route's template, so ids in paths do not make new series),
scorer calls and latencies per scorer, cache hits and misses; and, read from the scorers when scraped, the
sandbox (workers, queue depth, executions, failures by reason, verdicts) and the model batchers (forwards,
items, batch sizes).

With ``serve --workers N`` the workers count together: ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve``) makes
prometheus_client keep the counters and histograms in files there, one per process, and a scrape, whichever
worker answers it, adds them up. What the scorers count themselves (the sandbox pool, the model batchers),
each worker writes there as a snapshot, at each scrape and every few seconds; a scrape adds up the snapshots
(of live workers only, for gauges), except the counts of a shared model process, which every worker sees
the same: of those it takes the largest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
SNAPSHOT_EVERY_S = 2.0
SHARED_FAMILIES = ("vpo_model_forwards", "vpo_model_items", "vpo_model_batch_size")  # a shared model process's


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.directory = os.environ.get(MULTIPROCESS_ENV) or None  # several workers: see the module's docstring
        if self.directory is not None:
            os.makedirs(self.directory, exist_ok=True)  # prometheus_client writes there from the first metric on
        self.own: list[Collector] = []  # the collectors that read this process's scorers
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
        return Gauge("vpo_jobs_queue_depth", "Jobs waiting in the Redis queue", registry=self.registry,
                     multiprocess_mode="mostrecent")  # fmt: skip

    def watch_scorers(self, scorers: Callable[[], Iterable[Any]]) -> None:
        """Export what the scorers count themselves (sandbox pool, verdicts, model batchers) when scraped."""
        self._watch(_ScorerCollector(scorers))

    def watch_replay(self, recorder: Any) -> None:
        """Export the replay log's written and dropped entries and its queue when scraped."""
        self._watch(_ReplayCollector(recorder))

    def _watch(self, collector: Collector) -> None:
        self.own.append(collector)
        if self.directory is None:
            self.registry.register(collector)

    def render(self) -> bytes:
        if self.directory is None:
            return generate_latest(self.registry)
        self.write_snapshot()
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.directory)  # type: ignore[no-untyped-call]
        registry.register(_Snapshots(self.directory))
        return generate_latest(registry)

    def write_snapshot(self) -> None:
        """This process's own collectors' samples, for the other workers' scrapes (several workers only)."""
        if self.directory is None:
            return
        families = []
        for collector in self.own:
            collected = list(collector.collect())  # first: it tells whether its model counts are shared
            for family in collected:
                shared = family.name in SHARED_FAMILIES and getattr(collector, "shared", False)
                samples = [[sample.name, sample.labels, sample.value] for sample in family.samples]
                families.append({"name": family.name, "type": family.type, "documentation": family.documentation,
                                 "merge": "max" if shared else "sum", "samples": samples})  # fmt: skip
        path = Path(self.directory) / f"snapshot_{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(families))
        os.replace(temporary, path)  # a scrape reads a whole snapshot, never half of one

    async def snapshots(self) -> None:
        """Writes this process's snapshot every few seconds (several workers only), until cancelled."""
        while self.directory is not None:
            with contextlib.suppress(OSError):
                self.write_snapshot()
            await asyncio.sleep(SNAPSHOT_EVERY_S)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Snapshots(Collector):
    """Every worker's snapshot, added up: counters over every worker that ever wrote one (a dead worker's
    counts stay in the total, as prometheus_client does for its own counters), gauges over live workers."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        values: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}
        for path in sorted(self.directory.glob("snapshot_*.json")):
            pid = int(path.stem.split("_", 1)[1])
            try:
                families = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            live = _alive(pid)
            for family in families:
                if family["type"] == "gauge" and not live:
                    continue
                if family["name"] not in merged:
                    merged[family["name"]] = Metric(family["name"], family["documentation"], family["type"])
                for name, labels, value in family["samples"]:
                    key = (family["name"], name, tuple(sorted(labels.items())))
                    if key not in values:
                        values[key] = value
                    elif family["merge"] == "max":
                        values[key] = max(values[key], value)
                    else:
                        values[key] += value
        for (family, name, labels), value in values.items():
            merged[family].add_sample(name, dict(labels), value)
        yield from merged.values()


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
        self.shared = False  # as of the last collect: the model counts are a shared model process's

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
        shared = False  # the model counts are a shared model process's, the same in every worker
        for scorer in self.scorers():
            pool = getattr(scorer, "pool", None)
            if pool is not None:
                status = pool.status()
                workers.add_metric([], status.get("workers", 0))
                queued.add_metric([], status.get("queued", 0))
                spares.add_metric([], status.get("spares_running", 0))
                executions.add_metric([], status.get("executions", 0))
                for reason in ("worker_restarts", "worker_recycles", "failures", "overloaded"):
                    failures.add_metric([reason], status.get(reason, 0))
            for verdict, count in sorted(getattr(scorer, "verdicts", {}).items()):
                verdicts.add_metric([verdict], count)
            for model, batcher in sorted(getattr(scorer, "batchers", {}).items()):
                shared = shared or hasattr(batcher, "client")
                labels = [scorer.name, model]
                forward_count, item_count, counts = batcher.counts.snapshot()  # one instant's, all agreeing
                forwards.add_metric(labels, forward_count)
                items.add_metric(labels, item_count)
                buckets = [(str(b), sum(c for s, c in counts.items() if s <= b)) for b in BATCH_BUCKETS]
                buckets.append(("+Inf", forward_count))
                sizes.add_metric(labels, buckets, sum_value=item_count)
        self.shared = shared
        yield from (workers, queued, spares, executions, failures, verdicts, forwards, items, sizes)
