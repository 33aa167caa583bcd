from __future__ import annotations

import asyncio

from service.scoring.cache import LRUCache, cache_key


def test_lru_evicts_the_least_recently_used() -> None:
    async def run() -> None:
        cache = LRUCache(2)
        await cache.set_many({"a": [1.0], "b": [2.0]})
        assert await cache.get_many(["a"]) == [[1.0]]  # a is now the most recent
        await cache.set_many({"c": [3.0]})
        assert await cache.get_many(["a", "b", "c"]) == [[1.0], None, [3.0]]
        off = LRUCache(0)
        await off.set_many({"a": [1.0]})
        assert await off.get_many(["a"]) == [None]
        assert cache.enabled and not off.enabled  # the pipeline computes no keys for a cache that is off

    asyncio.run(run())


def test_cache_key_separates_every_part() -> None:
    base = cache_key("tests", "{}", "prompt", "answer")
    assert base == cache_key("tests", "{}", "prompt", "answer")
    assert (
        len(
            {
                base,
                cache_key("rubric", "{}", "prompt", "answer"),
                cache_key("tests", '{"a":1}', "prompt", "answer"),
                cache_key("tests", "{}", "prompt2", "answer"),
                cache_key("tests", "{}", "prompt", "answer2"),
                cache_key("tests", "{}", "prompta", "nswer"),
            }
        )
        == 6
    )
