"""Scoring under a server-side profile: POST /v1/profiles/{name}/score, and OpenRLHF's remote reward
protocol at POST /v1/compat/openrlhf/{name}."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from ...core.errors import InvalidRequest
from ...scoring.profiles import get_profile, score_samples
from ..deps import GuardDep, StateDep
from ..protocol import OpenRLHFRequest, OpenRLHFResponse, ProfileRequest, ProfileResponse, ProfileSample
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

router = APIRouter(
    prefix="/v1",
    route_class=FastJSONRoute,
    tags=["profiles"],
    dependencies=[GuardDep],
    responses={**ERROR_RESPONSES, 404: {"description": "no such profile"}},
)


@router.post("/profiles/{name}/score", response_model=ProfileResponse)
async def score_with_profile(name: str, body: ProfileRequest, state: StateDep) -> Response:
    profile = get_profile(state, name)
    return json_response(ProfileResponse(results=await score_samples(state, profile, body.samples)))


@router.post("/compat/openrlhf/{name}", response_model=OpenRLHFResponse)
async def openrlhf(name: str, body: OpenRLHFRequest, state: StateDep) -> Response:
    """``--reward.remote_url http://service/v1/compat/openrlhf/<profile>``: each query is prompt + response;
    the prompt is stripped when the query starts with it. Rewards and scores are the set scores."""
    profile = get_profile(state, name)
    prompts = body.prompts or [""] * len(body.query)
    labels = body.labels or [None] * len(body.query)
    if len(prompts) != len(body.query) or len(labels) != len(body.query):
        raise InvalidRequest("query, prompts and labels must have the same length")
    samples = [
        ProfileSample(
            prompt=prompt,
            response=query[len(prompt) :] if prompt and query.startswith(prompt) else query,
            # any other JSON label is passed on as text, so that it is refused (422) rather than ignored
            label=label if isinstance(label, str | dict) or label is None else json.dumps(label),
        )
        for query, prompt, label in zip(body.query, prompts, labels, strict=True)
    ]
    results = await score_samples(state, profile, samples)
    names = list(results[0].components) if results else []
    extra_logs = {name: [r.components.get(name) for r in results] for name in names}
    scores = [r.score for r in results]
    return json_response(OpenRLHFResponse(rewards=scores, scores=scores, extra_logs=extra_logs))
