"""The worked examples of VPO.md section 7, to 1e-9, and the estimator's error paths."""

from __future__ import annotations

import numpy as np
import pytest

from trainer_client import EstimatorConfig, EstimatorError, Fill, estimate, estimate_group, vpo_advantages

W = [[1, 0], [0, 1], [0.5, 0.5]]
SETS = [[[1, 0], [0, 1]], [[1, 1], [1, 1]], [[0.5, 0.5], [0, 0]]]
TOL = 1e-9


def close(actual: object, expected: list[float | None]) -> bool:
    values = np.asarray(actual, dtype=float)
    wanted = np.array([np.nan if e is None else e for e in expected])
    return bool(np.allclose(values, wanted, atol=TOL, rtol=0, equal_nan=True))


def test_example_1_vpo() -> None:
    result = estimate_group(SETS, EstimatorConfig(weights=W))
    assert close(result.set_scores, [0.8333333333333334, 1.0, 0.5])
    assert close(result.advantages, [0.26725995620432397, 1.0690398248172952, -1.3362997810216193])
    assert result.valid.tolist() == [True, True, True]


def test_example_2_scalar_and_multi_scalar() -> None:
    scalar = estimate_group(SETS, EstimatorConfig(name="scalar", scalar_weights=[0.5, 0.5]))
    assert close(scalar.set_scores, [0.5, 1.0, 0.25])
    assert close(scalar.advantages, [-0.2672603847723164, 1.3363019238615812, -1.0690415390892651])
    multi = estimate_group(SETS, EstimatorConfig(name="multi_scalar", scalar_weights=[0.5, 0.5]))
    assert close(multi.set_scores, [1.0, 2.0, 0.5])
    assert close(multi.advantages, [-0.26726081334168317, 1.3363040667084152, -1.0690432533667324])
    # the scalar figures reported beside VPO are the scalar estimator's, with w* uniform by default
    vpo = estimate_group(SETS, EstimatorConfig(weights=W))
    assert close(vpo.scalar_advantages, scalar.advantages)


def test_example_3_fill_and_empty_set() -> None:
    result = estimate_group([[[1, None], [0, 1]], [], [[0.2, 0.9]]], EstimatorConfig(weights=W, on_missing=Fill(0)))
    assert close(result.set_scores, [0.8333333333333334, 0.0, 0.55])
    assert close(result.advantages, [1.0758943950115656, -1.3328243997904465, 0.25693000477888145])
    assert result.filled == 1


def test_example_3_invalid_default() -> None:
    result = estimate_group([[[1, 0]], [[None, 1]], [[0.2, 0.2]]], EstimatorConfig(weights=W))
    assert close(result.set_scores, [0.5, None, 0.20000000000000004])
    assert result.valid.tolist() == [True, False, True]
    assert close(result.advantages, [0.9999933333777775, 0.0, -0.9999933333777776])
    assert np.isnan(result.scalar_scores[1]) and result.scalar_advantages[1] == 0.0


def test_example_4_vpo_loo_and_gdpo() -> None:
    answers = [[[1, 0]], [[0, 1]], [[0.6, 0.6]], [[0.6, 0.6]]]
    loo = estimate_group(answers, EstimatorConfig(name="vpo_loo", weights=W))
    assert loo.group_score == pytest.approx(0.8666666666666667, abs=TOL)
    assert close(loo.set_scores, [0.1333333333333333, 0.1333333333333333, 0.0, 0.0])
    assert close(loo.advantages, [0.9999850002249966, 0.9999850002249966, -0.9999850002249966, -0.9999850002249966])
    gdpo = estimate_group(answers, EstimatorConfig(name="gdpo", weights=W))
    assert close(
        gdpo.advantages, [-0.14002761624703663, -0.14002761624703663, 0.14002761624703633, 0.14002761624703633]
    )


def test_example_5_identical_scores_give_zero() -> None:
    result = estimate_group([[[1, 1]], [[1, 1]]], EstimatorConfig(weights=W))
    assert close(result.set_scores, [1.0, 1.0])
    assert result.advantages.tolist() == [0.0, 0.0]


def test_scale_none_only_centres() -> None:
    result = estimate_group(SETS, EstimatorConfig(weights=W, scale="none"))
    assert close(result.advantages, [0.8333333333333334 - 7 / 9, 1.0 - 7 / 9, 0.5 - 7 / 9])


def test_minmax_maps_each_component_to_unit_range() -> None:
    raw = [[[10.0, -3.0]], [[20.0, -3.0]], [[15.0, -3.0]]]
    scaled = estimate_group(raw, EstimatorConfig(name="scalar", normalize="minmax"))
    # component 0 becomes 0, 1, 0.5; the constant component 1 becomes 0
    assert close(scaled.set_scores, [0.0, 0.5, 0.25])


def test_random_weight_uses_one_weighting_per_completion() -> None:
    rewards = [[[1.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.0]]]
    result = estimate_group(rewards, EstimatorConfig(name="random_weight", seed=3))
    # identical answers, different weightings: scores differ and lie in [0, 1]
    assert len(set(np.round(result.set_scores, 12))) == 3
    assert np.all((result.set_scores >= 0) & (result.set_scores <= 1))


def test_ragged_batch_equals_per_group_calls() -> None:
    groups = [
        [[[1, 0, 0.5]], [[0, 1, 0], [1, 1, 1]]],
        [[[0.3]], [[0.9]], [[0.1]], []],
        SETS,
    ]
    config = EstimatorConfig(num_weights=64, seed=11)
    batch = estimate(groups, config)
    for position, group in enumerate(groups):
        alone = estimate_group(group, config, position=position)
        assert close(batch[position].advantages, alone.advantages.tolist())
        assert close(batch[position].set_scores, alone.set_scores.tolist())


def test_group_key_makes_weights_independent_of_position() -> None:
    config = EstimatorConfig(num_weights=32, seed=5)
    a = estimate_group(SETS, config, position=0, group_key="prompt-17")
    b = estimate_group(SETS, config, position=9, group_key="prompt-17")
    c = estimate_group(SETS, config, position=0)
    assert close(a.set_scores, b.set_scores.tolist())
    assert not np.allclose(a.set_scores, c.set_scores)


def test_dense_array_and_torch_tensor_round_trip() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    rewards = rng.random((3, 4, 2, 5))
    numpy_advantages = vpo_advantages(rewards)
    assert numpy_advantages.shape == (3, 4)
    tensor_advantages = vpo_advantages(torch.tensor(rewards, dtype=torch.float32))
    assert isinstance(tensor_advantages, torch.Tensor) and tensor_advantages.shape == (3, 4)
    assert np.allclose(tensor_advantages.numpy(), numpy_advantages, atol=1e-5)
    one = vpo_advantages(rewards[1], return_tensors="pt", device="cpu")
    assert one.device.type == "cpu" and one.dtype == torch.float32
    assert estimate_group(rewards[0]).advantages_tensor(dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"name": "ppo"}, "name"),
        ({"sampler": "halton"}, "sampler"),
        ({"num_weights": 0}, "num_weights"),
        ({"alpha": 0.0}, "alpha"),
        ({"weights": [[0.5, 0.6]]}, "weights"),
        ({"weights": [[-0.5, 1.5]]}, "weights"),
        ({"weights": [[float("nan"), 1.0]]}, "weights"),
        ({"scalar_weights": [[0.5, 0.5], [1, 0]]}, "scalar_weights"),
        ({"on_missing": "zero"}, "on_missing"),
        ({"scale": "batch"}, "scale"),
        ({"normalize": "zscore"}, "normalize"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_options_name_the_parameter(options: dict[str, object], param: str) -> None:
    with pytest.raises(EstimatorError) as error:
        EstimatorConfig.from_dict(options)
    assert error.value.param == param


def test_bad_rewards_are_refused() -> None:
    with pytest.raises(EstimatorError, match="different numbers of components"):
        estimate_group([[[1, 0]], [[1, 0, 1]]])
    with pytest.raises(EstimatorError, match="finite"):
        estimate_group([[[float("inf")]]])
    with pytest.raises(EstimatorError, match="columns"):
        estimate_group(SETS, EstimatorConfig(weights=[[1, 0, 0]]))
    with pytest.raises(EstimatorError, match="at least one completion"):
        estimate_group([])
    with pytest.raises(EstimatorError):
        estimate_group([[["a", "b"]]])


def test_fill_value_counts_and_on_missing_from_json() -> None:
    config = EstimatorConfig.from_dict({"weights": W, "on_missing": {"fill": 0.5}})
    assert config.on_missing == Fill(0.5)
    result = estimate_group([[[None, None]], [[1, 1]]], config)
    assert result.filled == 2 and close(result.set_scores, [0.5, 1.0])


def test_large_batches_are_chunked_with_identical_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainer_client.vpo as vpo

    rng = np.random.default_rng(1)
    groups = rng.random((6, 4, 3, 2))
    whole = estimate(groups, EstimatorConfig(num_weights=50))
    monkeypatch.setattr(vpo, "_CHUNK_ELEMENTS", 1)  # one group per chunk
    chunked = estimate(groups, EstimatorConfig(num_weights=50))
    for a, b in zip(whole, chunked, strict=True):
        assert np.array_equal(a.advantages, b.advantages)


def test_scalar_w_star_from_scalar_weights_explicit_weights_or_uniform() -> None:
    group = [[[1.0, 0.0]], [[0.0, 1.0]], [[0.4, 0.4]]]
    given = estimate_group(group, EstimatorConfig(name="scalar", scalar_weights=[0.2, 0.8]))
    assert close(given.set_scores, [0.2, 0.8, 0.4])
    one_row = estimate_group(group, EstimatorConfig(name="scalar", weights=[[0.2, 0.8]]))
    assert close(one_row.set_scores, [0.2, 0.8, 0.4])
    # K rows: E_w[w . r] is the scalar objective of their mean
    mean_row = estimate_group(group, EstimatorConfig(name="multi_scalar", weights=[[1, 0], [0.5, 0.5]]))
    assert close(mean_row.set_scores, [0.75, 0.25, 0.4])
    uniform = estimate_group(group, EstimatorConfig(name="scalar"))
    assert close(uniform.set_scores, [0.5, 0.5, 0.4])


def test_random_weight_with_explicit_weights_uses_their_rows() -> None:
    group = [[[1.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.0]]]
    result = estimate_group(group, EstimatorConfig(name="random_weight", weights=[[1, 0], [0, 1]], seed=2))
    assert set(result.set_scores.tolist()) <= {0.0, 1.0}


def test_normalize_groups_matches_the_estimator() -> None:
    from trainer_client.vpo import normalize_groups

    scores = [0.5, None, 0.20000000000000004, 1.0, 1.0, 1.0]
    advantages = normalize_groups(scores, 3)
    assert close(advantages[:3], [0.9999933333777775, 0.0, -0.9999933333777776])  # VPO.md example 3
    assert advantages[3:].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(EstimatorError):
        normalize_groups([1.0, 2.0], 3)


@pytest.mark.parametrize("name", ["vpo", "vpo_loo", "random_weight"])
def test_kept_weight_draws_give_the_numbers_of_fresh_ones(name: str) -> None:
    """The estimator keeps small weight draws between calls: a call with them kept, one after the store was
    emptied, and one whose draws are too large to keep (drawn afresh each time) agree to the last bit."""
    from trainer_client.vpo import _WEIGHTS, _Stream
    from trainer_client.weights import group_rng, sample_weights

    rng = np.random.default_rng(3)
    small, large = rng.random((3, 4, 2, 3)), rng.random((2, 4, 2, 300))
    config = EstimatorConfig(name=name, num_weights=64)  # 300 x 64 values per group: too large to keep
    # random_weight draws one weighting per completion (4 x 300 values): small enough to keep
    for rewards, kept_draws in ((small, 3), (large, 2 if name == "random_weight" else 0)):
        _WEIGHTS.clear()
        fresh = estimate(rewards, config)
        again = estimate(rewards, config)  # the small draws come from the store now
        assert _WEIGHTS.hits == kept_draws
        for one, other in zip(fresh, again, strict=True):
            np.testing.assert_array_equal(one.advantages, other.advantages)
            np.testing.assert_array_equal(one.set_scores, other.set_scores)
    kept = _WEIGHTS.weights(_Stream(0, 0, None), 3, 64, EstimatorConfig())
    np.testing.assert_array_equal(kept, sample_weights(3, num_weights=64, rng=group_rng(0, 0)))
    with pytest.raises(ValueError):
        kept[0, 0] = 1.0  # read-only: no caller can change another's draws


def test_the_weight_store_keeps_a_whole_batch_within_its_bytes() -> None:
    from trainer_client.vpo import _WEIGHTS, _Stream, _WeightStore

    _WEIGHTS.clear()
    rewards = np.random.default_rng(4).random((400, 2, 1, 2))
    first, second = estimate(rewards, EstimatorConfig()), estimate(rewards, EstimatorConfig())
    assert _WEIGHTS.hits == 400  # every group of the second call: a whole batch stays, not the last 256
    assert all(np.array_equal(a.advantages, b.advantages) for a, b in zip(first, second, strict=True))
    store = _WeightStore(max_bytes=3 * 800)  # room for three draws of 100 x 1 float64
    for position in range(5):
        store.weights(_Stream(0, position, None), 1, 100, EstimatorConfig())
    store.weights(_Stream(0, 2, None), 1, 100, EstimatorConfig())  # used again: now the most recent
    store.weights(_Stream(0, 5, None), 1, 100, EstimatorConfig())
    assert store.bytes <= 3 * 800 and [key[0].position for key in store.entries] == [4, 2, 5]
