"""Sandboxed executions per second on this machine, all cores: the pool of long-lived jailed workers (fork
per execution) against a fresh ``python3`` per execution under bubblewrap with the same namespaces (the
common approach), in the same command. One execution = a solution plus 10 asserts.

    python bench/sandbox.py [--pool-runs 600] [--fresh-runs 150] [--held-runs 400] [--sleeper-every 20]

Then the pool with spare workers against the pool without, on executions of which one in ``--sleeper-every``
sleeps until its timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import fresh_rate  # noqa: E402
from service.sandbox.jail import JailConfig  # noqa: E402
from service.sandbox.pool import PoolConfig, SandboxPool  # noqa: E402
from service.scorers.tests.asserts import rewrite_asserts  # noqa: E402

SOLUTION = """
def is_palindrome(text):
    cleaned = [c.lower() for c in text if c.isalnum()]
    return cleaned == cleaned[::-1]
"""
ASSERTS = [
    "assert is_palindrome('') == True",
    "assert is_palindrome('a') == True",
    "assert is_palindrome('ab') == False",
    "assert is_palindrome('aba') == True",
    "assert is_palindrome('A man, a plan, a canal: Panama') == True",
    "assert is_palindrome('race a car') == False",
    "assert is_palindrome('No lemon, no melon') == True",
    "assert is_palindrome('12321') == True",
    "assert is_palindrome('123') == False",
    "assert is_palindrome('Was it a car or a cat I saw?') == True",
]
LIMITS = {"wall_s": 5.0, "cpu_s": 5.0, "memory_bytes": 512 << 20, "file_bytes": 16 << 20, "open_files": 64,
          "processes": 19, "output_bytes": 1 << 20}  # fmt: skip


async def pool_rate(runs: int, workers: int, spares: int = 0, sleeper_every: int = 0) -> float:
    """Executions per second of the pool; with ``sleeper_every`` = k, every k-th execution sleeps until its
    1 s timeout (as looping or sleeping answers do) and only runs every other one's share of the time."""
    pool = SandboxPool(PoolConfig(workers=workers, spare_workers=spares, jail=JailConfig()))
    await pool.start()
    tests = [{"i": i, "type": "check", "source": rewrite_asserts(a)[0]} for i, a in enumerate(ASSERTS)]
    unit = {"mode": "functions", "code": SOLUTION, "stdin": "", "tests": tests, "limits": LIMITS}
    sleeper = {**unit, "code": "import time\ntime.sleep(60)\n" + SOLUTION, "limits": {**LIMITS, "wall_s": 1.0}}
    units = [sleeper if sleeper_every and i % sleeper_every == 0 else unit for i in range(runs)]
    try:
        warm = await pool.run(unit, 30)
        assert all(r["status"] == "ok" for r in warm["reports"].values()), warm
        started = time.perf_counter()
        results = await asyncio.gather(*(pool.run(u, 60) for u in units))
        elapsed = time.perf_counter() - started
    finally:
        await pool.close()
    assert all(len(r["reports"]) == len(ASSERTS) for r, u in zip(results, units, strict=True) if u is unit)
    return runs / elapsed


def fresh_python(runs: int, workers: int) -> float:
    program = SOLUTION + "\n".join(ASSERTS) + "\nprint('ok')\n"
    return fresh_rate(["/usr/bin/python3", "-I", "-S", "-c", program], runs, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pool-runs", type=int, default=600)
    parser.add_argument("--fresh-runs", type=int, default=150)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--held-runs", type=int, default=400)
    parser.add_argument("--sleeper-every", type=int, default=20)
    args = parser.parse_args()
    fresh = fresh_python(args.fresh_runs, args.workers)
    pooled = asyncio.run(pool_rate(args.pool_runs, args.workers))
    print(f"{args.workers} workers, one execution = a solution + {len(ASSERTS)} asserts")
    print(f"fresh python3 under bubblewrap: {fresh:8.1f} executions/s")
    print(f"vpo-rewards sandbox pool:       {pooled:8.1f} executions/s")
    print(f"ratio:                          {pooled / fresh:8.1f}x")
    # Answers that sleep (or loop) until their timeout hold a worker that long: spare workers step in.
    every = args.sleeper_every
    without = asyncio.run(pool_rate(args.held_runs, args.workers, 0, every))
    spares = asyncio.run(pool_rate(args.held_runs, args.workers, args.workers, every))
    print(f"with one execution in {every} sleeping until its 1 s timeout ({args.held_runs} executions):")
    print(f"pool without spare workers:     {without:8.1f} executions/s")
    print(f"pool with {args.workers} spare workers:       {spares:8.1f} executions/s")
    print(f"ratio:                          {spares / without:8.1f}x")


if __name__ == "__main__":
    main()
