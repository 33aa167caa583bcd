"""The dashboard's history: the last N scored groups, in this process (a ring buffer) or, when the service has
Redis, in a Redis list shared by every replica (written off the request's path by an Appender).

An entry is a plain dict (:func:`summarize`): the prompt, every answer with its completion, its text and its
reward row, the per-completion figures of the result, and the estimator spec, from which :func:`detail` adds
what decides the group (win shares of the answers and completions, the Pareto set).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from typing import Any, Protocol

import numpy as np

from trainer_client.vpo import EstimatorConfig

from ..api.protocol import EstimatorSpec
from ..core.appender import Appender, Recorded
from ..core.logs import REQUEST_ID
from ..scoring.prepare import PreparedGroup
from .analysis import as_estimated, pareto, weightings, wins

TEXT_CHARS = 20_000  # of one answer or prompt kept for the page
BRIEF_CHARS = 160
ERRORS_KEPT = 20
REDIS_KEY = "vpo:dashboard:groups"


def summarize(recorded: Recorded, entry_id: str) -> dict[str, Any]:
    group, response = recorded.group, recorded.response
    answers, rows = [], []
    for g, parsed in enumerate(group.parsing):
        for i, text in enumerate(parsed.answers):
            answers.append({"completion": g, "answer": i, "text": text[:TEXT_CHARS]})
            rows.append(response.rewards[g][i])
    return {
        "id": entry_id,
        "time": round(recorded.at, 3),
        "request_id": recorded.request_id,
        "prompt": group.request.prompt[:TEXT_CHARS],
        "scorers": [use.label for use in group.scorers],
        "components": response.components,
        "completions": len(group.parsing),
        "answers": answers,
        "rewards": rows,
        "set_scores": response.set_scores,
        "valid": response.valid,
        "advantages": response.advantages,
        "scalar_scores": response.scalar_scores,
        "scalar_advantages": response.scalar_advantages,
        "errors": [error.model_dump() for error in response.errors[:ERRORS_KEPT]],
        "estimator": group.request.estimator.model_dump(),
        "position": group.position,
        "group_key": group.request.group_key,
    }


def brief(entry: dict[str, Any]) -> dict[str, Any]:
    """The line of an entry in the page's list."""
    scores = [s for s in entry["set_scores"] if s is not None]
    return {
        "id": entry["id"],
        "time": entry["time"],
        "request_id": entry["request_id"],
        "prompt": entry["prompt"][:BRIEF_CHARS],
        "scorers": entry["scorers"],
        "completions": entry["completions"],
        "answers": len(entry["answers"]),
        "components": len(entry["components"]),
        "best_set_score": max(scores) if scores else None,
        "errors": len(entry["errors"]),
    }


def detail(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with what decides the group under the estimator's weightings."""
    rewards = np.array([[np.nan if v is None else v for v in row] for row in entry["rewards"]], dtype=np.float64)
    d = len(entry["components"])
    rewards = rewards.reshape(len(entry["answers"]), d)
    config = EstimatorConfig.from_dict(EstimatorSpec.model_validate(entry["estimator"]).options())
    weighed = as_estimated(rewards, config)
    weights = weightings(config, d, entry["position"], entry["group_key"]) if d else np.zeros((0, 0))
    answer_wins = wins(weighed, weights) if d else np.zeros(len(rewards))
    completion_wins = np.zeros(entry["completions"])
    for answer, share in zip(entry["answers"], answer_wins, strict=True):
        completion_wins[answer["completion"]] += share
    return {
        **entry,
        "weighed_rewards": [[None if np.isnan(v) else float(v) for v in row] for row in weighed],
        "num_weights": len(weights),
        "wins": answer_wins.tolist(),
        "completion_wins": completion_wins.tolist(),
        "pareto": pareto(rewards).tolist() if d else [False] * len(rewards),
    }


class History(Protocol):
    def record(self, group: PreparedGroup, response: Any) -> None: ...

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]: ...

    async def get(self, entry_id: str) -> dict[str, Any] | None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class MemoryHistory:
    """A ring buffer of the last ``size`` groups; summarised when first read (nothing copied on the request's path)."""

    def __init__(self, size: int) -> None:
        self.entries: deque[list[Any]] = deque(maxlen=size)  # [id, Recorded, summary or None], newest first

    def record(self, group: PreparedGroup, response: Any) -> None:
        self.entries.appendleft([new_id(), Recorded(time.time(), REQUEST_ID.get(), group, response), None])

    def _summaries(self) -> list[dict[str, Any]]:
        summaries = []
        for item in list(self.entries):
            if item[2] is None:
                item[2] = summarize(item[1], item[0])
            summaries.append(item[2])
        return summaries

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]:
        entries = [e for e in self._summaries() if request_id is None or e["request_id"] == request_id]
        return entries[:limit]

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self._summaries() if e["id"] == entry_id), None)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisListSink:
    """``LPUSH`` each line and ``LTRIM`` the list to ``size``, one pipeline per batch."""

    def __init__(self, redis: Any, key: str, size: int) -> None:
        self.redis, self.key, self.size = redis, key, size

    async def append(self, lines: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.key, *lines)
            pipe.ltrim(self.key, 0, self.size - 1)
            await pipe.execute()


class RedisHistory:
    """The last ``size`` groups in a Redis list, newest first, shared by every replica."""

    def __init__(self, redis: Any, size: int, key: str = REDIS_KEY) -> None:
        self.redis, self.size, self.key = redis, size, key
        self.appender = Appender(RedisListSink(redis, key, size), self._line, "dashboard history", capacity=size)
        self.record = self.appender.record

    @staticmethod
    def _line(recorded: Recorded) -> str:
        return json.dumps(summarize(recorded, new_id()))

    async def _entries(self) -> list[dict[str, Any]]:
        raw: list[bytes] = await self.redis.lrange(self.key, 0, self.size - 1)
        return [json.loads(item) for item in raw]

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]:
        entries = [e for e in await self._entries() if request_id is None or e["request_id"] == request_id]
        return entries[:limit]

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in await self._entries() if e["id"] == entry_id), None)

    async def start(self) -> None:
        await self.appender.start()

    async def close(self) -> None:
        await self.appender.close()


def build_history(settings: Any, redis: Any) -> History | None:
    """The history the settings ask for: none without the dashboard, in Redis when there is one."""
    if not settings.dashboard:
        return None
    if redis is not None:
        return RedisHistory(redis, settings.dashboard_history)
    return MemoryHistory(settings.dashboard_history)
