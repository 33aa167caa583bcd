"""verl's custom reward function, scoring one sample per call under a server-side profile.

verl config::

    reward:
      custom_reward_function:
        path: <site-packages>/trainer_client/integrations/verl.py
        name: compute_score

For whole-group scoring, ``compute_vpo_outcome_advantage`` is verl's outcome-advantage signature with
VPO.md's normalisation; ``register()`` adds it as ``algorithm.adv_estimator=vpo`` when verl is installed.

Environment: ``VPO_URL`` (default http://127.0.0.1:8000), ``VPO_PROFILE`` (default ``default``),
``VPO_TOKEN``, ``VPO_MISSING_REWARD`` (default 0.0: verl needs a number; ``vpo_valid`` tells such samples
apart). The prompt comes from ``extra_info["prompt"]``, the training step from ``extra_info["step"]``, the
per-prompt scorer params from ``extra_info["label"]`` or, when it is JSON, ``ground_truth``. Because the
weights derive from the prompt, verl's own GRPO normalisation of these scores is VPO.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from typing import Any

from .._client import RewardClient

_clients: dict[str, RewardClient] = {}
_lock = threading.Lock()


@atexit.register
def _close_clients() -> None:
    for client in _clients.values():
        client.close()


def _client(url: str, token: str | None) -> RewardClient:
    with _lock:
        if url not in _clients:
            _clients[url] = RewardClient(url, token=token)
        return _clients[url]


def compute_score(
    data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None, **_: Any
) -> dict[str, float]:
    """``{"score": set score, "vpo_valid": 1.0 or 0.0, "vpo/<component>": value, ...}`` for one sample."""
    extra_info = extra_info or {}
    label = extra_info.get("label")
    if label is None and isinstance(ground_truth, str):
        try:
            label = json.loads(ground_truth)
        except ValueError:
            label = None
    sample: dict[str, Any] = {"prompt": str(extra_info.get("prompt", "")), "response": solution_str}
    if isinstance(label, dict | str):
        sample["label"] = label
    if isinstance(extra_info.get("step"), int):
        sample["step"] = extra_info["step"]
    client = _client(os.environ.get("VPO_URL", "http://127.0.0.1:8000"), os.environ.get("VPO_TOKEN"))
    profile = os.environ.get("VPO_PROFILE", "default")
    result = client.request("POST", f"/v1/profiles/{profile}/score", {"samples": [sample]})["results"][0]
    missing = float(os.environ.get("VPO_MISSING_REWARD", "0.0"))
    score = result["score"]
    out = {"score": float(score) if score is not None else missing, "vpo_valid": float(result["valid"])}
    for name, value in result["components"].items():
        out[f"vpo/{name}"] = float(value) if value is not None else missing
    return out


def compute_vpo_outcome_advantage(
    token_level_rewards: Any,
    response_mask: Any,
    index: Any,
    epsilon: float = 1e-6,
    norm_adv_by_std_in_grpo: bool = True,
    config: Any = None,
    **_: Any,
) -> tuple[Any, Any]:
    """verl's outcome-advantage call: each sample's reward (the sum of its token-level rewards: the set
    score ``compute_score`` put on its last token) is normalised within its group (``index``, verl's uid) as
    VPO.md section 4 does (population std, ``epsilon``, 0 for a flat group), and broadcast over the response
    tokens. Returns ``(advantages, returns)``, both (batch, response length), as verl expects."""
    import torch

    scores = token_level_rewards.sum(dim=-1)
    advantages = torch.zeros_like(scores)
    groups: dict[Any, list[int]] = {}
    for row, key in enumerate(index):
        groups.setdefault(key, []).append(row)
    for rows in groups.values():
        members = scores[rows]
        centred = members - members.mean()
        std = members.std(unbiased=False) if len(rows) > 1 else torch.zeros((), dtype=scores.dtype)
        if std < epsilon:
            advantages[rows] = 0.0
        else:
            advantages[rows] = centred / (std + epsilon) if norm_adv_by_std_in_grpo else centred
    advantages = advantages.unsqueeze(-1) * response_mask
    return advantages, advantages


def register() -> bool:
    """Register ``compute_vpo_outcome_advantage`` as verl's ``vpo`` advantage estimator (False without verl)."""
    try:
        from verl.trainer.ppo.core_algos import register_adv_est
    except ImportError:
        return False
    register_adv_est("vpo")(compute_vpo_outcome_advantage)
    return True
