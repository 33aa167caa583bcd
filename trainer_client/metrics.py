"""Evaluation of a pool of candidates for test-time search (VPO.md section 6).

>>> round(pass_at_k(10, 3, 4), 6)
0.833333
>>> round(best_at_k([0.1, 0.5, 0.9, 0.3], 2), 6)
0.666667
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._exceptions import EstimatorError
from ._tensor import to_numpy


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n - c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise EstimatorError("k", f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    ratios = 1.0 - k / np.arange(n - c + 1, n + 1)
    return float(1.0 - np.prod(ratios))


def best_at_k(values: Any, k: int) -> float:
    """Expected maximum of ``values`` over k of them drawn without replacement.

    Sorted ascending, best@k = sum_{i=k..n} v_i C(i-1, k-1) / C(n, k); the coefficients come from the
    ratio C(i-2, k-1) / C(i-1, k-1) = (i-k) / (i-1), so large n neither overflows nor loses precision.
    """
    ordered = np.sort(to_numpy(values).ravel())
    n = ordered.size
    if not 1 <= k <= n:
        raise EstimatorError("k", f"best@k needs 1 <= k <= n (n={n}, k={k})")
    # coefficient of v_i for i = n, n-1, ..., k: p_n = k / n, p_{i-1} = p_i (i - k) / (i - 1)
    i = np.arange(n, k, -1, dtype=np.float64)
    coefficients = np.concatenate(([k / n], (k / n) * np.cumprod((i - k) / (i - 1))))
    return float(np.dot(coefficients, ordered[::-1][: n - k + 1]))


def expected_max(rewards: Any, weights: Any) -> float:
    """R_hat of a pool: mean over the weightings (K, d) of the best answer (n, d) under each."""
    answers = to_numpy(rewards)
    if answers.shape[0] == 0:
        return 0.0
    return float((answers @ to_numpy(weights).T).max(axis=0).mean())


def coverage(rewards: Any) -> float:
    """Union coverage: sum over components of the best value any answer reaches."""
    answers = to_numpy(rewards)
    return float(answers.max(axis=0).sum()) if answers.shape[0] else 0.0


def diversity(rewards: Any) -> float:
    """Mean pairwise L1 distance between the answers' reward vectors (0 for fewer than two answers)."""
    answers = to_numpy(rewards)
    n = answers.shape[0]
    if n < 2:
        return 0.0
    # Per component, the sum over pairs of |x_i - x_j| of sorted values is sum_j (2j - n + 1) x_(j).
    ranks = 2.0 * np.arange(n) - n + 1
    pair_sum = float((ranks[:, None] * np.sort(answers, axis=0)).sum())
    return float(pair_sum / (n * (n - 1) / 2))


@dataclass(frozen=True)
class PoolMetrics:
    """Search curves of one pool; a k larger than the candidate count gives None."""

    ks: list[int]
    num_answers: int
    num_completions: int
    pass_at_k_answers: list[float | None]
    pass_at_k_completions: list[float | None]
    best_at_k_answers: list[float | None]
    best_at_k_completions: list[float | None]
    expected_max: float
    coverage: float
    diversity: float


def _answer_rows(completion: Any) -> np.ndarray:
    try:
        return to_numpy(completion).reshape(len(completion), -1)
    except ValueError:  # answers of different lengths make no rectangle
        raise EstimatorError("rewards", "answers have different numbers of components") from None


def pool_metrics(
    completions: Sequence[Any],
    ks: Sequence[int],
    *,
    weights: Any,
    scalar_weights: Any = None,
    pass_threshold: float = 1.0,
) -> PoolMetrics:
    """Every section 6 figure for one pool of completions (each a list of answers' reward vectors).

    The evaluation scalar of an answer is ``scalar_weights . r`` (uniform by default); an answer is correct
    when that scalar is at least ``pass_threshold`` (within 1e-9); a completion's value is its best answer's
    and it is correct when any of its answers is.
    """
    sets = [_answer_rows(c) if len(c) else None for c in completions]
    nonempty = [s for s in sets if s is not None]
    if not nonempty:
        raise EstimatorError("rewards", "the pool holds no answer")
    d = nonempty[0].shape[1]
    if any(s.shape[1] != d for s in nonempty):
        raise EstimatorError("rewards", "answers have different numbers of components")
    if np.any(~np.isfinite(np.concatenate(nonempty))):
        raise EstimatorError("rewards", "pool values must be finite (no null)")
    w_star = np.full(d, 1.0 / d) if scalar_weights is None else to_numpy(scalar_weights)
    if w_star.shape != (d,):
        raise EstimatorError("scalar_weights", f"needs {d} entries")
    answers = np.concatenate(nonempty)
    answer_scalar = answers @ w_star
    completion_scalar = np.array([(s @ w_star).max() if s is not None else 0.0 for s in sets])
    answer_correct = answer_scalar >= pass_threshold - 1e-9
    completion_correct = np.array(
        [bool(np.any(s @ w_star >= pass_threshold - 1e-9)) if s is not None else False for s in sets]
    )

    def curve(n: int, fn: Any) -> list[float | None]:
        return [fn(k) if 1 <= k <= n else None for k in ks]

    n_a, n_c = len(answers), len(sets)
    return PoolMetrics(
        ks=list(ks),
        num_answers=n_a,
        num_completions=n_c,
        pass_at_k_answers=curve(n_a, lambda k: pass_at_k(n_a, int(answer_correct.sum()), k)),
        pass_at_k_completions=curve(n_c, lambda k: pass_at_k(n_c, int(completion_correct.sum()), k)),
        best_at_k_answers=curve(n_a, lambda k: best_at_k(answer_scalar, k)),
        best_at_k_completions=curve(n_c, lambda k: best_at_k(completion_scalar, k)),
        expected_max=expected_max(answers, weights),
        coverage=coverage(answers),
        diversity=diversity(answers),
    )
