"""What decides a group under VPO: which answer wins for how much of the weight space, and which answers are
Pareto-optimal. The weightings are the estimator's own for that group (explicit ``weights``, or the K draws of
its sampler from the group's seed and position or key), applied to the rewards as the estimator sees them
(min-max normalised when it normalises).

>>> rewards = np.array([[1.0, 0.0], [0.0, 1.0], [0.4, 0.4]])
>>> wins(rewards, np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])).tolist()
[0.6666666666666666, 0.3333333333333333, 0.0]
>>> pareto(rewards).tolist()
[True, True, True]
>>> pareto(np.array([[1.0, 1.0], [0.5, 1.0], [np.nan, 2.0]])).tolist()
[True, False, False]
>>> minmaxed = EstimatorConfig.from_dict({"normalize": "minmax"})
>>> as_estimated(np.array([[np.nan, 1.0], [np.nan, 3.0], [np.nan, 2.0]]), minmaxed).tolist()
[[nan, 0.0], [nan, 1.0], [nan, 0.5]]
"""

from __future__ import annotations

import numpy as np

from trainer_client.vpo import EstimatorConfig, minmax
from trainer_client.weights import group_rng, sample_weights

CHUNK_VALUES = 4_000_000


def weightings(config: EstimatorConfig, d: int, position: int, group_key: str | None) -> np.ndarray:
    """The (K, d) weightings the estimator uses for this group."""
    if config.weights is not None and config.weights.shape[1] == d:
        return np.asarray(config.weights, dtype=np.float64)
    rng = group_rng(config.seed, position, group_key)
    return sample_weights(d, num_weights=config.num_weights, alpha=config.alpha, sampler=config.sampler, rng=rng)


def as_estimated(rewards: np.ndarray, config: EstimatorConfig) -> np.ndarray:
    """The rewards (n, d) as the estimator weighs them: min-max normalised per component when it normalises."""
    if config.normalize != "minmax":
        return rewards
    return minmax(rewards[None, :, None, :], np.ones((1, len(rewards), 1), dtype=bool))[0, :, 0, :]


def wins(rewards: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per answer, the share of the weightings under which it scores highest (ties to the first). An answer
    with a null value cannot win; with no complete answer every share is 0."""
    complete = ~np.isnan(rewards).any(axis=1)
    shares = np.zeros(len(rewards))
    if not complete.any() or len(weights) == 0:
        return shares
    values = np.nan_to_num(rewards)
    step = max(1, CHUNK_VALUES // max(len(rewards), 1))  # weightings per chunk: (n, step) scores at a time
    for start in range(0, len(weights), step):
        scores = np.where(complete[:, None], values @ weights[start : start + step].T, -np.inf)
        np.add.at(shares, scores.argmax(axis=0), 1.0)
    return shares / len(weights)


def pareto(rewards: np.ndarray) -> np.ndarray:
    """Per answer, whether no other complete answer is at least as good on every component and better on one."""
    complete = ~np.isnan(rewards).any(axis=1)
    values = rewards[complete]
    at_least = (values[:, None, :] >= values[None, :, :]).all(axis=2)  # [b, a]: b >= a everywhere
    better = (values[:, None, :] > values[None, :, :]).any(axis=2)
    dominated = (at_least & better).any(axis=0)
    optimal = np.zeros(len(rewards), dtype=bool)
    optimal[np.flatnonzero(complete)] = ~dominated
    return optimal
