"""Scoring single completions under a server-side profile (for trainers that score one sample per call).

Each sample is a group of one completion whose weights derive from a hash of its prompt (and step): for
``vpo``, ``scalar`` and ``multi_scalar`` a completion's set score depends only on its own answers and the
group's weights, so these per-sample scores are exactly what a whole-group call gives, and the trainer's
own group normalisation of them is VPO (up to its std convention; see README).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from trainer_client.weights import prompt_group_key

from ..api.protocol import Profile, ProfileResult, ProfileSample, ScoreRequest, ScorerSpec
from ..core.errors import InvalidRequest, NotFound
from ..core.state import AppState
from .prepare import prepare_batch


def get_profile(state: AppState, name: str) -> Profile:
    try:
        return state.settings.profiles[name]
    except KeyError:
        known = ", ".join(sorted(state.settings.profiles)) or "none"
        raise NotFound(f"no profile {name!r}; configured: {known}", {"profile": name}) from None


async def score_samples(state: AppState, profile: Profile, samples: Sequence[ProfileSample]) -> list[ProfileResult]:
    requests = [
        ScoreRequest(
            prompt=sample.prompt,
            completions=[sample.response],
            split=profile.split,
            scorers=_with_label(profile.scorers, sample.label, index),
            estimator=profile.estimator,
            deadline_ms=profile.deadline_ms,
            group_key=prompt_group_key(sample.prompt, sample.step),
        )
        for index, sample in enumerate(samples)
    ]
    prepared = prepare_batch(requests, state.registry, state.settings.limits)
    responses = await state.pipeline.score_batch(prepared)
    results = []
    for response in responses:
        score = response.set_scores[0]
        answers = response.rewards[0]
        components: dict[str, float | None] = {}
        for j, name in enumerate(response.components):
            values = [value for row in answers if (value := row[j]) is not None]
            components[name] = max(values) if values else None
        results.append(
            ProfileResult(
                score=score if score is not None else profile.missing_reward,
                valid=response.valid[0],
                components=components,
                errors=response.errors,
            )
        )
    return results


def _with_label(scorers: list[ScorerSpec], label: Any, index: int) -> list[ScorerSpec]:
    """The profile's scorers with the sample's label merged into their params (label: scorer -> params)."""
    if label is None or label == "":
        return scorers
    if isinstance(label, str):
        try:
            label = json.loads(label)
        except ValueError as exc:
            raise InvalidRequest(f"samples[{index}].label is not JSON: {exc}", {"sample": index}) from exc
    labels = {spec.alias or spec.name for spec in scorers}
    if not isinstance(label, dict) or not all(isinstance(v, dict) for v in label.values()):
        raise InvalidRequest(
            f'samples[{index}].label must be {{"<scorer>": {{params}}}} for the scorers {sorted(labels)}',
            {"sample": index},
        )
    unknown = sorted(set(label) - labels)
    if unknown:
        raise InvalidRequest(f"samples[{index}].label names no scorer of the profile: {unknown}", {"sample": index})
    return [
        spec.model_copy(update={"params": {**spec.params, **label.get(spec.alias or spec.name, {})}})
        for spec in scorers
    ]
