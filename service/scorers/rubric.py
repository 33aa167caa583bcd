"""The ``rubric`` scorer: an LLM judge grades each answer on each criterion; one component per criterion,
``rubric/<criterion>``, in [0, 1].

- ``backend: "openai"``: a judge endpoint of the server config (``[judges.<name>]``: any OpenAI-compatible
  chat API) with a concurrency limit, timeouts, retries, requests/tokens-per-minute limits, temperature 0 and
  a seed, a JSON schema for the verdict (or Yes/No with logprobs);
- ``backend: "local"``: a causal LM of the server config (``kind = "causal_lm"``), P(Yes) of the next token,
  batched across requests.

A judge that fails, times out or answers something unparseable leaves that value null with the reason
(``judge_error``, ``judge_timeout``, ``parse_error``) and the request still returns. With ``"detail": true``
each answer carries the judge's rationale per criterion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from ..core.errors import InvalidParams
from ..models.judges import SCORE_TEMPLATE, YES_NO_TEMPLATE, JudgeFailure, OpenAIJudge
from .base import ComponentFailure, ScoreOutput, Scorer, ScorerParams, ScoreTask


class Criterion(ScorerParams):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    description: str = Field(min_length=1, max_length=4000)


class RubricParams(ScorerParams):
    backend: Literal["openai", "local"] = "openai"
    judge: str | None = Field(None, description="a configured judge (openai) or causal_lm model (local)")
    criteria: list[Criterion] = Field(min_length=1, max_length=32)
    template: str | None = Field(None, max_length=20_000, description="a prompt with {prompt}, {answer}, "
                                 "{criterion}, {description}; default: the documented one")  # fmt: skip

    @field_validator("criteria")
    @classmethod
    def _unique(cls, criteria: list[Criterion]) -> list[Criterion]:
        if len({c.name for c in criteria}) != len(criteria):
            raise ValueError("criterion names must be unique")
        return criteria

    @field_validator("template")
    @classmethod
    def _fills(cls, template: str | None) -> str | None:
        if template is not None:
            try:
                template.format(prompt="", answer="", criterion="", description="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"the template takes {{prompt}}, {{answer}}, {{criterion}}, {{description}}: {exc}"
                ) from None
            if "{answer}" not in template:
                raise ValueError("the template must contain {answer}")
        return template


class RubricScorer(Scorer):
    name = "rubric"
    description = "An LLM judge (OpenAI-compatible endpoint or local causal LM) grades each criterion in [0, 1]."
    Params = RubricParams

    def __init__(
        self, judges: dict[str, Any] | None = None, models: dict[str, Any] | None = None, settings: Any = None
    ) -> None:
        self.settings = settings
        self.redis: Any = None
        self.judge_specs = dict(judges or {})
        self.local_specs = {name: spec for name, spec in (models or {}).items() if spec.kind == "causal_lm"}
        self.judges: dict[str, OpenAIJudge] = {}
        self.batchers: dict[str, Any] = {}  # DynamicBatcher, or RemoteBatcher

    @classmethod
    def from_settings(cls, settings: Any) -> RubricScorer:
        return cls(getattr(settings, "judges", None), getattr(settings, "models", None), settings)

    def _judge(self, params: RubricParams) -> str:
        names = sorted(self.judge_specs if params.backend == "openai" else self.local_specs)
        if params.judge is not None:
            if params.judge not in names:
                raise InvalidParams(
                    f"no {params.backend} judge {params.judge!r}; configured: {', '.join(names) or 'none'}"
                )
            return params.judge
        if len(names) != 1:
            raise InvalidParams(
                f"name the judge ('judge'); configured {params.backend} judges: {', '.join(names) or 'none'}"
            )
        return names[0]

    def validate(self, params: RubricParams, limits: Any) -> None:
        self._judge(params)

    def components(self, params: RubricParams) -> list[str]:
        return [f"rubric/{c.name}" for c in params.criteria]

    async def start(self) -> None:
        from ..models.host import open_batcher

        url = getattr(self.settings, "redis_url", None)
        if url and self.judge_specs:  # the upstream limits are shared by every replica
            from ..store.connections import create_redis

            self.redis = create_redis(url, self.settings.redis_timeout_s)
        for name, spec in self.judge_specs.items():
            self.judges[name] = OpenAIJudge(name, spec, self.redis)
        for name, spec in self.local_specs.items():
            self.batchers[name] = await open_batcher(name, spec, getattr(self.settings, "model_host", None))

    async def close(self) -> None:
        for judge in self.judges.values():
            await judge.close()
        for batcher in self.batchers.values():
            await batcher.close()
        if self.redis is not None:
            await self.redis.aclose()

    def status(self) -> dict[str, Any]:
        remote = {name: {"backend": "openai", "requests": j.requests} for name, j in self.judges.items()}
        local = {name: {"backend": "local", "forwards": b.counts.forwards} for name, b in self.batchers.items()}
        return {**remote, **local}

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        return list(await asyncio.gather(*(self._score_task(task) for task in tasks)))

    async def _score_task(self, task: ScoreTask) -> ScoreOutput:
        params: RubricParams = task.params
        name = self._judge(params)
        local = params.backend == "local" or self.judge_specs[name].verdict == "yes_no"
        template = params.template or (YES_NO_TEMPLATE if local else SCORE_TEMPLATE)
        cells = [(a, c) for a in range(len(task.answers)) for c in range(len(params.criteria))]
        contents = [
            template.format(prompt=task.prompt, answer=task.answers[a], criterion=params.criteria[c].name,
                            description=params.criteria[c].description)
            for a, c in cells
        ]  # fmt: skip
        values = np.full((len(task.answers), len(params.criteria)), np.nan)
        details: list[dict[str, Any]] = [{} for _ in task.answers]
        failures: list[ComponentFailure] = []
        if params.backend == "local":
            for (a, c), p in zip(cells, await self.batchers[name].submit(contents), strict=True):
                values[a, c] = p
            return ScoreOutput(values, failures, details)
        outcomes = await asyncio.gather(*(self.judges[name].judge(text) for text in contents), return_exceptions=True)
        for (a, c), outcome in zip(cells, outcomes, strict=True):
            criterion = params.criteria[c].name
            if isinstance(outcome, JudgeFailure):
                failures.append(ComponentFailure(outcome.reason, outcome.message, answer=a, component=c))
                details[a][criterion] = {"error": outcome.reason, "message": outcome.message}
            elif isinstance(outcome, BaseException):
                failures.append(ComponentFailure("judge_error", f"{type(outcome).__name__}: {outcome}", a, c))
            else:
                values[a, c] = outcome[0]
                details[a][criterion] = {"score": outcome[0], "rationale": outcome[1]}
        return ScoreOutput(values, failures, details)
