"""The service's own cost per ``/v1/score`` request: CPU time of the service process per request (one group of
4 completions, the cheap ``reference`` scorer, so HTTP, validation, the pipeline, the estimator and the answer
are what is measured), under 16 concurrent clients over loopback HTTP, for the working tree against a git ref,
alternating rounds in the same command (this machine's speed drifts over minutes). CPU time rather than wall
time: the clients share the machine's cores.

    python bench/request.py --ref REF [--rounds 6] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, ServiceProcess, checkout, cpu_seconds, process_tree  # noqa: E402

CLIENTS = 16


def body(i: int) -> dict[str, Any]:
    checks = [{"mode": "numeric", "reference": i}, {"mode": "normalized", "reference": "x"}]
    return {"prompt": f"p{i}", "answers": [[f"the answer is {i + j}"] for j in range(4)],
            "scorers": [{"name": "reference", "params": {"checks": checks}}]}  # fmt: skip


async def clients(url: str, requests: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        queue = list(range(requests))

        async def client() -> None:
            while queue:
                (await http.post("/v1/score", json=body(queue.pop()))).raise_for_status()

        await asyncio.gather(*(client() for _ in range(CLIENTS)))


def cpu_ms_per_request(service: ServiceProcess, url: str, requests: int) -> float:
    assert service.process is not None
    pids = process_tree(service.process.pid)
    before = sum(cpu_seconds(pid) for pid in pids)
    asyncio.run(clients(url, requests))
    return (sum(cpu_seconds(pid) for pid in pids) - before) * 1e3 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", required=True, help="the git commit (or branch, tag) to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    env = {"VPO_CACHE_SIZE": "0", "VPO_SCORERS": "reference"}
    with checkout(args.ref) as tree, contextlib.ExitStack() as stack:
        services = {args.ref: ServiceProcess(env, root=tree), "working tree": ServiceProcess(env, root=ROOT)}
        urls = {name: stack.enter_context(service) for name, service in services.items()}
        for url in urls.values():  # warm up
            asyncio.run(clients(url, 200))
        costs: dict[str, list[float]] = {name: [] for name in services}
        for r in range(args.rounds):
            for name in list(services) if r % 2 == 0 else list(services)[::-1]:
                costs[name].append(cpu_ms_per_request(services[name], urls[name], args.requests))
    print(f"/v1/score, one group of 4 completions (reference scorer), {CLIENTS} concurrent clients, "
          f"{args.requests} requests per round, {args.rounds} rounds alternating")  # fmt: skip
    for name, values in costs.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:>14}: median {statistics.median(values):.2f} ms of service CPU per request  (runs: {runs})")
    ratio = statistics.median(costs[args.ref]) / statistics.median(costs["working tree"])
    print(f"{args.ref} / working tree: {ratio:.2f}x the CPU per request")


if __name__ == "__main__":
    main()
