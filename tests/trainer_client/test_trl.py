"""TRL's real GRPOTrainer, two steps on CPU with a tiny model built from a config, rewarded by the service
over HTTP through ``VPOReward``: the rewards TRL logs are the set scores the service returned."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import LiveServer
from tests.tiny_models import minilm_vocab_tokenizer
from trainer_client.integrations.trl import VPOReward

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# an empty completion and a non-empty one score differently: the rewards are real vectors, not constants
SCORERS = [{"name": "reference", "params": {"checks": [{"mode": "regex", "pattern": "^$"},
                                                       {"mode": "regex", "pattern": "\\S"}]}}]  # fmt: skip


def tiny_policy(seed: int) -> tuple[Any, Any]:
    """A tiny GPT-2 built from a config, with the MiniLM vocabulary: (model, tokenizer)."""
    torch = pytest.importorskip("torch")
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    tokenizer = minilm_vocab_tokenizer()
    tokenizer.eos_token, tokenizer.bos_token = "[SEP]", "[CLS]"
    config = GPT2Config(vocab_size=tokenizer.vocab_size, n_positions=128, n_embd=32, n_layer=2, n_head=2,
                        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id,
                        bos_token_id=tokenizer.cls_token_id)  # fmt: skip
    return GPT2LMHeadModel(config), tokenizer


class RecordingReward(VPOReward):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returned: list[list[float | None]] = []

    async def __call__(self, prompts: Any, completions: Any, **kwargs: Any) -> list[float | None]:
        scores = await super().__call__(prompts, completions, **kwargs)
        self.returned.append(scores)
        return scores


# TRL and transformers warn about their own deprecations and CPU settings: not this project's code
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning", "ignore::DeprecationWarning")
def test_grpo_trainer_two_steps_with_the_service(server: LiveServer, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    model, tokenizer = tiny_policy(seed=0)
    dataset = datasets.Dataset.from_dict({"prompt": ["what is 2 plus 2 ?", "name a color", "say hello", "count"] * 2})
    reward = RecordingReward(server.url, scorers=SCORERS, num_generations=4)
    args = trl.GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=8, max_steps=2, logging_steps=1, report_to=[], use_cpu=True,
                          save_strategy="no")  # fmt: skip
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[reward], args=args,
                              train_dataset=dataset, processing_class=tokenizer)  # fmt: skip
    trainer.train()
    asyncio.run_coroutine_threadsafe(reward.aclose(), trainer.async_loop).result(timeout=30)
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logged) == 2 and len(reward.returned) == 2
    for entry, scores in zip(logged, reward.returned, strict=True):
        assert len(scores) == 4 and all(s is not None and 0.0 < s < 1.0 for s in scores)
        assert entry["reward"] == pytest.approx(float(np.mean(np.float32(scores))), abs=1e-6)
        assert "reference/0" in entry and "reference/1" in entry  # the component means, via log_metric


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning", "ignore::DeprecationWarning")
def test_vpo_grpo_trainer_applies_the_vpo_normalisation(server: LiveServer, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    from trainer_client.integrations.trl import VPOGRPOTrainer
    from trainer_client.vpo import normalize_groups

    model, tokenizer = tiny_policy(seed=1)
    captured: list[Any] = []

    class Capturing(VPOGRPOTrainer):  # type: ignore[misc, valid-type]
        def _generate_and_score_completions(self, inputs: Any) -> Any:
            output = super()._generate_and_score_completions(inputs)
            captured.append((list(self.vpo_reward.last_scores), output["advantages"].tolist()))
            return output

    reward = VPOReward(server.url, scorers=SCORERS, num_generations=4)
    args = trl.GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=8, max_steps=1, report_to=[], use_cpu=True,
                          save_strategy="no")  # fmt: skip
    dataset = datasets.Dataset.from_dict({"prompt": ["a", "b", "c", "d"]})
    trainer = Capturing(model=model, reward_funcs=[reward], args=args, train_dataset=dataset,
                        processing_class=tokenizer)  # fmt: skip
    trainer.train()
    asyncio.run_coroutine_threadsafe(reward.aclose(), trainer.async_loop).result(timeout=30)
    assert captured
    for scores, advantages in captured:
        assert advantages == pytest.approx(normalize_groups(scores, 4).tolist(), abs=1e-6)
    with pytest.raises(ValueError, match="exactly one reward function"):
        VPOGRPOTrainer(model=tiny_policy(seed=2)[0], reward_funcs=[reward, reward], args=args, train_dataset=dataset,
                       processing_class=tokenizer)  # fmt: skip
