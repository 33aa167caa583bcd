"""The dynamic batcher on its own: batches across callers, a caller's items split over several forwards,
failures and callers that give up."""

from __future__ import annotations

import asyncio

import pytest

from service.models.batcher import DynamicBatcher


def test_callers_share_forwards_and_get_their_own_results_in_order() -> None:
    seen: list[list[str]] = []

    def run(items: list[str]) -> list[str]:
        seen.append(list(items))
        return [item.upper() for item in items]

    async def main() -> list[list[str]]:
        batcher = DynamicBatcher(run, max_batch_size=4, max_wait_ms=50, length=len)
        calls = [[f"c{i}-{j}" + "x" * ((i + j) % 3) for j in range(1 + i % 3)] for i in range(6)]
        results = await asyncio.gather(*(batcher.submit(items) for items in calls))
        await batcher.close()
        assert results == [[item.upper() for item in items] for items in calls]
        assert batcher.items == sum(len(items) for items in calls) == 12
        return seen

    seen = asyncio.run(main())
    assert len(seen) == 3 and all(len(batch) == 4 for batch in seen)  # 12 items, batches of 4: some calls split
    assert all(batch == sorted(batch, key=len) for batch in seen)  # sorted by length within a forward


def test_a_failing_forward_fails_its_callers_and_the_next_batch_is_served() -> None:
    def run(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("the model failed")
        return items

    async def main() -> None:
        batcher = DynamicBatcher(run, max_batch_size=8, max_wait_ms=20)
        first = await asyncio.gather(batcher.submit(["a", "bad"]), batcher.submit(["b"]), return_exceptions=True)
        assert all(isinstance(result, ValueError) for result in first)
        assert await batcher.submit(["c", "d"]) == ["c", "d"]
        await batcher.close()

    asyncio.run(main())


def test_items_of_a_caller_that_gave_up_are_not_run() -> None:
    seen: list[str] = []

    def run(items: list[str]) -> list[str]:
        seen.extend(items)
        return items

    async def main() -> None:
        batcher = DynamicBatcher(run, max_batch_size=8, max_wait_ms=50)
        gone = asyncio.ensure_future(batcher.submit(["gone"]))
        kept = asyncio.ensure_future(batcher.submit(["kept"]))
        await asyncio.sleep(0.005)
        gone.cancel()
        assert await kept == ["kept"]
        with pytest.raises(asyncio.CancelledError):
            await gone
        await batcher.close()

    asyncio.run(main())
    assert seen == ["kept"]
