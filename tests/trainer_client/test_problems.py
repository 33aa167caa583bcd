"""Public code datasets' test cases as the tests scorer's params (the service runs them in
tests/service/test_tests_scorer.py)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def compressed(value: object) -> str:
    """LiveCodeBench's private test cases: base64 of zlib of a pickled JSON string."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(value)))).decode()


def test_livecodebench_public_private_stdin_and_functional() -> None:
    public = json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}])
    private = compressed([{"input": "[2, 7, 11]\n9", "output": "[0, 1]", "testtype": "functional"}])
    tests = livecodebench_tests(public, private, json.dumps({"func_name": "twoSum"}), compare="tokens")
    assert tests == [
        {"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n", "compare": "tokens"},
        {"kind": "call", "function": "twoSum", "args": [[2, 7, 11], 9], "expected": [0, 1]},
    ]
    with pytest.raises(ValueError, match="func_name"):
        livecodebench_tests([{"input": "1", "output": "1", "testtype": "functional"}])


def test_a_pickle_that_names_anything_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (f"touch {marker}",)

    hostile = base64.b64encode(zlib.compress(pickle.dumps(Payload()))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        livecodebench_tests([], hostile)
    assert not marker.exists()


def test_apps_and_taco() -> None:
    stdio = apps_tests(json.dumps({"inputs": ["2\n", ["1", "2"]], "outputs": ["4\n", ["3", "x"]]}))
    assert [(t["stdin"], t["expected_stdout"]) for t in stdio] == [("2\n", "4\n"), ("1\n2", "3\nx")]
    calls = apps_tests({"fn_name": "f", "inputs": [[1, 2], [[1, 2]]], "outputs": [[3], [[2, 1]]]})
    assert [(t["function"], t["args"], t["expected"]) for t in calls] == [("f", [1, 2], 3), ("f", [[1, 2]], [2, 1])]
    with pytest.raises(ValueError, match="2 inputs but 1 outputs"):
        apps_tests({"inputs": ["1", "2"], "outputs": ["1"]})


def test_code_contests_public_private_then_generated() -> None:
    public = {"input": ["1 2\n"], "output": ["3\n"]}
    generated = {"input": ["5 5\n", "0 0\n"], "output": ["10\n", "0\n"]}
    tests = code_contests_tests(public, {"input": [], "output": []}, generated, compare="tokens")
    assert [(t["stdin"], t["expected_stdout"]) for t in tests] == [
        ("1 2\n", "3\n"),
        ("5 5\n", "10\n"),
        ("0 0\n", "0\n"),
    ]
    assert all(t["kind"] == "stdio" and t["compare"] == "tokens" for t in tests)
    assert code_contests_tests(public) == [{"kind": "stdio", "stdin": "1 2\n", "expected_stdout": "3\n"}]
    with pytest.raises(ValueError, match="private_tests: 1 inputs but 0 outputs"):
        code_contests_tests(public, {"input": ["1"], "output": []})


@pytest.mark.parametrize(
    ("convert", "message"),
    [
        (lambda: livecodebench_tests("not json"), "neither JSON nor LiveCodeBench's compressed form"),
        (lambda: livecodebench_tests(base64.b64encode(b"plain").decode()), "compressed form"),
        (lambda: livecodebench_tests('{"input": "1"}'), "test cases are a list"),
        (lambda: livecodebench_tests('[{"input": "1"}]'), "test case 0 is not an object with 'input' and 'output'"),
        (lambda: apps_tests("[1]"), "input_output is an object"),
        (lambda: apps_tests({"inputs": "12", "outputs": "34"}), "'inputs' is a list, not str"),
        (lambda: code_contests_tests({"input": "1 2", "output": "3"}), "public_tests: 'input' is a list, not str"),
        (lambda: code_contests_tests([["1 2"]]), "public_tests is an object"),  # type: ignore[arg-type]
        (lambda: pytest_tests("def test_a(:\n    pass\n"), "the test file does not parse"),
        (lambda: mbpp_tests("assert f(1) == 2"), "test_list is a list of asserts, not str"),
    ],
)
def test_malformed_rows_are_refused_saying_what_is_wrong(convert: Any, message: str) -> None:
    # a ValueError that names the field, never a string read as a list of characters, a KeyError or a zlib.error
    with pytest.raises(ValueError, match=re.escape(message)):
        convert()


def test_humaneval_mbpp_and_the_params() -> None:
    assert humaneval_tests("def check(c):\n    assert c(1) == 2\n", "f") == [
        {"kind": "assert", "code": "def check(c):\n    assert c(1) == 2\n\ncheck(f)\n"}
    ]
    assert mbpp_tests(["assert f(1) == 2", "assert f(2) == 3"], "import math") == [
        {"kind": "assert", "code": "import math\nassert f(1) == 2\n"},
        {"kind": "assert", "code": "import math\nassert f(2) == 3\n"},
    ]
    tests = mbpp_tests([f"assert f({i}) == {i + 1}" for i in range(20)])
    params = scorer_params(tests, timeout_s=3.0)
    assert params["timeout_s"] == 3.0 and len(params["tests"]) == 16 and params["tests"][0] == tests[0]
    assert len(scorer_params(tests, max_tests=None)["tests"]) == 20
    with pytest.raises(ValueError, match="no test cases"):
        scorer_params([])


# EvalPlus's generated tests as the datasets ship them (HumanEval+: in check(candidate); MBPP+: at module level)
EVALPLUS_HELPERS = """import numpy as np
from math import inf, nan

def is_floats(x) -> bool:
    # check if it is float; List[float]; Tuple[float]
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    if isinstance(x, np.ndarray):
        return x.dtype == np.float64 or x.dtype == np.float32
    return False


def assertion(out, exp, atol):
    exact_match = out == exp

    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        np.testing.assert_allclose(out, exp, atol=atol)
    else:
        assert exact_match

"""
HUMANEVAL_PLUS = (
    EVALPLUS_HELPERS
    + """
def check(candidate):
    inputs = [[1, 2], [3, 4], [0.5, 0.25], [(1.0, 2.0), 1], [inf, 1], ['a', 'b'], [nan, 1]]
    results = [3, 7, 0.75, (2.0, 3.0), inf, 'ab', nan]
    for i, (inp, exp) in enumerate(zip(inputs, results)):
        assertion(candidate(*inp), exp, 0)
"""
)
MBPP_PLUS = EVALPLUS_HELPERS.replace("np.testing.assert_allclose(out, exp, atol=atol)", (
    "assert np.allclose(out, exp, rtol=1e-07, atol=atol)")) + """
inputs = [[2, 3], [10, 2]]
results = [5, 12]
for i, (inp, exp) in enumerate(zip(inputs, results)):
    assertion(add(*inp), exp, 0.5)
"""  # fmt: skip


def test_evalplus_inputs_as_host_judged_asserts() -> None:
    """Each input an assert whose expected value is a literal (input i in test i mod max_tests); pytest.approx
    where EvalPlus would use np.allclose (a float result, or any numeric one given an atol); only the imports
    the literals name."""
    approx = "rel=1e-07, abs=1e-06, nan_ok=True)"  # np.testing.assert_allclose: NaN meets NaN
    assert [t["code"] for t in evalplus_tests(HUMANEVAL_PLUS, "add", max_tests=4)] == [
        f"from math import inf, nan\nimport pytest\nassert add(*[1, 2]) == 3\n"
        f"assert add(*[inf, 1]) == pytest.approx(inf, {approx}\n",
        "assert add(*[3, 4]) == 7\nassert add(*['a', 'b']) == 'ab'\n",
        f"from math import inf, nan\nimport pytest\nassert add(*[0.5, 0.25]) == pytest.approx(0.75, {approx}\n"
        f"assert add(*[nan, 1]) == pytest.approx(nan, {approx}\n",
        "import pytest\n_evalplus_result = add(*[(1.0, 2.0), 1])\nassert isinstance(_evalplus_result, (list, tuple)) "
        f"and list(_evalplus_result) == pytest.approx(list((2.0, 3.0)), {approx}\n",
    ]
    assert [t["code"] for t in evalplus_tests(MBPP_PLUS, "add")] == [
        "import pytest\nassert add(*[2, 3]) == pytest.approx(5, rel=1e-07, abs=0.5)\n",
        "import pytest\nassert add(*[10, 2]) == pytest.approx(12, rel=1e-07, abs=0.5)\n",
    ]
    assert len(evalplus_tests(HUMANEVAL_PLUS, "add")) == 7  # fewer inputs than max_tests: one test each


def test_evalplus_tests_of_another_shape_stay_whole() -> None:
    """A special oracle, a helper of the test's own, results a reference function computes, anything after
    the loop: the test as it is (check(entry_point) added where it defines check)."""
    oracle = HUMANEVAL_PLUS.replace("exact_match = out == exp\n", "exact_match = out == exp or out == 0\n")
    computed = HUMANEVAL_PLUS.replace("[3, 7, 0.75, (2.0, 3.0), inf, 'ab', nan]", "[ref(*x) for x in inputs]")
    more = HUMANEVAL_PLUS + "    assert candidate(0, 0) == 0\n"
    assert oracle != HUMANEVAL_PLUS and computed != HUMANEVAL_PLUS
    for test in (oracle, computed, more, "def check(candidate):\n    assert candidate(1, 2) == 3\n"):
        assert evalplus_tests(test, "add") == [{"kind": "assert", "code": f"{test}\ncheck(add)\n"}]
    assert MBPP_PLUS.replace("exp, 0.5)", "exp, atol)") != MBPP_PLUS
    for test in (MBPP_PLUS.replace("exp, 0.5)", "exp, atol)"), MBPP_PLUS + "print(results)\n"):
        assert evalplus_tests(test, "add") == [{"kind": "assert", "code": test}]  # defines no check
    assert evalplus_tests("not python (", "add") == [{"kind": "assert", "code": "not python ("}]


def test_pytest_files_as_one_test_per_test_function_or_class() -> None:
    """Each test function or class is a test of its own: the file without the others (a skipped one is none, and
    in none: a skipif whose condition is false would run, and its failure fail them all)."""
    file = (
        "import pytest\nfrom solution import f\n\nHELPER = 2\n\n\ndef test_a():\n    assert f(HELPER) == 4\n\n\n"
        "@pytest.mark.parametrize('x', [1, 2])\ndef test_b(x):\n    assert f(x) == x * x\n\n\n"
        "@pytest.mark.skip\ndef test_c():\n    assert False\n\n\nclass TestD:\n    def test_e(self):\n"
        "        assert f(0) == 0\n"
    )
    tests = pytest_tests(file)
    assert [t["kind"] for t in tests] == ["assert"] * 3
    codes = [t["code"] for t in tests]
    assert all("HELPER = 2" in c and "from solution import f" in c and "def test_c" not in c for c in codes)
    assert ["def test_a" in c for c in codes] == [True, False, False]
    assert ["@pytest.mark.parametrize" in c for c in codes] == [False, True, False]
    assert ["class TestD" in c for c in codes] == [False, False, True]
    one = "import unittest\nclass T(unittest.TestCase):\n    def test_x(self):\n        self.assertTrue(True)\n"
    assert pytest_tests(one) == [{"kind": "assert", "code": one}]
    # a class's test methods are tests of their own, its setUp kept in each; another class goes whole
    cases = (
        "import unittest\nclass T(unittest.TestCase):\n    def setUp(self):\n        self.v = 1\n"
        "    def test_a(self):\n        self.assertEqual(self.v, 1)\n    def test_b(self):\n        pass\n"
        "class U(unittest.TestCase):\n    def test_c(self):\n        pass\n"
    )
    split = [t["code"] for t in pytest_tests(cases)]
    assert [("test_a" in c, "test_b" in c, "class U" in c, "def setUp" in c) for c in split] == [
        (True, False, False, True), (False, True, False, True), (False, False, True, False),
    ]  # fmt: skip
    assert all(compile(c, "<split>", "exec") for c in split)
    marked = cases.replace("    def test_b(self):", "    @unittest.skipIf(False, 'no')\n    def test_z(self):\n"
                           "        self.fail()\n    def test_b(self):")  # fmt: skip
    assert [t["code"] for t in pytest_tests(marked)] == split  # a skipped method is in none either


# MultiPL-E's JavaScript suite as its translator writes it (humaneval_to_js.py): Python's literals as JavaScript,
# None as undefined, tuples as arrays, dicts as objects (a numeric key unquoted)
MULTIPL_E_JS = """const assert = require('node:assert');


function test() {
  let candidate = by_length;
  assert.deepEqual(candidate([2, 1, 1, 4, 5, 8, 2, 3]),["Eight", "Five", "Four", "Three", "Two", "Two", "One", "One"]);
  assert.deepEqual(candidate([]),[]);
  // a comment
  assert.deepEqual(candidate([1, -1.5e-05, 55], "a, b)"),{1: "x", "k": [undefined, true], 'q': null,});
  assert.deepEqual(candidate(),undefined);
}

test();"""


def test_multipl_e_javascript_asserts_as_call_tests() -> None:
    tests = multipl_e_tests(MULTIPL_E_JS)
    assert [(t["kind"], t["function"]) for t in tests] == [("call", "by_length")] * 4
    assert [(t["args"], t["expected"]) for t in tests] == [
        ([[2, 1, 1, 4, 5, 8, 2, 3]], ["Eight", "Five", "Four", "Three", "Two", "Two", "One", "One"]),
        ([[]], []),
        ([[1, -1.5e-05, 55], "a, b)"], {"1": "x", "k": [None, True], "q": None}),
        ([], None),
    ]
    assert multipl_e_tests('let candidate = f;\nassert.deepEqual(candidate("\\u00e9\\n\\"", 0.5),1);') == [
        {"kind": "call", "function": "f", "args": ['\u00e9\n"', 0.5], "expected": 1}
    ]


@pytest.mark.parametrize(
    ("suite", "message"),
    [
        ("let candidate = f;\nassert.deepEqual(candidate(g(1)),1);", "line 2 is not an assert on literals"),
        ("let candidate = f;\nassert.deepEqual(candidate(1),1) || x;", "unexpected text"),
        ("let candidate = f;\nassert(candidate(1) == 1);", "line 2"),
        ("let candidate = f;\nassert.deepEqual(candidate([1, 2),1);", "line 2"),
        ("let candidate = f;\nassert.deepEqual(candidate('open),1);", "unterminated string"),
        ("let candidate = f;\nconsole.log(1);", "line 2"),
        ("assert.deepEqual(candidate(1),1);", "let candidate"),
        ("let candidate = f;\n", "no assert"),
        ("let candidate = f;\nassert.deepEqual(candidate(1),", "expected a literal"),  # cut short
        ("let candidate = f;\nassert.deepEqual(candidate([1, {", "expected a key"),
        ("let candidate = f;\nassert.deepEqual(candidate({'a", "unterminated string"),
    ],
)
def test_multipl_e_suites_with_more_than_literal_asserts_are_refused(suite: str, message: str) -> None:
    # such a suite runs JavaScript of its own to judge, which the scorer's javascript does not do
    with pytest.raises(ValueError, match=message):
        multipl_e_tests(suite)
    with pytest.raises(ValueError, match="not supported"):
        multipl_e_tests(MULTIPL_E_JS, language="cpp")


# Python values as MultiPL-E's translator writes them in JavaScript (gen_literal, gen_list, gen_dict), and the
# value the converter must read back: a dict's keys are strings (a JavaScript object's keys are), None is null
KEYS = st.one_of(st.text(max_size=5), st.integers(-1000, 1000))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)


def javascript(value: object) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # MultiPL-E writes f'"{c}"': the same where c needs no escape
    if isinstance(value, list):
        return "[" + ", ".join(map(javascript, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{javascript(k)}: {javascript(v)}" for k, v in value.items()) + "}"
    return repr(value)


def as_read(value: object) -> object:
    if isinstance(value, list):
        return [as_read(v) for v in value]
    if isinstance(value, dict):
        return {str(k): as_read(v) for k, v in value.items()}
    return value


@given(st.lists(VALUES, max_size=4), VALUES)
def test_multipl_e_literals_read_back_as_written(args: list[object], expected: object) -> None:
    line = f"  assert.deepEqual(candidate({', '.join(map(javascript, args))}),{javascript(expected)});"
    (test,) = multipl_e_tests(f"function test() {{\n  let candidate = f;\n{line}\n}}\n\ntest();")
    assert (test["args"], test["expected"]) == (as_read(args), as_read(expected))


@given(st.text(alphabet=st.sampled_from(list("[]{}()'\",:;-+.eE0123456789 \\uabtrfnlsdUNx")), max_size=40))
def test_multipl_e_reader_refuses_what_it_cannot_read_with_a_value_error(tail: str) -> None:
    suite = f"let candidate = f;\nassert.deepEqual(candidate({tail}"
    try:
        multipl_e_tests(suite)
    except ValueError:
        pass
