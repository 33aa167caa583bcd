"""Probe of the host's work on an answer's values: random nestings of the operators and functions (numpy's
among them) the tests scorer applies on the host (see service/scorers/tests/asserts.py), given hostile values
as the sandbox would send them (ints of 30 million bits, ranges of 10 ** 18, ints of one hash, (n, 1) arrays,
long Decimals, format strings with huge widths...), each case timed; a case slower than --limit seconds is
printed, and one that runs past --stuck seconds is killed and printed as stuck. The values go to any slot,
items slots included, so the probe is harsher than the harness (it plays a report an answer forged).

    python scripts/host_work_probe.py [--cases 4000] [--seed 1] [--limit 0.5] [--stuck 10]

Prints one line per slow or stuck case (or one whose judging raised what the scorer does not catch) and a
summary; exits 1 if any.
"""

from __future__ import annotations

import argparse
import os
import random
import selectors
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COLLIDING = [7 + k * ((1 << 61) - 1) for k in range(64)]  # one hash
VALUES: list[Any] = [
    {"bigint": format(1 << 8_000_000, "x")}, {"bigint": format((1 << 30_000_000) - 1, "x")},
    {"bigint": format(10**4000, "x")}, -7, 0, 2, 3, 10**18, 1.5, 1e308, {"float": "nan"}, {"float": "inf"},
    {"decimal": "1e999999999"}, {"decimal": "1e-999999999"}, {"decimal": "9" * 100_000}, {"decimal": "1e1000000"},
    {"decimal": "1.5"}, {"decimal": "9" * 1000 + "e-500"}, {"decimal": "-1e999999"},
    {"fraction": [{"bigint": format((1 << 131_000) + 1, "x")}, 3]}, {"fraction": [1, 3]},
    {"fraction": [{"bigint": format((1 << 131_000) - 1, "x")}, {"bigint": format((1 << 131_000) + 1, "x")}]},
    "a" * 1_000_000, "%0999999d", "%s" * 1000, "%(a)0999999d" * 10, "ab", "%*d",
    [1] * 100_000, [[1, 2]] * 30_000, [{"bigint": format(1 << 100_000, "x")}] * 50, list(range(1000)),
    COLLIDING * 100, {"set": COLLIDING}, [[[[1]]]] * 10_000, [0.1] * 50_000,
    {"tuple": [10**9, 5]}, {"tuple": list(range(50_000))}, {"set": list(range(50_000))},
    {"dict": [[i, i] for i in range(30_000)]}, {"dict": [["a", 10**9]]}, {"keys": list(range(50_000))},
    {"items": [[i, i] for i in range(20_000)]}, {"counter": [[i, 10**18] for i in range(20_000)]},
    {"ndarray": ["<f8", [100_000], "00" * 800_000]}, {"ndarray": ["<f8", [100_000, 1], "00" * 800_000]},
    {"ndarray": ["<i8", [1, 100_000], "01" * 800_000]}, {"ndarray": ["<i8", [300, 300], "02" * 720_000]},
    {"ndarray": ["|b1", [3], "010001"]}, [{"ndarray": ["<f8", [k], "00" * 8 * k]} for k in (1, 1000, 50_000)],
    {"tuple": [{"ndarray": ["<i8", [50_000], "00" * 400_000]}, {"ndarray": ["<i8", [1], "00" * 8]}]},
    {"complex": [1.5, 2.0]}, {"bytes": "61" * 100_000}, None, True, {"range": [0, 10**18, 1]},
    {"deque": list(range(10_000))}, ["x" * 1_000_000] + ["a"] * 100_000,
    {"datetime": "2020-01-01T00:00:00"}, {"timedelta": [10**8, 0, 0]},
]  # fmt: skip
UNARY = ["abs({})", "round({})", "round({}, 2)", "round({}, -3)", "sorted({})", "set({})", "len({})", "sum({})",
         "min({})", "max({})", "all({})", "any({})", "list({})", "tuple({})", "math.floor({})", "math.ceil({})",
         "math.sqrt({})", "math.isclose({}, 1)", "(-{})", "(not {})", "frozenset({})", "sum({}, [])",
         "math.trunc({})", "pytest.approx({})", "type({})", "isinstance({}, int)", "sorted({}, reverse=True)",
         "max({}, default=0)", "np.sum({})", "np.all({})", "np.sort({})", "np.array({})", "np.mean({})", "np.abs({})",
         "np.round({}, 2)", "np.count_nonzero({})"]  # fmt: skip
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / {}", "{} // {}", "{} % {}", "{} ** {}", "{} == {}", "{} < {}",
          "{} in {}", "{} not in {}", "{} != {}", "{} >= {}", "sum({}, {})", "round({}, {})", "min({}, {})",
          "max({}, {})", "{} is {}", "np.allclose({}, {})", "np.array_equal({}, {})", "np.isclose({}, {})",
          "np.testing.assert_allclose({}, {})", "np.array_equiv({}, {})", "np.sum({}, {})"]  # fmt: skip
CONSTANTS = ["3", "[1, 2]", "2.5", "'x'", "(1, 2)", "10 ** 6", "{1: 2}"]


def cases(count: int, seed: int) -> list[tuple[str, list[Any]]]:
    """Each case: an assert over f(0), f(1), f(2), and the values the sandbox sends, in the order it sends them."""
    rng = random.Random(seed)

    def expression(depth: int) -> str:
        roll = rng.random()
        if depth <= 0 or roll < 0.3:
            return f"f({rng.randrange(3)})" if rng.random() < 0.8 else rng.choice(CONSTANTS)
        if roll < 0.6:
            return rng.choice(UNARY).format(expression(depth - 1))
        return "(" + rng.choice(BINARY).format(expression(depth - 1), expression(depth - 1)) + ")"

    made = []
    for _ in range(count):
        tested, expected = expression(rng.choice([2, 3, 4])), rng.choice(["3", "[1]", "True"])
        test = f"import math\nimport numpy as np\nimport pytest\nassert {tested} == {expected}"
        made.append((test, [rng.choice(VALUES) for _ in range(6)]))
    return made


def run_cases(count: int, seed: int, start: int) -> None:
    """The child: judges the cases from ``start`` on, printing each one's time."""
    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore")
    from service.scorers.tests.asserts import rewrite_asserts
    from service.scorers.tests.compare import check_passes

    for index, (test, values) in enumerate(cases(count, seed)[start:], start):
        try:
            checks = rewrite_asserts(test)[1]
        except SyntaxError:
            checks = ()
        began = time.perf_counter()
        try:
            if checks:
                check_passes(checks[0], values[: test.count("f(")])
        except BaseException as error:  # noqa: BLE001 (check_passes lets it out: the scorer would too)
            print(f"raised {index} {type(error).__name__}", flush=True)
        print(f"done {index} {time.perf_counter() - began:.3f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=float, default=0.5, help="seconds past which a case is printed as slow")
    parser.add_argument("--stuck", type=float, default=10.0, help="seconds past which a case is killed")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        run_cases(args.cases, args.seed, args.child)
        return 0
    made, bad, slowest, start = cases(args.cases, args.seed), 0, 0.0, 0
    while start < args.cases:
        command = [sys.executable, __file__, f"--cases={args.cases}", f"--seed={args.seed}", f"--child={start}"]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        assert child.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)
        last = start - 1
        while True:
            if not selector.select(timeout=args.stuck + (30 if last < start else 0)):  # (its start: imports)
                test, values = made[last + 1]
                print(f"STUCK case {last + 1}: {test.splitlines()[-1]}  {[str(v)[:40] for v in values]}")
                bad += 1
                child.kill()
                child.wait()
                break
            line = child.stdout.readline()
            if not line:
                child.wait()
                break
            if line.startswith("raised"):
                _, index, kind = line.split()
                print(f"RAISED {kind} case {index}: {made[int(index)][0].splitlines()[-1]}")
                bad += 1
                continue
            _, index, seconds = line.split()
            last, took = int(index), float(seconds)
            slowest = max(slowest, took)
            if took > args.limit:
                test, values = made[last]
                print(f"SLOW {took:.2f} s case {last}: {test.splitlines()[-1]}  {[str(v)[:40] for v in values]}")
                bad += 1
        start = last + 2 if child.returncode else args.cases
    print(f"{args.cases} cases (seed {args.seed}): {bad} slow, stuck or raising; the slowest took {slowest:.3f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
