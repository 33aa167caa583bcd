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
        assert batcher.counts.items == sum(len(items) for items in calls) == 12
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


def test_calls_of_one_turn_run_together_and_a_bad_one_fails_alone() -> None:
    from service.core.turns import TurnBatcher

    runs: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        runs.append(list(items))
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return [item * 10 for item in items]

    async def main() -> None:
        turns: TurnBatcher[int, int] = TurnBatcher(run)
        assert await asyncio.gather(*(turns.submit(i) for i in range(5))) == [0, 10, 20, 30, 40]
        assert runs == [[0, 1, 2, 3, 4]]  # one run for the five calls of one turn
        runs.clear()
        results = await asyncio.gather(turns.submit(1), turns.submit(-1), turns.submit(2), return_exceptions=True)
        assert results[0] == 10 and results[2] == 20 and isinstance(results[1], ValueError)
        assert runs == [[1, -1, 2], [1], [-1], [2]]  # the joint run failed: each ran alone
        assert await turns.submit(3) == 30  # a later turn: a run of its own
        assert turns.runs == 1 + 4 + 1

    asyncio.run(main())


def test_a_call_given_up_before_its_turn_ends_is_not_run() -> None:
    from service.core.turns import TurnBatcher

    runs: list[list[str]] = []

    async def run(items: list[str]) -> list[str]:
        runs.append(list(items))
        return items

    async def main() -> None:
        turns: TurnBatcher[str, str] = TurnBatcher(run)
        gone = asyncio.ensure_future(turns.submit("gone"))
        kept = asyncio.ensure_future(turns.submit("kept"))
        await asyncio.sleep(0)  # both are queued; the run starts at the end of the next turn
        gone.cancel()
        assert await kept == "kept"
        assert gone.cancelled()

    asyncio.run(main())
    assert runs == [["kept"]]


def _split_cost(lengths: list[int], chunks: list[slice], cost: int, multiples: tuple[int, int]) -> int:
    rows_to, width_to = multiples
    return sum(-(-(c.stop - c.start) // rows_to) * rows_to * -(-lengths[c.stop - 1] // width_to) * width_to + cost
               for c in chunks)  # fmt: skip


@pytest.mark.parametrize("multiples", [(1, 1), (4, 16)])
def test_a_sorted_batch_splits_into_the_cheapest_forwards(multiples: tuple[int, int]) -> None:
    """Against every way of cutting small batches: the split covers every row once, in order, keeps each
    forward of several rows within the budget, and costs no more than the best cut."""
    import itertools
    import random

    from service.models.loading import split_sorted

    rng = random.Random(7)
    for _ in range(150):
        lengths = sorted(rng.randint(1, 120) for _ in range(rng.randint(1, 9)))
        cost, budget = rng.choice([0, 16, 64, 500]), rng.choice([64, 200, 10**6])
        chunks = split_sorted(lengths, budget, cost, multiples)
        assert [i for c in chunks for i in range(c.start, c.stop)] == list(range(len(lengths)))
        assert all(c.stop - c.start == 1 or (c.stop - c.start) * lengths[c.stop - 1] <= budget for c in chunks)
        feasible = []
        for cuts in itertools.product([False, True], repeat=len(lengths) - 1):
            ends = [i + 1 for i, cut in enumerate(cuts) if cut] + [len(lengths)]
            candidate = [slice(start, end) for start, end in zip([0, *ends[:-1]], ends, strict=True)]
            if all(c.stop - c.start == 1 or (c.stop - c.start) * lengths[c.stop - 1] <= budget for c in candidate):
                feasible.append(_split_cost(lengths, candidate, cost, multiples))
        assert _split_cost(lengths, chunks, cost, multiples) == min(feasible)


def test_a_batch_of_like_lengths_stays_whole_and_mixed_ones_split() -> None:
    from service.models.loading import split_sorted

    assert split_sorted([30, 31, 32, 33], 32768, 64) == [slice(0, 4)]
    assert split_sorted([10] * 32 + [400] * 32, 32768, 64) == [slice(0, 32), slice(32, 64)]
    assert split_sorted([10] * 32 + [400] * 32, 32768, 10**6) == [slice(0, 64)]  # a forward costs more
    budgeted = split_sorted([500] * 100, 32768, 10**6)  # the budget still binds: two forwards of 65 rows at most
    assert len(budgeted) == 2 and all(c.stop - c.start <= 65 for c in budgeted)
    assert split_sorted([], 32768, 64) == []


def test_the_cost_of_a_forward_is_measured_on_cpu_and_taken_from_the_spec_when_set() -> None:
    """On CPU the cost of one more forward is measured from forwards of 1 x 16 and 8 x 64 token rows: here a
    forward that takes 5 ms plus 10 µs a token (sleeps) is worth about 500 tokens. A spec's value wins, and
    CUDA has a fixed default."""
    import time

    from service.models.loading import CPU_FORWARD_COST, CUDA_FORWARD_COST, ModelSpec, forward_cost

    shapes: list[tuple[int, int]] = []

    def forward(encoded: dict[str, list[list[int]]]) -> list[float]:
        rows = encoded["input_ids"]
        shapes.append((len(rows), len(rows[0])))
        time.sleep(0.005 + 1e-5 * len(rows) * len(rows[0]))
        return [0.0] * len(rows)

    spec = ModelSpec(kind="embedding", path="unused")
    assert 250 <= forward_cost(spec, "cpu", forward) <= 1000
    assert set(shapes) == {(1, 16), (8, 64)}
    assert forward_cost(spec, "cuda", forward) == CUDA_FORWARD_COST
    assert forward_cost(spec.model_copy(update={"forward_cost_tokens": 7}), "cpu", forward) == 7
    assert len(shapes) == 6  # neither of the last two measured
    shapes.clear()
    forward_cost(spec.model_copy(update={"max_length": 8}), "cpu", forward)
    assert set(shapes) == {(1, 8), (8, 8)}  # no wider than the model's inputs may be

    def failing(encoded: dict[str, list[list[int]]]) -> list[float]:
        raise RuntimeError("this model wants other inputs")

    assert forward_cost(spec, "cpu", failing) == CPU_FORWARD_COST  # the model still loads


def test_a_row_of_no_tokens_alone_in_its_forward_is_padded_to_one_token() -> None:
    """A text that tokenizes to nothing (a decoder's tokenizer on an empty answer) may now be split into a
    forward of its own: its tensors are one padding token wide, masked out, never zero wide."""
    from service.models.loading import padded
    from tests.tiny_models import minilm_vocab_tokenizer

    tokenizer = minilm_vocab_tokenizer()
    batch = padded(tokenizer, {"input_ids": [[], [101, 102]]}, [0], "cpu")
    assert tuple(batch["input_ids"].shape) == (1, 1) and batch["attention_mask"].tolist() == [[0]]
    both = padded(tokenizer, {"input_ids": [[], [101, 102]]}, [0, 1], "cpu")
    assert both["input_ids"].tolist() == [[tokenizer.pad_token_id] * 2, [101, 102]]
    assert both["attention_mask"].tolist() == [[0, 0], [1, 1]]


def test_forward_counts_read_while_the_forward_thread_adds_always_agree() -> None:
    """The forward's thread adds counts (new sizes too) while ``/metrics`` and ``/readyz`` read them: every
    reading is whole (its forwards, items and sizes agree) and none fails on a dict changing under it."""
    import threading

    from service.models.batcher import ForwardCounts

    counts = ForwardCounts()
    done = threading.Event()

    def forwards() -> None:
        for size in range(1, 20001):
            counts.add(size % 5000 + 1)
        done.set()

    thread = threading.Thread(target=forwards)
    thread.start()
    readings = 0
    while not done.is_set() or readings == 0:
        forward_count, item_count, sizes = counts.snapshot()
        assert forward_count == sum(sizes.values())
        assert item_count == sum(size * n for size, n in sizes.items())
        readings += 1
    thread.join()
    assert counts.forwards == 20000 and counts.items == sum(size % 5000 + 1 for size in range(1, 20001))
