"""The flow of a scoring request: prepared group -> scorers (cache in front) -> reward array -> estimator.

Identical answers of a group are scored once per scorer; cached rows are not scored again; a scorer that
fails or misses the deadline leaves nulls (with the reason in ``errors``), never a 0 and never a 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainer_client.vpo import GroupEstimate, estimate

from ..api.protocol import REWARD_BOUND, CacheInfo, CompletionParsing, ScoreErrorItem, ScoreResponse
from ..core.errors import ServiceError
from ..core.metrics import Metrics
from ..core.turns import TurnBatcher
from ..scorers.base import ComponentFailure, ScoreOutput, ScoreTask
from .cache import CacheStats, RewardCache, cache_key
from .offload import run_math
from .prepare import PreparedGroup, ScorerUse

logger = logging.getLogger(__name__)
MAX_ERROR_ITEMS = 256
DEADLINE_GRACE_S = 0.25


@dataclass
class ScoredGroup:
    """The reward array of one group before the estimator: one (m_g, d) array per completion."""

    prepared: PreparedGroup
    rewards: list[np.ndarray]
    errors: list[ScoreErrorItem]
    errors_truncated: int
    timings_ms: dict[str, float]
    cache: CacheStats
    details: dict[str, Any] | None = None


@dataclass
class _ScorerResult:
    values: np.ndarray  # (unique answers, components of this scorer)
    failures: list[ComponentFailure] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)  # unique answers that went to the scorer
    details: list[Any] | None = None


class ScoringPipeline:
    """Scores prepared groups with the registry's scorers and a reward cache."""

    def __init__(self, cache: RewardCache, max_concurrent_groups: int = 64, metrics: Metrics | None = None) -> None:
        self.cache = cache
        self.metrics = metrics or Metrics()
        # called with every scored group and its result (the replay log, the dashboard); must not block
        self.observers: list[Callable[[PreparedGroup, ScoreResponse], None]] = []
        self._slots = asyncio.Semaphore(max_concurrent_groups)
        # the groups of concurrent requests that are scored in one turn (a model forward or a sandbox batch
        # released them together) go through the estimator in one vectorised call
        self.estimates: TurnBatcher[ScoredGroup, ScoreResponse] = TurnBatcher(_estimate_all)

    async def score(self, group: PreparedGroup) -> ScoreResponse:
        scored = await self.score_rewards(group)
        return self._observed([group], [await self.estimates.submit(scored)])[0]

    async def score_batch(self, groups: Sequence[PreparedGroup]) -> list[ScoreResponse]:
        """Every group at once; the cache is read once and written once for the whole batch (O(1) round trips
        to a shared cache, whatever the number of groups and answers)."""
        batch = _BatchCache()
        keys = [
            key for g in groups for use in g.scorers if self._reads_cache(g, use) for key in _keys(g, use, _texts(g))
        ]
        found = await self._cache_get(keys)
        batch.rows = {key: row for key, row in zip(keys, found, strict=True) if row is not None}
        scored = await asyncio.gather(*(self.score_rewards(g, batch) for g in groups))
        if batch.pending:
            await self._cache_set(batch.pending)
        return self._observed(groups, await _estimate_all(scored))

    def _observed(self, groups: Sequence[PreparedGroup], responses: list[ScoreResponse]) -> list[ScoreResponse]:
        for observer in self.observers:
            for group, response in zip(groups, responses, strict=True):
                try:
                    observer(group, response)
                except Exception:  # an observer's fault never fails the request that was scored
                    logger.exception("observer %r failed", observer)
        return responses

    async def stream_batch(self, groups: Sequence[PreparedGroup]) -> AsyncIterator[tuple[int, ScoreResponse]]:
        """(index, result) of every group, in the order they finish."""
        tasks = [asyncio.ensure_future(self._score_indexed(i, g)) for i, g in enumerate(groups)]
        try:
            for finished in asyncio.as_completed(tasks):
                index, response = await finished
                yield index, response
        finally:
            for task in tasks:
                task.cancel()

    async def _score_indexed(self, index: int, group: PreparedGroup) -> tuple[int, ScoreResponse]:
        return index, await self.score(group)

    async def score_rewards(self, group: PreparedGroup, batch: _BatchCache | None = None) -> ScoredGroup:
        async with self._slots:
            texts = _texts(group)
            results = await asyncio.gather(*(self._run_scorer(group, use, texts, batch) for use in group.scorers))
        timings = {use.label: ms for use, (_, ms, _) in zip(group.scorers, results, strict=True)}
        stats = CacheStats()
        for _, _, cache_stats in results:
            stats.add(cache_stats)
        values = np.concatenate([r.values for r, _, _ in results], axis=1)
        row_of = {text: i for i, text in enumerate(texts)}
        d = values.shape[1]
        rewards = [
            np.concatenate(
                [values[[row_of[a] for a in parsed.answers]].reshape(-1, d), np.zeros((parsed.num_padded, d))]
            )
            for parsed in group.parsing
        ]
        errors, truncated = _error_items(group, texts, [r for r, _, _ in results])
        details = None
        if group.request.detail:
            details = {
                use.label: _answer_details(group, row_of, result)
                for use, (result, _, _) in zip(group.scorers, results, strict=True)
                if result.details is not None
            }
        return ScoredGroup(group, rewards, errors, truncated, timings, stats, details)

    async def _run_scorer(
        self, group: PreparedGroup, use: ScorerUse, texts: list[str], batch: _BatchCache | None = None
    ) -> tuple[_ScorerResult, float, CacheStats]:
        started = time.perf_counter()
        d = len(use.components)
        values = np.full((len(texts), d), np.nan)
        writes = self._writes_cache(use)
        keys = _keys(group, use, texts) if writes else []
        cached: list[list[float] | None] = [None] * len(texts)
        if self._reads_cache(group, use):
            cached = [batch.rows.get(key) for key in keys] if batch is not None else await self._cache_get(keys)
        missed = [i for i, row in enumerate(cached) if row is None or len(row) != d]
        for i, row in enumerate(cached):
            if row is not None and len(row) == d:
                values[i] = row
        stats = CacheStats(hits=len(texts) - len(missed), misses=len(missed))
        self.metrics.cache_hits.labels(use.scorer.name).inc(stats.hits)
        self.metrics.cache_misses.labels(use.scorer.name).inc(stats.misses)
        result = _ScorerResult(values, missed=missed)
        if missed:
            output = await self._call_scorer(group, use, [texts[i] for i in missed])
            values[missed] = output.values
            result.failures = output.failures
            if output.details is not None:
                result.details = output.details
            if writes:
                complete = {keys[i]: values[i].tolist() for i in missed if not np.isnan(values[i]).any()}
                if complete and batch is not None:
                    batch.pending.update(complete)  # written with the rest of the batch
                elif complete:
                    await self._cache_set(complete)
        return result, (time.perf_counter() - started) * 1000.0, stats

    async def _call_scorer(self, group: PreparedGroup, use: ScorerUse, answers: list[str]) -> ScoreOutput:
        d = len(use.components)
        remaining = None if group.deadline is None else group.deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return ScoreOutput.failed(len(answers), d, "deadline", "the deadline passed before scoring")
        task = ScoreTask(group.request.prompt, answers, use.params)
        name, started, outcome = use.scorer.name, time.perf_counter(), "ok"
        try:
            # scorers that honour the deadline return their partial work themselves; the grace lets them
            async with asyncio.timeout(None if remaining is None else remaining + DEADLINE_GRACE_S):
                outputs = await use.scorer.score([task], deadline=group.deadline)
        except TimeoutError:
            outcome = "deadline"
            return ScoreOutput.failed(len(answers), d, "deadline", f"not scored within {group.request.deadline_ms} ms")
        except ServiceError:
            outcome = "refused"
            raise  # the scorer refuses the request (overloaded, ...): an HTTP error, not a null
        except Exception as exc:
            outcome = "error"
            logger.exception("scorer %s failed", name)
            return ScoreOutput.failed(len(answers), d, "scorer_error", f"{type(exc).__name__}: {exc}")
        finally:
            self.metrics.scorer_calls.labels(name, outcome).inc()
            self.metrics.scorer_seconds.labels(name).observe(time.perf_counter() - started)
        output = outputs[0] if len(outputs) == 1 else None
        if output is None or np.shape(output.values) != (len(answers), d):
            shape = None if output is None else np.shape(output.values)
            message = f"scorer returned values of shape {shape}, expected {(len(answers), d)}"
            logger.error("scorer %s: %s", use.scorer.name, message)
            return ScoreOutput.failed(len(answers), d, "scorer_error", message)
        output.values = np.asarray(output.values, dtype=np.float64)
        beyond = np.abs(output.values) > REWARD_BOUND  # inf included; NaN compares false and stays a null
        if beyond.any():
            output.values = np.where(beyond, np.nan, output.values)
            output.failures.append(
                ComponentFailure("scorer_error", f"the scorer returned a value beyond ±{REWARD_BOUND:g} (or infinite)")
            )
        return output

    def _writes_cache(self, use: ScorerUse) -> bool:
        return use.scorer.cacheable and self.cache.enabled

    def _reads_cache(self, group: PreparedGroup, use: ScorerUse) -> bool:
        """Whether the scorer's values for the group come from the cache where it has them (not with detail:
        the cache keeps values, not the details)."""
        return self._writes_cache(use) and not group.request.detail

    async def _cache_get(self, keys: list[str]) -> list[list[float] | None]:
        try:
            return await self.cache.get_many(keys)
        except Exception:  # a cache outage degrades to scoring everything, never to a failed request
            logger.warning("reward cache read failed; scoring without it", exc_info=True)
            return [None] * len(keys)

    async def _cache_set(self, rows: dict[str, list[float]]) -> None:
        try:
            await self.cache.set_many(rows)
        except Exception:
            logger.warning("reward cache write failed", exc_info=True)


@dataclass
class _BatchCache:
    """A batch's view of the reward cache: the rows read for it up front, the rows it computed to write."""

    rows: dict[str, list[float]] = field(default_factory=dict)
    pending: dict[str, list[float]] = field(default_factory=dict)


def _texts(group: PreparedGroup) -> list[str]:
    """The group's distinct answers (each is scored once)."""
    return list(dict.fromkeys(a for parsed in group.parsing for a in parsed.answers))


def _keys(group: PreparedGroup, use: ScorerUse, texts: list[str]) -> list[str]:
    return [cache_key(use.scorer.name, use.params_json, group.request.prompt, t) for t in texts]


async def _estimate_all(scored: list[ScoredGroup]) -> list[ScoreResponse]:
    """Run the estimator once per distinct estimator config (vectorised over those groups), off the loop."""
    buckets: dict[str, list[int]] = {}
    for i, group in enumerate(scored):
        buckets.setdefault(group.prepared.request.estimator.model_dump_json(), []).append(i)

    def run() -> list[tuple[GroupEstimate, float]]:
        estimates: list[tuple[GroupEstimate, float]] = [None] * len(scored)  # type: ignore[list-item]
        for members in buckets.values():
            started = time.perf_counter()
            first = scored[members[0]].prepared
            results = estimate(
                [scored[i].rewards for i in members],
                first.estimator,
                positions=[scored[i].prepared.position for i in members],
                group_keys=[scored[i].prepared.request.group_key for i in members],
            )
            elapsed = (time.perf_counter() - started) * 1000.0 / len(members)
            for i, result in zip(members, results, strict=True):
                estimates[i] = (result, elapsed)
        return estimates

    values = sum(int(np.size(r)) for group in scored for r in group.rewards)
    estimates = await run_math(run, values * max((g.prepared.estimator.num_weights for g in scored), default=0))
    return [_response(group, result, ms) for group, (result, ms) in zip(scored, estimates, strict=True)]


def _response(scored: ScoredGroup, result: GroupEstimate, estimator_ms: float) -> ScoreResponse:
    group = scored.prepared
    return ScoreResponse(
        components=group.components,
        rewards=[[nullable(row) for row in completion] for completion in scored.rewards],
        set_scores=nullable(result.set_scores),
        valid=result.valid.tolist(),
        advantages=result.advantages.tolist(),
        scalar_scores=nullable(result.scalar_scores),
        scalar_advantages=result.scalar_advantages.tolist(),
        parsing=[
            CompletionParsing(num_parsed=p.num_parsed, num_unique=p.num_unique, num_padded=p.num_padded)
            for p in group.parsing
        ],
        errors=scored.errors,
        errors_truncated=scored.errors_truncated,
        filled=result.filled,
        group_score=result.group_score,
        timings_ms={**scored.timings_ms, "vpo": estimator_ms},
        cache=CacheInfo(hits=scored.cache.hits, misses=scored.cache.misses),
        answers=[p.answers for p in group.parsing] if group.request.detail else None,
        details=scored.details,
    )


def nullable(values: Any) -> list[float | None]:
    """A float list with NaN as None (JSON null)."""
    return [None if math.isnan(v) else float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def _error_items(
    group: PreparedGroup, texts: list[str], results: list[_ScorerResult]
) -> tuple[list[ScoreErrorItem], int]:
    """One item per failure and affected answer; a failure of every answer of the group is one item."""
    where: dict[str, list[tuple[int, int]]] = {}
    for g, parsed in enumerate(group.parsing):
        for i, text in enumerate(parsed.answers):
            where.setdefault(text, []).append((g, i))
    items: list[ScoreErrorItem] = []
    total = 0
    for use, result in zip(group.scorers, results, strict=True):
        for failure in result.failures:
            component = None if failure.component is None else use.components[failure.component]
            rows = result.missed if failure.answer is None else [result.missed[failure.answer]]
            if len(rows) == len(texts):
                places: list[tuple[int | None, int | None]] = [(None, None)]
            else:
                places = [place for row in rows for place in where[texts[row]]]
            for completion, answer in places:
                total += 1
                if len(items) < MAX_ERROR_ITEMS:
                    items.append(
                        ScoreErrorItem(
                            scorer=use.label,
                            reason=failure.reason,
                            message=failure.message,
                            component=component,
                            completion=completion,
                            answer=answer,
                        )
                    )
    return items, total - len(items)


def _answer_details(group: PreparedGroup, row_of: dict[str, int], result: _ScorerResult) -> list[list[Any]]:
    detail_of = dict(zip(result.missed, result.details or [], strict=False))
    return [[detail_of.get(row_of[a]) for a in parsed.answers] for parsed in group.parsing]
