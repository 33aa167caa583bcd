from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainer_client import EstimatorError, best_at_k, coverage, diversity, expected_max, pass_at_k, pool_metrics


def test_worked_examples() -> None:
    assert pass_at_k(10, 3, 4) == pytest.approx(0.8333333333333334, abs=1e-9)
    assert best_at_k([0.1, 0.5, 0.9, 0.3], 2) == pytest.approx(0.6666666666666666, abs=1e-9)


@given(n=st.integers(1, 30), data=st.data())
def test_pass_at_k_matches_the_binomial_formula(n: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=7), data=st.data())
def test_best_at_k_is_the_mean_max_over_subsets(values: list[float], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(values)))
    exhaustive = np.mean([max(s) for s in itertools.combinations(values, k)])
    assert best_at_k(values, k) == pytest.approx(exhaustive, abs=1e-9)


def test_best_at_k_is_stable_for_large_pools() -> None:
    values = np.linspace(0, 1, 5000)
    assert best_at_k(values, 1) == pytest.approx(values.mean())
    assert best_at_k(values, 5000) == pytest.approx(1.0)
    assert 0.99 < best_at_k(values, 200) < 1.0


def test_pool_figures() -> None:
    answers = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    weights = np.array([[1, 0], [0, 1], [0.5, 0.5]])
    assert expected_max(answers, weights) == pytest.approx((1.0 + 1.0 + 0.5) / 3)
    assert coverage(answers) == pytest.approx(2.0)
    pairs = [np.abs(a - b).sum() for a, b in itertools.combinations(answers, 2)]
    assert diversity(answers) == pytest.approx(np.mean(pairs))
    assert diversity(answers[:1]) == 0.0


def test_pool_metrics_per_answer_and_per_completion() -> None:
    pool = [[[1, 1], [0, 0]], [[0, 1]], [[0, 0]]]
    metrics = pool_metrics(pool, [1, 2, 4, 5], weights=[[0.5, 0.5]])
    assert metrics.num_answers == 4 and metrics.num_completions == 3
    assert metrics.pass_at_k_answers[:3] == pytest.approx([0.25, 0.5, 1.0])
    assert metrics.pass_at_k_completions[:2] == pytest.approx([1 / 3, 2 / 3])
    assert metrics.pass_at_k_completions[2:] == [None, None]
    assert metrics.best_at_k_completions[0] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert metrics.pass_at_k_answers[3] is None


def test_pool_metrics_refuses_bad_pools() -> None:
    with pytest.raises(EstimatorError):
        pool_metrics([[], []], [1], weights=[[1.0]])
    with pytest.raises(EstimatorError):
        pool_metrics([[[1, 0]], [[1]]], [1], weights=[[1.0]])
    with pytest.raises(EstimatorError):
        pass_at_k(3, 4, 1)
