"""The dashboard's history: the last N scored groups, in this process (a ring buffer, also bounded in bytes) or,
when the service has Redis, shared by every replica and job worker: a Redis list of brief lines plus one key per
entry (expiring after a day), written off the request's path by an Appender.

An entry is a plain dict (:func:`summarize`): the prompt, every answer with its completion, its text (cut to a
budget per entry) and its reward row, the per-completion figures of the result, and the estimator spec, from
which :func:`detail` adds what decides the group (win shares of the answers and completions, the Pareto set).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from trainer_client.vpo import EstimatorConfig

from ..api.protocol import EstimatorSpec
from ..core.appender import Appender, Recorded
from ..core.logs import REQUEST_ID
from ..scoring.prepare import PreparedGroup
from ..store.constants import DASHBOARD_ENTRY_PREFIX, DASHBOARD_LIST
from .analysis import as_estimated, pareto, weightings, wins

PARETO_WORK = 50_000_000  # answers^2 x components past which the Pareto set is not computed (null)

TEXT_CHARS = 20_000  # of one answer or prompt kept for the page
TEXT_BUDGET = 1_000_000  # characters of answer text kept per entry, shared by its answers
MEMORY_BYTES = 128 << 20  # about what the in-process history may hold (the oldest groups go first)
BRIEF_CHARS = 160
ERRORS_KEPT = 20
ENTRY_TTL_S = 24 * 3600


def summarize(recorded: Recorded, entry_id: str) -> dict[str, Any]:
    group, response = recorded.group, recorded.response
    count = sum(len(parsed.answers) for parsed in group.parsing)
    cut = max(200, min(TEXT_CHARS, TEXT_BUDGET // max(count, 1)))
    answers, rows = [], []
    for g, parsed in enumerate(group.parsing):
        for i, text in enumerate(parsed.answers):
            answers.append({"completion": g, "answer": i, "text": text[:cut]})
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
    optimal = pareto(rewards) if d and len(rewards) ** 2 * d <= PARETO_WORK else None
    return {
        **entry,
        "weighed_rewards": [[None if np.isnan(v) else float(v) for v in row] for row in weighed],
        "num_weights": len(weights),
        "wins": answer_wins.tolist(),
        "completion_wins": completion_wins.tolist(),
        "pareto": None if optimal is None else optimal.tolist(),
    }


def detail_work(entry: dict[str, Any]) -> int:
    """About how many multiply-adds :func:`detail` does (to run a big one off the event loop)."""
    n, d = len(entry["answers"]), len(entry["components"])
    return n * d * max(int(entry["estimator"].get("num_weights") or 100), 1) + min(n * n * d, PARETO_WORK)


class History(Protocol):
    def record(self, group: PreparedGroup, response: Any) -> None: ...

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]: ...

    async def get(self, entry_id: str) -> dict[str, Any] | None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class MemoryHistory:
    """A ring buffer of the last ``size`` groups (and about ``max_bytes`` of their texts and values: the oldest go
    first); each is summarised when first read, so nothing is copied on the request's path."""

    def __init__(self, size: int, max_bytes: int = MEMORY_BYTES) -> None:
        self.size, self.max_bytes = size, max_bytes
        self.entries: deque[list[Any]] = deque()  # [id, Recorded, summary or None, bytes], newest first
        self.bytes = 0

    def record(self, group: PreparedGroup, response: Any) -> None:
        weight = len(group.request.prompt) + sum(
            len(text) + 8 * len(response.components) for parsed in group.parsing for text in parsed.answers
        )
        self.entries.appendleft([new_id(), Recorded(time.time(), REQUEST_ID.get(), group, response), None, weight])
        self.bytes += weight
        while len(self.entries) > self.size or (self.bytes > self.max_bytes and len(self.entries) > 1):
            self.bytes -= self.entries.pop()[3]

    @staticmethod
    def _summary(item: list[Any]) -> dict[str, Any]:
        if item[2] is None:
            item[2] = summarize(item[1], item[0])
        summary: dict[str, Any] = item[2]
        return summary

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]:
        entries = [self._summary(item) for item in list(self.entries)]
        return [brief(e) for e in entries if request_id is None or e["request_id"] == request_id][:limit]

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        return next((self._summary(item) for item in list(self.entries) if item[0] == entry_id), None)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisHistorySink:
    """Per entry, ``SET`` its key (expiring) and ``LPUSH`` its brief line; ``LTRIM`` the list to ``size``."""

    def __init__(self, redis: Any, size: int) -> None:
        self.redis, self.size = redis, size

    async def append(self, items: Sequence[tuple[str, str, str]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id, line, full in items:
                pipe.set(DASHBOARD_ENTRY_PREFIX + entry_id, full, ex=ENTRY_TTL_S)
                pipe.lpush(DASHBOARD_LIST, line)
            pipe.ltrim(DASHBOARD_LIST, 0, self.size - 1)
            await pipe.execute()


class RedisHistory:
    """The last ``size`` groups in Redis, newest first, shared by every replica and job worker."""

    def __init__(self, redis: Any, size: int) -> None:
        self.redis, self.size = redis, size
        self.appender = Appender(RedisHistorySink(redis, size), self._render, "dashboard history", capacity=size)
        self.record = self.appender.record

    @staticmethod
    def _render(recorded: Recorded) -> tuple[str, str, str]:
        entry = summarize(recorded, new_id())
        return entry["id"], json.dumps(brief(entry)), json.dumps(entry)

    async def recent(self, limit: int, request_id: str | None = None) -> list[dict[str, Any]]:
        raw: list[bytes] = await self.redis.lrange(DASHBOARD_LIST, 0, self.size - 1)
        briefs = [json.loads(item) for item in raw]
        return [b for b in briefs if request_id is None or b["request_id"] == request_id][:limit]

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        raw: bytes | None = await self.redis.get(DASHBOARD_ENTRY_PREFIX + entry_id)
        return None if raw is None else dict(json.loads(raw))

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
