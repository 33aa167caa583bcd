"""The scorer interface.

A scorer turns answers into reward components. It knows nothing of HTTP: it validates its params with a
pydantic model, names its components from the params, and scores many tasks at once (a task is the unique
answers of one group for one scorer spec), returning a value matrix per task with NaN where a value could
not be computed and a :class:`ComponentFailure` saying why. A verdict about the answer (wrong, crashed) is a
real value; NaN is only for failures of the scorer itself (the service turns them into nulls).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict


class ScorerParams(BaseModel):
    """Base of every scorer's params model: unknown fields are refused, and each field takes JSON's own type
    (a number a JSON number, not ``true`` or ``"2"``), as the API's requests do."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


@dataclass(frozen=True)
class ScoreTask:
    """The unique answers of one group, to be scored under one scorer's validated params."""

    prompt: str
    answers: Sequence[str]
    params: Any


@dataclass(frozen=True)
class ComponentFailure:
    """Why values are missing: ``answer`` / ``component`` index the task's matrix, None meaning all."""

    reason: str
    message: str
    answer: int | None = None
    component: int | None = None


@dataclass
class ScoreOutput:
    """Values (answers, components) of one task, NaN where missing; optional per-answer details."""

    values: np.ndarray
    failures: list[ComponentFailure] = field(default_factory=list)
    details: list[Any] | None = None

    @classmethod
    def failed(cls, num_answers: int, num_components: int, reason: str, message: str) -> ScoreOutput:
        """Every value missing for one reason."""
        return cls(np.full((num_answers, num_components), np.nan), [ComponentFailure(reason, message)])


class Scorer(ABC):
    """Subclass, set ``name``, ``description`` and ``Params``, implement ``components`` and ``score``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[ScorerParams]]
    # Whether values depend only on (params, prompt, answer), so they may be cached.
    cacheable: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, settings: Any) -> Scorer:
        """The instance the service uses; override to read settings (pool sizes, model paths)."""
        return cls()

    def validate(self, params: Any, limits: Any) -> None:  # noqa: B027 - an optional hook
        """Refuse params beyond the service's limits (raise ``LimitExceeded`` naming the limit)."""

    async def start(self) -> None:  # noqa: B027 - an optional hook
        """Acquire resources (worker pools, models); called once before the first request."""

    async def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what ``start`` acquired."""

    def status(self) -> dict[str, Any]:
        """Readiness facts shown by /readyz and /v1/scorers."""
        return {}

    @abstractmethod
    def components(self, params: Any) -> list[str]:
        """Component names for these params, e.g. ``["reference/0", "reference/1"]``; at least one."""

    @abstractmethod
    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        """One output per task, in order. ``deadline`` is a ``time.monotonic()`` instant: a scorer that can
        return part of its work returns it by then, with reason ``deadline`` for the rest."""
