"""A TRL ``GRPOTrainer`` reward function that sends whole groups to the service and returns set scores.

    from trainer_client import AsyncRewardClient
    from trainer_client.integrations.trl import VPOReward

    reward = VPOReward(AsyncRewardClient(url), scorers=[...], num_generations=8, split={"mode": "tags"})
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
        client: AsyncRewardClient,
        *,
        scorers: Sequence[Mapping[str, Any]],
        num_generations: int,
        split: Mapping[str, Any] | None = None,
        estimator: Mapping[str, Any] | None = None,
        label_column: str | None = None,
    ) -> None:
        self.client = client
        self.scorers = [dict(s) for s in scorers]
        self.num_generations = num_generations
        self.split = dict(split) if split else None
        self.estimator = dict(estimator) if estimator else None
        self.label_column = label_column

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
        batch = await self.client.score_batch(groups)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            for result in batch:
                array = result.rewards_array()
                for j, name in enumerate(result.components):
                    if np.isfinite(array[..., j]).any():
                        log_metric(name, float(np.nanmean(array[..., j])))
        return [None if np.isnan(s) else float(s) for s in batch.set_scores]

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
