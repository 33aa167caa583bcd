"""The dashboard's history in Redis (a real redis-server): shared by replicas, fed by job workers too, bounded,
and a 503 (not a failed scoring request) while Redis is away."""

from __future__ import annotations

from typing import Any

import httpx

from service.core.config import Settings
from tests.conftest import ServerFactory
from tests.store.conftest import RedisServer, wait_for_count
from tests.store.test_jobs import groups, run_burst_worker


def wait_for_groups(url: str, count: int) -> list[dict[str, Any]]:
    return wait_for_count(lambda: httpx.get(f"{url}/v1/dashboard/groups").json()["groups"], count)


def test_replicas_share_the_history_and_jobs_appear_in_it(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    settings = Settings(redis_url=redis_server.url, scorers=["reference"], dashboard_history=5)
    first, second = make_server(settings).url, make_server(settings).url
    assert httpx.post(f"{first}/v1/score/batch", json={"groups": groups(2)}).is_success
    seen = wait_for_groups(second, 2)
    assert sorted(g["prompt"] for g in seen) == ["q0", "q1"]
    detail = httpx.get(f"{second}/v1/dashboard/groups/{seen[0]['id']}").json()
    assert len(detail["answers"]) == 3 and len(detail["wins"]) == 3
    assert httpx.post(f"{first}/v1/jobs", json={"groups": groups(4)}).status_code == 202
    run_burst_worker(redis_server, VPO_SCORERS="reference", VPO_DASHBOARD_HISTORY="5")
    assert len(wait_for_groups(second, 5)) == 5  # 2 + 4 groups, the list keeps 5


def test_history_in_redis_down_is_a_503_and_scoring_goes_on(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    redis_server.stop()
    assert httpx.post(f"{url}/v1/score/batch", json={"groups": groups(1)}, timeout=30).is_success
    response = httpx.get(f"{url}/v1/dashboard/groups", timeout=30)
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    redis_server.start()
    assert wait_for_groups(url, 1)[0]["prompt"] == "q0"  # queued meanwhile, written when Redis is back
