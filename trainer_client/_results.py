"""Typed results of the client's calls; arrays are numpy, with a torch tensor one call away."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._tensor import to_torch
from .metrics import PoolMetrics
from .vpo import GroupEstimate


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@dataclass(frozen=True)
class ScoreResult:
    """One group's result. ``set_scores`` and ``scalar_scores`` are NaN where the completion is invalid."""

    components: list[str]
    rewards: list[list[list[float | None]]]
    set_scores: np.ndarray
    valid: np.ndarray
    advantages: np.ndarray
    scalar_scores: np.ndarray
    scalar_advantages: np.ndarray
    errors: list[dict[str, Any]]
    timings_ms: dict[str, float]
    cache: dict[str, int]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreResult:
        return cls(
            components=list(data["components"]),
            rewards=data["rewards"],
            set_scores=_floats(data["set_scores"]),
            valid=np.array(data["valid"], dtype=bool),
            advantages=np.array(data["advantages"], dtype=np.float64),
            scalar_scores=_floats(data["scalar_scores"]),
            scalar_advantages=np.array(data["scalar_advantages"], dtype=np.float64),
            errors=list(data.get("errors", [])),
            timings_ms=dict(data.get("timings_ms", {})),
            cache=dict(data.get("cache", {})),
            raw=dict(data),
        )

    def advantages_tensor(self, device: Any = None, dtype: Any = None) -> Any:
        """The advantages (G,) as a torch tensor on ``device`` (float32 unless ``dtype`` says otherwise)."""
        return to_torch(self.advantages, device=device, dtype=dtype)

    def rewards_array(self) -> np.ndarray:
        """The rewards as a dense (G, M, D) array, NaN for nulls and for answers a completion lacks."""
        g = len(self.rewards)
        m = max((len(c) for c in self.rewards), default=0)
        array = np.full((g, m, len(self.components)), np.nan)
        for i, completion in enumerate(self.rewards):
            for j, answer in enumerate(completion):
                array[i, j] = _floats(answer)
        return array


@dataclass(frozen=True)
class BatchResult(Sequence[ScoreResult]):
    """The results of a batch, in order; flat arrays over every completion of every group (TRL's layout)."""

    results: list[ScoreResult]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ScoreResult]:
        return iter(self.results)

    def __getitem__(self, index: Any) -> Any:
        return self.results[index]

    @property
    def advantages(self) -> np.ndarray:
        return np.concatenate([r.advantages for r in self.results]) if self.results else np.zeros(0)

    @property
    def set_scores(self) -> np.ndarray:
        return np.concatenate([r.set_scores for r in self.results]) if self.results else np.zeros(0)

    @property
    def valid(self) -> np.ndarray:
        return np.concatenate([r.valid for r in self.results]) if self.results else np.zeros(0, dtype=bool)

    def advantages_tensor(self, device: Any = None, dtype: Any = None) -> Any:
        """Every completion's advantage, group after group, as a torch tensor on ``device``."""
        return to_torch(self.advantages, device=device, dtype=dtype)


def group_estimate_from_json(data: Mapping[str, Any]) -> GroupEstimate:
    """A /v1/vpo result as the same type the local estimator returns."""
    return GroupEstimate(
        set_scores=_floats(data["set_scores"]),
        advantages=np.array(data["advantages"], dtype=np.float64),
        valid=np.array(data["valid"], dtype=bool),
        scalar_scores=_floats(data["scalar_scores"]),
        scalar_advantages=np.array(data["scalar_advantages"], dtype=np.float64),
        filled=int(data.get("filled", 0)),
        group_score=data.get("group_score"),
    )


@dataclass(frozen=True)
class SearchResult:
    """Search curves per pool and their mean over pools (VPO.md section 6)."""

    ks: list[int]
    pools: list[PoolMetrics]
    mean: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchResult:
        ks = list(data["ks"])
        return cls(ks=ks, pools=[PoolMetrics(ks=ks, **pool) for pool in data["results"]], mean=dict(data["mean"]))
