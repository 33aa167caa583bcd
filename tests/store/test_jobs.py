"""Asynchronous jobs on arq and a real Redis: submitted to one replica, run by a worker process, read from
another; idempotent submission; a worker killed mid-job and another finishing it; Redis down or absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from service.core.config import Settings
from tests.conftest import REFERENCE_FOUR, ServerFactory
from tests.service.test_metrics import samples
from tests.store.conftest import RedisServer
from trainer_client import RewardClient

ROOT = Path(__file__).resolve().parents[2]


def groups(count: int) -> list[dict[str, Any]]:
    return [{"prompt": f"q{i}", "completions": ["4", f"{i}", "5"], "scorers": [REFERENCE_FOUR]} for i in range(count)]


def worker_command(redis_server: RedisServer, burst: bool, env: dict[str, str]) -> dict[str, Any]:
    environment = {**os.environ, "VPO_REDIS_URL": redis_server.url, "VPO_SANDBOX_WORKERS": "1",
                   "VPO_SANDBOX_UID_BASE": "64000", **env}  # fmt: skip
    command = [sys.executable, "-m", "service.cli", "worker", *(["--burst"] if burst else [])]
    return {"args": command, "cwd": ROOT, "env": environment}


def run_burst_worker(redis_server: RedisServer, **env: str) -> None:
    """A worker process in burst mode: it runs the queued jobs, then exits."""
    done = subprocess.run(**worker_command(redis_server, True, env), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def start_worker(redis_server: RedisServer, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(**worker_command(redis_server, False, env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def test_a_job_runs_on_a_worker_and_is_read_from_another_replica(
    make_server: ServerFactory, redis_server: RedisServer
) -> None:
    first = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    second = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    submitted = httpx.post(f"{first}/v1/jobs", json={"groups": groups(6)})
    assert submitted.status_code == 202
    job = submitted.json()
    assert job["status"] == "queued" and job["progress"] == {"done": 0, "total": 6}
    assert httpx.get(f"{second}/v1/jobs/{job['id']}").json()["status"] == "queued"
    assert samples(second)[("vpo_jobs_queue_depth", ())] == 1  # the queue is shared: any replica sees it
    run_burst_worker(redis_server)
    assert samples(first)[("vpo_jobs_queue_depth", ())] == 0
    result = httpx.get(f"{second}/v1/jobs/{job['id']}").json()
    assert result["status"] == "done" and result["progress"] == {"done": 6, "total": 6}
    direct = httpx.post(f"{first}/v1/score/batch", json={"groups": groups(6)}).json()["results"]
    assert [r["advantages"] for r in result["results"]] == [r["advantages"] for r in direct]
    assert [r["rewards"] for r in result["results"]] == [r["rewards"] for r in direct]


def test_submission_is_idempotent_on_the_key(make_server: ServerFactory, redis_server: RedisServer) -> None:
    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    body = {"groups": groups(2)}
    first = httpx.post(f"{url}/v1/jobs", json=body, headers={"Idempotency-Key": "step-17"}).json()
    again = httpx.post(f"{url}/v1/jobs", json=body, headers={"Idempotency-Key": "step-17"}).json()
    other = httpx.post(f"{url}/v1/jobs", json=body, headers={"Idempotency-Key": "step-18"}).json()
    assert first["id"] == again["id"] != other["id"]
    assert redis_server.client().zcard("vpo:jobs") == 2  # step-17 queued once
    with RewardClient(url) as client:  # the client sends a key of its own, so its retries are safe too
        job_id = client.submit_job(groups(3), idempotency_key="step-19")
        assert client.submit_job(groups(3), idempotency_key="step-19") == job_id
        run_burst_worker(redis_server)
        results = client.wait_job(job_id, poll_s=0.1, timeout=30, progress=False)
    assert len(results) == 3 and results.advantages.shape == (9,)


def test_a_worker_killed_mid_job_leaves_it_to_another(make_server: ServerFactory, redis_server: RedisServer) -> None:
    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference", "tests"], sandbox_workers=1)).url
    slow = {"name": "tests", "params": {"timeout_s": 5, "tests": [{"kind": "assert", "code": "assert f() == 1"}]}}
    code = "import time\ntime.sleep(0.6)\ndef f():\n    return {}\n"
    body = {"groups": [{"prompt": f"slow {i}", "answers": [[code.format(i % 2)]], "scorers": [slow]} for i in range(6)]}
    job_id = httpx.post(f"{url}/v1/jobs", json=body).json()["id"]
    env = {"VPO_JOB_TIMEOUT_S": "4"}  # a dead worker's claim on the job expires after 4 + 10 s
    first = start_worker(redis_server, **env)
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/v1/jobs/{job_id}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert httpx.get(f"{url}/v1/jobs/{job_id}").json()["status"] in ("running", "queued")
    run_burst_worker(redis_server, **env)
    job = httpx.get(f"{url}/v1/jobs/{job_id}").json()
    assert job["status"] == "done" and len(job["results"]) == 6
    assert [r["rewards"][0][0][0] for r in job["results"]] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_a_worker_outlives_a_redis_restart(make_server: ServerFactory, redis_server: RedisServer) -> None:
    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    worker = start_worker(redis_server, VPO_SCORERS="reference")
    try:
        first = httpx.post(f"{url}/v1/jobs", json={"groups": groups(2)}).json()["id"]
        wait_for_status(url, first, "done")
        redis_server.stop()
        time.sleep(1.5)  # the worker's polls fail meanwhile
        assert worker.poll() is None
        redis_server.start()  # same port, empty
        second = httpx.post(f"{url}/v1/jobs", json={"groups": groups(3)}).json()["id"]
        assert len(wait_for_status(url, second, "done")["results"]) == 3  # taken by the same worker process
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0  # and it still stops cleanly


def wait_for_status(url: str, job_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (job := httpx.get(f"{url}/v1/jobs/{job_id}").json())["status"] != status:
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_jobs_need_redis(make_server: ServerFactory, redis_server: RedisServer) -> None:
    without = make_server(Settings(scorers=["reference"])).url
    refused = httpx.post(f"{without}/v1/jobs", json={"groups": groups(1)})
    assert refused.status_code == 503 and "VPO_REDIS_URL" in refused.json()["error"]["message"]
    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    invalid = httpx.post(f"{url}/v1/jobs", json={"groups": [{"prompt": "q", "completions": ["a"],
                                                              "scorers": [{"name": "nope"}]}]})  # fmt: skip
    assert invalid.status_code == 422  # refused at submission, never queued
    assert httpx.get(f"{url}/v1/jobs/no-such-job").status_code == 404
    redis_server.stop()
    down = httpx.post(f"{url}/v1/jobs", json={"groups": groups(1)})
    assert down.status_code == 503 and "Redis cannot be reached" in down.json()["error"]["message"]
    assert httpx.post(f"{url}/v1/score", json=groups(1)[0]).status_code == 200  # scoring goes on
    redis_server.start()


def test_wait_job_gives_up_after_its_timeout(make_server: ServerFactory, redis_server: RedisServer) -> None:
    import pytest

    from trainer_client import JobFailedError

    url = make_server(Settings(redis_url=redis_server.url, scorers=["reference"])).url
    with RewardClient(url) as client:
        job_id = client.submit_job(groups(1))  # no worker runs: it stays queued
        with pytest.raises(JobFailedError, match="not finished"):
            client.wait_job(job_id, poll_s=0.05, timeout=0.3, progress=False)
        assert client.get_job(job_id)["status"] == "queued"
