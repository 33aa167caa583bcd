"""Where request math runs: on the event loop when it is small, in a worker thread when it is not.

A thread hop (and the GIL hand-over that comes with it) costs more than the estimator on one small group, and
a busy service pays it on every request; a large batch, on the other hand, must not stall the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import anyio

T = TypeVar("T")
INLINE_WORK = 100_000  # reward values x weights: about a millisecond of numpy at most


async def run_math(fn: Callable[[], T], work: int, inline_up_to: int = INLINE_WORK) -> T:
    """``fn()``, inline when ``work`` is at most ``inline_up_to``, else in a worker thread."""
    if work <= inline_up_to:
        return fn()
    return await anyio.to_thread.run_sync(fn)


def reward_values(groups: Iterable[Sequence[Sequence[Sequence[object]]]]) -> int:
    """Number of reward values in nested (group, completion, answer, component) lists."""
    return sum(len(answer) for group in groups for completion in group for answer in completion)
