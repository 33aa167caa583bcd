"""RewardClient and AsyncRewardClient against a live service over loopback HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.config import Settings
from service.main import create_app
from tests.conftest import REFERENCE_FOUR, LiveServer, ServerFactory
from trainer_client import (
    AsyncRewardClient,
    AuthenticationError,
    EstimatorConfig,
    Fill,
    InvalidRequestError,
    RateLimitError,
    RequestTooLargeError,
    RewardClient,
    SplitConfig,
    TransportError,
    estimate_group,
)
from trainer_client.metrics import pool_metrics
from trainer_client.weights import group_rng, sample_weights

COMPLETIONS = ["<answer>4</answer><answer>5</answer>", "<answer>5</answer>", "<answer>4</answer>"]
SPLIT = SplitConfig(mode="tags", max_answers=2)


def groups(n: int) -> list[dict[str, Any]]:
    return [
        {
            "prompt": f"q{i}",
            "completions": COMPLETIONS,
            "split": SPLIT,
            "scorers": [REFERENCE_FOUR],
            "estimator": EstimatorConfig(seed=i),
        }
        for i in range(n)
    ]


def test_score_and_tensors(server: LiveServer) -> None:
    torch = pytest.importorskip("torch")
    with RewardClient(server.url) as client:
        result = client.score(
            "2+2?",
            COMPLETIONS,
            scorers=[REFERENCE_FOUR],
            split=SPLIT,
            estimator=EstimatorConfig(seed=5, num_weights=50),
        )
    local = estimate_group(result.rewards, EstimatorConfig(seed=5, num_weights=50))
    assert isinstance(result.advantages, np.ndarray)
    assert np.allclose(result.advantages, local.advantages)
    tensor = result.advantages_tensor(device="cpu")
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32 and tensor.shape == (3,)
    assert result.rewards_array().shape == (3, 2, 1)
    assert result.components == ["reference/0"] and result.valid.all()


def test_score_batch_in_chunks_and_streamed(server: LiveServer) -> None:
    with RewardClient(server.url) as client:
        whole = client.score_batch(groups(5))
        chunked = client.score_batch(groups(5), batch_size=2)
        streamed = dict(client.iter_score_batch(groups(5)))
    assert len(whole) == 5 and whole.advantages.shape == (15,)
    assert np.array_equal(whole.advantages, np.concatenate([r.advantages for r in whole]))
    # chunks restart positions at 0, but each group has its own seed here, so the numbers agree
    assert np.allclose(whole.advantages, chunked.advantages)
    assert sorted(streamed) == list(range(5))
    assert np.allclose(np.concatenate([streamed[i].advantages for i in range(5)]), whole.advantages)
    assert whole.advantages_tensor().shape == (15,)


def test_vpo_and_search_metrics_remote_equal_local(server: LiveServer) -> None:
    rng = np.random.default_rng(0)
    rewards = [rng.random((4, 3, 2)), [[[0.1, None]], [[0.3, 0.2]]]]
    config = EstimatorConfig(num_weights=40, seed=9)
    with RewardClient(server.url) as client:
        remote = client.vpo(rewards, config)
        search = client.search_metrics([rng.random((5, 2, 3))], ks=[1, 4])
    for position, group in enumerate(rewards):
        local = estimate_group(group, config, position=position)
        assert np.allclose(remote[position].advantages, local.advantages)
        assert np.allclose(remote[position].set_scores, local.set_scores, equal_nan=True)
    assert search.ks == [1, 4] and search.pools[0].num_answers == 10


def test_pass_fail_rewards_go_as_numbers(server: LiveServer) -> None:
    # the API takes JSON numbers only (a boolean is a 422 there); the client sends a boolean array, or a bool in
    # ragged lists, as the 0.0 and 1.0 it stands for
    passed = np.array([[[True, False]], [[False, False]], [[True, True]]])
    ragged = [[[True, None]], [[False, 1.0]]]
    config = EstimatorConfig(num_weights=20, seed=3)
    with RewardClient(server.url) as client:
        remote = client.vpo([passed, ragged], config)
    for position, numbers in enumerate([passed.astype(float), [[[1.0, None]], [[0.0, 1.0]]]]):
        estimate, local = remote[position], estimate_group(numbers, config, position=position)
        assert np.allclose(estimate.advantages, local.advantages)
        assert np.allclose(estimate.set_scores, local.set_scores, equal_nan=True)


def test_api_errors_become_typed_exceptions(make_server: ServerFactory) -> None:
    server = make_server(Settings(tokens=["secret"]))  # type: ignore[list-item]
    with RewardClient(server.url) as anonymous:
        with pytest.raises(AuthenticationError) as error:
            anonymous.score("q", ["a"], scorers=[REFERENCE_FOUR])
        assert error.value.status_code == 401 and error.value.request_id
    with RewardClient(server.url, token="secret") as client:
        with pytest.raises(InvalidRequestError) as invalid:
            client.score("q", ["a"], scorers=[{"name": "nope"}])
        assert invalid.value.code == "unknown_scorer"
        with pytest.raises(RequestTooLargeError) as large:
            client.score("q", ["a"] * 300, scorers=[REFERENCE_FOUR])
        assert large.value.details["limit"] == "max_completions_per_group"


class Faults:
    """ASGI wrapper answering the first requests with the given statuses (and Retry-After), then passing on."""

    def __init__(self, app: Any, statuses: list[int], retry_after: str = "0") -> None:
        self.app = app
        self.statuses = statuses
        self.retry_after = retry_after
        self.requests = 0
        self.request_ids: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            self.request_ids.append(dict(scope["headers"]).get(b"x-request-id", b"").decode())
            if self.statuses:
                status = self.statuses.pop(0)
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"retry-after", self.retry_after.encode()),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'{"error": {"code": "overloaded", "message": "busy", "details": null}}',
                    }
                )
                return
        await self.app(scope, receive, send)


def test_retries_on_429_and_503_honouring_retry_after(make_server: ServerFactory) -> None:
    faults = Faults(create_app(Settings()), [429, 503, 503])
    server = make_server(app=faults)  # type: ignore[arg-type]
    with RewardClient(server.url, max_retries=3, backoff=0.01) as client:
        result = client.score("q", ["4"], scorers=[REFERENCE_FOUR])
    assert result.set_scores.tolist() == [1.0] and faults.requests == 4
    faults.statuses = [429] * 5
    with RewardClient(server.url, max_retries=2, backoff=0.01) as client, pytest.raises(RateLimitError):
        client.score("q", ["4"], scorers=[REFERENCE_FOUR])


def test_a_call_keeps_one_request_id_across_its_retries(make_server: ServerFactory) -> None:
    faults = Faults(create_app(Settings()), [503, 503])
    server = make_server(app=faults)  # type: ignore[arg-type]
    with RewardClient(server.url, max_retries=3, backoff=0.01) as client:
        client.score("q", ["4"], scorers=[REFERENCE_FOUR])
        client.score("q", ["4"], scorers=[REFERENCE_FOUR])
    first, second = faults.request_ids[:3], faults.request_ids[3:]
    assert len(set(first)) == 1 and len(second) == 1 and first[0] != second[0] and all(faults.request_ids)


def test_retry_after_sets_the_wait() -> None:
    import httpx

    client = RewardClient(backoff=100.0, max_backoff=60.0)
    response = httpx.Response(429, headers={"retry-after": "2"})
    assert client.retry_delay(0, response) == 2.0
    dated = httpx.Response(503, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert client.retry_delay(0, dated) == 0.0  # a date in the past: go now
    assert 0 <= client.retry_delay(5) <= 60.0
    assert client.timeout.read is not None  # timeouts are on by default
    client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_errors_are_retried_then_raised() -> None:
    port = free_port()
    with RewardClient(f"http://127.0.0.1:{port}", max_retries=1, backoff=0.01) as client, pytest.raises(TransportError):
        client.health()
    # a service that comes up while the client backs off is reached
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning"))
    starter = threading.Timer(0.3, server.run)
    starter.start()
    try:
        with RewardClient(f"http://127.0.0.1:{port}", max_retries=8, backoff=0.2) as client:
            assert client.health() == {"status": "ok"}
    finally:
        while not server.started and starter.is_alive():
            time.sleep(0.01)
        server.should_exit = True
        starter.join(timeout=10)


def test_async_client_twin(server: LiveServer) -> None:
    async def run() -> None:
        async with AsyncRewardClient(server.url) as client:
            one = await client.score("2+2?", COMPLETIONS, scorers=[REFERENCE_FOUR], split=SPLIT)
            batch = await client.score_batch(groups(4), batch_size=2)
            streamed = [index async for index, _ in client.iter_score_batch(groups(3))]
            remote = await client.vpo([[[[1, 0]], [[0, 1]]]], {"weights": [[1, 0], [0, 1], [0.5, 0.5]]})
            search = await client.search_metrics([[[[1.0]], [[0.0]]]], ks=[1])
            assert (await client.health())["status"] == "ok"
            assert "reference" in [s["name"] for s in await client.scorers()]
        assert one.valid.all() and len(batch) == 4 and sorted(streamed) == [0, 1, 2]
        assert remote[0].set_scores.tolist() == pytest.approx([0.5, 0.5])
        assert search.pools[0].pass_at_k_answers == [0.5]

    asyncio.run(run())


# Groups (G x m x d, some values null) and estimator options, as a trainer would send them to /v1/vpo
VALUES = st.one_of(st.none(), st.floats(-5, 5, allow_nan=False), st.sampled_from([0.0, 1.0]))


@st.composite
def vpo_cases(draw: st.DrawFn) -> tuple[list[Any], EstimatorConfig, list[str | None]]:
    d = draw(st.integers(1, 3))
    groups = [
        [
            [[draw(VALUES) for _ in range(d)] for _ in range(draw(st.integers(1, 3)))]
            for _ in range(draw(st.integers(1, 4)))
        ]
        for _ in range(draw(st.integers(1, 3)))
    ]
    options: dict[str, Any] = {
        "name": draw(st.sampled_from(["vpo", "scalar", "multi_scalar", "random_weight", "gdpo", "vpo_loo"])),
        "num_weights": draw(st.integers(1, 12)),
        "sampler": draw(st.sampled_from(["dirichlet", "sobol"])),
        "alpha": draw(st.sampled_from([0.5, 1.0, 3.0])),
        "seed": draw(st.integers(0, 2**31)),
        "scale": draw(st.sampled_from(["group", "none"])),
        "normalize": draw(st.sampled_from(["none", "minmax"])),
        "on_missing": draw(st.sampled_from(["invalid", Fill(0.0), Fill(-1.0)])),
    }
    if draw(st.booleans()):
        options["weights"] = [row / row.sum() for row in np.random.default_rng(options["seed"]).random((3, d)) + 0.1]
    keys = [draw(st.one_of(st.none(), st.text(max_size=4))) for _ in groups]
    return groups, EstimatorConfig(**options), keys


@settings(max_examples=60, deadline=None)
@given(case=vpo_cases())
def test_the_service_estimates_as_the_local_estimator_does(server: LiveServer, case: Any) -> None:
    """The contract of the thin client: /v1/vpo and trainer_client's own estimator give the same set scores,
    validity and advantages, for every estimator, sampler, option and group key, nulls included."""
    groups, config, keys = case
    with RewardClient(server.url) as client:
        remote = client.vpo(groups, config, group_keys=keys)
    for position, (group, key) in enumerate(zip(groups, keys, strict=True)):
        local = estimate_group(group, config, position=position, group_key=key)
        assert np.array_equal(remote[position].valid, local.valid)
        assert np.allclose(remote[position].set_scores, local.set_scores, equal_nan=True, atol=1e-9)
        assert np.allclose(remote[position].advantages, local.advantages, atol=1e-9)
        assert np.allclose(remote[position].scalar_advantages, local.scalar_advantages, atol=1e-9)


@st.composite
def search_cases(draw: st.DrawFn) -> tuple[list[Any], list[int], dict[str, Any]]:
    d = draw(st.integers(1, 3))
    value = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(-2, 2, allow_nan=False)

    def answers() -> list[list[float]]:
        return [[draw(value) for _ in range(d)] for _ in range(draw(st.integers(0, 3)))]

    pools = [[answers() for _ in range(draw(st.integers(1, 4)))] for _ in range(draw(st.integers(1, 3)))]
    for pool in pools:  # a pool holds at least one answer
        pool[0].append([draw(value) for _ in range(d)])
    ks = sorted(set(draw(st.lists(st.integers(1, 8), min_size=1, max_size=4))))
    estimator = EstimatorConfig(
        num_weights=draw(st.integers(1, 10)),
        sampler=draw(st.sampled_from(["dirichlet", "sobol"])),
        alpha=draw(st.sampled_from([0.5, 1.0, 2.0])),
        seed=draw(st.integers(0, 2**31)),
    )
    options: dict[str, Any] = {"estimator": estimator, "pass_threshold": draw(st.sampled_from([0.5, 1.0]))}
    if draw(st.booleans()):  # the evaluation scalar: one component's value, or their mean (the default)
        options["scalar_weights"] = [1.0] + [0.0] * (d - 1) if draw(st.booleans()) else [1.0 / d] * d
    return pools, ks, options


@settings(max_examples=80, deadline=None)
@given(case=search_cases())
def test_search_metrics_of_the_service_are_the_local_ones(server: LiveServer, case: Any) -> None:
    """/v1/metrics/search through the client gives pool_metrics' curves, E_w max, coverage and diversity, with
    each pool's weights drawn as the estimator draws a group's (its seed, its position)."""
    pools, ks, options = case
    with RewardClient(server.url) as client:
        remote = client.search_metrics(pools, ks=ks, **options)
    config = options["estimator"]
    for position, pool in enumerate(pools):
        d = len(pool[0][0])
        weights = sample_weights(d, num_weights=config.num_weights, alpha=config.alpha, sampler=config.sampler,
                                 rng=group_rng(config.seed, position))  # fmt: skip
        local = pool_metrics(pool, ks, weights=weights, scalar_weights=options.get("scalar_weights"),
                             pass_threshold=options["pass_threshold"])  # fmt: skip
        got = remote.pools[position]
        assert (got.num_answers, got.num_completions) == (local.num_answers, local.num_completions)
        for name in ("pass_at_k_answers", "pass_at_k_completions", "best_at_k_answers", "best_at_k_completions"):
            mine, theirs = getattr(local, name), getattr(got, name)
            assert [m is None for m in mine] == [t is None for t in theirs], name
            assert np.allclose([m for m in mine if m is not None], [t for t in theirs if t is not None]), name
        assert np.allclose([got.expected_max, got.coverage, got.diversity],
                           [local.expected_max, local.coverage, local.diversity])  # fmt: skip
