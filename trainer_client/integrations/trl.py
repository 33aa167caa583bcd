"""A TRL ``GRPOTrainer`` reward function that sends whole groups to the service and returns set scores.

    from trainer_client import AsyncRewardClient
    from trainer_client.integrations.trl import VPOReward

    reward = VPOReward(url, scorers=[...], num_generations=8, split={"mode": "tags"})
    trainer = GRPOTrainer(model=..., reward_funcs=[reward], args=GRPOConfig(num_generations=8), ...)

TRL puts the ``num_generations`` completions of a prompt next to each other; each run of them is one
group. TRL then normalises the returned set scores per group (with the unbiased std and eps 1e-4, where
VPO.md uses the population std and eps 1e-6): the advantages are VPO's up to that convention. A value the
service could not compute comes back as None, which TRL treats as "no reward" (never a silent 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._client import AsyncRewardClient


class VPOReward:
    __name__ = "vpo_reward"  # TRL logs reward functions by name

    def __init__(
        self,
        client: AsyncRewardClient | str,
        *,
        scorers: Sequence[Mapping[str, Any]],
        num_generations: int,
        split: Mapping[str, Any] | None = None,
        estimator: Mapping[str, Any] | None = None,
        label_column: str | None = None,
    ) -> None:
        # a URL: the client is made on first use, inside the event loop TRL runs reward functions in
        self._client = client if isinstance(client, AsyncRewardClient) else None
        self._url = client if isinstance(client, str) else None
        self.scorers = [dict(s) for s in scorers]
        self.num_generations = num_generations
        self.split = dict(split) if split else None
        self.estimator = dict(estimator) if estimator else None
        self.label_column = label_column
        self.last_scores: list[float | None] = []  # of the latest call (VPOGRPOTrainer reads them)

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        size = self.num_generations
        if len(completions) % size:
            raise ValueError(f"{len(completions)} completions are not whole groups of {size}")
        labels = kwargs.get(self.label_column) if self.label_column else None
        groups = []
        for start in range(0, len(completions), size):
            label = labels[start] if labels is not None else None
            group: dict[str, Any] = {
                "prompt": _text(prompts[start]),
                "completions": [_text(c) for c in completions[start : start + size]],
                "scorers": self._scorers(label),
            }
            if self.split:
                group["split"] = self.split
            if self.estimator:
                group["estimator"] = self.estimator
            groups.append(group)
        if self._client is None:
            self._client = AsyncRewardClient(str(self._url))
        batch = await self._client.score_batch(groups)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for result in batch:
                array = result.rewards_array()
                for j, name in enumerate(result.components):
                    if np.isfinite(array[..., j]).any():
                        log_metric(name, float(np.nanmean(array[..., j])))
        self.last_scores = [None if np.isnan(s) else float(s) for s in batch.set_scores]
        return self.last_scores

    async def aclose(self) -> None:
        """Close the client this function made (run it in the loop it was used in: ``trainer.async_loop``)."""
        if self._client is not None and self._url is not None:
            await self._client.aclose()
            self._client = None

    def _scorers(self, label: Any) -> list[dict[str, Any]]:
        """Per-prompt params from a dataset column: {"<scorer or alias>": {params}} (object or JSON text)."""
        if label is None:
            return self.scorers
        overrides = json.loads(label) if isinstance(label, str) else dict(label)
        return [{**s, "params": {**s.get("params", {}), **overrides.get(s.get("alias") or s["name"], {})}}
                for s in self.scorers]  # fmt: skip


def _text(value: Any) -> str:
    """TRL passes strings, or for conversational data lists of messages: the last message's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and isinstance(value[-1], Mapping):
        return str(value[-1].get("content", ""))
    return str(value)


def __getattr__(name: str) -> Any:
    """``VPOGRPOTrainer`` is built on first use, so importing this module does not import TRL."""
    if name == "VPOGRPOTrainer":
        trainer = _build_trainer_class()
        globals()[name] = trainer
        return trainer
    raise AttributeError(name)


def _build_trainer_class() -> type:
    import importlib

    import torch

    from ..vpo import normalize_groups

    base: Any = importlib.import_module("trl").GRPOTrainer  # typed loosely: TRL's own typing is not ours

    class VPOGRPOTrainer(base):  # type: ignore[misc]
        """``GRPOTrainer`` whose advantages are VPO.md's normalisation of the set scores (population std, eps
        1e-6, an invalid completion excluded and given 0) instead of TRL's (unbiased std, eps 1e-4). Its one
        reward function must be a :class:`VPOReward`. Single process only: with several, TRL gathers the
        rewards of all processes before normalising, which this override does not reproduce."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            rewards = [f for f in self.reward_funcs if isinstance(f, VPOReward)]
            if len(self.reward_funcs) != 1 or len(rewards) != 1:
                raise ValueError("VPOGRPOTrainer takes exactly one reward function, a VPOReward")
            if self.accelerator.num_processes > 1:
                raise ValueError("VPOGRPOTrainer runs in one process; with several, use GRPOTrainer with VPOReward")
            self.vpo_reward: VPOReward = rewards[0]

        def _generate_and_score_completions(self, inputs: Any) -> Any:
            output = super()._generate_and_score_completions(inputs)
            scores = self.vpo_reward.last_scores
            model: Any = self.model
            size = int(self.num_generations if model.training else self.num_generations_eval)
            advantages = normalize_groups(scores, size)
            output["advantages"] = torch.as_tensor(advantages, dtype=output["advantages"].dtype,
                                                   device=output["advantages"].device)  # fmt: skip
            return output

    return VPOGRPOTrainer
