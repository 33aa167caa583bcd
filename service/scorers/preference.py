"""The ``preference`` scorer: one component per reward model or persona.

- ``backend: "reward_model"``: the sequence-classification models of the server config score (prompt,
  answer); components ``preference/<model>``; ``models`` picks some (default: all).
- ``backend: "embedding"``: cosine similarity of the answer to each persona (a description or an exemplar
  answer), mapped from [-1, 1] to [0, 1]; components ``preference/<persona>``; personas come with the
  request or from the model's config.

Every model has a dynamic batcher: answers of concurrent requests share forwards.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..core.errors import InvalidParams
from .base import ScoreOutput, Scorer, ScorerParams, ScoreTask

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PERSONA_CACHE_SIZE = 4096


class PreferenceParams(ScorerParams):
    backend: Literal["embedding", "reward_model"]
    model: str | None = Field(None, description="embedding: which embedding model (default: the only one)")
    models: list[str] | None = Field(None, description="reward_model: which models (default: every one)")
    personas: dict[str, str] | None = Field(None, description="embedding: name -> description or exemplar")

    @model_validator(mode="after")
    def _check(self) -> PreferenceParams:
        for name in [*(self.personas or {}), *(self.models or [])]:
            if not _NAME.match(name):
                raise ValueError(f"{name!r}: names are 1-64 of letters, digits, '_', '.', ':', '-'")
        if self.personas is not None and not self.personas:
            raise ValueError("personas must not be empty")
        return self


class PreferenceScorer(Scorer):
    name = "preference"
    description = "Reward models (one component each) or persona similarity from an embedding model."
    Params = PreferenceParams

    def __init__(self, specs: dict[str, Any] | None = None, host: str | None = None) -> None:
        self.specs = dict(specs or {})
        self.host = host  # the shared model process's socket, when the models live there
        self.batchers: dict[str, Any] = {}  # DynamicBatcher, or RemoteBatcher
        self._persona_cache: dict[tuple[str, str], np.ndarray] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> PreferenceScorer:
        return cls(getattr(settings, "models", None), getattr(settings, "model_host", None))

    def _of_kind(self, kind: str) -> list[str]:  # causal_lm models belong to the rubric scorer
        return sorted(name for name, spec in self.specs.items() if spec.kind == kind)

    def _embedding_model(self, params: PreferenceParams) -> str:
        names = self._of_kind("embedding")
        if params.model is not None:
            if params.model not in names:
                raise InvalidParams(f"no embedding model {params.model!r}; configured: {', '.join(names) or 'none'}")
            return params.model
        if len(names) != 1:
            raise InvalidParams(f"name the embedding model ('model'); configured: {', '.join(names) or 'none'}")
        return names[0]

    def _personas(self, params: PreferenceParams) -> dict[str, str]:
        personas = params.personas or self.specs[self._embedding_model(params)].personas
        if not personas:
            raise InvalidParams("no personas: give 'personas' or configure them for the embedding model")
        return dict(personas)

    def _reward_models(self, params: PreferenceParams) -> list[str]:
        names = self._of_kind("reward_model")
        chosen = params.models if params.models is not None else names
        unknown = sorted(set(chosen) - set(names))
        if unknown or not chosen:
            raise InvalidParams(f"unknown reward models {unknown}; configured: {', '.join(names) or 'none'}")
        return list(chosen)

    def validate(self, params: PreferenceParams, limits: Any) -> None:
        self.components(params)

    def components(self, params: PreferenceParams) -> list[str]:
        if params.backend == "embedding":
            return [f"preference/{name}" for name in self._personas(params)]
        return [f"preference/{name}" for name in self._reward_models(params)]

    async def start(self) -> None:
        from ..models.host import open_batcher

        for name, spec in self.specs.items():
            if spec.kind != "causal_lm":  # those are the rubric scorer's
                self.batchers[name] = await open_batcher(name, spec, self.host)

    async def close(self) -> None:
        for batcher in self.batchers.values():
            await batcher.close()

    def status(self) -> dict[str, Any]:
        status = {}
        for name, spec in self.specs.items():
            if spec.kind == "causal_lm":
                continue
            forwards, items, _ = self.batchers[name].counts.snapshot() if name in self.batchers else (0, 0, None)
            status[name] = {"kind": spec.kind, "loaded": name in self.batchers, "shared": self.host is not None,
                            "forwards": forwards, "items": items}  # fmt: skip
        return status

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        return list(await asyncio.gather(*(self._score_task(task) for task in tasks)))

    async def _persona_vectors(self, model: str, personas: list[str]) -> list[np.ndarray]:
        """Persona embeddings, computed once per (model, text): every request of a run uses the same ones."""
        missing = [p for p in dict.fromkeys(personas) if (model, p) not in self._persona_cache]
        for persona, vector in zip(missing, await self.batchers[model].submit(missing), strict=True):
            if len(self._persona_cache) >= PERSONA_CACHE_SIZE:
                self._persona_cache.pop(next(iter(self._persona_cache)))
            self._persona_cache[(model, persona)] = vector
        return [self._persona_cache[(model, p)] for p in personas]

    async def _score_task(self, task: ScoreTask) -> ScoreOutput:
        params: PreferenceParams = task.params
        if params.backend == "embedding":
            name = self._embedding_model(params)
            personas = list(self._personas(params).values())
            answers = np.array(await self.batchers[name].submit(list(task.answers)))
            targets = np.array(await self._persona_vectors(name, personas))
            cosine = answers.reshape(len(task.answers), -1) @ targets.T
            return ScoreOutput(np.clip((cosine + 1.0) / 2.0, 0.0, 1.0))
        columns = await asyncio.gather(
            *(
                self.batchers[name].submit([(task.prompt, a) for a in task.answers])
                for name in self._reward_models(params)
            )
        )
        return ScoreOutput(np.array(columns, dtype=np.float64).T.reshape(len(task.answers), -1))
