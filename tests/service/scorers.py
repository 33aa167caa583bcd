"""Scorers used by the service tests: real implementations of the Scorer interface, plugged in through the
registry like any third-party scorer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from pydantic import Field

from service.scorers.base import ComponentFailure, ScoreOutput, Scorer, ScorerParams, ScoreTask


class LengthParams(ScorerParams):
    seconds: float = Field(0.0, ge=0, description="sleep this long per call")
    slow_marker: str | None = Field(None, description="answers containing it take 'seconds' each")


class LengthScorer(Scorer):
    """Two components: answer length / 100 (capped at 1) and whether it contains a digit. Records every answer
    it scores, so tests can count the work done."""

    name = "length"
    description = "test scorer"
    Params = LengthParams

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.calls = 0

    def components(self, params: LengthParams) -> list[str]:
        return ["length/chars", "length/digit"]

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        self.calls += 1
        outputs = []
        for task in tasks:
            params = task.params
            if params.slow_marker is None and params.seconds:
                await asyncio.sleep(params.seconds)
            values = []
            for answer in task.answers:
                if params.slow_marker is not None and params.slow_marker in answer:
                    await asyncio.sleep(params.seconds)
                self.seen.append(answer)
                values.append([min(len(answer) / 100.0, 1.0), float(any(c.isdigit() for c in answer))])
            outputs.append(
                ScoreOutput(np.array(values).reshape(-1, 2), details=[{"len": len(a)} for a in task.answers])
            )
        return outputs


class FlakyParams(ScorerParams):
    mode: str = Field("raise", pattern="^(raise|partial|wrong_shape|huge)$")


class FlakyScorer(Scorer):
    """Fails on purpose: raises, leaves every other answer missing, returns a malformed matrix, or values too large
    for the estimator (1e300 and infinity)."""

    name = "flaky"
    description = "test scorer that fails"
    Params = FlakyParams

    def components(self, params: FlakyParams) -> list[str]:
        return ["flaky/0"]

    async def score(self, tasks: Sequence[ScoreTask], *, deadline: float | None = None) -> list[ScoreOutput]:
        mode = tasks[0].params.mode
        if mode == "raise":
            raise RuntimeError("judge endpoint unreachable")
        if mode == "wrong_shape":
            return [ScoreOutput(np.zeros((len(t.answers) + 1, 3))) for t in tasks]
        if mode == "huge":
            return [
                ScoreOutput(np.array([[(1e300, np.inf, 0.5)[i % 3]] for i in range(len(t.answers))])) for t in tasks
            ]
        outputs = []
        for task in tasks:
            values = np.array([[np.nan if i % 2 else 1.0] for i in range(len(task.answers))]).reshape(-1, 1)
            failures = [
                ComponentFailure("upstream_error", "no verdict", answer=i, component=0)
                for i in range(1, len(task.answers), 2)
            ]
            outputs.append(ScoreOutput(values, failures))
        return outputs
