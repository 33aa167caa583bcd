"""Profiles, OpenRLHF's remote reward protocol, verl's compute_score and the TRL reward function, against a
live service: scoring one completion per call gives the set scores of a whole-group call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from service.api.protocol import Profile
from service.core.config import Settings
from service.main import create_app
from tests.conftest import LiveServer
from trainer_client import AsyncRewardClient, EstimatorConfig, estimate_group, prompt_group_key
from trainer_client.integrations import verl
from trainer_client.integrations.trl import VPOReward

SCORERS = [{"name": "reference", "params": {"checks": [{"mode": "numeric", "reference": "0"},
                                                       {"mode": "regex", "pattern": "because"}]}}]  # fmt: skip
SPLIT = {"mode": "tags", "max_answers": 2}
PROMPT = "What is 6 x 7? Explain."
COMPLETIONS = [
    "<answer>42</answer><answer>It is 41 because 6 x 7 = 41</answer>",
    "<answer>42 because six sevens are 42</answer>",
    "<answer>40</answer>",
    "<answer>41 because</answer><answer>42</answer>",
]
LABEL = json.dumps({"reference": {"checks": [{"mode": "numeric", "reference": "42"},
                                             {"mode": "regex", "pattern": "because"}]}})  # fmt: skip


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    profile = Profile.model_validate({"scorers": SCORERS, "split": SPLIT, "estimator": {"num_weights": 64, "seed": 3}})
    with LiveServer(create_app(Settings(scorers=["reference"], profiles={"math": profile}))) as server:
        yield server


def whole_group(url: str) -> dict[str, Any]:
    scorers = [{**SCORERS[0], "params": json.loads(LABEL)["reference"]}]
    body = {"prompt": PROMPT, "completions": COMPLETIONS, "split": SPLIT, "scorers": scorers,
            "estimator": {"num_weights": 64, "seed": 3}, "group_key": prompt_group_key(PROMPT)}  # fmt: skip
    return httpx.post(f"{url}/v1/score", json=body).json()  # type: ignore[no-any-return]


def test_one_completion_per_call_equals_the_whole_group(live: LiveServer) -> None:
    group = whole_group(live.url)
    samples = [{"prompt": PROMPT, "response": c, "label": LABEL} for c in COMPLETIONS]
    results = httpx.post(f"{live.url}/v1/profiles/math/score", json={"samples": samples}).json()["results"]
    scores = [r["score"] for r in results]
    assert scores == pytest.approx(group["set_scores"], abs=1e-12)
    assert len(set(np.round(scores, 9))) > 1  # a real spread, so the check means something
    # the trainer's own group normalisation of those scores is VPO's advantage
    normalised = estimate_group([[[s]] for s in scores], EstimatorConfig(name="scalar")).advantages
    assert normalised == pytest.approx(group["advantages"], abs=1e-6)
    assert results[1]["components"] == {"reference/0": 1.0, "reference/1": 1.0}


def test_openrlhf_request_shape(live: LiveServer) -> None:
    body = {"query": [PROMPT + c for c in COMPLETIONS], "prompts": [PROMPT] * 4, "labels": [LABEL] * 4}
    response = httpx.post(f"{live.url}/v1/compat/openrlhf/math", json=body)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"rewards", "scores", "extra_logs"}
    assert data["rewards"] == pytest.approx(whole_group(live.url)["set_scores"], abs=1e-12)
    assert data["scores"] == data["rewards"]
    assert set(data["extra_logs"]) == {"reference/0", "reference/1"} and len(data["extra_logs"]["reference/0"]) == 4
    unknown = httpx.post(f"{live.url}/v1/compat/openrlhf/nope", json=body)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    bad_label = httpx.post(f"{live.url}/v1/compat/openrlhf/math", json={**body, "labels": ["{not json"] * 4})
    assert bad_label.status_code == 422
    mismatch = httpx.post(f"{live.url}/v1/compat/openrlhf/math", json={**body, "prompts": [PROMPT]})
    assert mismatch.status_code == 422


def test_verl_compute_score(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPO_URL", live.url)
    monkeypatch.setenv("VPO_PROFILE", "math")
    outs = [verl.compute_score("math", c, LABEL, {"prompt": PROMPT}) for c in COMPLETIONS]
    assert all(set(o) == {"score", "vpo_valid", "vpo/reference/0", "vpo/reference/1"} for o in outs)
    assert [o["score"] for o in outs] == pytest.approx(whole_group(live.url)["set_scores"], abs=1e-12)


def test_trl_reward_function_call_shape(live: LiveServer) -> None:
    logged: dict[str, float] = {}

    async def run() -> list[float | None]:
        async with AsyncRewardClient(live.url) as client:
            reward = VPOReward(client, scorers=SCORERS, num_generations=4, split=SPLIT,
                               estimator={"num_weights": 64, "seed": 3}, label_column="label")  # fmt: skip
            conversational = [[{"role": "assistant", "content": c}] for c in COMPLETIONS]
            return await reward(prompts=[PROMPT] * 4, completions=conversational, completion_ids=[[1]] * 4,
                                label=[LABEL] * 4, trainer_state=None, log_metric=logged.__setitem__)  # fmt: skip

    scores = asyncio.run(run())
    group = whole_group(live.url)
    # positional weights here (no group key): compare with the same group scored at position 0
    body = {"prompt": PROMPT, "completions": COMPLETIONS, "split": SPLIT,
            "scorers": [{**SCORERS[0], "params": json.loads(LABEL)["reference"]}],
            "estimator": {"num_weights": 64, "seed": 3}}  # fmt: skip
    positional = httpx.post(f"{live.url}/v1/score", json=body).json()["set_scores"]
    assert scores == pytest.approx(positional, abs=1e-12)
    assert set(logged) == set(group["components"])


def test_profiles_must_score_per_completion() -> None:
    with pytest.raises(ValidationError, match="one completion per call"):
        Profile.model_validate({"scorers": SCORERS, "estimator": {"name": "gdpo"}})
    with pytest.raises(ValidationError):
        Profile.model_validate({"scorers": SCORERS, "estimator": {"normalize": "minmax"}})


def test_verl_vpo_advantage_estimator_with_its_tensors() -> None:
    """verl's documented call: token-level rewards (B, T) with the score on the last response token, the
    response mask (B, T), and the group index (uids); the advantages are VPO.md's over each group."""
    torch = pytest.importorskip("torch")
    scores = [0.5, 1.0, 0.25, 0.7, 0.7, 0.7]
    index = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    lengths = [3, 5, 2, 4, 4, 1]
    mask = torch.zeros(6, 5)
    rewards = torch.zeros(6, 5)
    for row, (score, length) in enumerate(zip(scores, lengths, strict=True)):
        mask[row, :length] = 1
        rewards[row, length - 1] = score
    advantages, returns = verl.compute_vpo_outcome_advantage(rewards.double(), mask.double(), index)
    expected = estimate_group([[[s]] for s in scores[:3]], EstimatorConfig(name="scalar")).advantages
    for row in range(3):
        assert advantages[row, : lengths[row]].tolist() == pytest.approx([expected[row]] * lengths[row], abs=1e-9)
        assert advantages[row, lengths[row] :].abs().sum() == 0
    assert advantages[3:].abs().sum() == 0  # a flat group: no signal
    assert torch.equal(advantages, returns)
    import importlib.util

    assert verl.register() is (importlib.util.find_spec("verl") is not None)  # registered where verl is installed


def test_vpo_estimator_in_verls_own_registry() -> None:
    import torch

    core_algos = pytest.importorskip("verl.trainer.ppo.core_algos")
    assert verl.register()
    estimator = core_algos.get_adv_estimator_fn("vpo")
    assert estimator is verl.compute_vpo_outcome_advantage
    rewards = torch.zeros(3, 2, dtype=torch.float64)
    rewards[:, -1] = torch.tensor([0.5, 1.0, 0.25], dtype=torch.float64)
    advantages, _ = estimator(token_level_rewards=rewards, response_mask=torch.ones(3, 2, dtype=torch.float64),
                              index=np.array(["a", "a", "a"], dtype=object))  # fmt: skip
    assert advantages[:, 0].tolist() == pytest.approx([-0.2672603847723164, 1.3363019238615812, -1.0690415390892651],
                                                      abs=1e-6)  # VPO.md example 2's scalar values  # fmt: skip


def test_openrlhf_labels_that_are_not_params_are_refused(live: LiveServer) -> None:
    body = {"query": [PROMPT + COMPLETIONS[0]], "prompts": [PROMPT], "labels": [42]}
    response = httpx.post(f"{live.url}/v1/compat/openrlhf/math", json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
