"""Fixed one-minute counters, the piece under every per-minute limit: in Redis when given (``INCRBY`` and
``EXPIRE NX`` in one transaction, shared by every replica), else in this process. Keys end with their
window number (``...:<unix time // 60>``); local counters of past windows are dropped."""

from __future__ import annotations

import time
from typing import Any

from .connections import REDIS_ERRORS

WINDOW_S = 60


def current_window() -> int:
    return int(time.time() // WINDOW_S)


class WindowCounters:
    def __init__(self, client: Any = None) -> None:
        self.client = client
        self.local: dict[str, int] = {}

    async def add(self, amounts: dict[str, int]) -> dict[str, int] | None:
        """Add ``amounts`` (key -> amount) and return the new counts; None when Redis cannot be reached (the
        caller decides: let the request through, or count in-process)."""
        if self.client is not None:
            try:
                async with self.client.pipeline(transaction=True) as pipe:
                    for key, amount in amounts.items():
                        pipe.incrby(key, amount)
                        pipe.expire(key, 2 * WINDOW_S, nx=True)
                    results = await pipe.execute()
                return {key: int(results[2 * i]) for i, key in enumerate(amounts)}
            except REDIS_ERRORS:
                return None
        oldest = current_window() - 1
        if len(self.local) > 10_000:
            self.local = {k: v for k, v in self.local.items() if int(k.rsplit(":", 1)[1]) >= oldest}
        for key, amount in amounts.items():
            self.local[key] = self.local.get(key, 0) + amount
        return {key: self.local[key] for key in amounts}
