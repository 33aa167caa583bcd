"""Properties of the estimator (VPO.md sections 2 to 5), checked with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trainer_client import EstimatorConfig, estimate, estimate_group

unit = st.floats(0.0, 1.0, allow_nan=False, width=32)


@st.composite
def groups(draw: st.DrawFn, min_answers: int = 0, max_answers: int = 3, d: int | None = None) -> list:
    d = d or draw(st.integers(1, 4))
    g = draw(st.integers(2, 6))
    return [
        [[draw(unit) for _ in range(d)] for _ in range(draw(st.integers(min_answers, max_answers)))] for _ in range(g)
    ]


CONFIG = EstimatorConfig(num_weights=32, seed=7)


@given(group=groups(), data=st.data())
def test_permuting_completions_permutes_advantages(group: list, data: st.DataObject) -> None:
    order = data.draw(st.permutations(range(len(group))))
    base = estimate_group(group, CONFIG)
    permuted = estimate_group([group[i] for i in order], CONFIG)
    assert np.allclose(permuted.advantages, base.advantages[list(order)], atol=1e-9)
    assert np.allclose(permuted.set_scores, base.set_scores[list(order)], atol=1e-12)


@given(group=groups(min_answers=1, max_answers=1, d=1))
def test_d1_m1_vpo_equals_scalar_equals_grpo(group: list) -> None:
    vpo = estimate_group(group, CONFIG)
    scalar = estimate_group(group, EstimatorConfig(name="scalar"))
    rewards = np.array([c[0][0] for c in group], dtype=float)
    std = rewards.std()
    grpo = np.zeros_like(rewards) if std < 1e-6 else (rewards - rewards.mean()) / (std + 1e-6)
    assert np.allclose(vpo.set_scores, rewards, atol=1e-12)
    assert np.allclose(vpo.advantages, scalar.advantages, atol=1e-9)
    assert np.allclose(vpo.advantages, grpo, atol=1e-9)


@given(group=groups(min_answers=1), data=st.data())
def test_single_explicit_weight_scores_the_best_answer(group: list, data: st.DataObject) -> None:
    d = len(group[0][0])
    raw = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=d, max_size=d)))
    w = raw / raw.sum()
    result = estimate_group(group, EstimatorConfig(weights=[w.tolist()]))
    expected = [max(float(np.dot(w, a)) for a in completion) for completion in group]
    assert np.allclose(result.set_scores, expected, atol=1e-12)


@given(group=groups(min_answers=1, max_answers=1, d=1))
def test_d1_vpo_loo_credits_only_the_best_by_its_margin(group: list) -> None:
    values = np.array([c[0][0] for c in group])
    result = estimate_group(group, EstimatorConfig(name="vpo_loo", num_weights=8))
    order = np.argsort(values)[::-1]
    expected = np.zeros_like(values)
    expected[order[0]] = values[order[0]] - values[order[1]]
    assert np.allclose(result.set_scores, expected, atol=1e-12)


@given(group=groups(min_answers=0), data=st.data())
def test_adding_an_answer_never_lowers_a_set_score(group: list, data: st.DataObject) -> None:
    d = len(next((a for c in group for a in c), [0.0] * 2))
    group = [[a for a in c if len(a) == d] for c in group]
    target = data.draw(st.integers(0, len(group) - 1))
    extra = data.draw(st.lists(unit, min_size=d, max_size=d))
    grown = [list(c) for c in group]
    grown[target] = [*grown[target], extra]
    before = estimate_group(group, EstimatorConfig(num_weights=32, seed=1, weights=None) if d else CONFIG)
    after = estimate_group(grown, EstimatorConfig(num_weights=32, seed=1))
    assert after.set_scores[target] >= before.set_scores[target] - 1e-12


@given(group=groups(), seed=st.integers(0, 2**32))
def test_same_seed_same_result(group: list, seed: int) -> None:
    config = EstimatorConfig(num_weights=16, seed=seed)
    assert np.array_equal(estimate_group(group, config).advantages, estimate_group(group, config).advantages)


@settings(max_examples=50)
@given(batch=st.lists(groups(), min_size=1, max_size=5), name=st.sampled_from(["vpo", "random_weight", "vpo_loo"]))
def test_batch_call_equals_per_group_calls(batch: list, name: str) -> None:
    config = EstimatorConfig(name=name, num_weights=16, seed=3)
    together = estimate(batch, config)
    for position, group in enumerate(batch):
        alone = estimate_group(group, config, position=position)
        assert np.allclose(together[position].advantages, alone.advantages, atol=1e-12)
        assert np.allclose(together[position].set_scores, alone.set_scores, atol=1e-12, equal_nan=True)


def test_sobol_is_closer_to_the_large_k_reference_than_dirichlet() -> None:
    """At equal K, the quasi-Monte Carlo estimate of R(S) has lower error on average over many groups."""
    rng = np.random.default_rng(2024)
    sobol_errors, dirichlet_errors = [], []
    for trial in range(40):
        group = rng.random((6, 3, 4))
        reference = estimate_group(group, EstimatorConfig(num_weights=200_000, seed=trial)).set_scores
        for sampler, errors in (("sobol", sobol_errors), ("dirichlet", dirichlet_errors)):
            config = EstimatorConfig(num_weights=64, sampler=sampler, seed=1000 + trial)
            errors.append(np.abs(estimate_group(group, config).set_scores - reference).mean())
    assert np.mean(sobol_errors) < np.mean(dirichlet_errors)
