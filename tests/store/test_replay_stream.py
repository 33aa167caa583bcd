"""The replay log in a Redis stream (a real redis-server): written by the API and by job workers, read back
by ``vpo-rewards replay redis://...``, and kept (not lost, not failing requests) across a Redis restart."""

from __future__ import annotations

import json

import httpx

from service.core.config import Settings
from tests.conftest import ServerFactory
from tests.service.test_cli import run
from tests.store.conftest import RedisServer, wait_for_count
from tests.store.test_jobs import groups, run_burst_worker

STREAM = "vpo:replay"


def stream_entries(redis_server: RedisServer) -> list[dict[str, object]]:
    client = redis_server.client()
    try:
        return [json.loads(fields[b"entry"]) for _, fields in client.xrange(STREAM)]
    finally:
        client.close()


def wait_for_entries(redis_server: RedisServer, count: int) -> list[dict[str, object]]:
    return wait_for_count(lambda: stream_entries(redis_server), count)


def test_api_and_worker_append_to_the_stream_and_replay_reads_it(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    url = make_server(Settings(redis_url=redis_server.url, replay_log="redis", scorers=["reference"])).url
    assert httpx.post(f"{url}/v1/score/batch", json={"groups": groups(4)}).status_code == 200
    assert httpx.post(f"{url}/v1/jobs", json={"groups": groups(3)}).status_code == 202
    run_burst_worker(redis_server, VPO_REPLAY_LOG="redis", VPO_SCORERS="reference")
    entries = wait_for_entries(redis_server, 7)
    assert len(entries) == 7
    assert sorted(str(e["request"]["prompt"]) for e in entries) == sorted(
        [f"q{i}" for i in range(4)] + ["q0", "q1", "q2"]
    )  # type: ignore[index]
    done = run("replay", redis_server.url, "--stream", STREAM, "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("replayed 7 groups: 0 changed, 0 failed")


def test_entries_scored_while_redis_is_down_are_written_when_it_is_back(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    url = make_server(Settings(redis_url=redis_server.url, replay_log="redis", scorers=["reference"])).url
    redis_server.stop()
    response = httpx.post(f"{url}/v1/score/batch", json={"groups": groups(5)}, timeout=30)
    assert response.status_code == 200  # the log never fails a request
    redis_server.start()  # same port, empty
    entries = wait_for_entries(redis_server, 5)
    assert sorted(str(e["request"]["prompt"]) for e in entries) == [f"q{i}" for i in range(5)]  # type: ignore[index]
