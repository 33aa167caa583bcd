"""The reward cache: component values of one (scorer, params, prompt, answer), keyed by a hash of the four.

The embedded default is an in-process LRU; the interface is async so that a shared store (Redis) fits the
same place. Only complete rows (no missing value) are stored: a failure or a deadline is never cached.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


def cache_key(scorer: str, params_json: str, prompt: str, answer: str) -> str:
    """Stable key of one answer's values under one scorer configuration."""
    payload = json.dumps([scorer, params_json, prompt, answer], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class RewardCache(Protocol):
    @property
    def enabled(self) -> bool:
        """False when nothing is ever stored: then the pipeline computes no keys."""
        ...

    async def get_many(self, keys: Sequence[str]) -> list[list[float] | None]: ...

    async def set_many(self, rows: Mapping[str, list[float]]) -> None: ...


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0

    def add(self, other: CacheStats) -> None:
        self.hits += other.hits
        self.misses += other.misses


class LRUCache:
    """In-process least-recently-used cache of value rows; ``max_entries = 0`` stores nothing."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._rows: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    async def get_many(self, keys: Sequence[str]) -> list[list[float] | None]:
        found: list[list[float] | None] = []
        for key in keys:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            found.append(row)
        return found

    async def set_many(self, rows: Mapping[str, list[float]]) -> None:
        if self.max_entries <= 0:
            return
        for key, row in rows.items():
            self._rows[key] = row
            self._rows.move_to_end(key)
        while len(self._rows) > self.max_entries:
            self._rows.popitem(last=False)
