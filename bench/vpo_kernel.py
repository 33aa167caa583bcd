"""The vectorised VPO estimator against a straightforward per-weight Python loop of the same math, and the
whole /v1/vpo request (HTTP on loopback: the service parses the JSON body, validates it, runs the same
estimator and encodes the answer) against the bare estimator call on the same rewards as a numpy array;
then 16 small groups in one estimator call against one call each (what the service does with the groups of
concurrent requests that become ready together).

    python bench/vpo_kernel.py [--repeats 7]

Prints one line per shape and the ratios; the loop's results are checked against the kernel's first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceThread, median_seconds  # noqa: E402
from service.core.config import Limits, Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from trainer_client.vpo import _WEIGHTS, EstimatorConfig, estimate  # noqa: E402
from trainer_client.weights import group_rng, sample_weights  # noqa: E402

SHAPES = [(1, 4, 1, 2, 100), (64, 8, 3, 16, 100), (8, 16, 3, 256, 1024)]  # one request's group; batches


def loop_estimator(rewards: np.ndarray, num_weights: int, seed: int) -> np.ndarray:
    """VPO advantages the plain way: for each group, for each weighting, the best answer of each set."""
    batch, completions = rewards.shape[:2]
    advantages = np.zeros((batch, completions))
    for b in range(batch):
        weights = sample_weights(rewards.shape[3], num_weights=num_weights, rng=group_rng(seed, b))
        scores = np.zeros(completions)
        for w in weights:
            for g in range(completions):
                scores[g] += max(float(answer @ w) for answer in rewards[b, g])
        scores /= num_weights
        std = scores.std()
        advantages[b] = 0.0 if std < 1e-6 else (scores - scores.mean()) / (std + 1e-6)
    return advantages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    limits = Limits(max_body_bytes=512 * 1024 * 1024, max_components=4096, max_weights=100_000)
    app = create_app(Settings(limits=limits))
    print(
        f"{'(B, G, m, d, K)':>24} {'loop ms':>10} {'kernel ms':>10} {'speed-up':>9} {'/v1/vpo ms':>11} {'overhead':>9}"
    )
    with ServiceThread(app) as url, httpx.Client(base_url=url, timeout=600) as client:
        for shape in SHAPES:
            print(measure(client, rng.random(shape[:4]), shape[4], args.repeats))
    print(together(rng.random((16, 4, 1, 2)), args.repeats))


def together(groups: np.ndarray, repeats: int) -> str:
    """Groups of concurrent requests released in one event-loop turn go through the estimator in one call
    (the service's TurnBatcher): that call against one call per group, the same numbers either way."""
    config = EstimatorConfig(seed=1)
    joint = estimate(groups, config)
    alone = [estimate(group[None], config, positions=[i])[0] for i, group in enumerate(groups)]
    assert all(np.allclose(a.advantages, j.advantages) for a, j in zip(alone, joint, strict=True))
    one_s = median_seconds(lambda: estimate(groups, config), repeats=repeats)
    each_s = median_seconds(
        lambda: [estimate(group[None], config, positions=[i]) for i, group in enumerate(groups)], repeats=repeats
    )
    return (
        f"{len(groups)} groups {groups.shape[1:]}, K = {config.num_weights}: one call {one_s * 1e3:.2f} ms, one call "
        f"per group {each_s * 1e3:.2f} ms: {each_s / one_s:.1f}x"
    )


def measure(client: httpx.Client, rewards: np.ndarray, k: int, repeats: int) -> str:
    config = EstimatorConfig(num_weights=k, seed=1)
    kernel = np.stack([r.advantages for r in estimate(rewards, config)])
    assert np.allclose(kernel, loop_estimator(rewards, k, 1), atol=1e-9), "loop and kernel disagree"
    loop_s = median_seconds(lambda: loop_estimator(rewards, k, 1), repeats=max(1, repeats // 3))
    # every timed call draws its weights afresh, as the loop does (the estimator keeps recent draws: a service
    # scoring the same stream positions again and again draws them once)
    kernel_s = median_seconds(lambda: (_WEIGHTS.clear(), estimate(rewards, config)), repeats=repeats)
    # the body is encoded once: the client's own JSON encoding is not the service's overhead
    body = json.dumps(
        {"groups": [{"rewards": group.tolist()} for group in rewards], "estimator": {"num_weights": k, "seed": 1}}
    ).encode()
    headers = {"content-type": "application/json"}
    served = client.post("/v1/vpo", content=body, headers=headers).json()["results"]
    assert np.allclose([r["advantages"] for r in served], kernel), "service and kernel disagree"
    request_s = median_seconds(
        lambda: (
            _WEIGHTS.clear(),
            client.post("/v1/vpo", content=body, headers=headers).raise_for_status(),
        ),
        repeats=repeats,
    )
    return (
        f"{str((*rewards.shape, k)):>24} {loop_s * 1e3:10.1f} {kernel_s * 1e3:10.2f} "
        f"{loop_s / kernel_s:8.1f}x {request_s * 1e3:11.1f} {request_s / kernel_s:8.1f}x"
    )


if __name__ == "__main__":
    main()
