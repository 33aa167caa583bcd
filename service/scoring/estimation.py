"""The estimator and search metrics as request handlers: limits checked, large math run off the event loop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer_client.metrics import PoolMetrics, pool_metrics
from trainer_client.vpo import estimate
from trainer_client.weights import group_rng, sample_weights

from ..api.protocol import MeanResult, PoolResult, SearchRequest, SearchResponse, VPORequest, VPOResponse, VPOResult
from ..core.config import Limits
from ..core.errors import InvalidRequest
from .offload import reward_values, run_math
from .pipeline import nullable
from .prepare import build_estimator, check_limit


async def run_vpo(request: VPORequest, limits: Limits) -> VPOResponse:
    check_limit("max_groups_per_batch", len(request.groups), limits.max_groups_per_batch)
    for i, group in enumerate(request.groups):
        _check_shape(group.rewards, limits, f"groups[{i}]")
    config = build_estimator(request.estimator, limits)

    def run() -> VPOResponse:
        results = estimate(
            [group.rewards for group in request.groups],
            config,
            group_keys=[group.group_key for group in request.groups],
        )
        return VPOResponse(
            results=[
                VPOResult(
                    set_scores=nullable(r.set_scores),
                    valid=r.valid.tolist(),
                    advantages=r.advantages.tolist(),
                    scalar_scores=nullable(r.scalar_scores),
                    scalar_advantages=r.scalar_advantages.tolist(),
                    filled=r.filled,
                    group_score=r.group_score,
                )
                for r in results
            ]
        )

    return await run_math(run, reward_values(group.rewards for group in request.groups) * config.num_weights)


async def run_search(request: SearchRequest, limits: Limits) -> SearchResponse:
    check_limit("max_groups_per_batch", len(request.pools), limits.max_groups_per_batch)
    check_limit("max_ks", len(request.ks), limits.max_ks)
    pools = [pool.completions() for pool in request.pools]
    for i, pool in enumerate(pools):
        where = f"pools[{i}]"
        check_limit("max_pool_answers", sum(len(c) for c in pool), limits.max_pool_answers, where)
        _check_shape(pool, limits, where, completions_limit=False)
    config = build_estimator(request.estimator, limits)

    def run() -> SearchResponse:
        results = []
        for i, pool in enumerate(pools):
            d = next((len(answer) for completion in pool for answer in completion), 0)
            if d == 0:
                raise InvalidRequest(f"pools[{i}] holds no answer", {"pool": i})
            if config.weights is not None:
                if config.weights.shape[1] != d:
                    raise InvalidRequest(f"estimator.weights have {config.weights.shape[1]} columns, pools[{i}] d={d}")
                weights = config.weights
            else:
                weights = sample_weights(
                    d,
                    num_weights=config.num_weights,
                    alpha=config.alpha,
                    sampler=config.sampler,
                    rng=group_rng(config.seed, i),
                )
            results.append(
                pool_metrics(
                    pool,
                    request.ks,
                    weights=weights,
                    scalar_weights=request.scalar_weights,
                    pass_threshold=request.pass_threshold,
                )
            )
        return SearchResponse(ks=request.ks, results=[_pool_result(r) for r in results], mean=_mean(results))

    return await run_math(run, reward_values(pools) * config.num_weights * max(len(request.ks), 1))


def _check_shape(
    rewards: Sequence[Sequence[Sequence[float | None]]], limits: Limits, where: str, completions_limit: bool = True
) -> None:
    if completions_limit:
        check_limit("max_completions_per_group", len(rewards), limits.max_completions_per_group, where)
    for completion in rewards:
        check_limit("max_answers_per_completion", len(completion), limits.max_answers_per_completion, where)
        for answer in completion:
            check_limit("max_components", len(answer), limits.max_components, where)


def _pool_result(metrics: PoolMetrics) -> PoolResult:
    return PoolResult(
        num_answers=metrics.num_answers,
        num_completions=metrics.num_completions,
        pass_at_k_answers=metrics.pass_at_k_answers,
        pass_at_k_completions=metrics.pass_at_k_completions,
        best_at_k_answers=metrics.best_at_k_answers,
        best_at_k_completions=metrics.best_at_k_completions,
        expected_max=metrics.expected_max,
        coverage=metrics.coverage,
        diversity=metrics.diversity,
    )


def _mean(results: list[PoolMetrics]) -> MeanResult:
    def curve(name: str) -> list[float | None]:
        columns = zip(*(getattr(r, name) for r in results), strict=True)
        out: list[float | None] = []
        for column in columns:
            present = [v for v in column if v is not None]
            out.append(float(np.mean(present)) if present else None)
        return out

    return MeanResult(
        pass_at_k_answers=curve("pass_at_k_answers"),
        pass_at_k_completions=curve("pass_at_k_completions"),
        best_at_k_answers=curve("best_at_k_answers"),
        best_at_k_completions=curve("best_at_k_completions"),
        expected_max=float(np.mean([r.expected_max for r in results])),
        coverage=float(np.mean([r.coverage for r in results])),
        diversity=float(np.mean([r.diversity for r in results])),
    )
