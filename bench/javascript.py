"""JavaScript executions per second on this machine, all cores: the sandbox pool (a child forked by the
worker's template writes the answer and execs node in the worker's namespaces, and for call tests node's
driver) against a fresh ``node`` per execution under bubblewrap with the same namespaces (the common
approach), in the same command, alternating rounds. One execution = a solution plus 10 call tests (the pool:
through the driver, values compared by the host; the fresh process: the same calls checked in the program).

    python bench/javascript.py [--pool-runs 120] [--fresh-runs 60] [--rounds 2]

node cannot fork, so every JavaScript execution pays node's start-up (tens of ms): what the pool saves is
bubblewrap's per-execution namespace set-up, not the start-up itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_rate  # noqa: E402
from service.sandbox.jail import JailConfig  # noqa: E402
from service.sandbox.pool import PoolConfig, SandboxPool  # noqa: E402
from service.scorers.tests.languages import LANGUAGES  # noqa: E402

SOLUTION = """
function isPalindrome(text) {
  const cleaned = [...text].filter((c) => /[a-z0-9]/i.test(c)).map((c) => c.toLowerCase());
  return cleaned.join('') === [...cleaned].reverse().join('');
}
"""
CASES = [("", True), ("a", True), ("ab", False), ("aba", True), ("A man, a plan, a canal: Panama", True),
         ("race a car", False), ("No lemon, no melon", True), ("12321", True), ("123", False),
         ("Was it a car or a cat I saw?", True)]  # fmt: skip
MEMORY_MB = 512
JS = LANGUAGES["javascript"]
LIMITS = {"wall_s": 10.0, "cpu_s": 10.0, "memory_bytes": (MEMORY_MB + JS.reserve_mb) << 20, "file_bytes": 16 << 20,
          "open_files": 64, "processes": 19, "output_bytes": 1 << 20}  # fmt: skip


async def pool_rate(runs: int, workers: int) -> float:
    pool = SandboxPool(PoolConfig(workers=workers, jail=JailConfig()))
    await pool.start()
    tests = [{"i": i, "type": "call", "function": "isPalindrome", "args": [text], "kwargs": {}}
             for i, (text, _) in enumerate(CASES)]  # fmt: skip
    unit = {"mode": "functions", "code": SOLUTION, "stdin": "", "tests": tests, "limits": LIMITS,
            **JS.unit_fields("functions", MEMORY_MB)}  # fmt: skip
    expected = {str(i): value for i, (_, value) in enumerate(CASES)}
    try:
        warm = await pool.run(unit, 60)
        assert {i: r.get("value") for i, r in warm["reports"].items()} == expected, warm
        started = time.perf_counter()
        results = await asyncio.gather(*(pool.run(unit, 60) for _ in range(runs)))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    assert all({i: r.get("value") for i, r in result["reports"].items()} == expected for result in results)
    return runs / elapsed


def fresh_node(runs: int, workers: int) -> float:
    checks = "".join(f"if (isPalindrome({json.dumps(t)}) !== {json.dumps(v)}) throw new Error('wrong');\n"
                     for t, v in CASES)  # fmt: skip
    program = SOLUTION + checks + "console.log('ok');\n"
    return fresh_rate([*JS.runtime(MEMORY_MB), "-e", program], runs, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pool-runs", type=int, default=120)
    parser.add_argument("--fresh-runs", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two this many times")
    args = parser.parse_args()
    if not JS.available():
        raise SystemExit(JS.unavailable_reason())
    print(f"{args.workers} workers, one execution = a JavaScript solution + {len(CASES)} call tests")
    print(f"{'round':>5} {'fresh node under bubblewrap':>28} {'vpo-rewards sandbox pool':>25} {'ratio':>6}")
    for r in range(1, args.rounds + 1):
        fresh = fresh_node(args.fresh_runs, args.workers)
        pooled = asyncio.run(pool_rate(args.pool_runs, args.workers))
        print(f"{r:5} {fresh:22.1f} ex/s {pooled:19.1f} ex/s {pooled / fresh:5.2f}x")


if __name__ == "__main__":
    main()
