"""Load and faults: N concurrent clients against a real service process (2 uvicorn workers) with Redis on
loopback and a job worker, for a fixed time, twice: undisturbed, then while one uvicorn worker is killed
(SIGKILL), Redis is restarted and the job worker is killed and replaced. Reports throughput and p50/p99
latency of each phase, and the requests and jobs that failed or were lost (both must be zero: clients retry
what a dead process dropped, jobs live in Redis's append-only file and a dead worker's job runs again).

    python bench/load.py [--clients 16] [--seconds 20] [--groups 4] [--max-requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, RedisProcess, ServiceProcess  # noqa: E402
from trainer_client import AsyncRewardClient, VPORewardsError  # noqa: E402

SCORER = {"name": "reference", "params": {"checks": [{"mode": "numeric", "reference": "42"}]}}
JOB_EVERY = 25  # each client submits a job every this many requests


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    groups: int = 0
    jobs: list[str] = field(default_factory=list)
    job_failures: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0


def group(rng: random.Random) -> dict[str, Any]:
    completions = [f"The answer is {rng.choice([41, 42, 43, rng.randrange(10**6)])}." for _ in range(8)]
    return {"prompt": f"q{rng.randrange(10**9)}", "completions": completions, "scorers": [SCORER]}


async def client_loop(client: AsyncRewardClient, phase: Phase, stop_at: float, budget: list[int], seed: int) -> None:
    rng = random.Random(seed)
    sent = 0
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        sent += 1
        groups = [group(rng) for _ in range(ARGS.groups)]
        started = time.perf_counter()
        try:
            if sent % JOB_EVERY == 0:
                job = await client.request("POST", "/v1/jobs", {"groups": groups},
                                           headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
                phase.jobs.append(job["id"])
            else:
                data = await client.request("POST", "/v1/score/batch", {"groups": groups})
                assert len(data["results"]) == len(groups)
                phase.groups += len(groups)
            phase.latencies.append(time.perf_counter() - started)
        except VPORewardsError as exc:
            phase.failures.append(repr(exc)[:300])


def uvicorn_workers(master: int) -> list[int]:
    """The master's worker processes (multiprocessing spawn children)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def start_job_worker(redis_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VPO_REDIS_URL": redis_url, "VPO_SCORERS": "reference", "VPO_JOB_TIMEOUT_S": "5",
           "VPO_LOG_LEVEL": "warning"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=ROOT, env=env)


async def faults(phase: Phase, service: ServiceProcess, redis: RedisProcess, workers: list[Any]) -> None:
    started = time.monotonic()

    def note(event: str) -> None:
        phase.events.append(f"{time.monotonic() - started:.1f} s: {event}")

    await asyncio.sleep(ARGS.seconds * 0.25)
    assert service.process is not None
    victims = uvicorn_workers(service.process.pid)
    os.kill(victims[0], signal.SIGKILL)
    note(f"uvicorn worker {victims[0]} killed")
    await asyncio.sleep(ARGS.seconds * 0.25)
    await asyncio.to_thread(redis.stop)
    note("Redis stopped")
    await asyncio.sleep(0.5)
    await asyncio.to_thread(redis.start)
    note("Redis started again")
    await asyncio.sleep(ARGS.seconds * 0.1)
    workers[0].kill()
    await asyncio.to_thread(workers[0].wait)
    workers[0] = start_job_worker(redis.url)
    note("job worker killed, another started")


async def run_phase(name: str, url: str, fault: Any = None, seconds: float | None = None) -> Phase:
    phase = Phase(name)
    budget = [ARGS.max_requests]
    stop_at = time.monotonic() + (seconds or ARGS.seconds)
    started = time.perf_counter()
    async with AsyncRewardClient(url, max_retries=8, backoff=0.2, max_backoff=2.0, timeout=60) as client:
        tasks = [client_loop(client, phase, stop_at, budget, seed) for seed in range(ARGS.clients)]
        await asyncio.gather(*tasks, *([fault(phase)] if fault else []))
    phase.seconds = time.perf_counter() - started
    return phase


async def wait_jobs(url: str, phases: list[Phase]) -> tuple[int, list[str]]:
    """Polls every accepted job until it ends (bounded); the ones that failed or never finished."""
    pending = {job: phase for phase in phases for job in phase.jobs}
    done = 0
    problems = []
    deadline = time.monotonic() + 120
    async with AsyncRewardClient(url, max_retries=8, timeout=30) as client:
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                job = await client.request("GET", f"/v1/jobs/{job_id}")
                if job["status"] == "done":
                    done += 1
                    del pending[job_id]
                elif job["status"] == "failed":
                    problems.append(f"job {job_id} failed: {job['error']}")
                    del pending[job_id]
            await asyncio.sleep(0.5)
    problems += [f"job {job_id} lost (not done after 120 s)" for job_id in pending]
    return done, problems


def report(phase: Phase) -> str:
    lat = sorted(phase.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    return (f"{phase.name:8} {len(lat) + len(phase.failures):9d} {phase.groups / phase.seconds:9.1f} "
            f"{p50:8.1f} {p99:8.1f} {len(phase.failures):7d} {len(phase.jobs):5d}")  # fmt: skip


async def main() -> int:
    with RedisProcess() as redis:
        env = {"VPO_REDIS_URL": redis.url, "VPO_SCORERS": "reference", "VPO_REDIS_TIMEOUT_S": "0.25"}
        service = ServiceProcess(env, args=("--workers", "2"))
        with service as url:
            workers = [start_job_worker(redis.url)]
            try:
                await run_phase("warm-up", url, seconds=3)  # both uvicorn workers' first requests, connections
                steady = await run_phase("steady", url)
                faulty = await run_phase("faults", url, lambda phase: faults(phase, service, redis, workers))
                done, problems = await wait_jobs(url, [steady, faulty])
            finally:
                for worker in workers:
                    worker.kill()
                    worker.wait()
    print(f"{ARGS.clients} clients, {ARGS.seconds:g} s per phase, {ARGS.groups} groups of 8 completions per request")
    print(f"{'phase':8} {'requests':>9} {'groups/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7} {'jobs':>5}")
    print(report(steady))
    print(report(faulty))
    for event in faulty.events:
        print(f"  {event}")
    ratio = (faulty.groups / faulty.seconds) / (steady.groups / steady.seconds)
    print(f"throughput under faults: {ratio:.2f}x the undisturbed phase")
    jobs = len(steady.jobs) + len(faulty.jobs)
    print(f"jobs: {jobs} accepted, {done} done, {len(problems)} failed or lost")
    for failure in (steady.failures + faulty.failures)[:10] + problems[:10]:
        print("  ", failure)
    return 1 if steady.failures or faulty.failures or problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--groups", type=int, default=4, help="groups per request")
    parser.add_argument("--max-requests", type=int, default=20_000, help="bound on requests per phase")
    ARGS = parser.parse_args()
    raise SystemExit(asyncio.run(main()))
