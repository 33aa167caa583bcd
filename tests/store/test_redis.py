"""Redis as shared state, against a real redis-server: a cache shared by replicas, O(1) round trips per
batch, scoring that survives Redis going away (and caching that comes back), rate limits that add up."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from service.core.config import Settings
from service.main import create_app
from service.store.cache import RedisCache
from tests.conftest import REFERENCE_FOUR, ServerFactory
from tests.store.conftest import RedisServer


def group(i: int) -> dict[str, Any]:
    return {"prompt": f"question {i}", "completions": ["4", "5", f"{i}"], "scorers": [REFERENCE_FOUR]}


def replica(make_server: ServerFactory, redis_server: RedisServer, **settings: Any) -> str:
    return make_server(Settings(redis_url=redis_server.url, scorers=["reference"], **settings)).url


def test_two_replicas_share_the_cache(make_server: ServerFactory, redis_server: RedisServer) -> None:
    first, second = replica(make_server, redis_server), replica(make_server, redis_server)
    cold = httpx.post(f"{first}/v1/score", json=group(1)).json()
    assert cold["cache"] == {"hits": 0, "misses": 3}
    warm = httpx.post(f"{second}/v1/score", json=group(1)).json()
    assert warm["cache"] == {"hits": 3, "misses": 0}
    assert warm["rewards"] == cold["rewards"]
    keys = redis_server.client().keys("vpo:cache:*")
    assert len(keys) == 3 and all(len(redis_server.client().get(k)) == 8 for k in keys)  # one float64 each
    assert 0 < redis_server.client().ttl(keys[0]) <= 7 * 24 * 3600


def test_a_batch_costs_constant_round_trips(redis_server: RedisServer) -> None:
    app = create_app(Settings(redis_url=redis_server.url, scorers=["reference"]))
    cache = app.state.vpo.pipeline.cache
    assert isinstance(cache, RedisCache)

    def run() -> None:
        import asyncio

        async def main() -> None:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    before = cache.round_trips
                    body = {"groups": [group(i) for i in range(50)]}
                    assert (await client.post("/v1/score/batch", json=body)).status_code == 200
                    await cache.drain()  # the write goes out after the answer
                    assert cache.round_trips - before == 2  # one MGET for 148 answers, one pipelined write
                    before = cache.round_trips
                    result = (await client.post("/v1/score/batch", json=body)).json()
                    await cache.drain()
                    assert cache.round_trips - before == 1  # all hits: nothing to write
                    unique = sum(len(set(group(i)["completions"])) for i in range(50))  # "4", "5" repeat twice
                    assert sum(r["cache"]["hits"] for r in result["results"]) == unique == 148

        asyncio.run(main())

    run()


def test_scoring_survives_redis_going_away_and_caching_comes_back(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    url = replica(make_server, redis_server)
    assert httpx.get(f"{url}/readyz").json()["redis"] == "ok"
    failures: list[str] = []
    done = threading.Event()

    def stream() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            for i in range(400):
                if done.is_set():
                    return
                response = client.post("/v1/score", json=group(i % 7))
                if response.status_code != 200:
                    failures.append(response.text)
                time.sleep(0.005)

    worker = threading.Thread(target=stream)
    worker.start()
    time.sleep(0.3)
    redis_server.stop()
    time.sleep(0.5)
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["redis"] == "unreachable"
    redis_server.start()  # same port, empty
    time.sleep(1.5)  # the cache's pause after a failure is 1 s
    done.set()
    worker.join(timeout=30)
    assert failures == []
    httpx.post(f"{url}/v1/score", json=group(99))
    again = httpx.post(f"{url}/v1/score", json=group(99)).json()
    assert again["cache"]["hits"] == 3  # caching resumed without a restart
    assert httpx.get(f"{url}/readyz").json()["status"] == "ready"


def test_rate_limits_across_replicas_add_up(make_server: ServerFactory, redis_server: RedisServer) -> None:
    limits = {"rate_limit_requests_per_minute": 5, "tokens": ["team-a", "team-b"], "allow_insecure": False}
    first, second = replica(make_server, redis_server, **limits), replica(make_server, redis_server, **limits)
    team_a = {"Authorization": "Bearer team-a"}
    if time.time() % 60 > 55:  # the windows are fixed minutes: start well inside one
        time.sleep(60.5 - time.time() % 60)
    statuses = [httpx.post(f"{url}/v1/score", json=group(1), headers=team_a).status_code
                for url in (first, second, first, second, first, second)]  # fmt: skip
    assert statuses == [200] * 5 + [429]
    refused = httpx.post(f"{second}/v1/score", json=group(1), headers=team_a)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    # another token has its own budget
    assert httpx.post(f"{first}/v1/score", json=group(1), headers={"Authorization": "Bearer team-b"}).status_code == 200


def test_answers_per_minute_without_redis(make_server: ServerFactory) -> None:
    url = make_server(Settings(rate_limit_answers_per_minute=7, scorers=["reference"])).url
    assert httpx.post(f"{url}/v1/score", json=group(1)).status_code == 200  # 3 answers
    assert httpx.post(f"{url}/v1/score/batch", json={"groups": [group(2)]}).status_code == 200  # 6
    refused = httpx.post(f"{url}/v1/score", json=group(3))  # 9 > 7
    assert refused.status_code == 429 and refused.json()["error"]["details"]["limit"] == "answers_per_minute"


def test_cache_hits_and_misses_are_counted_in_the_metrics(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    url = replica(make_server, redis_server)
    httpx.post(f"{url}/v1/score", json=group(6))  # "4", "5", "6"
    httpx.post(f"{url}/v1/score", json=group(6))
    text = httpx.get(f"{url}/metrics").text
    assert 'vpo_cache_misses_total{scorer="reference"} 3.0' in text
    assert 'vpo_cache_hits_total{scorer="reference"} 3.0' in text


def test_judge_limits_are_shared_by_replicas_through_redis(redis_server: RedisServer) -> None:
    import asyncio

    from service.models.judges import UpstreamLimiter
    from service.store.connections import create_redis

    async def main() -> None:
        clients = [create_redis(redis_server.url, 1.0) for _ in range(2)]
        replicas = [UpstreamLimiter("grader", 3, 1000, client) for client in clients]
        window = int(time.time() // 60)
        if time.time() % 60 > 55:  # stay inside one window
            await asyncio.sleep(60.5 - time.time() % 60)
            window = int(time.time() // 60)
        taken = [await replicas[i % 2]._take(window, {"requests": 1, "tokens": 10}) for i in range(4)]
        assert taken == [True, True, True, False]  # 3 requests per minute across both replicas
        assert not await replicas[0]._take(window, {"requests": 1, "tokens": 10})
        tokens = UpstreamLimiter("tokens", None, 100, clients[0])
        assert await tokens._take(window, {"requests": 1, "tokens": 60})
        assert not await tokens._take(window, {"requests": 1, "tokens": 60})  # 120 > 100 tokens
        assert await tokens._take(window + 1, {"requests": 1, "tokens": 60})  # a new minute
        for client in clients:
            await client.aclose()

    asyncio.run(main())
