"""The tests scorer end to end through /v1/score, and its parts (extraction, assert rewriting, judging)."""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import math
import os
import pickle
import signal
import socket
import subprocess
import time
import types
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, get_args

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.config import Settings
from service.sandbox import harness
from service.sandbox.jail import BOOT, HARNESS, JailConfig, harness_args
from service.sandbox.pool import HELD_S, SPARE_POLL_S, PoolConfig, SandboxFailure, SandboxPool, cpu_plan
from service.sandbox.pytest_stand_in import approx
from service.scorers.tests import compare
from service.scorers.tests import params as tests_params
from service.scorers.tests.asserts import PURE_BUILTINS, rewrite_asserts
from service.scorers.tests.compare import (
    Undecodable,
    check_operands,
    check_passes,
    decode,
    local_objects,
    normalize_stdout,
    returned_matches,
    similarity,
    stdout_matches,
    unit_equal,
)
from service.scorers.tests.compiled import Programs
from service.scorers.tests.extract import extract_code
from service.scorers.tests.languages import LANGUAGES, unrunnable
from service.scorers.tests.params import RETURN_DEPTH
from tests.conftest import LiveServer, ServerFactory
from tests.sandbox.conftest import UID_BASE
from tests.service.test_metrics import samples
from trainer_client.problems import (
    apps_tests,
    code_contests_tests,
    evalplus_tests,
    humaneval_tests,
    livecodebench_tests,
    mbpp_tests,
    multipl_e_tests,
    pytest_tests,
    scorer_params,
)

NDJSON = "application/x-ndjson"

PROBLEM = {
    "timeout_s": 1.0,
    "tests": [
        {"kind": "assert", "code": "assert add(2, 3) == 5"},
        {"kind": "call", "function": "add", "args": [-1, 1], "expected": 0},
        {"kind": "call", "function": "add", "args": [[1], [2]], "expected": [1, 2]},
        {"kind": "stdio", "stdin": "4 5\n", "expected_stdout": "9\n"},
    ],
}
PROGRAM = (
    "import sys\n\ndef add(a, b):\n    return a + b\n\n"
    "if __name__ == '__main__':\n    print(add(*map(int, sys.stdin.read().split())))\n"
)


def fenced(code: str) -> str:
    return f"```python\n{code}```"


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer(create(Settings(sandbox_workers=2, sandbox_uid_base=UID_BASE + 10))) as server:
        yield server


def create(settings: Settings) -> Any:
    from service.main import create_app

    return create_app(settings)


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as client:
        yield client


def score(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/score", json={"prompt": "add", "scorers": [{"name": "tests", "params": PROBLEM}], **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def executions(api: httpx.Client) -> int:
    """The executions the pool has finished, once it runs and queues none (at most 10 s): an earlier test's
    may still be running, one whose request has ended (its deadline passed) too. On 16 cores such an
    execution once finished within the C++ test's count."""
    for _ in range(100):
        status = api.get("/readyz").json()["scorers"]["tests"]
        if status["running"] == 0 and status["queued"] == 0:
            break
        time.sleep(0.1)
    return int(status.get("executions", 0))


def test_a_group_of_correct_partial_and_hostile_answers(api: httpx.Client) -> None:
    partial = "def add(a, b):\n    return a + b if isinstance(a, int) else None\n"  # no stdio main, no lists
    hostile = "import os\nos._exit(0)\n"
    completion = "\n---\n".join(fenced(code) for code in (PROGRAM, partial, hostile))
    result = score(
        api,
        completions=[completion, fenced(PROGRAM), "no code at all"],
        split={"mode": "code_blocks", "max_answers": 3},
        detail=True,
    )
    assert result["components"] == ["tests/0", "tests/1", "tests/2", "tests/3"]
    assert result["rewards"][0] == [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert result["rewards"][1] == [[1.0, 1.0, 1.0, 1.0], [0.0] * 4, [0.0] * 4]  # padded to m = 3
    assert result["rewards"][2] == [[0.0] * 4, [0.0] * 4, [0.0] * 4]  # "no code at all": no fenced block
    assert result["valid"] == [True, True, True] and result["errors"] == []
    # both first completions hold an all-passing answer: the same set score under every weighting
    assert result["advantages"][0] == result["advantages"][1] > result["advantages"][2]
    verdicts = [[d["verdict"] for d in answer] for answer in result["details"]["tests"][0]]
    assert verdicts == [["pass"] * 4, ["pass", "pass", "fail", "fail"], ["exited_early"] * 4]
    # and the service keeps serving
    assert score(api, answers=[[PROGRAM]])["rewards"] == [[[1.0, 1.0, 1.0, 1.0]]]
    # what the sandbox did is in the metrics
    metrics = samples(str(api.base_url))
    assert metrics[("vpo_sandbox_workers", ())] == 2 and metrics[("vpo_sandbox_queue_depth", ())] == 0
    assert metrics[("vpo_sandbox_executions_total", ())] >= 4
    assert metrics[("vpo_sandbox_verdicts_total", (("verdict", "pass"),))] >= 10
    assert metrics[("vpo_sandbox_verdicts_total", (("verdict", "exited_early"),))] >= 4


def test_identical_code_and_test_pairs_run_once(api: httpx.Client) -> None:
    code = PROGRAM + "# variant for the dedupe test\n"
    before = executions(api)
    other = code.replace("a + b", "b + a")
    score(api, answers=[[code], [code], [fenced(code)], [code + "\n\n"], [other]])
    # one functions unit (the 3 call / assert tests) and one stdio unit per distinct program: the fenced
    # copy and the one with trailing blank lines are the same program
    assert executions(api) - before == 4


def test_identical_units_of_a_batch_or_of_concurrent_requests_run_once(api: httpx.Client) -> None:
    code = PROGRAM + "# variant for the batch dedupe test\n"
    other = code.replace("a + b", "b + a")
    groups = [{"prompt": prompt, "answers": [[answer]], "scorers": [{"name": "tests", "params": PROBLEM}]}
              for prompt, answer in (("first", code), ("second", code), ("third", other))]  # fmt: skip
    before = executions(api)
    response = api.post("/v1/score/batch", json={"groups": groups})
    assert response.status_code == 200, response.text
    assert [r["rewards"] for r in response.json()["results"]] == [[[[1.0] * 4]]] * 2 + [[[[1.0, 1.0, 0.0, 1.0]]]]
    assert executions(api) - before == 4  # two programs (functions unit + stdio unit each), not three
    # concurrent requests for a slow program share its execution too
    slow = "import time\ntime.sleep(0.5)\n" + PROGRAM.replace("return a + b", "return a - b")
    before = executions(api)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda prompt: score(api, prompt=prompt, answers=[[slow]]), ("a", "b", "c")))
    assert [r["rewards"] for r in results] == [[[[0.0, 0.0, 0.0, 0.0]]]] * 3
    assert executions(api) - before == 2


def test_a_request_that_gives_up_leaves_a_shared_execution_to_the_others(api: httpx.Client) -> None:
    slow = "import time\ntime.sleep(0.6)\n" + PROGRAM + "# shared with a request that gives up\n"
    with ThreadPoolExecutor(2) as pool:
        hasty = pool.submit(score, api, answers=[[slow]], deadline_ms=200)
        time.sleep(0.05)
        patient = pool.submit(score, api, answers=[[slow]])
        cut, full = hasty.result(), patient.result()
    assert cut["rewards"] == [[[None] * 4]] and {e["reason"] for e in cut["errors"]} == {"deadline"}
    assert full["rewards"] == [[[1.0] * 4]] and full["errors"] == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("def add(a, b):\n    raise ValueError('no')\n", {"verdict": "error", "error": "ValueError"}),
        ("def add(a, b):\n    return add(a, b)\n", {"verdict": "error", "error": "RecursionError"}),
        ("import time\ndef add(a, b):\n    time.sleep(5)\n", {"verdict": "timeout"}),
        ("def add(a, b):\n    return bytearray(2 ** 34)\n", {"verdict": "memory"}),
        ("def add(a, b)\n    return a\n", {"verdict": "error", "error": "SyntaxError"}),
        ("def add(a, b):\n    print('x' * 5_000_000)\n", {"verdict": "output_limit"}),
        ("E = type('E' * 100_000, (Exception,), {})\ndef add(a, b):\n    raise E()\n", {"error": "E" * 100}),
    ],
)
def test_typed_verdicts(api: httpx.Client, answer: str, expected: dict[str, str]) -> None:
    result = score(api, answers=[[answer]], detail=True)
    first = result["details"]["tests"][0][0][0]
    assert {k: first.get(k) for k in expected} == expected
    assert result["rewards"][0][0][0] == 0.0


def test_text_that_is_not_valid_unicode_is_made_so(api: httpx.Client) -> None:
    """An answer's error message and exception name may hold lone surrogates (JSON escapes carry them, UTF-8
    cannot): they come back as U+FFFD, in JSON and in NDJSON, not as a failed request."""
    python = "def add(a, b):\n    raise ValueError('\\ud800 odd')\n"
    node = "class E extends Error {}\nfunction add(a, b) { const e = new E('\\ud800 odd'); e.name = '\\udfff';"
    node += " throw e; }\n"
    call = [{"kind": "call", "function": "add", "args": [1, 2], "expected": 3}]
    groups = [{"answers": [[python]], "detail": True, "scorers": [{"name": "tests", "params": {"tests": call}}]},
              {"answers": [[node]], "detail": True,
               "scorers": [{"name": "tests", "params": {"language": "javascript", "tests": call}}]}]  # fmt: skip
    results = [api.post("/v1/score", json=group).json() for group in groups]
    with api.stream("POST", "/v1/score/batch", json={"groups": groups}, headers={"accept": NDJSON}) as response:
        streamed = sorted((json.loads(line) for line in response.iter_lines()), key=lambda line: line["index"])
    for result in (*results, *streamed):
        assert "rewards" in result, result
    details = [result["details"]["tests"][0][0][0] for result in (*results, *streamed)]
    assert [(d["verdict"], d["error"], d["message"]) for d in details] == [
        ("error", "ValueError", "\ufffd odd"),
        ("error", "\ufffd", "\ufffd odd"),
    ] * 2


FORGER = """import json, os, sys
token = sys._getframe(1).f_locals.get("token")  # the harness's, found by looking
def add(a, b):
    os.write(3, (json.dumps({"i": 0, "status": "ok", "token": token, **FORGED}) + "\\n").encode())
    os._exit(0)
"""


@pytest.mark.parametrize(
    ("kind", "forged"),
    [("call", {"value": {"dict": [[[1], 1]]}}), ("call", {"value": {"tuple": 5}}), ("call", {"value": {"set": [[1]]}}),
     ("assert", {"checks": 7}), ("assert", {"checks": [["x", [5]]]})],
)  # fmt: skip
def test_a_forged_report_of_any_shape_fails_only_its_own_test(
    api: httpx.Client, kind: str, forged: dict[str, Any]
) -> None:
    """An answer can find its token and send a report the harness never would; judging it fails that test
    (the expected values never entered the sandbox, so it cannot pass), and the other answers are scored."""
    forger = FORGER.replace("FORGED", json.dumps(forged))
    tests = [PROBLEM["tests"][0] if kind == "assert" else PROBLEM["tests"][1]]
    params = {**PROBLEM, "tests": tests}
    result = score(api, answers=[[forger], [PROGRAM]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[0.0]], [[1.0]]] and result["errors"] == []


def test_a_forged_report_that_leaves_out_asserts_fails(api: httpx.Client) -> None:
    """HumanEval's checks end with ``assert True``: a report of that one alone held, and passed the test. A
    test that ended normally ran every assert of its module and of each function it entered."""
    humaneval = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4\n" \
                "    assert True\ncheck(add)\n"  # fmt: skip
    forger = FORGER.replace("FORGED", repr({"checks": [[2, [True]]]}))
    params = {"tests": [{"kind": "assert", "code": humaneval}]}
    result = score(api, answers=[[forger], [PROGRAM]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[0.0]], [[1.0]]]
    assert result["details"]["tests"][0][0][0]["message"] == "assert 1 of the test never ran"
    # nor may a report leave out the asserts of a loop that surely runs (HumanEval's random-input checks)
    looped = "def check(candidate):\n    for x in range(10):\n        assert candidate(x, 1) == x + 1\n" \
             "    assert True\ncheck(add)\n"  # fmt: skip
    forger = FORGER.replace("FORGED", repr({"checks": [[1, [True]]]}))
    params = {"tests": [{"kind": "assert", "code": looped}]}
    result = score(api, answers=[[forger], [PROGRAM]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[0.0]], [[1.0]]]
    # asserts in a loop or a branch may rightly run any number of times, none included
    branches = "for x in []:\n    assert add(x, 0) == -1\nif add(1, 1) == 2:\n    pass\nelse:\n    assert False\n" \
               "assert add(2, 2) == 4\n"  # fmt: skip
    params = {"tests": [{"kind": "assert", "code": branches}]}
    assert score(api, answers=[[PROGRAM]], scorers=[{"name": "tests", "params": params}])["rewards"] == [[[1.0]]]


def test_a_forged_empty_report_fails_where_the_module_calls_the_check(api: httpx.Client) -> None:
    """The module's own ``check(add)`` enters ``check``: a test that ended normally ran its asserts, so an
    empty report (which a found token can send) fails, naming the first of them."""
    humaneval = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert True\ncheck(add)\n"
    forger = FORGER.replace("FORGED", repr({"checks": []}))
    params = {"tests": [{"kind": "assert", "code": humaneval}]}
    result = score(api, answers=[[forger], [PROGRAM]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[0.0]], [[1.0]]]
    assert result["details"]["tests"][0][0][0]["message"] == "assert 1 of the test never ran"


EXPECTS_AN_EXCEPTION = [
    {"kind": "assert", "code": "try:\n    root(-1)\n    assert False\nexcept ValueError:\n    pass\n"},
    {
        "kind": "assert",
        "code": "try:\n    root(-4)\nexcept ValueError:\n    pass\nelse:\n    assert False, 'no error'\n",
    },
    {
        "kind": "assert",
        "code": "assert root(4) == 2\ntry:\n    root(-1)\n    assert False\nexcept ValueError:\n    pass\n",
    },
    {"kind": "assert", "code": "squares = [1, 4, 9]\nfor x in squares:\n    assert root(x) ** 2 == x\n"},
]


def test_a_test_that_expects_an_exception_may_end_with_no_assert_run(api: httpx.Client) -> None:
    """``assert False`` after a call that must raise (or in the ``else`` of its ``try``) rightly never runs
    when the answer is right; such a test passes when it ends normally. Where no ``try`` could skip them, a
    test that ran none of its asserts still fails."""
    right = "def root(x):\n    if x < 0:\n        raise ValueError(x)\n    return int(x ** 0.5)\n"
    no_check = "def root(x):\n    return int(abs(x) ** 0.5)\n"
    wrong_error = "def root(x):\n    if x < 0:\n        raise TypeError(x)\n    return int(x ** 0.5)\n"
    params = {"tests": EXPECTS_AN_EXCEPTION}
    result = score(api, answers=[[right], [no_check], [wrong_error]], scorers=[{"name": "tests", "params": params}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[1.0, 1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0, 1.0]], [[0.0, 0.0, 0.0, 1.0]]]
    verdicts = [[d["verdict"] for d in answer[0]] for answer in result["details"]["tests"]]
    assert verdicts[1][:3] == ["fail"] * 3 and verdicts[2][:3] == ["error"] * 3
    # no try could skip the asserts of a loop over a list (which no rule makes sure is not empty): a report of
    # none of them fails
    forger = FORGER.replace("FORGED", repr({"checks": []})).replace("def add(a, b)", "def root(x)")
    params = {"tests": EXPECTS_AN_EXCEPTION[3:]}
    result = score(api, answers=[[forger]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["details"]["tests"][0][0][0]["message"] == "no assertion ran"


SUBCLASSES = """import collections, enum
class Color(enum.IntEnum):
    RED = 1
class Name(str):
    pass
Point = collections.namedtuple("Point", "x y")
def freq(xs):
    return collections.Counter(xs)
def ordered(xs):
    return collections.OrderedDict((x, len(x)) for x in xs)
def point():
    return Point(1, 2)
def color():
    return Color.RED
def name():
    return Name("ada")
def groups():
    found = collections.defaultdict(list)
    found["a"].append(1)
    return [found]
"""


def test_subclasses_of_plain_types_compare_as_the_values_they_hold(api: httpx.Client) -> None:
    """A Counter, OrderedDict, defaultdict, namedtuple, IntEnum or str subclass goes out as the plain value it
    holds, read with the base type's own methods (MBPP's freq_count returns a Counter), as Python compares it;
    a subclass's own __eq__ or __bool__ plays no part."""
    tests = [
        {"kind": "assert", "code": "assert freq([10, 10, 20]) == {10: 2, 20: 1}"},
        {"kind": "call", "function": "freq", "args": [[10, 10, 20]], "expected": {"10": 2, "20": 1}},
        {"kind": "assert", "code": "assert ordered(['ab', 'c']) == {'ab': 2, 'c': 1}"},
        {"kind": "assert", "code": "assert point() == (1, 2) and color() == 1 and name() == 'ada'"},
        {"kind": "call", "function": "groups", "args": [], "expected": [{"a": [1]}]},
        {"kind": "assert", "code": "assert freq('aab')"},
    ]
    params = {"tests": tests}
    result = score(api, answers=[[SUBCLASSES]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[1.0] * 6]], result["details"]
    liar = (
        "class Always(dict):\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "    def __bool__(self):\n        return True\n"
        "def freq(xs):\n    return Always()\n"
    )  # fmt: skip
    result = score(api, answers=[[liar]], scorers=[{"name": "tests", "params": {"tests": tests[:2] + tests[5:]}}])
    assert result["rewards"] == [[[0.0, 0.0, 0.0]]]


COUNTS = """import collections


def freq(xs):
    return collections.Counter(xs)


def ordered(pairs):
    return collections.OrderedDict(pairs)
"""


def test_counters_and_ordered_dicts_keep_their_own_arithmetic_and_order(api: httpx.Client) -> None:
    """A Counter and an OrderedDict reach the host as themselves (read with dict's and OrderedDict's own C
    methods): the operators the host applies for the test are theirs (``Counter(f()) - Counter(s)``), a Counter
    takes a missing count for a zero and two OrderedDicts compare in order, as Python has them. Before, both went
    as plain dicts: the first three right answers failed (a TypeError, a count of zero), the fourth passed."""
    tests = [
        "from collections import Counter\nassert Counter(freq('aab')) - Counter('a') == Counter('ab')",
        "assert freq('ab') + freq('b') == {'a': 1, 'b': 2} and freq('ab') | freq('bb') == {'a': 1, 'b': 2}",
        "from collections import Counter\nassert freq('aab') == Counter(a=2, b=1, c=0)",
        "from collections import OrderedDict\nassert ordered([(1, 2), (3, 4)]) == OrderedDict([(3, 4), (1, 2)])",
        "from collections import OrderedDict\nassert ordered([(1, 2), (3, 4)]) == OrderedDict([(1, 2), (3, 4)])",
        "assert ordered([(1, 2), (3, 4)]) == {3: 4, 1: 2} and freq('ab')",
    ]
    params = {"tests": [{"kind": "assert", "code": t} for t in tests]}
    result = score(api, answers=[[COUNTS]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[1.0, 1.0, 1.0, 0.0, 1.0, 1.0]]], result["details"]
    # the host's own Counter does the arithmetic: a subclass's __sub__ plays no part
    liar = "import collections\nclass Lie(collections.Counter):\n    def __sub__(self, other):\n        return Lie()\n"
    liar += "def freq(xs):\n    return Lie(xs)\n"
    test = {"kind": "assert", "code": "from collections import Counter\nassert freq('ab') - Counter('a') == Counter()"}
    result = score(api, answers=[[liar]], scorers=[{"name": "tests", "params": {"tests": [test]}}])
    assert result["rewards"] == [[[0.0]]]
    assert decode({"counter": [["a", 2]]}) == Counter(a=2, b=0)
    assert list(decode({"ordereddict": [[2, "x"], [1, "y"]]})) == [2, 1]
    for forged in ({"counter": [[1]]}, {"counter": [[[1], 2]]}, {"ordereddict": [[1, 2, 3]]}):
        with pytest.raises(ValueError):
            decode(forged)


NUMBERS = """from decimal import Decimal
from fractions import Fraction


class Lie(Fraction):
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True


def half():
    return Fraction(1, 2)


def price():
    return Decimal("1.50")


def liar(n):
    return Lie(n, 7)
"""


def test_fractions_and_decimals_compare_as_python_compares_them(api: httpx.Client) -> None:
    """A Fraction or a Decimal goes out as its numerator and denominator, or its text, read with the standard
    library's own slots and methods: the host compares it as Python does, never with a subclass's __eq__."""
    tests = [
        "assert half() == 0.5", "from fractions import Fraction\nassert half() == Fraction(2, 4)",
        "assert price() == 1.5", "from decimal import Decimal\nassert price() == Decimal('1.5')", "assert half()",
        "assert liar(5) == 1", "assert liar(0)",
    ]  # fmt: skip
    params = {"tests": [*({"kind": "assert", "code": t} for t in tests), {"kind": "call", "function": "half",
                                                                         "expected": 0.5}]}  # fmt: skip
    result = score(api, answers=[[NUMBERS]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]]]
    assert decode({"fraction": [1, 3]}) == Fraction(1, 3) and decode({"decimal": "1.50"}) == Decimal("1.5")
    for forged in ({"fraction": [1, 0]}, {"fraction": [1.5, 2]}, {"decimal": "sNaN"}, {"decimal": "x"}):
        with pytest.raises(ValueError):
            decode(forged)


OBJECTS = """import datetime, enum
from abc import ABC
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Point:
    x: int
    y: int


class Valued(ABC):  # ABCMeta for metaclass: its classes are the answer's too
    pass


class Money(Valued):
    def __init__(self, cents):
        self.cents = cents

    def __eq__(self, other):
        return isinstance(other, Money) and self.cents == other.cents

    def __hash__(self):
        return hash(self.cents)

    def __repr__(self):
        return f"Money({self.cents})"


class Box(Generic[T]):  # a base that is no class, but stands for one of type's: the answer's too
    def __init__(self, item):
        self.item = item

    def __eq__(self, other):
        return isinstance(other, Box) and self.item == other.item


class Node:  # no __eq__: compares by identity, and is true
    def __init__(self, value, next=None):
        self.value, self.next = value, next


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


SHARED = Node(0)


def corners(n):
    return [Point(0, 0), Point(n, n)]


def diagonal(n):
    return [Point(i, i) for i in range(n)]


def change(cents):
    return {Money(cents): Colour.BLUE}


def chain():
    return [SHARED, SHARED]


def when(days):
    return datetime.date(2020, 1, 1) + datetime.timedelta(days=days)


def recent(items):
    return deque(items, maxlen=2)


def where(folder):
    import pathlib
    import uuid

    return pathlib.Path(folder) / "data.csv", uuid.UUID(int=7)
"""


def test_objects_and_standard_library_values_compare_as_python_compares_them(api: httpx.Client) -> None:
    """Objects that are not plain data compare as Python compares them: those of the answer's own classes with
    their class's ``__eq__`` (run in the sandbox, the host told which are equal), those that have no
    ``__eq__`` by identity, and the standard library's values (dates, deques, ranges, dict views, paths,
    UUIDs...) as the values they are. Before, every one of these right answers failed as "not plain data"."""
    tests = [
        "assert corners(2) == [Point(0, 0), Point(2, 2)]\n"
        "assert Box(corners(1)) == Box([Point(0, 0), Point(1, 1)]) != Box([])",
        "assert Point(2, 2) in corners(2) and max(corners(2)) == Point(2, 2) > Point(1, 1)",
        "assert set(corners(1)) == {Point(1, 1), Point(0, 0)}",
        "assert change(5) == {Money(5): Colour.BLUE} != change(6)",
        "assert chain()[0] is SHARED and chain() == [SHARED, SHARED]",
        "assert chain()[0]", "import datetime, pathlib, uuid\nassert when(31) == datetime.date(2020, 2, 1)\n"
        "assert where('x') == (pathlib.PurePosixPath('x', 'data.csv'), uuid.UUID(int=7))",
        "from collections import deque\nassert recent([1, 2, 3]) == deque([2, 3])",
        "assert {1: 2}.keys() == {1} and range(0, 6, 2) == range(0, 5, 2) and bytearray(b'a') == b'a'",
        # past 64 objects, those that == compares
        "assert diagonal(100) == [Point(i, i) for i in range(100)] and Point(7, 7) in diagonal(100)",
        "assert set(diagonal(100)) == {Point(i, i) for i in range(100)}",
        "assert corners(2) == [Point(0, 0), Point(3, 3)]", "assert change(5) == {Money(5): Colour.RED}",
        "assert chain() == [SHARED, Node(0)]", "assert Money(1) == 1",
        "assert diagonal(100) == [Point(i, i + (i == 99)) for i in range(100)]",
    ]  # fmt: skip
    params = {"tests": [{"kind": "assert", "code": t} for t in tests]}
    result = score(api, answers=[[OBJECTS]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[1.0] * 11 + [0.0] * 5]]
    messages = [d.get("message", "") for d in result["details"]["tests"][0][0]]
    assert "Point(x=3, y=3)" in messages[11] and "Money(5)" in messages[12]
    assert all(set(message.split()) >= {"assert", "failed;", "compared"} for message in messages[11:])
    forgeries = ({"local": 0}, {"local": -1}, {"date": 0}, {"datetime": "2020-01-01" + " " * 100}, {"range": [0, 1, 0]},
                 {"timedelta": [10**10, 0, 0]}, {"keys": [[1]]}, {"deque": {"float": "1"}}, {"path": ["mac", []]},
                 {"path": ["posix", [1]]}, {"uuid": "z" * 32}, {"uuid": "1" * 33})  # fmt: skip
    for forged in forgeries:
        with pytest.raises(ValueError):
            decode(forged)
    two = {"objects": [["a", None, 0], ["b", 7, 0]], "identity": [False], "equal": [[0, 1]]}
    a, b = local_objects(two)
    assert a == b and hash(b) == 7 and repr(a) == "a" and a != 1
    with pytest.raises(TypeError):
        hash(a)
    many = {"objects": [["x", None, 0]] * 70, "identity": [False], "equal": [[0, 1]], "unequal": [[0, 2]]}
    objects = local_objects(many)
    assert objects[0] == objects[1] and objects[0] != objects[2]
    with pytest.raises(ValueError):  # a pair the sandbox did not compare fails the assert that needs it
        _ = objects[0] == objects[3]
    ordered = local_objects({**two, "ordered": [True], "less": [[0, 1]], "equal": []})
    assert ordered[0] < ordered[1] and not ordered[1] < ordered[0] and ordered[1] >= ordered[0]
    with pytest.raises(TypeError):  # no ordering told: none, as in Python
        _ = a < b
    forgeries = [{**two, "ordered": [1]}, {**two, "less": [[0, 2]]}, {**two, "objects": [[1, None, 0]]},
                 {**two, "objects": [["x", 1.5, 0]]}, {"objects": []},
                 {**two, "objects": [["x" * 201, None, 0]] * 2}, {**two, "objects": [["a", None, 1]] * 2},
                 {**two, "identity": [1]}, {**two, "equal": [[1, 0]]}, {**two, "equal": [[0, 1]] * 2},
                 {**two, "unequal": []}, {**many, "unequal": None}]  # fmt: skip
    for report in forgeries:
        with pytest.raises(ValueError):
            local_objects(report)


CONTAINERS = """import enum


class Linked:  # a container of the answer's: no data, but its items are
    def __init__(self, *items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, item):
        return item in self.items


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Point) and self.x == other.x


class Yes:  # says it holds anything, and has no items
    def __contains__(self, item):
        return True

    def __iter__(self):
        return iter(())


class Mode(enum.Flag):
    READ = enum.auto()
    WRITE = enum.auto()
    RUN = enum.auto()


def squares(n):
    return (i * i for i in range(n))
"""


def test_in_over_containers_that_are_no_data(api: httpx.Client) -> None:
    """``x in f()`` where f() is no data (a container of the answer's, a generator, a Flag): the sandbox sends
    the container's items, from its own iteration, and the host judges ``in`` over them; never the object's
    ``__contains__``, which could say yes to anything. Before, each of these right answers failed."""
    tests = [
        "assert 2 in Linked(1, 2, 3) and 4 not in Linked(1, 2, 3)",
        "assert Point(2) in Linked(Point(1), Point(2)) and Point(3) not in Linked(Point(1))",
        "assert Mode.READ in Mode.READ | Mode.WRITE and Mode.RUN not in Mode.READ | Mode.WRITE",
        "assert 9 in squares(5) and 10 not in squares(5)",
        "assert 'ell' in 'hello' and 'a' in {'a': 1}",  # plain data: as Python (a substring, a key)
        "assert 4 in Linked(1, 2, 3)",
        "assert 5 in Yes()",
        "import itertools\nassert 5 in itertools.count()",  # endless: more items than a report holds
    ]
    params = {"tests": [{"kind": "assert", "code": t} for t in tests]}
    result = score(api, answers=[[CONTAINERS]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[1.0] * 5 + [0.0] * 3]], result["details"]


def test_type_checks_and_main_blocks_in_assert_tests(api: httpx.Client) -> None:
    """``type(x) == int`` and ``isinstance(x, int)`` are judged on the host (an object that claims to be an
    int through ``__class__`` is no int there), and a test runs as a script: its ``__main__`` block runs."""
    tests = [
        {"kind": "assert", "code": "assert type(f(2)) == int"},
        {"kind": "assert", "code": "assert isinstance(f(2), int)"},
        {"kind": "assert", "code": "if __name__ == '__main__':\n    assert f(5) == 25\n"},
    ]
    right = "def f(x):\n    return x * x\n"
    claims = "class Claims:\n    __class__ = int\ndef f(x):\n    return Claims()\n"
    result = score(api, answers=[[right], [claims]], scorers=[{"name": "tests", "params": {"tests": tests}}])
    assert result["rewards"] == [[[1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0]]]


SQUARE = "def f(x):\n    return x * x\n"
WRONG_AT_2 = "def f(x):\n    return 5 if x == 2 else x * x\n"
PYTEST_FILE = """import pytest
from solution import f


def test_two():
    assert f(2) == 4


@pytest.mark.parametrize("x, y", [(1, 1), (3, 9), pytest.param(0.1, 0.01, id="float")])
def test_cases(x, y):
    assert f(x) == pytest.approx(y)


def test_bad_input():
    with pytest.raises(TypeError, match="unsupported|can't multiply"):
        f("x")


@pytest.mark.skip(reason="not this one")
def test_skipped():
    assert f(2) == 5


def test_needs_a_fixture(benchmark):
    assert f(2) == 5


class TestSquares(object):
    def setup_method(self, method):
        self.x = 2

    def test_method(self):
        assert [f(self.x), f(0.5)] == pytest.approx([4, 0.25])


if __name__ == "__main__":
    pytest.main([__file__])
"""
UNITTEST_FILE = """import unittest
from solution import f

STATE = {}


def setUpModule():
    STATE["x"] = 2


class TestSquare(unittest.TestCase):
    def setUp(self):
        self.x = STATE["x"]

    def test_equal(self):
        self.assertEqual(f(self.x), 4)
        self.assertAlmostEqual(f(0.1), 0.01)
        self.assertIn(f(3), [9, 10])
        with self.assertRaises(TypeError):
            f("x")

    def test_loop(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertTrue(f(i) == i * i)


if __name__ == "__main__":
    unittest.main()
"""


FIXTURES_FILE = """import pytest
from pytest_mock import MockerFixture

import solution
from solution import greet, greet_input, greet_logged, total, warn


@pytest.fixture
def numbers():
    return [1, 2, 3]


@pytest.fixture
def resource():
    yield {"n": 5}


CALLS = []


def setup_module(module):
    CALLS.append("module")


def setup_function(function):
    CALLS.append(function.__name__)


def teardown_function():
    CALLS.append("done")


def test_prints(capsys: pytest.CaptureFixture[str]):
    greet("Ann")
    assert capsys.readouterr().out == "Hello, Ann\\n"


def test_own_fixtures(numbers, resource):
    assert total(numbers) == 6 and resource["n"] == 5


def test_input(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr("builtins.input", lambda *prompt: "7")
    greet_input()
    assert capsys.readouterr().out == "Hello, 7\\n"


def test_files(tmp_path):
    path = tmp_path / "greeting.txt"
    path.write_text("hi")
    assert path.read_text() == "hi"


def test_old_style_files(tmpdir):
    path = tmpdir.join("greeting.txt")
    path.write("hi")
    assert path.read() == "hi" and [p.basename for p in tmpdir.listdir()] == ["greeting.txt"]
    assert open(str(path)).read() == "hi" and tmpdir.mkdir("sub").check(dir=True)


def test_logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level("INFO")
    greet_logged("Bo")
    assert caplog.messages == ["greeted Bo"] and "INFO" in caplog.text and caplog.record_tuples[0][1] == 20


def test_recorded(recwarn: pytest.WarningsRecorder):
    warn()
    assert len(recwarn) == 1 and str(recwarn.pop(UserWarning).message) == "careful" and len(recwarn) == 0


def test_mocked(mocker: MockerFixture):
    fake = mocker.patch("solution.total", return_value=99)
    spy = mocker.spy(pytest.importorskip("warnings"), "warn")
    assert solution.total([1]) == 99 and fake.call_count == 1
    warn()
    assert spy.call_count == 1


def test_mocks_are_gone():
    assert solution.total([1]) == 1


@pytest.mark.usefixtures("fresh_account")
class TestAccount:
    @pytest.fixture
    def fresh_account(self):
        self.opened = True

    @pytest.mark.usefixtures("numbers")
    def test_opened(self):
        assert self.opened and total([1]) == 1

    @pytest.fixture(autouse=True)
    def fresh(self, numbers):
        self.items = list(numbers)

    @pytest.fixture
    def doubled_items(self):
        return [2 * x for x in self.items]

    def test_items(self):
        assert total(self.items) == 6

    def test_doubled(self, doubled_items):
        assert total(doubled_items) == 12


def test_hooks_ran():
    assert CALLS[:5] == ["module", "test_prints", "done", "test_own_fixtures", "done"]


def test_input_is_back():
    with pytest.raises(EOFError):  # the answer's input() is the builtin again: stdin is empty
        greet_input()


CASES = [([1], 1), pytest.param([2, 3], 5, id="two")]
MORE = [([4], 4)]
MORE.append(([1, 2, 3], 6))


@pytest.mark.parametrize("numbers, expected", CASES)
def test_cases_by_name(numbers, expected, capsys):
    assert total(numbers) == expected


@pytest.mark.parametrize("numbers, expected", MORE)
def test_cases_changed(numbers, expected, capsys):
    assert total(numbers) == expected


def test_warns():
    with pytest.warns(UserWarning, match="careful"):
        warn()


LOG = []


@pytest.fixture(autouse=True)
def fresh_log():
    LOG.clear()
    yield


def test_log_one():
    LOG.append(1)
    assert LOG == [1]


def test_log_two():
    LOG.append(2)
    assert LOG == [2]


DONE = []


@pytest.fixture
def doubled(numbers):
    return [2 * n for n in numbers]


@pytest.fixture
def ledger(doubled, numbers):
    numbers.append(0)
    yield {"doubled": doubled, "numbers": numbers}
    DONE.append(len(numbers))


def test_fixtures_of_fixtures(ledger, numbers):
    assert ledger["numbers"] is numbers and total(ledger["doubled"]) == 12 and numbers == [1, 2, 3, 0]


def test_after_the_yield_ran():
    assert DONE == [4]


@pytest.fixture
def scaled(factor):
    return 10 * factor


@pytest.mark.parametrize("factor", [1, 2])
def test_a_fixture_of_a_parameter(scaled, factor):
    assert scaled == 10 * factor


SIZES = []


@pytest.fixture(params=[1, pytest.param(2, id="two")])
def size(request):
    request.addfinalizer(lambda: SIZES.append(request.param))
    return request.param


def test_sizes(size):
    assert total([size, size]) == 2 * size


def test_every_size_ran_and_was_finished():
    assert SIZES == [1, 2]


@pytest.mark.parametrize("size", [5], indirect=True)
def test_indirect(size):
    assert size == 5 and SIZES == [1, 2]


WIDTHS = []


@pytest.fixture(params=range(3))
def width(request):
    return request.param


def test_widths(width):
    WIDTHS.append(width)


def test_every_width():
    assert WIDTHS == [0, 1, 2]
"""


SHARED_FIXTURES_FILE = """import pytest
from solution import total

MADE, DONE = [], []


@pytest.fixture(scope="module")
def ledger():
    MADE.append("ledger")
    yield {"items": [1, 2, 3]}
    DONE.append("ledger")


@pytest.fixture(scope="session")
def expected(ledger):
    MADE.append("expected")
    return sum(ledger["items"])


@pytest.fixture(scope="module", autouse=True)
def database():
    MADE.append("database")
    yield
    DONE.append("database")


@pytest.fixture(scope="module")
def scratch(tmp_path):  # asks for a fixture of one test: made for each (pytest would refuse it)
    MADE.append("scratch")
    return tmp_path


def test_first(ledger, expected):
    ledger["seen"] = True
    assert total(ledger["items"]) == expected


def test_second(ledger, scratch):
    assert ledger.get("seen") is True  # the object test_first was given


def test_third(scratch):
    assert MADE.count("ledger") == MADE.count("expected") == MADE.count("database") == 1


class TestInAClass:
    def test_fourth(self, ledger, expected):
        assert MADE.count("ledger") == 1 and MADE.count("scratch") == 2 and DONE == []


def teardown_module(module):
    assert DONE == ["ledger", "database"]  # after the tests, the last made first
"""


def test_module_scoped_fixtures_are_one_value_for_the_file(api: httpx.Client) -> None:
    """A fixture of module, package or session scope (without params, asking only for such fixtures) is made
    once, by the first test that needs it, and given to every test of the file; the code after its yield
    runs after the file's tests, before teardown_module. Before, each test got a fresh one."""
    right, wrong = "def total(xs):\n    return sum(xs)\n", "def total(xs):\n    return max(xs)\n"
    tests = [{"kind": "assert", "code": SHARED_FIXTURES_FILE}]
    result = score(api, answers=[[right], [wrong]], scorers=[{"name": "tests", "params": {"tests": tests}}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[1.0]], [[0.0]]], result["details"]


CLASS_FIXTURES_FILE = """import pytest
from solution import total

MADE, DONE = [], []


@pytest.fixture(scope="class")
def counter():
    MADE.append("counter")
    yield len(MADE)
    DONE.append("counter")


@pytest.fixture(scope="module")
def base():
    MADE.append("base")
    return [1, 2]


def test_function_gets_its_own(counter):
    assert MADE.count("counter") == 1


def test_another_function_its_own_too(counter):
    assert MADE.count("counter") == 2 and DONE == ["counter"]


class TestShared:
    @pytest.fixture(scope="class")
    def ledger(self, base):
        MADE.append("ledger")
        return {"items": list(base)}

    def test_one(self, counter, ledger):
        ledger["items"].append(3)
        assert total(ledger["items"]) == 6 and MADE.count("counter") == 3

    def test_two(self, counter, ledger):
        assert ledger["items"] == [1, 2, 3] and MADE.count("counter") == 3 and MADE.count("ledger") == 1


class TestOther:
    def test_three(self, counter):
        assert MADE.count("counter") == 4 and DONE.count("counter") == 3


def teardown_module(module):
    assert DONE.count("counter") == 4 and MADE.count("base") == 1
"""


def test_class_scoped_fixtures_are_one_value_for_their_class(api: httpx.Client) -> None:
    """A class-scoped fixture (the module's, or a test class's own method) is one value for the tests of one
    test class, finished after them; a function of the module gets its own per test, as pytest has it (this
    file passes under pytest itself). A class fixture may ask for a module-scoped one."""
    right, wrong = "def total(xs):\n    return sum(xs)\n", "def total(xs):\n    return max(xs)\n"
    tests = [{"kind": "assert", "code": CLASS_FIXTURES_FILE}]
    result = score(api, answers=[[right], [wrong]], scorers=[{"name": "tests", "params": {"tests": tests}}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[1.0]], [[0.0]]], result["details"]


def test_pytest_fixtures_of_the_file_and_pytest_s_own(api: httpx.Client) -> None:
    """The file's own fixtures (a test class's too: its methods; returned or yielded; autouse ones before every
    test; given the fixtures and the parameters they ask for in turn; one call per param of a fixture with
    params, which it reads as request.param) and pytest's capsys, monkeypatch, caplog, recwarn, tmp_path,
    tmpdir and pytest-mock's mocker are given to the tests that ask for them, fresh for each call and one value in it;
    after the test, the code after a fixture's yield and request's finalizers run, capsys ends, monkeypatch
    and mocker are undone. The xunit hooks run around the tests; fixtures and hooks' classes in annotations
    resolve."""
    right = "def greet(name):\n    print(f'Hello, {name}')\ndef greet_input():\n    greet(input())\n" \
            "def total(xs):\n    return sum(xs)\n" \
            "def warn():\n    import warnings\n    warnings.warn('careful')\n" \
            "def greet_logged(name):\n    import logging\n" \
            "    logging.getLogger('app').info('greeted %s', name)\n"  # fmt: skip
    wrong = right.replace("Hello", "Hi")
    tests = [{"kind": "assert", "code": FIXTURES_FILE}]
    result = score(
        api, answers=[[right], [wrong]], scorers=[{"name": "tests", "params": {"tests": tests}}], detail=True
    )
    assert result["rewards"] == [[[1.0]], [[0.0]]], result["details"]
    appended = rewrite_asserts(FIXTURES_FILE)[0].rsplit("\n\n", 1)[1].splitlines()
    own = appended.index("test_own_fixtures(numbers=__vpo_numbers__, resource=__vpo_resource__)")
    assert appended[own - 3 : own] == ["__vpo_numbers__ = numbers()", "__vpo_resource_generator__ = resource()",
                                       "__vpo_resource__ = next(__vpo_resource_generator__)"]  # fmt: skip
    assert appended[:9] == ["setup_module(None)", "setup_function(test_prints)",
                            "__vpo_fresh_log_generator__ = fresh_log()",
                            "__vpo_fresh_log__ = next(__vpo_fresh_log_generator__)",
                            "__vpo_capsys__ = __import__('pytest').builtin_fixture('capsys')",
                            "test_prints(capsys=__vpo_capsys__)", "__vpo_capsys__.finish()",
                            "next(__vpo_fresh_log_generator__, None)", "teardown_function()"]  # fmt: skip
    # one value per fixture in a call, made before those that ask for it, finished after the test
    chained = appended.index("test_fixtures_of_fixtures(ledger=__vpo_ledger__, numbers=__vpo_numbers__)")
    assert appended[chained - 4 : chained] == ["__vpo_numbers__ = numbers()",
                                               "__vpo_doubled__ = doubled(numbers=__vpo_numbers__)",
                                               "__vpo_ledger_generator__ = ledger(doubled=__vpo_doubled__, "
                                               "numbers=__vpo_numbers__)",
                                               "__vpo_ledger__ = next(__vpo_ledger_generator__)"]  # fmt: skip
    assert appended[chained + 1] == "next(__vpo_ledger_generator__, None)"
    assert "test_a_fixture_of_a_parameter(factor=2, scaled=__vpo_scaled__)" in appended
    assert "test_recorded(recwarn=__vpo_recwarn__)" in appended and "__vpo_recwarn__.finish()" in appended
    # a test class's fixtures are its methods, called on the test's instance
    doubled = appended.index("__vpo_case__.test_doubled(doubled_items=__vpo_doubled_items__)")
    assert appended[doubled - 3 : doubled] == ["__vpo_fresh__ = __vpo_case__.fresh(numbers=__vpo_numbers__)",
                                               "__vpo_fresh_account__ = __vpo_case__.fresh_account()",  # usefixtures
                                               "__vpo_doubled_items__ = __vpo_case__.doubled_items()"]  # fmt: skip
    # a parametrized fixture: one call per param, with request.param and finalizers
    assert "__vpo_request_size__ = __import__('pytest').FixtureRequest(5)" in appended  # indirect
    sizes = [i for i, line in enumerate(appended) if line == "test_sizes(size=__vpo_size__)"]
    assert [appended[i - 2] for i in sizes] == [f"__vpo_request_size__ = __import__('pytest').FixtureRequest({n})"
                                                for n in (1, 2)]  # fmt: skip
    # cases given by a name that only parametrize marks use are expanded here; those of a list the test changes
    # (or uses otherwise) as the test runs
    by_name = [line for line in appended if line.startswith("test_cases_by_name(")]
    assert by_name == ["test_cases_by_name(numbers=[1], expected=1, capsys=__vpo_capsys__)",
                       "test_cases_by_name(numbers=[2, 3], expected=5, capsys=__vpo_capsys__)"]  # fmt: skip
    loop = "for __vpo_parameters__ in __import__('pytest').parametrized([(('numbers', 'expected'), MORE)], 10000):"
    at = appended.index(loop)
    assert [line.strip() for line in appended[at + 1 : at + 5]] == [
        "setup_function(test_cases_changed)", "__vpo_fresh_log_generator__ = fresh_log()",
        "__vpo_fresh_log__ = next(__vpo_fresh_log_generator__)",
        "__vpo_capsys__ = __import__('pytest').builtin_fixture('capsys')",
    ]  # fmt: skip
    off_by_one = right.replace("return sum(xs)", "return sum(xs) + (len(xs) == 2)")
    result = score(api, answers=[[off_by_one]], scorers=[{"name": "tests", "params": {"tests": tests}}], detail=True)
    assert result["rewards"] == [[[0.0]]] and "compared [6, 5]" in result["details"]["tests"][0][0][0]["message"]


MARKS_FILE = """import sys

import pytest
from solution import f

RAN = []
pytestmark = [pytest.mark.usefixtures("counted")]


@pytest.fixture
def counted():
    RAN.append("fixture")


@pytest.mark.skipif(sys.platform == "win32", reason="not here")
def test_runs_here():
    RAN.append("here")
    assert f(2) == 4


@pytest.mark.skipif(True, reason="never")
def test_never():
    assert f(2) == 5


@pytest.mark.skipif("sys.version_info < (3, 0)")
def test_old_style_condition():
    RAN.append("old")


@pytest.mark.skipif(sys.version_info > (3, 0), reason="class-wide")
class TestSkipped:
    def test_not_run(self):
        assert f(2) == 5


def test_what_ran():
    assert RAN == ["fixture", "here", "fixture", "old", "fixture"]
"""


def test_skipif_marks_and_module_marks(api: httpx.Client) -> None:
    """A skipif mark (on a test, its class, or the module's ``pytestmark``) skips the test where its condition
    holds, at run time, and only there (a string condition too); the module's usefixtures apply to every test."""
    tests = [{"kind": "assert", "code": MARKS_FILE}]
    right, wrong = SQUARE, "def f(x):\n    return x + 3\n"
    result = score(api, answers=[[right], [wrong]], scorers=[{"name": "tests", "params": {"tests": tests}}])
    assert result["rewards"] == [[[1.0]], [[0.0]]]


BOTH_RUNNERS_FILE = """import unittest
from solution import f

ORDER = []


def setUpModule():
    ORDER.append("up")


def tearDownModule():
    ORDER.append("down")


def test_first():
    ORDER.append("first")


class TestCaseStyle(unittest.TestCase):
    def test_square(self):
        ORDER.append("case")
        self.assertEqual(f(3), 9)


def test_last():
    assert ORDER == ["first", "up", "case", "down"] and f(2) == 4
"""


def test_a_file_of_both_runners_runs_in_its_order(api: httpx.Client) -> None:
    """pytest functions and unittest classes in one file run in the file's order, unittest's module hooks
    around its classes."""
    tests = [{"kind": "assert", "code": BOTH_RUNNERS_FILE}]
    result = score(api, answers=[[SQUARE], [WRONG_AT_2]], scorers=[{"name": "tests", "params": {"tests": tests}}])
    assert result["rewards"] == [[[1.0]], [[0.0]]]


@pytest.mark.parametrize("test_file", [PYTEST_FILE, UNITTEST_FILE], ids=["pytest", "unittest"])
def test_test_files_written_for_pytest_or_unittest(api: httpx.Client, test_file: str) -> None:
    """A file of pytest test functions (parametrize, approx, raises, a Test class; skipped tests and those that
    need a fixture left out) or a unittest file ending in ``unittest.main()`` runs its tests; the answer is
    the module ``solution`` it imports from. A wrong answer fails, as does one that ends the test early."""
    exits = "import sys\ndef f(x):\n    sys.exit(0)\n"
    tests = [{"kind": "assert", "code": test_file}]
    scorers = [{"name": "tests", "params": {"tests": tests}}]
    result = score(api, answers=[[SQUARE], [WRONG_AT_2], [exits]], scorers=scorers, detail=True)
    assert result["rewards"] == [[[1.0]], [[0.0]], [[0.0]]], result["details"]
    assert result["details"]["tests"][1][0][0]["verdict"] == "fail"


def test_a_test_method_the_answer_stubs_out_fails(api: httpx.Client) -> None:
    """The test methods whose calls collect appends run whenever the test ends normally: an answer that patches
    unittest.TestCase so that one of them does nothing (its asserts never report) fails."""
    stubs = (
        "import unittest\n_init = unittest.TestCase.__init__\n"
        "def _stub(self, name='runTest'):\n    _init(self, name)\n"
        "    if name == 'test_equal':\n        setattr(self, name, lambda: None)\n"
        "unittest.TestCase.__init__ = _stub\n"
    )  # fmt: skip
    wrong = "def f(x):\n    return 0.5 if x == 0.1 else x * x\n"  # wrong where test_equal alone looks
    tests = [{"kind": "assert", "code": UNITTEST_FILE}]
    scorers = [{"name": "tests", "params": {"tests": tests}}]
    result = score(api, answers=[[wrong], [stubs + wrong]], scorers=scorers, detail=True)
    assert result["rewards"] == [[[0.0]], [[0.0]]]
    messages = [answer[0][0]["message"] for answer in result["details"]["tests"]]
    assert messages == ["assert 2 of the test failed; it compared [0.49, 0]", "assert 1 of the test never ran"]


def test_an_execution_runs_as_python3_solution_py(api: httpx.Client) -> None:
    """A program sees the command line of ``python3 solution.py`` (the worker's own options were there, where
    a program that reads its arguments, or unittest.main(), found them), and has its ``exit()``."""
    reads = "import sys\nprint(sys.argv[1:], sys.argv[0])\n"
    stdio = {"tests": [{"kind": "stdio", "stdin": "", "expected_stdout": "[] solution.py\n"}]}
    asserts = {"tests": [{"kind": "assert", "code": "import sys\nassert sys.argv == ['solution.py']\n"}]}
    result = score(api, answers=[[reads]], scorers=[{"name": "tests", "params": stdio}])
    assert result["rewards"] == [[[1.0]]]
    # ``exit()`` and ``quit()``, which site adds (the sandbox's interpreter runs with -S), end a program as there
    ends = ["print(-1)\nexit()\nprint(1)\n", "print(-1)\nquit(0)\n", "print(-1)\nexit(3)\n"]
    stdio = {"tests": [{"kind": "stdio", "stdin": "", "expected_stdout": "-1\n"}]}
    result = score(api, answers=[[a] for a in ends], scorers=[{"name": "tests", "params": stdio}], detail=True)
    assert result["rewards"] == [[[1.0]], [[1.0]], [[0.0]]]
    assert result["details"]["tests"][2][0][0]["message"] == "exit(3) while loading"
    assert score(api, answers=[[SQUARE]], scorers=[{"name": "tests", "params": asserts}])["rewards"] == [[[1.0]]]


def test_code_that_finds_itself_by_its_modules_name(api: httpx.Client) -> None:
    """pickle and multiprocessing find a function or class by its module's name: the answer's code is the
    module ``solution`` of sys.modules, a script's or a test's ``__main__``. Before, each of these failed."""
    pool = (
        "from multiprocessing import Pool\nimport pickle, sys\n\ndef square(x):\n    return x * x\n\n"
        "def total(n):\n    with Pool(2) as workers:\n        return sum(workers.map(square, range(n)))\n\n"
        "class Box:\n    def __init__(self, x):\n        self.x = x\n\n"
        "def unpickled(x):\n    return pickle.loads(pickle.dumps(Box(x))).x\n\n"
        "def by_name(name, x):\n    return getattr(sys.modules[__name__], name)(x)\n"
    )
    tests = [
        {"kind": "call", "function": "total", "args": [10], "expected": 285},
        {"kind": "assert", "code": "assert unpickled(3) == 3 and by_name('square', 4) == 16"},
        {"kind": "assert", "code": "import pickle\nclass Mine:\n    pass\n"
                                   "assert isinstance(pickle.loads(pickle.dumps(Mine())), Mine) and square(2) == 4"},
    ]  # fmt: skip
    result = score(api, answers=[[pool]], scorers=[{"name": "tests", "params": {"tests": tests, "timeout_s": 10}}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[1.0, 1.0, 1.0]]], result["details"]
    script = "from multiprocessing import Pool\nimport __main__\n\ndef square(x):\n    return x * x\n\n"
    script += "if __name__ == '__main__':\n    with Pool(2) as workers:\n"
    script += "        print(sum(workers.map(__main__.square, range(int(input())))))\n"
    stdio = {"tests": [{"kind": "stdio", "stdin": "10\n", "expected_stdout": "285\n"}], "timeout_s": 10}
    result = score(api, answers=[[script]], scorers=[{"name": "tests", "params": stdio}], detail=True)
    assert result["rewards"] == [[[1.0]]], result["details"]


def test_a_program_that_ends_itself_with_status_0_is_judged_by_its_output(api: httpx.Client) -> None:
    """``os._exit(0)`` after a flushed output is how fast Python solutions end: a judge takes their output, so
    a right one passes. Without its output (not flushed, or none) it is still ``exited_early``."""
    double = "import os, sys\nprint(int(input()) * 2)\n"
    answers = [double + "sys.stdout.flush()\nos._exit(0)\n", double + "os._exit(0)\n", "import os\nos._exit(0)\n"]
    stdio = {"tests": [{"kind": "stdio", "stdin": "4\n", "expected_stdout": "8\n"}]}
    result = score(api, answers=[[a] for a in answers], scorers=[{"name": "tests", "params": stdio}], detail=True)
    assert [answer[0][0]["verdict"] for answer in result["details"]["tests"]] == ["pass"] + ["exited_early"] * 2


def test_every_run_of_an_assert_in_a_loop_must_hold(api: httpx.Client) -> None:
    tests = [
        {"kind": "assert", "code": "for x in range(5):\n    assert f(x) == x * 2"},
        {"kind": "assert", "code": "for x in range(100_001):\n    assert f(x) == x * 2"},
        {"kind": "assert", "code": "for x in range(1000):\n    assert f(x) == x * 2"},
    ]
    right_at_the_end = "def f(x):\n    return 8 if x == 4 else 0\n"  # the last pass's values alone would pass
    right = "def f(x):\n    return 2 * x\n"
    params = {"tests": tests}
    result = score(api, answers=[[right_at_the_end], [right]], scorers=[{"name": "tests", "params": params}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[0.0, 0.0, 0.0]], [[1.0, 0.0, 1.0]]]
    looped = result["details"]["tests"][0][0][0]
    assert looped["message"] == "assert 1 of the test failed; it compared [0, 2]"
    assert result["details"]["tests"][1][0][1]["message"] == "its asserts ran more than 100000 times"


def test_a_flood_of_forged_reports_is_an_output_limit(api: httpx.Client) -> None:
    """Reports for tests the unit does not have are dropped, and the reports of one execution are bounded
    together: 72 MB of them would be past the line the host reads a unit's result in (a lost worker)."""
    flood = FORGER.replace(
        'os.write(3, (json.dumps({"i": 0, "status": "ok", "token": token, **FORGED}) + "\\n").encode())',
        "for i in range(80):\n"
        '        os.write(3, (json.dumps({"i": 1000 + i, "status": "ok", "token": token, "value": "x" * 900_000})'
        ' + "\\n").encode())',
    )
    assert "range(80)" in flood
    restarts = api.get("/readyz").json()["scorers"]["tests"].get("worker_restarts", 0)
    params = {**PROBLEM, "tests": [PROBLEM["tests"][1]]}
    result = score(api, answers=[[flood], [PROGRAM]], scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"] == [[[0.0]], [[1.0]]]
    assert result["details"]["tests"][0][0][0]["verdict"] == "output_limit"
    assert api.get("/readyz").json()["scorers"]["tests"].get("worker_restarts", 0) == restarts


def test_stdout_and_stderr_heads_in_details(api: httpx.Client) -> None:
    answer = "import sys\nprint('hello')\nprint('warn', file=sys.stderr)\ndef add(a, b):\n    return a + b\n"
    detail = score(api, answers=[[answer]], detail=True)["details"]["tests"][0][0][1]
    assert detail["stdout"].startswith("hello") and "warn" in detail["stderr"]


def test_a_failed_test_shows_what_the_answer_returned_or_compared(api: httpx.Client) -> None:
    tests = [
        {"kind": "call", "function": "f", "args": [3], "expected": 4},
        {"kind": "call", "function": "g", "args": [], "expected": 0},
        {"kind": "assert", "code": "assert f(1) == 2\nassert f(2) in (5, 6)\nassert f(3) == 7"},
        {"kind": "call", "function": "big", "args": [], "expected": 0},
        {"kind": "assert", "code": "assert f(0) is None"},
        # ints past JSON's (and Python's str) 4300 digits still compare exactly, and a long one still passes
        {"kind": "assert", "code": "import math\nassert big() == 10 ** 5000 and fact() == math.factorial(1000)"},
        {"kind": "call", "function": "fact", "args": [], "expected": math.factorial(1000)},
        {"kind": "assert", "code": "assert f(1) == 2\nassert f(0)"},  # a bare value judged inside: false
    ]
    answer = "import math\ndef f(x):\n    return x * 2\ndef g():\n    return list(range(1000))\n" \
             "def big():\n    return 10 ** 5000\ndef fact():\n    return math.factorial(1000)\n"  # fmt: skip
    params = {"tests": tests}
    details = score(api, answers=[[answer]], scorers=[{"name": "tests", "params": params}], detail=True)
    call, long, asserts, huge, identity, big_assert, big_call, bare = details["details"]["tests"][0][0]
    assert bare["verdict"] == "fail" and bare["message"] == "assert 2 of the test is false"
    assert big_assert["verdict"] == "pass" and big_call["verdict"] == "pass"
    assert call["verdict"] == "fail" and call["returned"] == "6"
    assert long["returned"] == "[" + ", ".join(str(i) for i in range(20)) + ", ...]"
    assert asserts["verdict"] == "fail" and asserts["message"] == "assert 2 of the test failed; it compared [4, (5, 6)]"
    assert huge["verdict"] == "fail" and huge["returned"] == "<a value too large to show>"
    assert identity["message"] == "assert 1 of the test failed; it compared [0, None]"


def test_compile_warnings_reach_the_answers_stderr(api: httpx.Client) -> None:
    # the worker compiles small sources before it forks: what the compiler says still reaches the answer's stderr
    answer = "def add(a, b):\n    return a + b if 1 is 1 else 0\n"
    result = score(api, answers=[[answer]], detail=True)
    assert result["rewards"][0][0][:3] == [1.0, 1.0, 1.0]
    assert "SyntaxWarning" in result["details"]["tests"][0][0][0]["stderr"]


@pytest.mark.parametrize(("tail", "verdict"), [("", "pass"), ("\ndef broken(:\n", "error")])
def test_sources_too_big_to_precompile_compile_in_the_child(api: httpx.Client, tail: str, verdict: str) -> None:
    answer = PROGRAM + "# " + "x" * 70_000 + "\n" + tail
    first = score(api, answers=[[answer]], detail=True)["details"]["tests"][0][0][0]
    assert first["verdict"] == verdict
    assert verdict == "pass" or first["error"] == "SyntaxError"


def test_deadline_returns_what_finished(api: httpx.Client) -> None:
    slow = "import time\ntime.sleep(0.9)\n" + PROGRAM
    result = score(api, answers=[[PROGRAM + "# fast\n"], [slow]], deadline_ms=400)
    assert result["rewards"][0] == [[1.0, 1.0, 1.0, 1.0]]
    assert result["rewards"][1] == [[None, None, None, None]]
    assert {e["reason"] for e in result["errors"]} == {"deadline"}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_return_values_as_deep_as_an_expected_value_may_be(api: httpx.Client) -> None:
    """The deepest ``expected`` the params accept can be met: the sandbox returns values that deep."""
    code = f"def f():\n    v = 1\n    for _ in range({RETURN_DEPTH}):\n        v = [v]\n    return v\n"
    test = {"kind": "call", "function": "f", "expected": nested(RETURN_DEPTH)}
    response = api.post("/v1/score", json={"answers": [[fenced(code)]], "detail": True,
                                           "scorers": [{"name": "tests", "params": {"tests": [test]}}]})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["rewards"] == [[[1.0]]], response.json()


def test_partial_credit_for_stdio_tests(api: httpx.Client) -> None:
    """With partial, a stdio test whose program ran to its end scores the fraction of expected lines (or
    tokens) in place; other verdicts and other test kinds stay 0 / 1."""
    tests = [{"kind": "stdio", "stdin": "4\n", "expected_stdout": "1\n2\n3\n4\n"},
             {"kind": "stdio", "stdin": "4\n", "expected_stdout": "1 2 3 4", "compare": "tokens"},
             {"kind": "stdio", "stdin": "2\n", "expected_stdout": "1\n2\n"},
             {"kind": "assert", "code": "assert 1 == 2"}]  # fmt: skip
    three_of_four = "n = int(input())\nfor i in range(1, n + 1):\n    print(i if i != 3 else 0)\n"
    crashes = "n = int(input())\nprint(1)\nraise ValueError(n)\n"
    answers = [[fenced(three_of_four)], [fenced(crashes)]]
    partial = {"name": "tests", "params": {"partial": True, "tests": tests}}
    body = {"prompt": "count", "answers": answers, "detail": True, "scorers": [partial]}
    result = api.post("/v1/score", json=body).json()
    assert result["rewards"][0][0] == [0.75, 0.75, 1.0, 0.0]
    assert result["rewards"][1][0] == [0.0, 0.0, 0.0, 0.0]  # an error is the answer's fault: no credit
    verdicts = result["details"]["tests"][0][0]
    # (the assert test runs the answer as a module, without stdin: an error, 0)
    assert [v["verdict"] for v in verdicts] == ["fail", "fail", "pass", "error"] and verdicts[0]["similarity"] == 0.75
    strict = {"name": "tests", "params": {"tests": tests}}
    assert api.post("/v1/score", json={**body, "scorers": [strict]}).json()["rewards"][0][0] == [0.0, 0.0, 1.0, 0.0]


PAIR_CHECKER = """def check(input, output, expected):
    n = int(input)
    a, b = map(int, output.split())
    return a + b == n and 0 <= a and 0 <= b
"""


def test_a_checker_judges_outputs_that_many_answers_make_right(api: httpx.Client) -> None:
    """A stdio test's checker (``check(input, output, expected)``) judges the output instead of the comparison,
    in an execution of its own: any pair that sums to n passes; output it cannot read fails; a program that
    fails is judged as ever, without the checker."""
    test = {"kind": "stdio", "stdin": "7\n", "expected_stdout": "3 4\n", "checker": PAIR_CHECKER}
    answers = ["n = int(input())\nprint(1, n - 1)\n", "n = int(input())\nprint(0, n)\n", "print(1, 1)\n",
               "print('seven')\n", "raise ValueError('no')\n"]  # fmt: skip
    result = score(api, answers=[[a] for a in answers], scorers=[{"name": "tests", "params": {"tests": [test]}}],
                   detail=True)  # fmt: skip
    assert result["rewards"] == [[[1.0]], [[1.0]], [[0.0]], [[0.0]], [[0.0]]]
    details = [answer[0][0] for answer in result["details"]["tests"]]
    assert details[2]["message"] == "the checker rejected the output"
    assert details[3]["message"].startswith("the checker raised ValueError")
    assert details[4]["verdict"] == "error" and details[4]["error"] == "ValueError"
    for bad in ("def judge(input, output, expected):\n    return True\n", "def check(:\n"):
        params = {"tests": [{**test, "checker": bad}]}
        response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": params}]})
        assert response.status_code == 422, bad


def test_stdio_numbers_within_a_tolerance(api: httpx.Client) -> None:
    """With abs_tol / rel_tol, decimal numbers in the output match within them (a checker's 1e-6), in lines
    or tokens; without, the text must be the same."""
    program = "a, b = map(int, input().split())\nprint(a / b, 'ok')\nprint(round(a / b, 3), b)\n"
    expected = "0.333333333 ok\n0.333 3\n"
    tests = [{"kind": "stdio", "stdin": "1 3\n", "expected_stdout": expected},
             {"kind": "stdio", "stdin": "1 3\n", "expected_stdout": expected, "abs_tol": 1e-6},
             {"kind": "stdio", "stdin": "1 3\n", "expected_stdout": expected, "compare": "tokens", "rel_tol": 1e-6},
             {"kind": "stdio", "stdin": "1 3\n", "expected_stdout": "0.3334 ok\n0.333 3", "abs_tol": 1e-6}]  # fmt: skip
    params = {"partial": True, "tests": tests}
    result = score(api, answers=[[program]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[0.5, 1.0, 1.0, 0.5]]]
    exact = {"tests": [{"kind": "stdio", "expected_stdout": "1", "compare": "exact", "abs_tol": 0.1}]}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": exact}]})
    assert response.status_code == 422 and 'not with compare "exact"' in str(response.json()["error"]["details"])


JS_SUM = "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\nconsole.log(a + b);\n"


CLASS_TESTS = [
    {"kind": "call", "function": "twoSum", "args": [[2, 7, 11], 9], "expected": [0, 1]},  # Solution's method
    {"kind": "call", "function": "Solution.twoSum", "args": [[3, 3], 6], "expected": [0, 1]},
    {"kind": "call", "function": "Tally.bump", "args": [2], "expected": 2},  # a fresh instance per test:
    {"kind": "call", "function": "Tally.bump", "args": [3], "expected": 3},  # no count left from the last
    {"kind": "call", "function": "helper", "args": [], "expected": "top level"},  # a function comes first
    {"kind": "call", "function": "missing", "args": [], "expected": None},
    {"kind": "call", "function": "Nowhere.twoSum", "args": [], "expected": None},
]


PY_CLASSES = """class Solution:
    def twoSum(self, nums, target):
        seen = {}
        for i, n in enumerate(nums):
            if target - n in seen:
                return [seen[target - n], i]
            seen[n] = i

    def helper(self):
        return "method"

class Tally:
    def __init__(self):
        self.count = 0

    def bump(self, by):
        self.count += by
        return self.count

def helper():
    return "top level"
"""
JS_CLASSES = """class Solution {
  twoSum(nums, target) {
    const seen = new Map();
    for (let i = 0; i < nums.length; i++) {
      if (seen.has(target - nums[i])) return [seen.get(target - nums[i]), i];
      seen.set(nums[i], i);
    }
  }
  helper() { return 'method'; }
}
class Tally {
  constructor() { this.count = 0; }
  bump(by) { this.count += by; return this.count; }
}
function helper() { return 'top level'; }
"""


@pytest.mark.parametrize(
    ("language", "answer", "missing"),
    [("python", PY_CLASSES, "NameError"), ("javascript", JS_CLASSES, "ReferenceError")],
)
def test_call_tests_on_methods_of_a_class(api: httpx.Client, language: str, answer: str, missing: str) -> None:
    """LeetCode-style answers: ``Cls.m`` calls the method of a fresh instance, and a bare name that is no
    function of the answer's is the method of a fresh ``Solution()``."""
    params = {"language": language, "tests": CLASS_TESTS}
    result = score(api, answers=[[answer]], detail=True, scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[1.0] * 5 + [0.0] * 2]], result["details"]
    details = result["details"]["tests"][0][0]
    assert [(d["verdict"], d.get("error")) for d in details[5:]] == [("error", missing)] * 2


def test_javascript_programs_on_stdio_tests(api: httpx.Client) -> None:
    """A second language: the answer's ```js block is written to a file in the sandbox and run by node with
    each test's stdin; its stdout is compared outside, as for Python."""
    tests = [{"kind": "stdio", "stdin": "4 5\n", "expected_stdout": "9\n"},
             {"kind": "stdio", "stdin": "-1 1\n", "expected_stdout": "0"}]  # fmt: skip
    answers = [
        "Here is my solution:\n```js\n" + JS_SUM + "```",
        "```javascript\n" + JS_SUM.replace("a + b", "a * b") + "```",
        "```js\nthrow new TypeError('no input today');\n```",
        "```js\nwhile (true) {}\n```",
        "```js\nconst a = []; for (;;) a.push(new Array(1e6).fill(1.5));\n```",
        "```js\nprocess.exit(0);\n```",
    ]
    params = {"language": "javascript", "timeout_s": 1.0, "memory_mb": 64, "tests": tests}
    body = {"prompt": "sum", "answers": [[a] for a in answers], "detail": True,
            "scorers": [{"name": "tests", "params": params}]}  # fmt: skip
    response = api.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r[0] for r in result["rewards"]] == [[1.0, 1.0], [0.0, 0.0], [0.0] * 2, [0.0] * 2, [0.0] * 2, [0.0] * 2]
    details = [answer[0] for answer in result["details"]["tests"]]
    assert [[d["verdict"] for d in answer] for answer in details] == [
        ["pass", "pass"], ["fail", "fail"], ["error"] * 2, ["timeout"] * 2, ["memory"] * 2,
        ["fail"] * 2,
    ]  # fmt: skip
    assert details[2][0]["error"] == "TypeError" and "no input today" in details[2][0]["message"]
    assert details[1][0]["stdout"] == "20\n"
    assert "javascript" in api.get("/v1/scorers").text


def test_javascript_output_is_written_before_the_program_ends(api: httpx.Client) -> None:
    """node writes to a pipe asynchronously; the sandbox makes it write synchronously, so output printed just
    before process.exit() is all there, and output printed before a call test's report counts against the
    output limit as Python's does."""
    exits = "const n = Number(require('fs').readFileSync(0, 'utf8'));\nprocess.stdout.write('x'.repeat(n) + '\\n');\n"
    exits += "process.exit(0);\n"
    stdio = {"language": "javascript", "tests": [{"kind": "stdio", "stdin": "300000", "expected_stdout": "x" * 300000}]}
    result = score(api, answers=[[exits]], scorers=[{"name": "tests", "params": stdio}])
    assert result["rewards"] == [[[1.0]]]
    loud = "process.stdout.write('y'.repeat(3000000));\nfunction f() { return 2; }\n"
    call = {"language": "javascript", "tests": [{"kind": "call", "function": "f", "expected": 2}]}
    result = score(api, answers=[[loud]], detail=True, scorers=[{"name": "tests", "params": call}])
    assert result["rewards"] == [[[0.0]]] and result["details"]["tests"][0][0][0]["verdict"] == "output_limit"


def test_javascript_functions_on_call_tests(api: httpx.Client) -> None:
    """node's driver loads the answer, calls each test's function and sends the value back as plain data;
    the expected values never enter the sandbox."""
    tests = [{"kind": "call", "function": "add", "args": [2, 3], "expected": 5},
             {"kind": "call", "function": "add", "args": [[1], [2]], "expected": [1, 2]},
             {"kind": "call", "function": "stats", "args": [[1, 2]], "expected": {"mean": 1.5, "tags": ["x", None]}},
             {"kind": "call", "function": "ratio", "args": [1, 3], "expected": 0.333, "abs_tol": 0.001},
             {"kind": "stdio", "stdin": "4 5\n", "expected_stdout": "9\n"},
             {"kind": "call", "function": "leak", "expected": "gone"}]  # fmt: skip
    good = (
        "function add(a, b) { return Array.isArray(a) ? a.concat(b) : a + b; }\n"
        "const stats = (xs) => ({mean: xs.reduce((s, x) => s + x, 0) / xs.length, tags: ['x', undefined]});\n"
        "let ratio = (a, b) => a / b;\nvar leak = () => 'gone';\n"
        "if (require.main === module) {\n" + "  " + JS_SUM.replace("\n", "\n  ").rstrip() + "\n}\n"
    )
    hostile = (  # a pass can only come from values the host compares: a forged message has no token
        "function add(a, b) { require('fs').writeSync(3, JSON.stringify({i: 0, status: 'ok', value: 5}) + '\\n');"
        " return new Map(); }\nJSON.stringify = () => '{}';\nconst stats = () => { throw new RangeError('no'); };\n"
        # the job file (with the token) is gone before the answer's code runs
        "let job = 'gone'; try { job = require('fs').readFileSync('job.json', 'utf8'); } catch (e) {}\n"
        "function leak() { return job; }\n"
    )
    params = {"language": "javascript", "timeout_s": 2.0, "tests": tests}
    answers = [[f"```js\n{good}```"], [f"```js\n{hostile}```"], ["```js\nfunction add(a, b) {\n```"]]
    result = score(api, answers=answers, detail=True, scorers=[{"name": "tests", "params": params}])
    assert result["rewards"][0] == [[1.0] * 6], result["details"]
    assert result["rewards"][1] == [[0.0] * 5 + [1.0]] and result["rewards"][2] == [[0.0] * 6]
    hostile_verdicts = result["details"]["tests"][1][0]
    assert [d["verdict"] for d in hostile_verdicts[:4]] == ["error", "error", "error", "error"]
    assert [d["error"] for d in hostile_verdicts[:4]] == ["Unencodable", "Unencodable", "RangeError", "ReferenceError"]
    broken = result["details"]["tests"][2][0][0]
    assert broken["verdict"] == "error" and broken["error"] == "SyntaxError"


def test_javascript_multipl_e_suite_through_the_client_helper(api: httpx.Client) -> None:
    """A MultiPL-E suite (trainer_client.problems.multipl_e_tests) scores each assert as a call test: a right
    answer passes them all, an answer that replaces assert.deepEqual (as the suite itself would have run it)
    gains nothing, and a wrong one fails the asserts it gets wrong."""
    from tests.trainer_client.test_problems import MULTIPL_E_JS

    suite = MULTIPL_E_JS.replace("by_length", "describe")
    right = (
        "function describe(xs, label) {\n  if (xs === undefined) return undefined;\n"
        "  if (label !== undefined) return {1: 'x', k: [undefined, true], q: null};\n"
        "  const names = ['', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine'];\n"
        "  return xs.filter((x) => x >= 1 && x <= 9).sort((a, b) => b - a).map((x) => names[x]);\n}\n"
    )
    patched = "require('node:assert').deepEqual = () => {};\nfunction describe() { return 0; }\n"
    wrong = right.replace("b - a", "a - b")
    params = scorer_params(multipl_e_tests(suite), language="javascript", timeout_s=2.0)
    answers = [[f"```js\n{code}```"] for code in (right, patched, wrong)]
    result = score(api, answers=answers, scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[1.0] * 4], [[0.0] * 4], [[0.0, 1.0, 1.0, 1.0]]], result


def test_javascript_async_functions_and_a_test_that_hangs(api: httpx.Client) -> None:
    """An async function's result is awaited; a call that loops is a timeout, and the tests after it run in a
    fresh process."""
    code = (
        "async function later(x) { await new Promise((done) => setTimeout(done, 10)); return [x, x]; }\n"
        "function spin() { for (;;) {} }\nfunction after() { return 7; }\n"
    )
    tests = [{"kind": "call", "function": "later", "args": ["a"], "expected": ["a", "a"]},
             {"kind": "call", "function": "spin", "expected": None},
             {"kind": "call", "function": "after", "expected": 7}]  # fmt: skip
    params = {"language": "javascript", "timeout_s": 0.5, "tests": tests}
    result = score(api, answers=[[f"```js\n{code}```"]], detail=True, scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[1.0, 0.0, 1.0]]]
    assert [d["verdict"] for d in result["details"]["tests"][0][0]] == ["pass", "timeout", "pass"]


def assert_contained(
    api: httpx.Client, language: str, program: Callable[[int], str], marker: str, sleeper: str
) -> None:
    """Runs ``program(port)``, a program in ``language`` that prints "env-ok etc-ok net-ok" when it finds no
    ``VPO`` variable, cannot write ``/etc/<marker>`` and cannot reach ``port`` (a listener on the host's
    loopback), and that tries to write ``/tmp/<marker>`` and to leave ``sleeper`` running: none of it may
    happen on the host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        test = {"kind": "stdio", "stdin": "", "expected_stdout": "env-ok etc-ok net-ok\n"}
        params = {"language": language, "timeout_s": 3.0, "tests": [test]}
        answer = f"```{language}\n{program(listener.getsockname()[1])}```"
        result = score(api, answers=[[answer]], detail=True, scorers=[{"name": "tests", "params": params}])
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached the host's loopback
    assert result["rewards"] == [[[1.0]]], result["details"]
    assert not Path(f"/etc/{marker}").exists() and not Path(f"/tmp/{marker}").exists()
    leftover = subprocess.run(["pgrep", "-f", f"^{sleeper}$"], capture_output=True, text=True).stdout.split()
    assert leftover == []


def test_javascript_programs_are_contained(api: httpx.Client) -> None:
    """The same sandbox holds a node program: no host loopback, no service environment, no writes outside
    its directory, no other processes left behind."""

    def program(port: int) -> str:
        return f"""
const fs = require('fs'), net = require('net'), cp = require('child_process');
const out = [];
out.push(Object.keys(process.env).some(k => k.startsWith('VPO')) ? 'env-leak' : 'env-ok');
try {{ fs.writeFileSync('/etc/vpo-js-marker', 'x'); out.push('etc-written'); }} catch (e) {{ out.push('etc-ok'); }}
try {{ fs.writeFileSync('/tmp/vpo-js-marker', 'x'); }} catch (e) {{}}
cp.spawn('sleep', ['30'], {{detached: true, stdio: 'ignore'}}).unref();
const s = net.connect({port}, '127.0.0.1');
s.on('connect', () => {{ console.log(out.join(' ') + ' net-open'); process.exit(0); }});
s.on('error', () => {{ console.log(out.join(' ') + ' net-ok'); process.exit(0); }});
"""

    assert_contained(api, "javascript", program, marker="vpo-js-marker", sleeper="sleep 30")


CPP_SUM = "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n"


def test_public_datasets_test_cases_through_the_client_helpers(api: httpx.Client) -> None:
    """trainer_client.problems turns LiveCodeBench's, APPS's, CodeContests's, HumanEval's, MBPP's and KodCode's
    (pytest) test cases into params the scorer runs as those datasets' harnesses do."""
    two_sum = PY_CLASSES.split("class Tally")[0]  # LiveCodeBench's functional answers: class Solution
    lcb = livecodebench_tests(
        json.dumps([{"input": "[2, 7, 11]\n9", "output": "[0, 1]", "testtype": "functional"}]),
        base64.b64encode(zlib.compress(pickle.dumps(json.dumps(
            [{"input": "[3, 3]\n6", "output": "[0, 1]", "testtype": "functional"}])))).decode(),
        {"func_name": "twoSum"},
    )  # fmt: skip
    summing = "print(sum(map(int, input().split())))\n"
    apps = apps_tests({"inputs": ["1 2\n", ["3 4"]], "outputs": ["3\n", ["7"]]})
    apps_calls = apps_tests({"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]})
    contests = code_contests_tests({"input": ["1 2\n"], "output": ["3\n"]}, None, {"input": ["5 5"], "output": ["11"]})
    mbpp = mbpp_tests(["assert add(1, 2) == 3", "assert add(0, 0) == 1"], "import math")
    human = humaneval_tests("def check(candidate):\n    assert candidate(2, 2) == 4\n", "add")
    kodcode = pytest_tests("from solution import add\n\ndef test_a():\n    assert add(1, 2) == 3\n\n"
                           "def test_b():\n    assert add(1, 1) == 3\n")  # fmt: skip
    cases = [(two_sum, lcb, [1.0, 1.0]), (summing, apps, [1.0, 1.0]), (summing, contests, [1.0, 0.0]),
             (PROGRAM, apps_calls, [1.0]),
             (PROGRAM, mbpp, [1.0, 0.0]), (PROGRAM, human, [1.0]), (PROGRAM, kodcode, [1.0, 0.0])]  # fmt: skip
    for answer, tests, expected in cases:
        params = scorer_params(tests, timeout_s=2.0)
        result = score(api, answers=[[answer]], scorers=[{"name": "tests", "params": params}])
        assert result["rewards"] == [[expected]], (tests, result)


def test_evalplus_tests_converted_hold_against_forged_comparisons(api: httpx.Client) -> None:
    """EvalPlus's test compares in its own helper (``exact_match = out == exp``), in the sandbox; converted
    (trainer_client.problems.evalplus_tests), its expected values stay on the host: right answers pass (a list
    for a tuple of floats within the tolerance, as np.allclose takes it), objects whose __eq__ says yes to
    anything (a class statement's, or type()'s) fail every test, a wrong answer the tests of its inputs."""
    from tests.trainer_client.test_problems import HUMANEVAL_PLUS

    right = "def add(a, b):\n    return a + b if not isinstance(a, tuple) else tuple(x + b for x in a)\n"
    listed = "def add(a, b):\n    return a + b if not isinstance(a, tuple) else [x + b + 1e-9 for x in a]\n"
    forged = "class E:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\n"
    forged += "def add(a, b):\n    return E()\n"
    made = "E = type('E', (), {'__eq__': lambda s, o: True, '__iter__': lambda s: iter([])})\n"
    made += "def add(a, b):\n    return E()\n"
    wrong = "def add(a, b):\n    return a - b if isinstance(a, int) else " + right.split("return ")[1]
    a_set = right.replace("tuple(x + b for x in a)", "{x + b for x in a}")  # np.allclose takes no set either
    tests = evalplus_tests(HUMANEVAL_PLUS, "add", max_tests=3)  # [1, 2], [(1.0, 2.0), 1], [nan, 1]; [3, 4]...
    params = scorer_params(tests, timeout_s=5.0)
    result = score(api, answers=[[right], [listed], [forged], [made], [wrong], [a_set]], scorers=[{"name": "tests",
                   "params": params}])  # fmt: skip
    assert result["rewards"] == [[[1.0] * 3], [[1.0] * 3], [[0.0] * 3], [[0.0] * 3], [[0.0, 0.0, 1.0]],
                                 [[0.0, 1.0, 1.0]]], result  # fmt: skip


LEETCODE_PROMPT = """from typing import *

class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next

def list_node(values: list):
    head = None
    for value in reversed(values):
        head = ListNode(value, head)
    return head

def is_same_list(a, b):
    while a and b and a.val == b.val:
        a, b = a.next, b.next
    return a is None and b is None
"""


def test_setup_code_the_answers_need_comes_before_them(api: httpx.Client) -> None:
    """``setup`` goes before every answer's code: LeetCodeDataset's prompt (its imports and ListNode), which
    the answer's annotations need as it is defined and its check's helpers as it runs."""
    signature = "class Solution:\n    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:\n"
    body = "        previous = None\n        while head:\n"
    body += "            head.next, previous, head = previous, head, head.next\n"
    reverse = f"```python\n{signature}{body}        return previous\n```\n"
    same = f"```python\n{signature}        return head\n```\n"
    check = (
        "def check(candidate):\n    assert is_same_list(candidate(head=list_node([1, 2, 3])), list_node([3, 2, 1]))\n"
        "    assert candidate(head=list_node([])) == None\n"
    )
    params = scorer_params(humaneval_tests(check, "Solution().reverseList"), setup=LEETCODE_PROMPT)
    result = score(api, answers=[[reverse], [same]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[1.0]], [[0.0]]]
    without = {**params, "setup": ""}  # without it: NameError, as the dataset's own harness would have it
    result = score(api, answers=[[reverse]], scorers=[{"name": "tests", "params": without}], detail=True)
    assert result["details"]["tests"][0][0][0]["error"] == "NameError"


def test_cpp_programs_compile_once_and_run_on_stdio_tests(api: httpx.Client) -> None:
    """A compiled language: each answer compiles once (g++, in the sandbox), then its program runs for each
    test; a compile error, a crash, a loop, a memory bomb and an exit status are the answer's verdicts. C++20:
    the right answer takes ``auto`` parameters and asks a map's ``contains`` (under C++17, a CompileError)."""
    cpp20 = "#include <bits/stdc++.h>\nauto sum(auto a, auto b) { return a + b; }\nint main() {\n"
    cpp20 += "    std::map<int, long long> m;\n    std::cin >> m[0] >> m[1];\n"
    cpp20 += "    std::cout << (m.contains(1) ? sum(m[0], m[1]) : -1) << '\\n';\n}\n"
    answers = [
        cpp20,
        CPP_SUM.replace("a + b", "a * b"),
        "int main() { return }\n",
        "int main() { volatile int *p = nullptr; return *p; }\n",
        "int main() { for (volatile int i = 0; ; ) {} }\n",
        "#include <vector>\nint main() { std::vector<std::vector<char>> v; for (;;) v.emplace_back(1 << 20, 1); }\n",
        "int main() { return 3; }\n",
    ]
    tests = [{"kind": "stdio", "stdin": "4 5\n", "expected_stdout": "9\n"},
             {"kind": "stdio", "stdin": "-1 1\n", "expected_stdout": "0"}]  # fmt: skip
    params = {"language": "cpp", "timeout_s": 1.0, "memory_mb": 128, "tests": tests}
    before = executions(api)
    result = score(api, answers=[[f"```cpp\n{a}```"] for a in answers], detail=True,
                   scorers=[{"name": "tests", "params": params}])  # fmt: skip
    assert [r[0] for r in result["rewards"]] == [[1.0, 1.0]] + [[0.0, 0.0]] * 6 and result["errors"] == []
    details = [answer[0] for answer in result["details"]["tests"]]
    assert [[(d["verdict"], d.get("error")) for d in answer] for answer in details] == [
        [("pass", None)] * 2, [("fail", None)] * 2, [("error", "CompileError")] * 2, [("error", "SIGSEGV")] * 2,
        [("timeout", None)] * 2, [("memory", None)] * 2, [("error", "exit:3")] * 2,
    ]  # fmt: skip
    assert "expected primary-expression" in details[2][0]["message"]  # the compiler's diagnostics
    assert executions(api) - before == 7 + 6 * 2  # one compilation per answer, then one run per test
    # a native program's stack may take its memory: a search 1,000,000 calls deep (tens of MB) is no crash
    deep = (
        "#include <cstdio>\n#include <vector>\nstd::vector<int> parent;\n"
        "long dfs(int v) { if (v < 0) return 0; long r = dfs(parent[v]); return r * 3 % 1000000007 + v; }\n"
        "int main() { parent.resize(1000000); for (int i = 0; i < 1000000; i++) parent[i] = i - 1;"
        ' std::printf("%ld\\n", dfs(999999)); }\n'
    )
    recursion = {**params, "tests": [{"kind": "stdio", "stdin": "", "expected_stdout": "265733855\n"}]}
    result = score(api, answers=[[deep]], detail=True, scorers=[{"name": "tests", "params": recursion}])
    assert result["rewards"] == [[[1.0]]], result["details"]
    # the programs are kept: new tests for the same answers run them without compiling again
    before = executions(api)
    again = {**params, "tests": [{"kind": "stdio", "stdin": "2 2\n", "expected_stdout": "4\n"}]}
    result = score(
        api, answers=[[f"```c++\n{a}```"] for a in answers[:2]], scorers=[{"name": "tests", "params": again}]
    )
    assert result["rewards"] == [[[1.0]], [[1.0]]] and executions(api) - before == 2


def test_kept_programs_are_bounded_by_their_size() -> None:
    """The oldest programs go first once the kept ones pass the bound; a compile error is kept (the same
    source fails again), the sandbox's own failure is not."""

    async def settle() -> Programs:
        programs = Programs(max_bytes=10)
        outcomes = [{"program": "aaaa"}, {"program": "bbbb"}, {"compile_error": {"message": "x"}},
                    {"sandbox_error": "down"}, {"program": "cccc"}]  # fmt: skip
        for i, outcome in enumerate(outcomes):
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            future.set_result(outcome)
            programs._settle(("cpp", str(i)), future)
        return programs

    programs = asyncio.run(settle())
    assert list(programs.kept) == [("cpp", "1"), ("cpp", "2"), ("cpp", "4")] and programs.size == 8


def test_cpp_programs_are_contained(api: httpx.Client) -> None:
    """A native program makes its own system calls; the same sandbox holds it: no host loopback, no service
    environment, no writes outside its directory, no other processes left behind."""

    def program(port: int) -> str:
        return f"""#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
extern char **environ;
int main() {{
    bool leak = false;
    for (char **e = environ; *e; ++e) leak = leak || std::strncmp(*e, "VPO", 3) == 0;
    std::FILE *etc = std::fopen("/etc/vpo-cpp-marker", "w");
    std::FILE *tmp = std::fopen("/tmp/vpo-cpp-marker", "w");
    if (fork() == 0) {{ setsid(); execl("/bin/sleep", "sleep", "31", (char *) nullptr); _exit(0); }}
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{{}};
    address.sin_family = AF_INET;
    address.sin_port = htons({port});
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    bool open = connect(s, (sockaddr *) &address, sizeof address) == 0;
    std::printf("%s %s ", leak ? "env-leak" : "env-ok", etc ? "etc-written" : "etc-ok");
    std::printf("%s\\n", open ? "net-open" : "net-ok");
    (void) tmp;
}}
"""

    assert_contained(api, "cpp", program, marker="vpo-cpp-marker", sleeper="sleep 31")


def test_a_language_runs_only_its_kinds_of_test_and_only_where_installed(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for params, message in (
        (
            {"tests": [{"kind": "assert", "code": "assert f(1) == 1"}]},
            "javascript runs call and stdio tests, not assert",
        ),
        ({"tests": [{"kind": "call", "function": "f", "kwargs": {"x": 1}}]}, "positional arguments only"),
    ):
        body = {"answers": [["x"]], "scorers": [{"name": "tests", "params": {"language": "javascript", **params}}]}
        response = api.post("/v1/score", json=body)
        assert response.status_code == 422 and message in response.text, response.text
    call = {"language": "cpp", "tests": [{"kind": "call", "function": "f", "expected": 1}]}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": call}]})
    assert response.status_code == 422 and "cpp runs stdio tests, not call" in response.text
    # a host without node: refused with the reason, and not listed
    monkeypatch.setitem(LANGUAGES, "javascript", replace(LANGUAGES["javascript"], command=("/nonexistent/node",)))
    stdio = {"language": "javascript", "tests": [{"kind": "stdio", "expected_stdout": "1"}]}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": stdio}]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_params"
    assert "/nonexistent/node is not installed" in response.json()["error"]["message"]
    # a host without a compiler: the same
    compiler = ("/nonexistent/g++", *LANGUAGES["cpp"].compile[1:])
    monkeypatch.setitem(LANGUAGES, "cpp", replace(LANGUAGES["cpp"], compile=compiler))
    stdio["language"] = "cpp"
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": stdio}]})
    assert response.status_code == 422 and "/nonexistent/g++ is not installed" in response.json()["error"]["message"]
    assert api.get("/readyz").json()["scorers"]["tests"]["languages"] == ["python"]


def test_a_runtime_the_sandbox_cannot_see_is_not_offered_and_never_a_verdict(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A runtime installed on the host but out of the sandbox's sight (here: under the host's /tmp) is found
    by the start-up probe; a unit that names it anyway is the sandbox's failure (a null), not the answer's."""
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho v0\n")
    node.chmod(0o755)
    monkeypatch.setitem(LANGUAGES, "javascript", replace(LANGUAGES["javascript"], command=(str(node),)))
    assert "does not run in the sandbox" in unrunnable(JailConfig(uid_base=UID_BASE + 10))["javascript"]
    params = {"language": "javascript", "tests": [{"kind": "stdio", "expected_stdout": "1"}]}
    result = score(api, answers=[["console.log(1)"]], scorers=[{"name": "tests", "params": params}])
    assert result["rewards"] == [[[None]]]
    assert [e["reason"] for e in result["errors"]] == ["sandbox_error"]
    assert "cannot be run in the sandbox" in result["errors"][0]["message"]


def test_the_params_name_every_language() -> None:
    assert set(get_args(tests_params.TestsParams.model_fields["language"].annotation)) == set(LANGUAGES)


STACKED = (
    "import pytest\n"
    + "".join(f"@pytest.mark.parametrize('x{i}', {list(range(100))})\n" for i in range(4))
    + "def test_x(x0, x1, x2, x3):\n    assert f(x0)\n"
)


def test_limits_and_bad_params(api: httpx.Client) -> None:
    many = {"tests": [{"kind": "assert", "code": "assert True"}] * 17}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": many}]})
    assert response.status_code == 413 and response.json()["error"]["details"]["limit"] == "max_tests_per_problem"
    slow = {"timeout_s": 60, "tests": [{"kind": "assert", "code": "assert True"}]}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": slow}]})
    assert response.status_code == 413 and response.json()["error"]["details"]["limit"] == "max_seconds_per_test"
    # an answer could otherwise take the host's memory: the address space a request may grant is capped
    big = {"memory_mb": 1 << 20, "tests": [{"kind": "assert", "code": "assert True"}]}
    response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": big}]})
    assert response.status_code == 413 and response.json()["error"]["details"]["limit"] == "max_memory_mb_per_test"
    for bad in (
        {"tests": [{"kind": "assert", "code": "assert ("}]},
        {"tests": [{"kind": "shell", "code": "ls"}]},
        {"tests": []},
        {"language": "cobol", "tests": [{"kind": "assert", "code": "1"}]},
        {"tests": [{"kind": "call", "function": "os.path.join", "expected": 0}]},
        {"tests": [{"kind": "call", "function": "f()", "expected": 0}]},
        {"tests": [{"kind": "call", "function": "f", "expected": nested(RETURN_DEPTH + 1)}]},
        # nested past the parser's recursion limit: was a 500 (a RecursionError out of ast.parse)
        {"tests": [{"kind": "assert", "code": "assert " + "-" * 50000 + "1"}]},
        {"tests": [{"kind": "assert", "code": "assert f(1)" + "[0]" * 20000 + " == 1"}]},
        {"tests": [{"kind": "assert", "code": "assert f('\x00')"}]},
        # stacked parametrize decorators multiply: 100 ** 4 calls are refused, not written out
        {"tests": [{"kind": "assert", "code": STACKED}]},
    ):
        response = api.post("/v1/score", json={"answers": [["x"]], "scorers": [{"name": "tests", "params": bad}]})
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_params", bad


def test_overload_is_503_with_retry_after(make_server: ServerFactory) -> None:
    server = make_server(Settings(sandbox_workers=1, sandbox_queue_limit=1, sandbox_uid_base=UID_BASE + 20))
    answers = [[f"import time\ntime.sleep(0.5)\ndef add(a, b):\n    return a + b  # {i}\n"] for i in range(6)]
    body = {"answers": answers, "scorers": [{"name": "tests", "params": {"tests": PROBLEM["tests"][:1]}}]}
    response = httpx.post(f"{server.url}/v1/score", json=body, timeout=60)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "overloaded" and int(response.headers["retry-after"]) >= 1
    ok = httpx.post(f"{server.url}/v1/score", json={**body, "answers": answers[:1]}, timeout=60)
    assert ok.status_code == 200


def test_spare_workers_keep_the_queue_moving_while_a_worker_is_held(make_server: ServerFactory) -> None:
    """One worker, one spare: a sleeper holds the worker (and the unit handed to it ahead of its turn) until
    its timeout, and the spare runs the rest meanwhile: they stream back before the sleeper does."""
    server = make_server(Settings(sandbox_workers=1, sandbox_spare_workers=1, sandbox_uid_base=UID_BASE + 30))
    add = "def add(a, b):\n    return a + b\n"
    params = {"timeout_s": 3.0, "tests": PROBLEM["tests"][:1]}
    answers = ["import time\ntime.sleep(60)\n" + add] + [add + f"# {i}\n" for i in range(5)]
    body = {"groups": [{"answers": [[a]], "scorers": [{"name": "tests", "params": params}]} for a in answers]}
    with httpx.stream(
        "POST", f"{server.url}/v1/score/batch", json=body, headers={"accept": "application/x-ndjson"}, timeout=60
    ) as response:
        order = [json.loads(line)["index"] for line in response.iter_lines() if line]
    assert sorted(order) == list(range(6))
    assert order.index(0) >= 4, order  # at most the unit queued on the held worker comes after the sleeper
    status = httpx.get(f"{server.url}/readyz").json()["scorers"]["tests"]
    assert status["workers"] == 1 and status["spare_workers"] == 1 and status["spares_running"] == 0


def test_the_worker_runs_the_harness_compiled_by_the_sandbox_interpreter() -> None:
    """The harness reaches the worker compiled, by the sandbox's own interpreter, once: compiled in the worker,
    it left about 4 MB of the compiler's garbage there, whose page tables every fork copied. The compiled form
    runs (here: the harness's own check of its seccomp filter); where the interpreter cannot compile it, the
    worker gets the source and compiles it itself."""
    compiled = harness_args("/usr/bin/python3")
    assert compiled[:5] == ("-I", "-S", "-B", "-c", BOOT) and len(compiled) == 6
    done = subprocess.run(["/usr/bin/python3", *compiled, "--check-filter"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "filter ok", done.stderr
    assert harness_args("/nonexistent/python3") == ("-I", "-S", "-B", "-c", HARNESS.read_text(encoding="utf-8"))


def test_cpu_plan() -> None:
    """Workers round-robin over the mask's CPUs, only where every CPU gets as many of them."""
    assert cpu_plan(2, [0, 1]) == [0, 1]
    assert cpu_plan(4, [2, 5]) == [2, 5, 2, 5]
    assert cpu_plan(3, [0, 1]) is None  # CPU 0 would get two, CPU 1 one
    assert cpu_plan(2, list(range(16))) is None  # every pool of the host would pile onto CPUs 0 and 1
    assert cpu_plan(1, [3]) == [3]
    assert cpu_plan(1, []) is None


AFFINITY = "import os\nprint(sorted(os.sched_getaffinity(0)))\n"


def _affinity_unit(tag: int) -> dict[str, Any]:
    limits = {"wall_s": 5.0, "cpu_s": 5.0, "memory_bytes": 512 << 20, "file_bytes": 1 << 20, "open_files": 64,
              "processes": 4, "output_bytes": 1 << 16}  # fmt: skip
    return {"mode": "script", "code": f"{AFFINITY}# {tag}\n", "stdin": "", "tests": [], "limits": limits}


def test_workers_pinned_one_per_cpu() -> None:
    """With as many workers as CPUs in the mask (the default), worker i, its template and its executions run on
    CPU i of the mask, and a replacement takes its CPU; the spares, and pools that would not cover every CPU
    alike (or pin_cpus off), are left to the scheduler. On at most two CPUs of this process's mask (its
    affinity narrowed for the test), whatever the machine's size."""
    machine = os.sched_getaffinity(0)
    mask = sorted(machine)[:2]

    async def run(config: PoolConfig) -> tuple[SandboxPool, list[list[int]], list[list[int]]]:
        """The pool, the masks its executions saw, and its workers' (spares last) after worker 0 was replaced."""
        pool = SandboxPool(config)
        await pool.start()
        try:
            # one at a time: a spare takes a unit only while one waits beside a held worker, so they all run on
            # the regular workers
            results = [await pool.run(_affinity_unit(i), budget_s=30) for i in range(2 * len(mask))]
            # a replacement (the answer killed its worker, say) is pinned as the one it replaces: worker 0 killed
            # from outside, the unit that meets it ends as the answer's fault and its worker is replaced (by the
            # task that feeds it, the one owner of its worker: a restart from elsewhere would leave one behind)
            victim = pool._workers[0]
            assert victim.process is not None
            os.killpg(victim.process.pid, signal.SIGKILL)
            after = [await pool.run(_affinity_unit(100 + i), budget_s=30) for i in range(2 * len(mask) + 1)]
            assert sum(1 for r in after if r.get("worker_died")) == 1 and pool._workers[0] is not victim, after
            results += [r for r in after if not r.get("worker_died")]
            pids = [worker.process.pid for worker in pool._workers if worker.process is not None]
            return pool, [json.loads(r["stdout"]) for r in results], [sorted(os.sched_getaffinity(pid)) for pid in pids]
        finally:
            await pool.close()

    jail = JailConfig(uid_base=UID_BASE + 60)
    os.sched_setaffinity(0, mask)
    try:
        pool, seen, workers = asyncio.run(run(PoolConfig(workers=len(mask), spare_workers=1, jail=jail)))
        assert pool.cpus == mask and pool.status()["pinned_cpus"]
        assert workers == [[cpu] for cpu in mask] + [mask]  # the spare is not pinned
        assert all(len(cpus) == 1 and cpus[0] in mask for cpus in seen), seen
        if len(mask) > 1:  # one worker on a machine of several CPUs: not pinned
            pool, seen, workers = asyncio.run(run(PoolConfig(workers=1, jail=jail)))
            assert pool.cpus is None and not pool.status()["pinned_cpus"]
            assert workers == [mask] and all(cpus == mask for cpus in seen), seen
        pool, seen, workers = asyncio.run(run(PoolConfig(workers=len(mask), jail=jail, pin_cpus=False)))
        assert pool.cpus is None and workers == [mask] * len(mask) and all(cpus == mask for cpus in seen), seen
    finally:
        os.sched_setaffinity(0, machine)


def test_units_a_closing_pool_holds_are_answered_as_its_failure() -> None:
    """Closing the pool (the service stopping) answers the units it had accepted, running or queued, as the
    sandbox's failure: their callers get a null, never a future that hangs."""
    sleep = {"mode": "script", "code": "import time\ntime.sleep(20)\n", "stdin": "", "tests": [],
             "limits": {**_affinity_unit(0)["limits"], "wall_s": 30.0}}  # fmt: skip

    async def run() -> list[dict[str, Any]]:
        pool = SandboxPool(PoolConfig(workers=1, jail=JailConfig(uid_base=UID_BASE + 70)))
        await pool.start()
        try:
            futures = [pool.submit({**sleep, "code": f"{sleep['code']}# {i}\n"}, budget_s=30) for i in range(4)]
            await asyncio.sleep(0.5)  # the first is running, one more in the worker's stdin, two queued
            assert not any(future.done() for future in futures)
        finally:
            started = time.monotonic()
            await pool.close()
            assert time.monotonic() - started < 10  # it does not wait for the sleepers
        with pytest.raises(SandboxFailure):
            pool.submit(sleep, budget_s=30)
        return [await asyncio.wait_for(future, 1) for future in futures]

    results = asyncio.run(run())
    assert [result.get("sandbox_error") for result in results] == ["the sandbox pool closed"] * 4, results


def test_a_compilation_does_not_call_a_spare() -> None:
    """A compilation is long but bounded CPU work, not a program stuck until its timeout: the worker it runs on
    does not count as held, so no spare starts beside it (on the same cores it would only slow both)."""
    slow = "#include <regex>\n#include <iostream>\n#include <map>\n"
    slow += "int main() { std::map<int, int> m; std::cout << m[1]; }\n"
    cpp = LANGUAGES["cpp"]
    limits = {"wall_s": 30.0, "cpu_s": 30.0, "memory_bytes": 1 << 30, "file_bytes": 16 << 20,
              "open_files": 64, "processes": 19, "output_bytes": 1 << 20}  # fmt: skip
    unit = {"mode": "compile", "code": slow, "stdin": "", "tests": [], "limits": limits, **cpp.compile_fields()}

    async def watch() -> tuple[bool, int, int, dict[str, Any]]:
        pool = SandboxPool(PoolConfig(workers=1, spare_workers=1, jail=JailConfig(uid_base=UID_BASE + 40)))
        await pool.start()
        try:
            compiling = pool.submit(unit, budget_s=60)
            await asyncio.sleep(HELD_S + 4 * SPARE_POLL_S)
            state = (compiling.done(), pool._held(), pool.status()["spares_running"])
            return (*state, await compiling)
        finally:
            await pool.close()

    done_early, held, spares_running, result = asyncio.run(watch())
    assert not done_early, "the compilation ended too soon to tell (it takes g++ about a second)"
    assert held == 0 and spares_running == 0
    assert result.get("program"), result


def test_a_compilation_over_its_time_is_a_compile_error(make_server: ServerFactory) -> None:
    server = make_server(Settings(sandbox_workers=1, sandbox_compile_seconds=0.2, sandbox_uid_base=UID_BASE + 50))
    slow = "#include <regex>\n#include <map>\nint main() { std::map<int, int> m; return m[1]; }\n"
    params = {"language": "cpp", "tests": [{"kind": "stdio", "expected_stdout": ""}]}
    body = {"answers": [[slow]], "detail": True, "scorers": [{"name": "tests", "params": params}]}
    result = httpx.post(f"{server.url}/v1/score", json=body, timeout=60).json()
    detail = result["details"]["tests"][0][0][0]
    assert result["rewards"] == [[[0.0]]] and detail["error"] == "CompileError", detail
    assert detail["message"] == "the compilation took longer than 0.2 s"


EVALPLUS = """import numpy as np


def assertion(out, exp, atol):
    exact_match = out == exp
    if not exact_match and atol != 0:
        np.testing.assert_allclose(out, exp, atol=atol)
    else:
        assert exact_match


inputs = [[2.0], [0.5]]
results = [1.0, 0.25]
for i, (inp, exp) in enumerate(zip(inputs, results)):
    assertion(candidate(*inp), exp, 1e-6)
"""


def test_packages_installed_for_the_sandbox_interpreter(api: httpx.Client, make_server: ServerFactory) -> None:
    """An execution imports what is installed for the sandbox's interpreter (numpy from python3-numpy, which
    EvalPlus's HumanEval+ tests use), one thread per numeric library; sandbox_site_packages=false: the
    standard library only."""
    square = "def candidate(x):\n    return 1.0 + 1e-9 if x == 2.0 else x * x\n"  # within atol: allclose
    numpy_threads = "import os\nassert os.environ['OPENBLAS_NUM_THREADS'] == '1'\n"
    tests = [{"kind": "assert", "code": EVALPLUS}, {"kind": "assert", "code": numpy_threads}]
    scorers = [{"name": "tests", "params": {"tests": tests, "timeout_s": 10}}]
    result = score(api, answers=[[square], ["def candidate(x):\n    return x\n"]], scorers=scorers, detail=True)
    assert result["rewards"] == [[[1.0, 1.0]], [[0.0, 1.0]]], result["details"]
    # numpy's scalars go as the Python scalars they hold (Python compares them so); an array's truth is ambiguous
    numeric = "import numpy as np\ndef total(xs):\n    return np.sum(xs)\n" \
              "def positive(xs):\n    return np.all(np.array(xs) > 0)\n" \
              "def array(xs):\n    return np.array(xs)\n"  # fmt: skip
    checks = ["assert total([1, 2]) == 3", "assert positive([1]) == True", "assert array([1, 2]) == [1, 2]"]
    tests = [
        *({"kind": "assert", "code": c} for c in checks),
        {"kind": "call", "function": "total", "args": [[2]], "expected": 2},
    ]
    result = score(api, answers=[[numeric]], scorers=[{"name": "tests", "params": {"tests": tests, "timeout_s": 10}}])
    assert result["rewards"] == [[[1.0, 1.0, 0.0, 1.0]]]
    stdlib_only = make_server(Settings(sandbox_workers=1, sandbox_site_packages=False))
    body = {"answers": [[square]], "scorers": scorers, "detail": True}
    result = httpx.post(f"{stdlib_only.url}/v1/score", json=body, timeout=60).json()
    assert result["details"]["tests"][0][0][0]["error"] == "ModuleNotFoundError"


ARRAYS = """import numpy as np


def f(x):
    return np.array([x, x + 1.0, x + 2.0])


def m():
    return np.array([[1, 2], [3, 4]])


def one():
    return np.array([3.0])
"""
ARRAY_TESTS = [  # each holds in Python for ARRAYS
    "assert all(f(1) == [1, 2, 3])",
    "assert sum(abs(f(1) - [1.0, 2.0, 3.0])) < 1e-9",
    "assert any(f(1) == 2) and 4 not in f(1) and 2 in f(1)",
    "import numpy as np\nimport pytest\nassert f(1) == pytest.approx(np.array([1, 2, 3.0000001]))",
    "assert sum(f(1) ** 2) == 14 and max(abs(f(1) - 2)) == 1 and min(f(1) * 2) == 2",
    "assert len(m()) == 2 and list(sum(m())) == [4, 6] and sorted(f(2), reverse=True) == [4, 3, 2]",
    "expected = [1.0, 2.0, 3.0]\nassert all(abs(f(1) - expected) < 1e-6)",
    "assert one() and not (one() - 3)",  # an array of one element is its element's truth
]


def test_numpy_arrays_are_compared_as_numpy_compares_them(api: httpx.Client) -> None:
    """An answer's numpy array (numbers or booleans, up to two dimensions; a matrix's rows in a list or a tuple)
    reaches the host as an array, and the host's operators on it are numpy's, elementwise: ``all(f(x) == [1, 2,
    3])``, ``sum(abs(f(x) - expected)) < 1e-6``, ``f(x) == pytest.approx(np.array(...))`` pass for a right
    answer as in Python (before, each failed as "not plain data") and fail for a wrong one."""
    tests = [{"kind": "assert", "code": t} for t in ARRAY_TESTS]
    tests += [  # a call test's array compares as a list (JSON has no arrays, as no tuples)
        {"kind": "call", "function": "f", "args": [1], "expected": [1, 2, 3]},
        {"kind": "call", "function": "m", "args": [], "expected": [[1, 2], [3, 4]]},
    ]
    wrong = ARRAYS.replace("x + 2.0", "x + 2.5").replace("[3, 4]", "[3, 5]").replace("[3.0]", "[0.0]")
    subclass = ARRAYS + "class Lie(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(3, bool)\n"
    subclass += "_f = f\ndef f(x):\n    return _f(0).view(Lie)\n"  # its own __eq__: not data, never compared
    params = {"tests": tests, "timeout_s": 10}
    answers = [[ARRAYS], [wrong], [subclass]]
    result = score(api, answers=answers, scorers=[{"name": "tests", "params": params}], detail=True)
    assert result["rewards"][0] == [[1.0] * len(tests)], result["details"]["tests"][0]
    assert result["rewards"][1] == [[0.0, 0.0, 1.0] + [0.0] * 7], result["details"]["tests"][1]
    assert result["rewards"][2] == [[0.0] * 7 + [1.0, 0.0, 1.0]], result["details"]["tests"][2]  # one(), m(): ARRAYS'
    # what the host makes of an array is bounded as its other work (see the test below): numpy's broadcasting
    # of an (n, 1) against an (n,) array, values numpy holds as Python objects (wide ints, Fractions), a count
    # of repetitions that is numpy's int
    column = {"ndarray": ["<f8", [50_000, 1], "00" * 8 * 50_000]}
    row = {"ndarray": ["<f8", [50_000], "00" * 8 * 50_000]}
    difference = rewrite_asserts("assert sum(f(0) - f(1)) == 0")[1][0]
    with pytest.raises(OverflowError):
        check_operands(difference, [column, row])
    tiny = {"ndarray": ["<f8", [1], "00" * 7 + "3f"]}  # 2 ** -15
    assert check_passes(difference, [row, row]) and not check_passes(difference, [row, tiny])
    wide = {"bigint": format(1 << 8_000_000, "x")}
    for code in ("assert all(f(0) * f(1) == 0)", "assert all(f(0) == f(1))"):
        with pytest.raises(TypeError):
            check_operands(rewrite_asserts(code)[1][0], [row, [wide]])
    texts = rewrite_asserts("import numpy as np\nassert np.array_equal(np.array(f(0)), ['a'])")[1][0]
    with pytest.raises(OverflowError):  # numpy pads each text to the longest: 400 GB
        check_operands(texts, [["x" * 1_000_000] + ["a"] * 100_000])
    assert check_passes(texts, [["a"]]) and not check_passes(texts, [["b"]])
    repeated = rewrite_asserts("assert [0] * max(f(0) + 0) == []")[1][0]
    with pytest.raises(OverflowError):
        check_operands(repeated, [{"ndarray": ["<i8", [1], (10**12).to_bytes(8, "little").hex()]}])
    # arrays go nowhere deeper than an operand's items, and only as data the host reads with its own numpy (the
    # harness, a file of its own in the sandbox, keeps the same limits)
    limits = (harness.ARRAY_DTYPES, harness.ARRAY_DIMENSIONS, harness.MAX_ITEMS, harness.ARRAY_TEXT)
    assert limits == (compare.ARRAY_DTYPES, compare.ARRAY_DIMENSIONS, compare.ARRAY_ITEMS, compare.ARRAY_TEXT)
    assert isinstance(decode([row, row], array=True)[0], np.ndarray)
    for forged in ([column], {"ndarray": ["<f8", [2, 2, 2], "00" * 64]}, {"ndarray": ["|O", [1], "00" * 8]},
                   {"ndarray": ["<f8", [3], "00" * 8]}, {"ndarray": ["<f8", [10**9, 10**9], ""]}, [[row]]):  # fmt: skip
        with pytest.raises(Undecodable):
            decode(forged, array=True)
    with pytest.raises(Undecodable):
        decode(row)  # anywhere but an assert's operand or a call's value (a checker's verdict): no array
    # approx of an array (or against one) compares element by element, as pytest's ApproxNumpy
    close = np.array([[1.0, 2.0], [3.0, 4.0000001]])
    assert close == approx(np.array([[1, 2], [3, 4]])) and approx(close) == [[1, 2], (3, 4)]
    assert np.array([2.0, 2.0000001]) == approx(2) and approx(close) != close[0] and approx([1, 2]) == close[0]
    assert approx((1, 2)) == [1, 2.0000001] and approx([1, 2]) != (1, 2, 3) and approx([1]) != np.array(1.0)
    assert approx(close, abs=1e-9) != np.array([[1, 2], [3, 4]]) and approx(np.array([1.0])) != 1.1


def test_no_sandbox_means_no_tests_scorer_unless_unsafe_local(make_server: ServerFactory) -> None:
    broken = make_server(Settings(sandbox_python="/nonexistent/python3", sandbox_workers=1))
    unavailable = httpx.get(f"{broken.url}/v1/scorers").json()["unavailable"]
    assert "/nonexistent/python3" in unavailable["tests"]
    refused = httpx.post(
        f"{broken.url}/v1/score", json={"answers": [[PROGRAM]], "scorers": [{"name": "tests", "params": PROBLEM}]}
    )
    assert refused.status_code == 503 and "not available" in refused.json()["error"]["message"]
    unsafe = make_server(Settings(sandbox="unsafe-local", sandbox_workers=1))
    result = httpx.post(
        f"{unsafe.url}/v1/score",
        json={"answers": [[PROGRAM]], "scorers": [{"name": "tests", "params": PROBLEM}]},
        timeout=60,
    ).json()
    assert result["rewards"] == [[[1.0, 1.0, 1.0, 1.0]]]
    # without a PID namespace a setsid daemon escapes (that is what unsafe means), but it does not hold the
    # worker: the answer is scored as usual (this one ends by itself in a few seconds)
    daemon = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(8)\n"
        "    os._exit(0)\n" + PROGRAM
    )
    body = {"answers": [[daemon]], "scorers": [{"name": "tests", "params": {**PROBLEM, "tests": PROBLEM["tests"][:1]}}]}
    assert httpx.post(f"{unsafe.url}/v1/score", json=body, timeout=60).json()["rewards"] == [[[1.0]]]


# ---------------------------------------------------------------------------------------------- parts
def test_extract_code() -> None:
    assert extract_code("def f(): pass  \n\n") == "def f(): pass\n"
    text = "Explanation\n```python\nold = 1\n```\nBetter:\n```py\nnew = 2\n```\n```text\nnot code\n```"
    assert extract_code(text) == "new = 2\n"
    assert extract_code("```cpp\nint main() {}\n```") == "int main() {}\n"


def test_rewrite_keeps_literals_outside() -> None:
    source, checks = rewrite_asserts(
        "def check(candidate):\n    assert candidate(2) == 3, 'msg'\n    assert candidate(1) in [1, 2]\n"
        "assert x is None\nassert y\nassert a < b <= 10\nassert p is q\n"
    )
    assert "3" not in source.split("candidate(2)")[1].split("\n")[0]  # the expected 3 stays on the host
    assert "__vpo_check__(0, ((candidate(2)), ))" in source
    assert "__vpo_truth__(5, (p is q))" in source  # identity of two computed values: judged inside
    compile(source, "<rewritten>", "exec")
    multiline, _ = rewrite_asserts("if x: assert f(\n    1,\n    2) == [\n  3]; y = 'é'\nassert (a\n == b), 'm'\n")
    assert multiline == "if x: __vpo_check__(0, ((f(\n    1,\n    2)), )); y = 'é'\n__vpo_check__(1, ((a), (b), ))\n"
    assert len(checks) == 6
    assert check_passes(checks[0], [3]) and not check_passes(checks[0], [4])
    assert check_passes(checks[1], [2]) and not check_passes(checks[1], [5])
    assert check_passes(checks[2], [None]) and not check_passes(checks[2], [0])
    assert check_passes(checks[3], [[1]]) and not check_passes(checks[3], [[]])
    assert check_passes(checks[4], [1, 10]) and not check_passes(checks[4], [1, 11])
    assert not check_passes(checks[0], None)  # the value was not plain data


def test_rewrite_keeps_names_bound_to_literals_outside() -> None:
    """``expected = [1, 2, 3]`` then ``assert f(x) == expected``: the assignment leaves the sandbox's code and the
    value is the check's constant, as a literal written in the assert; any other use keeps the name as it is."""
    source, checks = rewrite_asserts(
        "def test_a():\n    nums = [3, 1, 2]\n    expected = [1, 2, 3]\n    assert sort_it(nums) == expected\n"
        "    assert len(nums) == 3 and expected != nums\nEXPECTED = 'x'\nassert f() in EXPECTED\ntest_a()\n"
    )
    assert "[1, 2, 3]" not in source and "'x'" not in source and "[3, 1, 2]" in source  # the input stays
    assert "    pass\n" in source and "EXPECTED" not in source
    compile(source, "<rewritten>", "exec")
    assert check_passes(checks[0], [[1, 2, 3]]) and not check_passes(checks[0], [[3, 2, 1]])
    assert check_passes(checks[2], [[3, 1, 2]]) and not check_passes(checks[2], [[1, 2, 3]])  # expected != nums
    assert check_passes(checks[3], ["x"]) and not check_passes(checks[3], ["y"])
    # each test function's own ``expected``: two variables, each bound once
    siblings, _ = rewrite_asserts("def test_a():\n    expected = 'aa'\n    assert f(1) == expected\n"
                                  "def test_b(expected=None):\n    assert f(2) == expected\n"
                                  "def test_c():\n    expected = 'cc'\n    assert f(3) == expected\n")  # fmt: skip
    assert "'aa'" not in siblings and "'cc'" not in siblings and siblings.count("pass") == 2
    # an assert's message goes with the assert (the rewritten one has none): no use of the name
    messaged, _ = rewrite_asserts("expected = 5\nassert f() == expected, f'wanted {expected}'\n")
    assert "5" not in messaged and "expected" not in messaged
    # the module's name compared in its functions (and a class's methods), called once the module has run
    nested_test = "EXPECTED = [7]\ndef check(c):\n    assert c() == EXPECTED\n"
    nested_test += "class T:\n    def test(self):\n        assert f() != EXPECTED\n"
    nested, nested_checks = rewrite_asserts(nested_test)
    assert "[7]" not in nested and "EXPECTED" not in nested
    assert [check.operands[1] for check in nested_checks] == [("const", [7])] * 2
    kept = {
        "argument": "expected = [1]\nassert f(expected) == expected\n",
        "mutated": "expected = [1]\nexpected.append(2)\nassert f() == expected\n",
        "bound twice": "expected = [1]\nexpected = [2]\nassert f() == expected\n",
        "used before": "def g():\n    assert f() == expected\n    expected = 1\n",
        "a function's parameter": "expected = 1\ndef g(expected):\n    assert f() == expected\n",
        "a function's other use": "expected = 1\ndef g():\n    assert f() == expected\n    return expected\n",
        "in a branch": "if x:\n    expected = 1\nassert f() == expected\n",
        "in a lambda": "expected = 1\nassert f() == expected\nh = lambda: expected\n",
        "locals": "expected = 1\nassert f() == expected\nprint(locals())\n",
        "identity": "expected = 1\nassert f() is expected\n",
        "under not": "expected = 1\nassert not (f() == expected)\n",
        "not a literal": "expected = g()\nassert f() == expected\n",
        "global": "expected = 1\ndef g():\n    global expected\n    expected = 2\nassert f() == expected\n",
        "closure": "def g():\n    expected = 1\n    assert f() == expected\n    return lambda: expected\n",
        "comprehension": "def g():\n    expected = 1\n    assert f() == expected\n    return [expected for _ in '']\n",
    }
    for case, test in kept.items():
        assert "expected = " in rewrite_asserts(test)[0], case


def test_rewrite_keeps_a_test_class_s_expected_attributes_outside() -> None:
    """``self.expected = [1, 2]`` in setUp (or setup_method), or ``expected = [1, 2]`` in the class's body, then
    ``self.assertEqual(f(), self.expected)``: the value is the checks' constant and the assignment leaves the
    sandbox's code, as a name bound to a literal does; any other use, binding or naming keeps it."""
    head = "import unittest\nclass T(unittest.TestCase):\n"
    test = "    def test_a(self):\n        self.assertEqual(f(1), self.expected)\n        assert g() != self.expected\n"
    for setting in ("    def setUp(self):\n        self.expected = [1, 2]\n", "    expected = [1, 2]\n"):
        source, checks = rewrite_asserts(head + setting + test)
        assert "[1, 2]" not in source and "expected" not in source, source
        assert [c.operands[1] for c in checks] == [("const", [1, 2])] * 2
        kept = {
            "another use": "        print(self.expected)\n",
            "a string": "        assert getattr(self, 'expected')\n",
            "set again": "        self.expected = [3]\n",
            "another class": "class U(T):\n    expected = [3]\n",
        }
        for case, other in kept.items():
            assert "[1, 2]" in rewrite_asserts(head + setting + test + other)[0], case
    read = rewrite_asserts(head + "    expected = [1, 2]\n    other = expected\n" + test)[0]
    assert "[1, 2]" in read  # the class's body reads the name


def test_rewrite_keeps_parametrized_expected_values_outside() -> None:
    """A parametrize case's value that the test function only compares (``test_f(x=1, expected=2)`` as
    collected) is written into a copy of the function per call, whose assert keeps it on the host; the
    function, its decorator with the cases, goes, and so does a list of cases that only such marks named; a
    test class's method likewise, with copies that are methods. A parameter used otherwise, a list of cases the
    test changes, a function another decorator wraps and a name defined twice are left as they are."""
    source, checks = rewrite_asserts(
        "import pytest\nfrom solution import f\n\n"
        "@pytest.mark.parametrize('x, expected', [(1, 'two'), pytest.param(3, 'four', id='3')])\n"
        "def test_f(x, expected, tmp_path):\n    assert f(x) == expected, expected\n\n"
        "@pytest.mark.parametrize('x, expected', [(5, 'six')])\n"
        "def test_g(x, expected):\n    assert f(x) == expected\n    assert len(expected) == 3\n\n"
        "CASES = [(7, 'eight')]\n@pytest.mark.parametrize('x, expected', CASES)\n"
        "def test_h(x, expected):\n    assert f(x) == expected\n\n"
        "MORE = [(13, 'fourteen')]\nMORE.append((15, 'sixteen'))\n@pytest.mark.parametrize('x, expected', MORE)\n"
        "def test_n(x, expected):\n    assert f(x) == expected\n\n"
        "class TestK:\n    @pytest.mark.parametrize('expected', ['ten'])\n"
        "    def test_k(self, expected):\n        assert f(9) == expected\n\n"
        "def traced(test):\n    return test\n\n@traced\n@pytest.mark.parametrize('expected', ['twelve'])\n"
        "def test_m(expected):\n    assert f(11) == expected\n"
    )
    assert "'two'" not in source and "'four'" not in source and "def test_f" not in source
    assert "__vpo_test_f_0(x=1, expected=None, tmp_path=" in source and "__vpo_test_f_1(x=3" in source
    assert "'eight'" not in source and "CASES" not in source and "__vpo_test_h_0(x=7, expected=None)" in source
    assert "'ten'" not in source and "    def __vpo_test_k_0__(self, expected):" in source  # not name-mangled
    assert "(__vpo_case__).__vpo_test_k_0__(expected=None)" in source
    kept = ("'six'", "'fourteen'", "'sixteen'", "'twelve'", "def test_g", "def test_n", "def test_m")
    assert all(text in source for text in kept)
    compile(source, "<rewritten>", "exec")
    assert [c.operands[1] for c in checks[:2]] == [("const", "two"), ("const", "four")]
    # a list of cases the file also reads (not changes) is expanded before the run too; it stays, being read
    read = rewrite_asserts("import pytest\nCASES = [(1, 2)]\n@pytest.mark.parametrize('x, expected', CASES)\n"
                           "def test_r(x, expected):\n    assert f(x) == expected\nassert len(CASES) == 1\n"
                           "assert CASES[0] and (1, 2) in CASES\nfor case in CASES:\n    g(case)\n")[0]  # fmt: skip
    assert "parametrized(" not in read and "__vpo_test_r_0(x=1, expected=None)" in read and "CASES = [" in read
    for cases, use in (("[(1, 2)]", "CASES.append((3, 4))"), ("[(1, 2)]", "g(CASES)"), ("[(1, 2)]", "CASES[0] = 5"),
                       ("[(1, 2)]", "len = max\nlen(CASES)"), ("[([1], 2)]", "CASES[0][0].append(5)")):  # fmt: skip
        changed = f"import pytest\nCASES = {cases}\n@pytest.mark.parametrize('x, expected', CASES)\n"
        changed += f"def test_r(x, expected):\n    assert f(x) == expected\n{use}\n"
        assert "parametrized(" in rewrite_asserts(changed)[0], use  # expanded as the test runs
    counted = "import pytest\nCASES = [([1], 2)]\n@pytest.mark.parametrize('x, expected', CASES)\n"
    counted += "def test_r(x, expected):\n    assert f(x) == expected\nassert len(CASES) == 1\n"
    assert "parametrized(" not in rewrite_asserts(counted)[0]  # items that could change, but only counted
    # defined twice (pytest runs the last; a subclass's method overrides): no copies, whose names would clash
    twice = "@pytest.mark.parametrize('x, expected', [(1, 2)])\ndef test_a(x, expected):\n    assert f(x) == expected\n"
    overridden = "class TestK:\n    @pytest.mark.parametrize('x, expected', [(1, 2)])\n"
    overridden += "    def test_k(self, x, expected):\n        assert f(x) == expected\nclass TestL(TestK):\n"
    overridden += "    @pytest.mark.parametrize('x, expected', [(3, 4)])\n    def test_k(self, x, expected):\n"
    overridden += "        assert f(x) == expected\n"
    for test in ("import pytest\n" + twice + twice.replace("(1, 2)", "(3, 4)"), "import pytest\n" + overridden):
        rewritten = rewrite_asserts(test)[0]
        assert "__vpo_test" not in rewritten and "(3, 4)" in rewritten, rewritten
        compile(rewritten, "<rewritten>", "exec")


def test_rewrite_keeps_a_helper_s_expected_values_outside() -> None:
    """A test's own helper, called by statements of the module with literal arguments that a parameter only
    compares (``check(1, 2)``, positional or by keyword), is replaced by a copy per call with the value written
    into its asserts, as a parametrize case's test function is; a helper called otherwise is left as it is."""
    source, checks = rewrite_asserts(
        "def check(x, expected):\n    assert f(x) == expected\n\ncheck(1, 'two')\ncheck(3, expected='four')\n"
        "for _ in range(2):\n    check(5, 'six')\n"
    )
    assert not any(text in source for text in ("'two'", "'four'", "'six'", "def check"))
    assert "__vpo_check_0(1, None)" in source and "__vpo_check_1(3, expected=None)" in source
    assert "    __vpo_check_2(5, None)" in source
    compile(source, "<rewritten>", "exec")
    assert [c.operands[1] for c in checks] == [("const", "two"), ("const", "four"), ("const", "six")]
    kept = {
        "an argument that is a name": "def check(x, expected):\n    assert f(x) == expected\ncheck(1, y)\n",
        "called in a function": "def check(x, expected):\n    assert f(x) == expected\ndef g():\n    check(1, 2)\n",
        "a default": "def check(x, expected=2):\n    assert f(x) == expected\ncheck(1)\ncheck(1, 2)\n",
        "starred": "def check(x, expected):\n    assert f(x) == expected\ncheck(*(1, 2))\ncheck(1, 2)\n",
        "too many": "def check(x, expected):\n    assert f(x) == expected\ncheck(1, 2, 3)\ncheck(1, 2)\n",
        "used otherwise": "def check(x, expected):\n    assert f(x) == expected\n    g(expected)\ncheck(1, 2)\n",
    }
    for case, test in kept.items():
        assert "def check(" in rewrite_asserts(test)[0], case


def test_rewrite_judges_an_or_of_comparisons_on_the_host() -> None:
    """``assert r == [1, 2] or r == [2, 1]``: the host makes each comparison, in order, the first that holds
    ending it, the value sent once; where a later comparison needs more of the sandbox than the first did (but
    for a bare name), it could raise where the first already held, and the whole ``or`` is judged inside."""
    source, checks = rewrite_asserts("r = f()\nassert r == [1, 2] or r == [2, 1]\nassert f(1) == 2 or f(1) == e\n")
    assert "[1, 2]" not in source and "[2, 1]" not in source and source.count("__vpo_check__") == 2, source
    assert "(r), )" in source and "(f(1)), (e), )" in source
    assert [check_passes(checks[0], [value]) for value in ([1, 2], [2, 1], [2, 2])] == [True, True, False]
    assert check_passes(checks[1], [3, 3]) and not check_passes(checks[1], [3, 4])
    # the first that holds ends it: a later comparison the host cannot make does not matter
    assert check_passes(rewrite_asserts("assert f() == 1 or f() < 'a'")[1][0], [1])
    for kept in ("assert r is None or r[0] == 1", "assert f(1) == 2 or g(1) == 3", "assert r == 1 or s",
                 "assert f() == 1 or (f() == 2 and f() > 0)", "assert [1] == [1] or f(0) == len(f(0))"):  # fmt: skip
        assert "__vpo_truth__" in rewrite_asserts(kept)[0], kept


def test_rewrite_writes_out_all_over_literal_cases() -> None:
    """``assert all(f(x) == y for x, y in [(1, 2), (3, 4)])`` becomes ``assert (f(1) == 2) and (f(3) == 4)``:
    each case a check of its own, its expected value kept on the host (before, ``all`` was given the results of
    comparisons made in the sandbox); ``zip`` and ``enumerate`` of lists written there too, and a part of an
    ``and``, however it is nested. Other comprehensions stay as they are."""
    source, checks = rewrite_asserts(
        "def check(c):\n    assert c(0) == 'zero' and all(\n        c(x) == y\n"
        "        for x, y in zip([1, 2], ['one', 'two']))\ncheck(f)\n"
        "assert all([f(i) for i in (5, 6)])\nassert all(f(x, i) == y for i, (x, y) in enumerate([(7, 'seven')], 1))\n"
    )
    compile(source, "<rewritten>", "exec")
    assert not any(text in source for text in ("'zero'", "'one'", "'two'", "'seven'", "all(")), source
    compared = [c.operands[1] if c.ops else c.operands[0] for c in checks]
    assert compared == [("const", "zero"), ("const", "one"), ("const", "two"), ("slot", 0), ("slot", 0),
                        ("const", "seven")]  # fmt: skip
    calls = {ast.unparse(n) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and n.func.id in "cf"}
    assert calls == {"c(0)", "c(1)", "c(2)", "f(5)", "f(6)", "f(7, 1)"}
    assert [c.block for c in checks] == [("module", 0)] * 6
    nested = rewrite_asserts("assert f(1) == 1 and (f(2) == 2 and (f(3) == 3))")[1]
    assert [c.operands[1] for c in nested] == [("const", 1), ("const", 2), ("const", 3)]
    # a list bound once to a name that nothing else uses, in the function or the module, as a loop's may be
    named, named_checks = rewrite_asserts(
        "CASES = [(1, 'one')]\ndef test_n():\n    cases = [(2, 'two')]\n    assert all(f(x) == y for x, y in cases)\n"
        "    assert all(f(x) == y for x, y in CASES)\ntest_n()\n"
    )
    assert not any(text in named for text in ("'one'", "'two'", "cases", "CASES")), named
    assert [c.operands[1] for c in named_checks] == [("const", "two"), ("const", "one")]
    kept = {
        "a name used again": "CASES = [(1, 2)]\nassert all(f(x) == y for x, y in CASES)\nprint(CASES)\n",
        "a name bound later": "assert all(f(x) == y for x, y in CASES)\nCASES = [(1, 2)]\n",
        "an if": "assert all(f(x) == y for x, y in [(1, 2)] if x)\n",
        "two fors": "assert all(f(x) == y for x in [1] for y in [2])\n",
        "no literal": "assert all(f(x) == y for x, y in [(g(), 2)])\n",
        "a lambda": "assert all((lambda: f(x))() == y for x, y in [(1, 2)])\n",
        "a walrus": "assert all((z := f(x)) == y for x, y in [(1, 2)])\n",
        "not unpacking": "assert all(f(x) == y for x, y in [(1, 2), (3,)])\n",
        "all rebound": "all = g\nassert all(f(x) == y for x, y in [(1, 2)])\n",
        "any": "assert any(f(x) == y for x, y in [(1, 2)])\n",
        "empty": "assert all(f(x) == y for x, y in [])\n",
        "a set": "assert all({f(x) == y for x, y in [(1, 2)]})\n",
    }
    for case, test in kept.items():
        assert "for x" in rewrite_asserts(test)[0], case


def test_rewrite_writes_out_loops_over_literal_cases() -> None:
    """``for x, expected in [(1, 2), (3, 4)]: assert f(x) == expected`` (a list written in the loop, or a name
    bound once to it that nothing else uses, in the function or the module, or a test class's attribute set
    once; or ``zip`` of such lists; or one variable used as ``case[0]`` or ``case["key"]``) is written out once
    per case in an ``if True:`` block,
    the compared value written into the assert (kept on the host) and the others assigned before it; loops
    this cannot write out so stay as they are."""
    source, checks = rewrite_asserts(
        "CASES = [(5, 'six')]\n"
        "def test_a():\n    cases = [(1, 'two'), (3, 'four')]\n    for x, expected in cases:\n"
        "        got = f(x)\n        assert got == expected, expected\n"
        "def test_b():\n    for x, expected in CASES:\n        assert f(x) == expected\n"
        'for word in [\'seven\', """eight\n"""]:\n    assert g() != word\n'
        "test_a()\ntest_b()\n"
    )
    assert not any(text in source for text in ("'two'", "'four'", "'six'", "'seven'", "eight", "cases", "CASES"))
    assert source.count("if True:\n        x = (1)\n        got = f(x)\n") == 1 and "x = (3)" in source
    assert source.count("if True:\n") == 5
    compile(source, "<rewritten>", "exec")
    assert [c.operands[1] for c in checks] == [("const", v) for v in ("two", "four", "six", "seven", "eight\n")]
    # each copy's asserts must run as the loop's block does (test_a and test_b are called by the module)
    assert [c.block for c in checks] == [("module", 0)] * 5
    # zip of such lists, named or written there: cut to the shortest, as zip does
    zipped, zipped_checks = rewrite_asserts(
        "def test_z():\n    inputs = [1, 3, 5]\n    for x, y in zip(inputs, ['two', 'four']):\n"
        "        assert f(x) == y\n"
    )
    assert "inputs" not in zipped and "'two'" not in zipped and "x = (5)" not in zipped
    assert [c.operands[1] for c in zipped_checks] == [("const", "two"), ("const", "four")]
    # a test class's list of cases, set in setUp (or setup_method) or in the class's body, used by this loop alone
    for setting in ("    def setUp(self):\n        self.cases = [(1, 'two')]\n", "    cases = [(1, 'two')]\n"):
        held = f"class T(unittest.TestCase):\n{setting}    def test_a(self):\n"
        held += "        for x, y in self.cases:\n            self.assertEqual(f(x), y)\n"
        rewritten = rewrite_asserts("import unittest\n" + held)[0]
        assert "'two'" not in rewritten and "cases" not in rewritten and "x = (1)" in rewritten, rewritten
        for other in (
            "    def test_b(self):\n        assert len(self.cases) == 1\n",  # another use
            "class U(T):\n    cases = [(2, 'three')]\n",  # a subclass's own
            "    def test_b(self):\n        assert getattr(self, 'cases')\n",
            "    count = len(cases)\n",
        ):  # fmt: skip  (the class's body reads the name)
            assert "'two'" in rewrite_asserts("import unittest\n" + held + other)[0], other
    # enumerate, and targets that unpack further: each name its part
    numbered, numbered_checks = rewrite_asserts(
        "cases = [(1, 'two'), (3, 'four')]\nfor i, (x, y) in enumerate(cases, 10):\n    assert f(x, i) == y, i\n"
    )
    assert "'two'" not in numbered and "i = 10\n    x = (1)\n" in numbered and "i = 11\n    x = (3)\n" in numbered
    assert [c.operands[1] for c in numbered_checks] == [("const", "two"), ("const", "four")]
    # one variable, used as ``case[0]``, ``case[-1]`` or ``case["key"]``: each use is its part of the case
    indexed, indexed_checks = rewrite_asserts(
        "def test_i():\n    cases = [{'in': 1, 'out': 'two'}, {'in': 3, 'out': 'four'}]\n    for case in cases:\n"
        "        assert f(case['in']) == case['out']\nfor pair in [(5, 'six')]:\n    assert f(pair[0]) == pair[-1]\n"
    )
    assert "case" not in indexed and "pair" not in indexed and "'two'" not in indexed and "f((3))" in indexed
    assert [c.operands[1] for c in indexed_checks] == [("const", v) for v in ("two", "four", "six")]
    # the copies of a test's loops come to UNROLLED_BYTES at most: past it, the loops stay loops
    body = "    assert g() != e\n    h('" + "x" * 100 + "')\n"
    loop = f"for e in {list(range(300))}:\n{body}"  # about 40 KB written out
    halves = rewrite_asserts(loop + loop.replace("for e", "for d").replace("!= e", "!= d"))[0]
    assert halves.count("if True:") == 300 and "for d in" in halves
    # a body on the for's line, or on the last line of a for written over several: a line of its own per copy
    for one_line in (
        "for x, y in [(1, 'two'), (3, 'four')]: assert f(x) == y; g(x)\n",
        "def t():\n    for x, y in [(1, 'two'),\n                 (3, 'four')]: assert f(x) == y  # c\n",
    ):
        written, written_checks = rewrite_asserts(one_line)
        compile(written, "<rewritten>", "exec")
        assert "'two'" not in written and written.count("if True:") == 2 and "x = (3)" in written, written
        assert [c.operands[1] for c in written_checks] == [("const", "two"), ("const", "four")]
    kept = {
        "the case itself": "for c in [(1, 2)]:\n    assert f(c[0]) == c[1]\n    g(c)\n",
        "a case changed": "for c in [[1, 2]]:\n    c[1] = 3\n    assert f(c[0]) == c[1]\n",
        "no such part": "for c in [(1, 2), (3,)]:\n    assert f(c[0]) == c[1]\n",
        "a slice": "for c in [(1, 2)]:\n    assert f(c[0]) == c[1:]\n",
        "only inputs": "for c in [(1, 2)]:\n    assert f(c[0], c[1])\n",
        "zip's keywords": "for x, y in zip([1], [2], strict=True):\n    assert f(x) == y\n",
        "zip rebound": "zip = g\nfor x, y in zip([1], [2]):\n    assert f(x) == y\n",
        "another call": "for x, y in sorted([(1, 2)]):\n    assert f(x) == y\n",
        "enumerate's keywords": "for x, y in enumerate([2], start=1):\n    assert f(x) == y\n",
        "enumerate's three": "for x, y in enumerate([2], 1, 2):\n    assert f(x) == y\n",
        "a target too wide": "for i, (x, y) in enumerate([(1, 2, 3)]):\n    assert f(x) == y\n",
        "else": "for x, y in [(1, 2)]:\n    assert f(x) == y\nelse:\n    pass\n",
        "break": "for x, y in [(1, 2)]:\n    assert f(x) == y\n    if x:\n        break\n",
        "continue": "for x, y in [(1, 2)]:\n    if x:\n        continue\n    assert f(x) == y\n",
        "used after": "for x, y in [(1, 2)]:\n    assert f(x) == y\nprint(y)\n",
        "used otherwise": "for x, y in [(1, 2)]:\n    assert f(x) == y\n    g(y)\n",
        "not a literal": "for x, y in [(1, g())]:\n    assert f(x) == y\n",
        "list used again": "L = [(1, 2)]\nfor x, y in L:\n    assert f(x) == y\nassert len(L) == 1\n",
        "list bound twice": "L = [(1, 2)]\nL = [(3, 4)]\nfor x, y in L:\n    assert f(x) == y\n",
        "list after": "def t():\n    for x, y in L:\n        assert f(x) == y\n    L = [(1, 2)]\n",
        "uneven cases": "for x, y in [(1, 2), (3,)]:\n    assert f(x) == y\n",
        "starred target": "for x, *y in [(1, 2)]:\n    assert f(x) == y\n",
        "rebound": "for x, y in [(1, 2)]:\n    y = y + 1\n    assert f(x) == y\n",
    }
    for case, test in kept.items():
        assert "if True" not in rewrite_asserts(test)[0], case


def test_rewrite_marks_the_asserts_a_test_must_run() -> None:
    """Check.block: the module's asserts, and those of a function the module calls by its one name, run
    whenever the test ends normally; Check.guarded: an assert in a try may be skipped by an exception."""
    blocks = [c.block for c in rewrite_asserts("def check(c):\n    assert c(1)\n    if c(2):\n        assert c(3)\n"
                                                "check(f)\nassert f(4)\n")[1]]  # fmt: skip
    assert blocks == [("module", 0), None, ("module", 0)]
    rebound = "def check(c):\n    assert c(1)\ncheck = print\ncheck(f)\n"  # which check runs is not known
    early = "def check(c):\n    assert c(1)\n    return\ncheck(f)\n"  # a return: not a straight line
    inner = "def outer():\n    def check(c):\n        assert c(1)\n    check(f)\nouter()\n"
    assert [c.block for c in rewrite_asserts(rebound)[1]] == [("function", 0)]
    assert [c.block for c in rewrite_asserts(early)[1]] == [None]
    assert [c.block for c in rewrite_asserts(inner)[1]] == [("function", 1)]
    always = "if True:\n    assert f(1)\nif True:\n    assert f(2)\nelse:\n    pass\nif 1:\n    assert f(3)\n"
    assert [c.block for c in rewrite_asserts(always)[1]] == [("module", 0), None, None]  # if True: always runs
    method = "class T:\n    def run(self):\n        assert f(1)\nT().run()\nt = T()\nt.run()\n"
    assert [c.block for c in rewrite_asserts(method)[1]] == [("module", 0)]  # called on an instance
    decorated = "def deco(g):\n    return print\n@deco\ndef check(c):\n    assert c(1)\ncheck(f)\n"
    assert [c.block for c in rewrite_asserts(decorated)[1]] == [("function", 1)]  # its decorator may not call it
    guarded = "assert f(0)\ntry:\n    f(-1)\n    assert False\nexcept ValueError:\n    assert True\n"
    assert [c.guarded for c in rewrite_asserts(guarded)[1]] == [False, True, True]


def test_rewrite_runs_pytest_and_unittest_files_as_scripts() -> None:
    """The calls pytest or unittest would make are appended; unittest.main() goes; the unittest assertion
    methods that compare become asserts judged on the host, and pytest.approx is the host's."""
    source, checks = rewrite_asserts(PYTEST_FILE)
    assert source.rsplit("\n\n", 1)[1].splitlines() == [
        "test_two()", "test_cases(x=1, y=1)", "test_cases(x=3, y=9)", "test_cases(x=0.1, y=0.01)",
        "test_bad_input()", "__vpo_case__ = TestSquares()", "__vpo_case__.setup_method(__vpo_case__.test_method)",
        "__vpo_case__.test_method()",
    ]  # fmt: skip
    compile(source, "<rewritten>", "exec")
    assert checks[0].block == ("module", 0)  # test_two(): called by the module, by its one name
    approx_check = checks[1]  # f(x) == pytest.approx(y): y a parameter (a slot), approx applied on the host
    assert check_passes(approx_check, [0.010000001, 0.01]) and not check_passes(approx_check, [0.0101, 0.01])
    raises = "import pytest\ndef test_x():\n    with pytest.raises(ValueError):\n        assert f(-1)\n"
    assert [c.guarded for c in rewrite_asserts(raises)[1]] == [True]  # may rightly not run
    source, checks = rewrite_asserts(UNITTEST_FILE)
    assert "unittest.main()" not in source and '__main__":\n    pass\n' in source
    assert "__vpo_case__ = TestSquare('test_equal')" in source and "TestSquare.tearDownClass()" in source
    assert "assertRaises" in source  # run inside, as unittest has it
    assert len(checks) == 4 and check_passes(checks[1], [0.0100000001]) and not check_passes(checks[1], [0.0102])
    assert check_passes(checks[2], [9]) and not check_passes(checks[2], [8])
    plain = "def test_x():\n    assert f(1) == 1\ntest_x()\n"  # calls its own test: left as it is
    assert rewrite_asserts(plain)[0].count("test_x()") == 2


WIDE = "import random\nrandom.seed(7)\nA = random.getrandbits(8_000_000)\nB = random.getrandbits(4_000_000)\n"


def test_the_host_s_work_on_an_answer_s_values_stays_about_linear(api: httpx.Client) -> None:
    """The work the host does on an answer's values for a test (its operators and functions, making sets and
    dicts of them) takes time about linear in their size, or is refused and the assert fails: the answer chose
    the values, and the work held the host (dividing two ints of 8 and 4 million bits kept the service from
    answering anyone for 40 s). So are refused: multiplying or dividing two ints past 2**36 bits of product,
    a set or a dict with more than 64 values of one hash, a Fraction wider than 2**17 bits, a Decimal with an
    int wider than 2**16 bits, ``sum`` of sequences past 2**26 copies or of ints past 2**33 bits of copies,
    ``round`` to more than 10,000 digits, an int of a Decimal past 10,000 digits, a Decimal past 1,000 digits
    to a power that is no integer, ``%`` formatting past 2**20 characters of widths."""
    answer = WIDE + "def f(k):\n    return A if k == 0 else B\n"
    tests = [{"kind": "assert", "code": "assert f(0) // f(1) == 5"}, {"kind": "assert", "code": "assert f(0) > f(1)"}]
    result = score(api, answers=[[answer]], scorers=[{"name": "tests", "params": {"tests": tests}}], detail=True)
    details = result["details"]["tests"][0][0]
    assert result["rewards"] == [[[0.0, 1.0]]] and details[0]["message"].endswith("failed: OverflowError"), details
    wide = {"bigint": format(1 << 8_000_000, "x")}
    check = rewrite_asserts("assert f(0) % f(1) == 5\nassert f(0) * f(1) == 5\nassert f(0) * 3 == 5\n")[1]
    for i in (0, 1):
        with pytest.raises(OverflowError):
            check_operands(check[i], [wide, wide])
    assert check_operands(check[2], [wide])[0] == 3 << 8_000_000  # one wide int: linear
    colliding = [7 + k * ((1 << 61) - 1) for k in range(100)]
    lifted = rewrite_asserts("assert set(f()) == {1}")[1][0]
    with pytest.raises(OverflowError):
        check_operands(lifted, [colliding])
    assert check_passes(lifted, [[1] * 1000])  # one value many times: one item in the set
    for forged in ({"set": colliding}, {"dict": [[k, 0] for k in colliding]}, {"fraction": [wide, 3]}):
        with pytest.raises(Undecodable):
            decode(forged)
    decimal = rewrite_asserts("assert f(0) == f(1)")[1][0]
    with pytest.raises(Undecodable):
        check_operands(decimal, [{"decimal": "1.5"}, wide])
    assert check_passes(decimal, [{"decimal": "1.5"}, {"fraction": [3, 2]}])
    with pytest.raises(OverflowError):
        PURE_BUILTINS["sum"]([[0] * 10_000] * 10_000, [])
    assert PURE_BUILTINS["sum"]([[1], [2]], []) == [1, 2] and PURE_BUILTINS["sum"]([1, 2], 3) == 6
    with pytest.raises(OverflowError):
        PURE_BUILTINS["round"](5, -(10**9))
    with pytest.raises(OverflowError):  # each addition copies the total: 16 s for 100,000 items
        PURE_BUILTINS["sum"]([1 << 8_000_000] + [1] * 99_999)
    assert PURE_BUILTINS["sum"]([1 << 8_000_000] + [1] * 99) == (1 << 8_000_000) + 99
    # a Fraction's gcd with a wide int (1.3 s); a range that Python's ``in`` (but for an int) or a dict view's
    # ``-`` would go through; an iterable's items are a tuple (a forged report's range: max() would go through it)
    wide_fraction = {"fraction": [3, {"bigint": format((1 << 131_000) + 1, "x")}]}
    with pytest.raises(OverflowError):
        check_operands(rewrite_asserts("assert f(0) * f(1) == 0")[1][0], [wide, wide_fraction])
    endless = {"range": [0, 10**18, 1]}
    with pytest.raises(OverflowError):
        check_operands(rewrite_asserts("assert f(0) - f(1) == set()")[1][0], [endless, {"keys": [1]}])
    assert not check_passes(rewrite_asserts("assert 0.5 not in f(0)")[1][0], [endless])  # refused, not searched
    assert check_passes(rewrite_asserts("assert 10 ** 17 in f(0)")[1][0], [endless])
    with pytest.raises(TypeError):
        check_operands(rewrite_asserts("assert max(f(0)) == 5")[1][0], [endless])
    assert PURE_BUILTINS["set"]("ab" * 500_000) == {"a", "b"} and len(PURE_BUILTINS["set"]([1] * 100_000)) == 1
    # an int made of a Decimal (25 s for math.floor(Decimal('1e1000000'))), a Decimal of many digits raised to a
    # power that is no integer (4 s for 10,000 digits), % formatting of an answer's widths (300 MB for
    # '%0300000000d' % 1)
    huge, long = {"decimal": "1e1000000"}, {"decimal": "9" * 10_000}
    for code, values in [
        ("import math\nassert math.floor(f(0)) == 3", [huge]), ("assert round(f(0)) == 3", [huge]),
        ("assert '%d' % f(0) == '3'", [huge]), ("assert f(0) ** f(1) == 3", [long, {"decimal": "1.5"}]),
        ("assert f(0) % 5 == '5'", ["%0300000000d"]), ("assert '%*d' % f(0) == '5'", [{"tuple": [10**9, 5]}]),
    ]:  # fmt: skip
        with pytest.raises(OverflowError):
            check_operands(rewrite_asserts(code)[1][0], values)
    for code, values in [
        ("import math\nassert math.ceil(f(0)) == 4", [{"decimal": "3.5"}]),
        ("assert round(f(0)) == 4", [{"decimal": "3.5"}]),
        ("assert f(0) ** f(1) == 27", [{"decimal": "9"}, {"decimal": "1.5"}]), ("assert f(0) % 5 == '00005'", ["%05d"]),
        ("assert '%*d' % f(0) == '    5'", [{"tuple": [5, 5]}]), ("assert f(0) ** 2 > 1", [long]),
    ]:  # fmt: skip
        assert check_passes(rewrite_asserts(code)[1][0], values), code
    power = rewrite_asserts("assert f(0) ** f(1) == 1")[1][0]
    for base, exponent in [
        ({"fraction": [3, 2]}, 10**9),
        ({"fraction": [1, 3]}, 10**7),
        ({"fraction": [2, 1]}, -(10**7)),
    ]:
        with pytest.raises(OverflowError):  # a Fraction's parts grow with any power, but of 0, 1 and -1
            check_operands(power, [base, exponent])
    # fractions: their sum grows with each term (each addition a gcd), and all of one assert's are bounded
    primes = [n for n in range(2, 20_000) if all(n % d for d in range(2, math.isqrt(n) + 1))]
    with pytest.raises(OverflowError):
        PURE_BUILTINS["sum"]([Fraction(1, p) for p in primes])
    assert PURE_BUILTINS["sum"]([Fraction(1, 2)] * 1000) == 500
    half_wide = {"bigint": format((1 << 65_000) + 1, "x")}
    with pytest.raises(Undecodable):
        decode([{"fraction": [1, half_wide]}] * 20)
    assert decode([{"fraction": [1, half_wide]}] * 10)[0] == Fraction(1, (1 << 65_000) + 1)


def test_unittest_assertions_keep_their_arguments_whole() -> None:
    """Each argument of a unittest assertion stays one operand, however it is written: ``assertEqual(f(1) > 0,
    True)`` was written as the chain ``f(1) > 0 == True`` (``0 == True`` is false: a right answer failed), and
    ``assertFalse(f(1) or f(2))`` as ``not f(1) or f(2)``. Arguments given by keyword count too, and a
    comparison in an operand (``not (f(1) != 2)``, ``(f(1) > 0) == True``) is the host's."""
    source, checks = rewrite_asserts(
        "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
        "        self.assertEqual(f(1) > 0, True)\n        self.assertFalse(f(1) or f(2))\n"
        "        self.assertEqual(second=[1, 2], first=f(3))\n"
        "        self.assertIn(member=2, container=f(4), msg='m')\n"
        "        self.assertAlmostEqual(f(5), 2 if f else 3, delta=0.5)\n        self.assertFalse(f(6) != 2)\n"
        "        self.assertTrue(f(7) for _ in [1])\n"
    )
    compile(source, "<rewritten>", "exec")
    assert "assert" not in source.split("__vpo_case__")[0].replace("__vpo_check__", ""), source
    assert check_passes(checks[0], [5]) and not check_passes(checks[0], [-5])
    assert check_passes(checks[1], [0]) and not check_passes(checks[1], [1])  # not (f(1) or f(2))
    assert check_passes(checks[2], [[1, 2]]) and "[1, 2]" not in source and check_passes(checks[3], [[2]])
    assert check_passes(checks[4], [2.4, 2]) and not check_passes(checks[4], [2.6, 2])
    assert check_passes(checks[5], [2]) and not check_passes(checks[5], [3])  # the host's !=, then its not
    kept = ("self.assertEqual(f(1), first=2)", "self.assertEqual(f(1))", "self.assertEqual(f(1), 2, 'm', 3)",
            "self.assertTrue(f(1), expr=2)", "self.assertEqual(f(1), 2, other=3)")  # fmt: skip
    for call in kept:
        rewritten = rewrite_asserts(
            f"import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        {call}\n"
        )
        assert call in rewritten[0], call


def test_rewrite_lifts_type_checks_against_built_in_types() -> None:
    source, checks = rewrite_asserts(
        "assert type(f(2)) == int\nassert isinstance(f(3), (int, float))\nassert type(f(4)) is not str\n"
        "assert isinstance(f(5), Point)\n"
    )
    sent = [line.split(", (")[1] for line in source.splitlines()[:3]]
    assert sent == ["(f(2)), ))", "(f(3)), ))", "(f(4)), ))"]
    assert "__vpo_truth__(3, (isinstance(f(5), Point)))" in source  # a class of the test's: judged inside
    assert check_passes(checks[0], [2]) and not check_passes(checks[0], [2.0]) and not check_passes(checks[0], [True])
    assert check_passes(checks[1], [1.5]) and check_passes(checks[1], [True]) and not check_passes(checks[1], ["x"])
    assert check_passes(checks[2], [1]) and not check_passes(checks[2], ["s"])
    rebound, _ = rewrite_asserts("int = str\nassert type(f(1)) == int\n")  # the test's own int
    assert "__vpo_check__(0, ((f(1)), (int), ))" in rebound  # int is a value of the sandbox's, type the host's


def test_rewrite_lifts_arithmetic_and_pure_functions() -> None:
    source, checks = rewrite_asserts(
        "import math\nassert abs(f(2.5) - 0.5) < 1e-6\nassert math.isclose(f(2), 3.14, rel_tol=1e-3)\n"
        "assert not f(3)\nassert 2 ** f(4) == 8\nassert f(5) * 'ab' == 'abab'\nassert f(6)\n"
    )
    # only the answer's calls run in the sandbox; the tolerances and expected values stay on the host
    sent = [line.split(", (")[1] for line in source.splitlines()[1:6]]
    assert sent == ["(f(2.5)), ))", "(f(2)), ))", "(f(3)), ))", "(f(4)), ))", "(f(5)), ))"]
    assert "0.5" not in source and "3.14" not in source and "1e-06" not in source
    assert "__vpo_truth__(5, (f(6)))" in source  # a bare value: its truth is judged inside, as before
    assert check_passes(checks[0], [0.5]) and not check_passes(checks[0], [0.6])
    assert check_passes(checks[1], [3.1405]) and not check_passes(checks[1], [3.0])
    assert check_passes(checks[2], [0]) and not check_passes(checks[2], [[1]])
    assert check_passes(checks[3], [3]) and not check_passes(checks[3], [4])
    assert check_passes(checks[4], [2]) and not check_passes(checks[4], [3])
    assert not check_passes(checks[3], [10**7])  # 2 ** 10 ** 7 is not made on the host: the check fails
    assert not check_passes(checks[4], [10**9])  # nor a string of two billion characters
    assert not check_passes(checks[0], ["x"])  # the host's work raised (TypeError): the check fails
    # a name the test binds is the test's: its own abs, a module it calls math, runs inside as written
    own, _ = rewrite_asserts("def abs(x):\n    return 0\nassert abs(f(1)) < 1\n")
    renamed, _ = rewrite_asserts("import cmath as math\nassert math.isclose(f(1), 2)\n")
    assert "(abs(f(1)))" in own and "__vpo_truth__(0, (math.isclose(f(1), 2)))" in renamed
    as_numpy, _ = rewrite_asserts("import numpy as math\nassert math.isclose(f(1), 2)\n")  # numpy's: the host's
    assert "__vpo_check__(0, ((f(1)), ))" in as_numpy
    # an iterable goes as the tuple of its items; the parts of an ``and`` are checks of their own
    order_free, parts = rewrite_asserts("if x: assert sorted(f(1)) == [1, 2] and max(f(2), 3) == 3 and g(); y = 1\n")
    assert (
        order_free
        == "if x: __vpo_check__(0, ((*(f(1)),), )); __vpo_check__(1, ((f(2)), )); __vpo_truth__(2, (g())); y = 1\n"
    )
    assert check_passes(parts[0], [(2, 1)]) and not check_passes(parts[0], [(2, 2)]) and check_passes(parts[1], [1])


def test_decode_and_compare() -> None:
    assert decode({"tuple": [1, {"float": "nan"}]})[0] == 1
    assert decode({"dict": [[{"tuple": [1, 2]}, "v"]]}) == {(1, 2): "v"}
    assert decode({"set": [1, 2]}) == {1, 2} and decode({"bytes": "6869"}) == b"hi"
    for forged in ({"dict": [[[1], 1]]}, {"tuple": 5}, {"complex": ["a", "b"]}, {"float": "x"}, {"a": 1, "b": 2}):
        with pytest.raises(Undecodable):
            decode(forged)
    assert returned_matches((1, [2, 3]), [1, [2, 3]])
    assert returned_matches(0.1 + 0.2, 0.3, abs_tol=1e-9) and not returned_matches(0.1 + 0.2, 0.3)
    assert not returned_matches({"a": 1}, {"a": 1, "b": 2})
    # JSON's keys are strings: a returned dict's keys compare as JSON writes them
    assert returned_matches({2: "a", None: [2], True: 0, 1.5: 1}, {"2": "a", "null": [2], "true": 0, "1.5": 1})
    assert not returned_matches({1: "a", "1": "b"}, {"1": "a"})  # two keys that JSON would make one
    assert not returned_matches({(1, 2): 3}, {"(1, 2)": 3}) and not returned_matches({1: "a"}, {"2": "a"})
    assert normalize_stdout("1 \r\n2\n\n", "lines") == normalize_stdout("1\n2", "lines")
    assert normalize_stdout("1  2\n3", "tokens") == ["1", "2", "3"]
    assert normalize_stdout("1\n", "exact") != normalize_stdout("1", "exact")
    assert similarity(["1", "2", "x"], ["1", "2", "3", "4"]) == 0.5  # 2 in place, of the longer 4
    assert similarity(["2", "3", "4"], ["1", "2", "3"]) == 0.0 and similarity([], []) == 1.0
    assert similarity("abd", "abc") == pytest.approx(2 / 3)  # exact: characters
    lines, tokens = unit_equal("lines", abs_tol=1e-6), unit_equal("tokens", rel_tol=1e-3)
    assert lines("0.3333333 2", "0.333333 2.0") and lines("1e-7 x", "0 x") and not lines("0.334 2", "0.333 2")
    assert not lines("0.3333333", "0.333333 2") and not lines("nan", "0") and not lines("1_0", "10")
    assert tokens("1000", "1000.5") and not tokens("1000", "1002") and not tokens("inf", "1e999")
    assert stdout_matches(["1.0", "x"], ["1", "x"], tokens) and not stdout_matches(["1.0", "x"], ["1", "x"])
    assert similarity(["1.0", "y"], ["1", "x"], tokens) == 0.5
    # numbers past a float's range, or longer than a number needs, compare as text (two different 400-digit
    # integers are not "close"); a program's 100,000-digit token is judged at once
    assert not tokens("1" * 400, "2" * 400) and not tokens("1e400", "2e400") and tokens("7" * 400, "7" * 400)
    assert not lines("1" * 100_000 + "x", "1") and not tokens("9" * 100_000, "9" * 99_999 + "8")


LOOP_FORMS = {
    "literal": "for x, y in {cases}:\n    assert f(x) == y\n",
    "named": "def test_a():\n    cases = {cases}\n    for x, y in cases:\n        got = f(x)\n"
    "        assert got == y\ntest_a()\n",
    "module": "CASES = {cases}\ndef check(g):\n    for x, y in CASES:\n        assert g(x) == y, x\ncheck(f)\n",
    "zip": "inputs = {xs}\nfor x, y in zip(inputs, {ys}):\n    assert f(x) == y\n",
    "enumerate": "for i, (x, y) in enumerate({cases}, 1):\n    assert f(x) == y and i > 0\n",
    "indexed": "for case in {cases}:\n    assert f(case[0]) == case[-1]\n",
    "dict": "for case in {dicts}:\n    assert case['out'] == f(case['in'])\n",
    "helper": "def check(x, expected):\n    assert f(x) == expected\n{calls}",
    "constant": "EXPECTED = {first}\ndef test_c():\n    assert f({x0}) == EXPECTED\ntest_c()\n",
    "attribute": "class Check:\n    def setup_method(self):\n        self.expected = {first}\n"
    "    def test_c(self):\n        assert f({x0}) == self.expected\nc = Check()\nc.setup_method()\nc.test_c()\n",
    "one line": "def test_o():\n    for x, y in {cases}: got = f(x); assert got == y\ntest_o()\n",
    "header lines": "for x, y in (\n    {cases}\n): assert f(x) == y  # a comment\n",
    "kept": "for x, y in {cases}:\n    assert f(x) == y\n    if x < -100:\n        break\n",
    "all": "def check(g):\n    assert g(0) != 5 and all(g(x) == y\n"
    "                              for x, y in {cases})\ncheck(f)\n",
    "all zipped": "assert all([f(x) == y for x, y in zip({xs}, {ys})])\n",
    "all named": "CASES = {cases}\ndef check(g):\n    assert all(g(x) == y for x, y in CASES)\ncheck(f)\n",
    "or": "def test_r():\n    for x, y in {cases}:\n        r = f(x)\n        assert r == -1 or r == y\ntest_r()\n",
}


@settings(max_examples=150, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(-50, 50), st.integers(-1, 1)), min_size=1, max_size=5),
    form=st.sampled_from(sorted(LOOP_FORMS)),
    wrong_at=st.one_of(st.none(), st.integers(-50, 50)),
)
def test_rewrite_keeps_the_verdict_of_plain_python(
    pairs: list[tuple[int, int]], form: str, wrong_at: int | None
) -> None:
    """Whatever the rewrite writes out or keeps on the host (loops over cases, named lists, helpers, the
    module's constants), the rewritten test, its asserts judged on the host, passes exactly when the test run
    as plain Python does, for answers right on every case and wrong on some; and but for the loop it keeps,
    no expected value (from 950 up, apart from every other number) is left in the code the sandbox runs."""
    cases = [(x, x + 1000 + d) for x, d in pairs]
    test = LOOP_FORMS[form].format(
        cases=repr(cases), xs=repr([x for x, _ in cases]), ys=repr([y for _, y in cases]),
        dicts=repr([{"in": x, "out": y} for x, y in cases]), first=cases[0][1], x0=cases[0][0],
        calls="".join(f"check({x}, expected={y})\n" if i % 2 else f"check({x}, {y})\n"
                      for i, (x, y) in enumerate(cases)),
    )  # fmt: skip

    def answer(x: int) -> int:
        return x + 1000 if x != wrong_at else x + 999

    def plain() -> bool:
        try:
            exec(compile(test, "<test>", "exec"), {"f": answer})
        except AssertionError:
            return False
        return True

    source, checks = rewrite_asserts(test)

    def judged(i: int, values: Any, container: Any = None) -> None:
        if not check_passes(checks[i], list(values)):
            raise AssertionError(i)

    def rewritten() -> bool:
        scope = {"f": answer, "__vpo_check__": judged, "__vpo_truth__": lambda i, v: judged(i, (v,))}
        try:
            exec(compile(source, "<rewritten>", "exec"), scope)
        except AssertionError:
            return False
        return True

    assert rewritten() == plain(), (test, source)
    stack: list[Any] = [compile(source, "<rewritten>", "exec")]
    numbers = []  # every number among the constants of the rewritten code, in tuples and nested code too
    while stack:
        item = stack.pop()
        if isinstance(item, types.CodeType):
            stack += item.co_consts
        elif isinstance(item, tuple | frozenset):
            stack += item
        elif isinstance(item, int):
            numbers.append(item)
    left = [number for number in numbers if number >= 950]
    assert bool(left) == (form == "kept"), (source, left)


# expressions of an assert, as text: the answer's values (f(k), a name bound to one), literals, and the work
# around them that the rewrite may lift to the host (operators, pure builtins, comparisons, not, or, all)
_VALUE = st.sampled_from(["f(0)", "f(1)", "f(2)", "r", "[1, 2]", "'ab'", "3", "None", "(1,)", "2.5"])
_EXPRESSION = st.recursive(
    _VALUE,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["abs", "len", "sorted", "not ", "-"]), inner).map(lambda t: f"({t[0]}({t[1]}))"),
        st.tuples(inner, st.sampled_from(["==", "!=", "<", ">=", "in", "not in"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
    ),
    max_leaves=4,
)
_COMPARISON = st.tuples(_EXPRESSION, st.sampled_from(["==", "!=", "<=", "in", "is", "is not"]), _EXPRESSION).map(
    lambda t: f"{t[0]} {t[1]} {'None' if t[1].startswith('is') else t[2]}"
)
_TEST = st.one_of(
    _COMPARISON,
    _EXPRESSION,
    st.lists(_COMPARISON, min_size=2, max_size=3).map(" or ".join),
    st.lists(_COMPARISON, min_size=2, max_size=3)
    .map(lambda parts: " and (" + " and ".join(parts) + ")")
    .map(lambda text: text[5:]),
    _COMPARISON.map(lambda c: f"not ({c})"),
    _COMPARISON.map(lambda c: f"({c}) == True"),
    st.lists(st.tuples(st.integers(0, 2), _VALUE), min_size=1, max_size=3).map(
        lambda cases: f"all(f(x) == y for x, y in [{', '.join(f'({x}, {y})' for x, y in cases)}])"
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    tests=st.lists(_TEST, min_size=1, max_size=3),
    values=st.lists(st.sampled_from([0, 1, 2, 3, [1, 2], [2, 1], "ab", "a", None, (1,), 2.5, True, []]), min_size=3,
                    max_size=3),
)  # fmt: skip
def test_rewritten_asserts_judge_as_python_does(tests: list[str], values: list[Any]) -> None:
    """Whatever the rewrite lifts to the host (operators, pure builtins, comparisons under a ``not`` or in an
    operand, ``or`` and ``and`` of comparisons, ``all`` over cases), the rewritten test, its asserts judged on the
    host and its truth checks on the values, passes exactly when the test run as plain Python does."""
    test = "r = f(0)\n" + "".join(f"assert {t}\n" for t in tests)

    def answer(k: int) -> Any:
        return values[k]

    def compiled(text: str | bytes) -> types.CodeType:
        with warnings.catch_warnings():  # ``assert (1,)``: "assertion is always true", ``'ab' is None``...
            warnings.simplefilter("ignore")
            return compile(text, "<test>", "exec")

    def plain() -> bool:
        try:
            exec(compiled(test), {"f": answer})
        except Exception:  # noqa: BLE001 (an assert that fails, or one that raises: the test fails either way)
            return False
        return True

    source, checks = rewrite_asserts(test)
    judged: list[bool] = []

    def check(i: int, operands: Any, container: Any = None) -> None:
        judged.append(check_passes(checks[i], list(operands)))

    def truth(i: int, value: Any) -> None:
        judged.append(check_passes(checks[i], [value]))
        if not judged[-1]:
            raise AssertionError(i)

    def rewritten() -> bool:
        try:
            exec(compiled(source), {"f": answer, "__vpo_check__": check, "__vpo_truth__": truth})
        except Exception:  # noqa: BLE001
            return False
        return all(judged) and len(judged) >= len(checks) - sum(t.count(" and ") for t in tests)

    assert rewritten() == plain(), (test, source.decode() if isinstance(source, bytes) else source)
