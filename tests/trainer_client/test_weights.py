from __future__ import annotations

import numpy as np
import pytest

from trainer_client import EstimatorError, group_rng, sample_weights
from trainer_client.weights import check_simplex


@pytest.mark.parametrize("sampler", ["dirichlet", "sobol"])
@pytest.mark.parametrize("alpha", [1.0, 0.3, 4.0])
def test_samples_lie_on_the_simplex(sampler: str, alpha: float) -> None:
    weights = sample_weights(5, num_weights=100, alpha=alpha, sampler=sampler, rng=group_rng(0, 0))
    assert weights.shape == (100, 5)
    assert np.all(weights >= 0) and np.allclose(weights.sum(axis=1), 1.0)


@pytest.mark.parametrize("sampler", ["dirichlet", "sobol"])
def test_sampler_mean_matches_dirichlet_mean(sampler: str) -> None:
    weights = sample_weights(4, num_weights=4096, sampler=sampler, rng=group_rng(1, 0))
    assert np.allclose(weights.mean(axis=0), 0.25, atol=0.02)
    # Dirichlet(1,1,1,1): Var(w_j) = (1/4)(3/4)/5 = 0.0375
    assert np.allclose(weights.var(axis=0), 0.0375, atol=0.006)


def test_streams_are_per_position_and_per_key() -> None:
    def draw(position: int = 0, key: str | None = None) -> np.ndarray:
        return sample_weights(3, num_weights=8, rng=group_rng(42, position, key))

    assert np.array_equal(draw(0), draw(0))
    assert not np.array_equal(draw(0), draw(1))
    assert np.array_equal(draw(0, "k"), draw(5, "k"))
    assert not np.array_equal(draw(0, "k"), draw(0, "other"))
    # the positional stream is numpy's SeedSequence(seed).spawn(n)[position]
    spawned = np.random.SeedSequence(42).spawn(3)[2]
    expected = np.random.default_rng(spawned).dirichlet(np.ones(3), size=8)
    assert np.array_equal(draw(2), expected)


def test_check_simplex() -> None:
    assert check_simplex([[0.5, 0.5]]).shape == (1, 2)
    assert check_simplex([0.25, 0.75]).shape == (1, 2)
    check_simplex([[1 - 5e-7, 5e-7 + 4e-7]])  # within 1e-6
    for bad, message in [
        ([[0.5, 0.4]], "sums to"),
        ([[1.5, -0.5]], "negative"),
        ([], "non-empty"),
        ([["a"]], "matrix of numbers"),
        ([[np.inf, 0]], "finite"),
    ]:
        with pytest.raises(EstimatorError, match=message):
            check_simplex(bad)


def test_zero_components_are_refused() -> None:
    with pytest.raises(EstimatorError):
        sample_weights(0, rng=group_rng(0))
