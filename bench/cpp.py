"""C++ answers per second on this machine, all cores: the tests scorer through ``/v1/score/batch`` of a real
service process (each answer compiled once in the sandbox, its program then run for each stdio test in a
child of the pool, outputs compared by the host) against a fresh bubblewrap sandbox per answer that compiles
the answer and runs it on each test (the common approach: one container per submission), in the same
command, alternating rounds. One answer = a solution + 10 stdio tests; every answer's source is distinct, so
each compiles (a second batch of the same answers, whose programs the service keeps, is timed too).

    python bench/cpp.py [--answers 24] [--rounds 2]

The solution includes ``<bits/stdc++.h>``, as competitive programmers' answers do. Both sides compile with
the cpp compile command, so both use the precompiled header when ``vpo-rewards precompile-headers`` has
built it (the bench says whether it is there): compiling dominates either way, and what the pool saves is
bubblewrap's set-up and each run's start.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceProcess  # noqa: E402
from service.sandbox.jail import JailConfig, run_inside  # noqa: E402
from service.scorers.tests.languages import HEADERS, LANGUAGES  # noqa: E402

SOLUTION = """#include <bits/stdc++.h>
// variant {variant}
int main() {{
    int n;
    std::cin >> n;
    std::vector<long long> xs(n);
    for (auto &x : xs) std::cin >> x;
    std::sort(xs.begin(), xs.end());
    long long best = 0, run = 0;
    for (auto x : xs) best = std::max(best, run = std::max(0LL, run + x));
    std::cout << xs.front() << ' ' << xs.back() << ' ' << best << '\\n';
}}
"""
CPP = LANGUAGES["cpp"]


def case(i: int) -> tuple[str, str]:
    xs = [((i * 37 + j * 11) % 41) - 20 for j in range(50 + i)]
    best = run = 0
    for x in sorted(xs):
        run = max(0, run + x)
        best = max(best, run)
    return f"{len(xs)}\n{' '.join(map(str, xs))}\n", f"{min(xs)} {max(xs)} {best}\n"


CASES = [case(i) for i in range(10)]


def ours(client: httpx.Client, sources: list[str]) -> float:
    tests = [{"kind": "stdio", "stdin": stdin, "expected_stdout": out} for stdin, out in CASES]
    groups = [{"answers": [[source]], "scorers": [{"name": "tests", "params": {"language": "cpp", "tests": tests}}]}
              for source in sources]  # fmt: skip
    started = time.perf_counter()
    response = client.post("/v1/score/batch", json={"groups": groups})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    rewards = [result["rewards"][0][0] for result in response.json()["results"]]
    assert all(row == [1.0] * len(CASES) for row in rewards), rewards
    return len(sources) / elapsed


def fresh(sources: list[str], workers: int) -> float:
    def one(source: str) -> None:
        script = f"cd /tmp && printf '%s' {shlex.quote(source)} > main.cpp && {shlex.join(CPP.compile)}"
        for stdin, expected in CASES:
            script += f" && test \"$(printf '%s' {shlex.quote(stdin)} | ./main)\" = {shlex.quote(expected.strip())}"
        done = run_inside(JailConfig(), ["/bin/sh", "-c", script + " && echo ok"], timeout=120)
        assert done.stdout == "ok\n", done.stderr

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        list(executor.map(one, sources))
    return len(sources) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=24)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two this many times")
    args = parser.parse_args()
    if not CPP.available():
        raise SystemExit(CPP.unavailable_reason())
    env = {"VPO_CACHE_SIZE": "0", "VPO_SANDBOX_WORKERS": str(args.workers)}
    precompiled = (HEADERS / "bits" / "stdc++.h.gch").is_file()
    print(f"{args.workers} workers, one answer = a C++ solution + {len(CASES)} stdio tests, each answer distinct; "
          f"<bits/stdc++.h> {'precompiled' if precompiled else 'not precompiled'}")  # fmt: skip
    print(f"{'round':>5} {'fresh bubblewrap per answer':>28} {'vpo-rewards':>12} {'ratio':>6} "
          f"{'vpo-rewards, programs kept':>27} {'ratio':>6}")  # fmt: skip
    rows: list[Any] = []
    with ServiceProcess(env) as url, httpx.Client(base_url=url, timeout=600) as client:
        ours(client, [SOLUTION.format(variant="warm-up")])
        for r in range(1, args.rounds + 1):
            sources = [SOLUTION.format(variant=f"{r}-{i}") for i in range(args.answers)]
            baseline = fresh(sources, args.workers)
            compiled = ours(client, sources)
            kept = ours(client, sources)
            rows.append((baseline, compiled, kept))
            print(f"{r:5} {baseline:22.1f} ans/s {compiled:6.1f} ans/s {compiled / baseline:5.2f}x "
                  f"{kept:21.1f} ans/s {kept / baseline:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
