"""Test cases of public code datasets as the ``tests`` scorer's params.

Each function takes a dataset row's fields as the dataset ships them and returns the ``tests`` list of the
scorer's params, in the dataset's order; :func:`scorer_params` wraps such a list with the other params and
keeps the first ``max_tests`` (the service refuses more than its ``max_tests_per_problem``, 16 by default)::

    from trainer_client.problems import livecodebench_tests, scorer_params

    tests = livecodebench_tests(row["public_test_cases"], row["private_test_cases"], row["metadata"])
    scorer = {"name": "tests", "params": scorer_params(tests, timeout_s=6.0)}

- LiveCodeBench (``livecodebench/code_generation_lite``): stdin tests become ``stdio`` tests; functional
  tests become ``call`` tests of ``metadata["func_name"]`` (the method of the answer's ``class Solution``,
  which the scorer calls on a fresh instance), with one JSON argument per input line.
- APPS and TACO (``input_output``): without ``fn_name``, ``stdio`` tests (an expected output given as a
  list of lines is joined); with it, ``call`` tests whose expected value is unwrapped from the one-element
  list those datasets put it in (their own harness accepts it either way).
- CodeContests (``public_tests``, ``private_tests``, ``generated_tests``): ``stdio`` tests, in that order.
- HumanEval (``test``, ``entry_point``): one ``assert`` test, ``check(entry_point)``. LeetCodeDataset has
  the same fields (``entry_point`` ``Solution().twoSum``), and its ``prompt`` (imports, ``ListNode``...) goes
  before the answers as the params' ``setup``.
- MBPP (``test_list``, ``test_setup_code``): one ``assert`` test per assert, after the setup code.
- EvalPlus (HumanEval+'s and MBPP+'s generated ``test``): its inputs and expected results as asserts the host
  judges, at most ``max_tests`` of them (see :func:`evalplus_tests`).
- MultiPL-E (``nuprl/MultiPL-E``, HumanEval and MBPP in other languages; ``tests`` of a ``js`` row): one
  ``call`` test per ``assert.deepEqual(candidate(...), ...)``, its values read as data (see
  :func:`multipl_e_tests`), for the scorer's ``javascript``.
- Test files written for pytest or unittest (KodCode's ``test``: ``from solution import f`` and ``def
  test_...()`` functions): one ``assert`` test per test function and test method, each the file without the
  others, so that each is a component of the reward vector (the scorer runs such a file's tests as pytest or
  unittest would).

A row that is not in its dataset's shape (a string where a list goes, a case without its output, a test file
that does not parse) is refused with a ValueError that names what is wrong.

Private LiveCodeBench tests come compressed (base64 of zlib of a pickled JSON string). They are unpickled by
an unpickler that builds strings and nothing else: a pickle that asks for any class or function is refused,
so a tampered dataset cannot run code here.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import pickle
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from . import _evalplus, _multipl_e

Test = dict[str, Any]


def scorer_params(tests: Sequence[Test], max_tests: int | None = 16, **params: Any) -> dict[str, Any]:
    """The ``tests`` scorer's params: the first ``max_tests`` of ``tests`` (all with None) and ``params``
    (``language``, ``timeout_s``, ``memory_mb``, ``partial``)."""
    if not tests:
        raise ValueError("no test cases")
    return {**params, "tests": list(tests[:max_tests] if max_tests is not None else tests)}


def livecodebench_tests(
    public_test_cases: str | Sequence[dict[str, Any]],
    private_test_cases: str | Sequence[dict[str, Any]] | None = None,
    metadata: str | dict[str, Any] | None = None,
    **stdio: Any,
) -> list[Test]:
    """LiveCodeBench's public then private test cases; ``stdio`` (``compare``, ``abs_tol``, ``rel_tol``) goes
    into every stdio test."""
    cases = [*_cases(public_test_cases), *(_cases(private_test_cases) if private_test_cases else [])]
    meta = json.loads(metadata) if isinstance(metadata, str) and metadata else dict(metadata or {})
    tests = []
    for case in cases:
        if case.get("testtype") == "functional":
            function = meta.get("func_name")
            if not function:
                raise ValueError("a functional test case needs metadata with func_name")
            args = [json.loads(line) for line in str(case["input"]).split("\n") if line.strip()]
            tests.append({"kind": "call", "function": function, "args": args, "expected": json.loads(case["output"])})
        else:
            tests.append({"kind": "stdio", "stdin": case["input"], "expected_stdout": case["output"], **stdio})
    return tests


def apps_tests(input_output: str | dict[str, Any], **stdio: Any) -> list[Test]:
    """APPS's or TACO's ``input_output``."""
    spec = json.loads(input_output) if isinstance(input_output, str) else input_output
    if not isinstance(spec, Mapping):
        raise ValueError("input_output is an object with 'inputs' and 'outputs'")
    inputs, outputs, function = (
        _listed(spec, "inputs", "input_output"),
        _listed(spec, "outputs", "input_output"),
        spec.get("fn_name"),
    )
    if len(inputs) != len(outputs):
        raise ValueError(f"{len(inputs)} inputs but {len(outputs)} outputs")
    tests = []
    for given, wanted in zip(inputs, outputs, strict=True):
        if function:
            expected = wanted[0] if isinstance(wanted, list) and len(wanted) == 1 else wanted
            args = given if isinstance(given, list) else [given]
            tests.append({"kind": "call", "function": function, "args": args, "expected": expected})
        else:
            stdin = "\n".join(map(str, given)) if isinstance(given, list) else str(given)
            stdout = "\n".join(map(str, wanted)) if isinstance(wanted, list) else str(wanted)
            tests.append({"kind": "stdio", "stdin": stdin, "expected_stdout": stdout, **stdio})
    return tests


def code_contests_tests(
    public_tests: Mapping[str, Sequence[str]],
    private_tests: Mapping[str, Sequence[str]] | None = None,
    generated_tests: Mapping[str, Sequence[str]] | None = None,
    **stdio: Any,
) -> list[Test]:
    """CodeContests's (``deepmind/code_contests``) public, then private, then generated tests, each ``{"input":
    [...], "output": [...]}``, as ``stdio`` tests; ``stdio`` (``compare``, ``abs_tol``, ``rel_tol``, ``checker``)
    goes into every test (many of its problems accept any answer within a tolerance, or any of several answers,
    which only a ``checker`` can judge). :func:`scorer_params` keeps the first 16, so the generated ones count
    only where fewer are given."""
    tests = []
    for name, given in (("public_tests", public_tests), ("private_tests", private_tests),
                        ("generated_tests", generated_tests)):  # fmt: skip
        spec = {} if given is None else given
        if not isinstance(spec, Mapping):
            raise ValueError(f"{name} is an object with 'input' and 'output'")
        inputs, outputs = _listed(spec, "input", name), _listed(spec, "output", name)
        if len(inputs) != len(outputs):
            raise ValueError(f"{name}: {len(inputs)} inputs but {len(outputs)} outputs")
        tests += [
            {"kind": "stdio", "stdin": i, "expected_stdout": o, **stdio} for i, o in zip(inputs, outputs, strict=True)
        ]
    return tests


def humaneval_tests(test: str, entry_point: str) -> list[Test]:
    """HumanEval's ``check`` function, called on the entry point."""
    return [{"kind": "assert", "code": f"{test}\ncheck({entry_point})\n"}]


def evalplus_tests(test: str, entry_point: str, max_tests: int = 16) -> list[Test]:
    """EvalPlus's generated test (HumanEval+ ``test`` with ``check(candidate)``, MBPP+ ``test``): its
    ``inputs`` and ``results`` as asserts that the host judges, in ``max_tests`` tests (input i in test i mod
    ``max_tests``), each ``assert entry_point(*inputs[i]) == results[i]`` with the expected value a literal
    that never enters the sandbox; ``pytest.approx`` (rel 1e-7, abs ``atol``) where EvalPlus's ``assertion``
    would use ``np.allclose``: a result that is a float or a flat list or tuple of floats (with ``atol`` 1e-6
    where the test gives 0), or any numeric one where it gives an ``atol``; a list or a tuple meets either, as
    np.allclose takes them (``nan_ok`` where the helper's ``np.testing.assert_allclose`` lets a NaN meet a
    NaN). ``scripts/evalplus_agreement.py`` checks the verdicts against the test as it is. Run so, it compares in
    the sandbox (``exact_match = out == exp``), where an answer's object whose ``__eq__`` says yes to anything
    passes it. A test of another shape (EvalPlus's special oracles, an ``assertion`` or ``is_floats`` of its
    own, results a reference function computes) is kept whole, as :func:`humaneval_tests` keeps HumanEval's
    (with ``check(entry_point)`` added where the test defines ``check``)."""
    plan = _evalplus.plan(test)
    if plan is None or not plan.inputs:
        whole = f"{test}\ncheck({entry_point})\n" if _evalplus.defines(test, "check") else test
        return [{"kind": "assert", "code": whole}]
    chunks = min(max_tests, len(plan.inputs))
    lines: list[list[str]] = [[] for _ in range(chunks)]
    names: list[set[str]] = [set() for _ in range(chunks)]  # what a test's literals name (MBPP+'s inf)
    for i, (args, expected, value) in enumerate(zip(plan.inputs, plan.results, plan.values, strict=True)):
        names[i % chunks].update(n.id for node in (args, expected) for n in ast.walk(node) if isinstance(n, ast.Name))
        call = f"{entry_point}(*{ast.get_source_segment(test, args)})"
        wanted = ast.get_source_segment(test, expected)
        tolerance = plan.atol if plan.atol != 0 else 1e-6 if _evalplus.floats(value) else 0
        if tolerance and _evalplus.numbers(value):
            approx = f"rel=1e-07, abs={tolerance!r}{', nan_ok=True' if plan.equal_nan else ''})"
            if isinstance(value, (list, tuple)):  # np.allclose takes either sequence for the other, and no other
                lines[i % chunks] += [
                    f"{_RESULT} = {call}",
                    f"assert isinstance({_RESULT}, (list, tuple)) and list({_RESULT}) == pytest.approx(list({wanted}), "
                    f"{approx}",
                ]
            else:
                lines[i % chunks].append(f"assert {call} == pytest.approx({wanted}, {approx}")
        else:
            lines[i % chunks].append(f"assert {call} == {wanted}")
    tests = []
    for chunk, used in zip(lines, names, strict=True):
        imports = [line for line in plan.imports if used.intersection(_evalplus.bound(line))]
        if any("pytest.approx" in line for line in chunk):
            imports.append("import pytest")
        tests.append({"kind": "assert", "code": "\n".join([*imports, *chunk, ""])})
    return tests


# the name a converted EvalPlus test gives a result it checks twice (type, then values): apart from the answer's
_RESULT = "_evalplus_result"


def mbpp_tests(test_list: Sequence[str], test_setup_code: str = "") -> list[Test]:
    """MBPP's asserts, one test each, after the setup code."""
    if isinstance(test_list, str):
        raise ValueError("test_list is a list of asserts, not str")
    setup = f"{test_setup_code.rstrip()}\n" if test_setup_code.strip() else ""
    return [{"kind": "assert", "code": f"{setup}{line}\n"} for line in test_list]


def multipl_e_tests(tests: str, language: str = "js") -> list[Test]:
    """MultiPL-E's test suite of a JavaScript problem (a row's ``tests`` where its ``language`` is ``js``): one
    ``call`` test of the suite's ``candidate`` per ``assert.deepEqual(candidate(ARGS),EXPECTED);``, its
    arguments and expected value read as data (the expected value never enters the sandbox; ``undefined`` is
    null, as the driver sends it). The host compares the return value as JSON data, as deepStrictEqual would,
    not with deepEqual's loose ``==`` (which takes ``"1"`` for ``1``). Score them with ``language``
    ``"javascript"``. A suite with anything else than such asserts on literals (and its frame: ``function
    test()``, ``let candidate = NAME;``, ``test();``) is refused with a ValueError naming the line."""
    if language not in ("js", "javascript"):
        raise ValueError(f"MultiPL-E's {language!r} tests are not supported: the tests scorer runs its javascript")
    function = _multipl_e.entry_point(tests)
    if function is None:
        raise ValueError("no 'let candidate = NAME;' in the suite")
    cases = _multipl_e.asserts(tests)
    if not cases:
        raise ValueError("no assert in the suite")
    return [{"kind": "call", "function": function, "args": args, "expected": expected} for args, expected in cases]


def pytest_tests(test: str) -> list[Test]:
    """A pytest or unittest file as one ``assert`` test per test: per top-level ``test*`` function, and per
    ``test*`` method of a ``Test*`` or ``TestCase`` class (not one marked ``skip``, ``skipif`` or ``xfail``:
    those are in none of the tests, so that one that runs after all, a ``skipif`` whose condition is false,
    cannot fail the others). Each is the whole file without the other tests (its imports, helpers, fixtures
    and the class's ``setUp`` kept, in their places; a class none of whose tests it is goes whole). A file of
    fewer than two tests is one test, the file as it is."""
    lines = test.splitlines(keepends=True)
    units: list[tuple[tuple[int, int], tuple[int, int] | None]] = []  # (the test's lines, its class's lines)
    skipped: set[int] = set()  # the lines of the tests marked skip, skipif or xfail
    try:
        tree = ast.parse(test)
    except SyntaxError as exc:
        raise ValueError(f"the test file does not parse: {exc.msg} (line {exc.lineno})") from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            if _skipped(node):
                skipped.update(range(*_lines(node)))
            else:
                units.append((_lines(node), None))
        elif isinstance(node, ast.ClassDef) and (node.name.startswith("Test") or _is_test_case(node)):
            methods = [m for m in node.body if isinstance(m, ast.FunctionDef) and m.name.startswith("test")]
            units += [(_lines(m), _lines(node)) for m in methods if not _skipped(m)]
            skipped.update(line for m in methods if _skipped(m) for line in range(*_lines(m)))
    if len(units) < 2:
        return [{"kind": "assert", "code": test}]
    tests = []
    for keep, owner in units:
        dropped: set[int] = set(skipped)
        for span, cls in units:
            if span != keep:  # another test: its lines go, and its whole class where this test is not in it
                start, end = cls if cls is not None and cls != owner else span
                dropped.update(range(start, end))
        tests.append({"kind": "assert", "code": "".join(line for i, line in enumerate(lines) if i not in dropped)})
    return tests


def _lines(node: ast.FunctionDef | ast.ClassDef) -> tuple[int, int]:
    """The 0-based range of lines a definition spans, its decorators included."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first - 1, node.end_lineno or node.lineno


def _skipped(node: ast.FunctionDef) -> bool:
    return any(_mark_name(d) in ("skip", "skipif", "xfail", "skipIf", "skipUnless") for d in node.decorator_list)


def _is_test_case(node: ast.ClassDef) -> bool:
    names = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None for b in node.bases]
    return "TestCase" in names


def _mark_name(decorator: ast.expr) -> str | None:
    """``skip`` for ``@pytest.mark.skip`` or ``@pytest.mark.skip(reason=...)``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else None


def _listed(spec: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """``spec[key]``, a list (none: empty); a string there is refused, not read as a list of characters."""
    value = spec.get(key)
    if value is None:
        return []
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):  # a list, a tuple, an array
        raise ValueError(f"{where}: {key!r} is a list, not {type(value).__name__}")
    return list(value)


def _cases(cases: str | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """LiveCodeBench's test cases: a list, its JSON, or its compressed form."""
    decoded: Any = cases
    if isinstance(cases, str):
        try:
            decoded = json.loads(cases)
        except json.JSONDecodeError:
            try:
                pickled = zlib.decompress(base64.b64decode(cases))
                decoded = _StringsOnly(io.BytesIO(pickled)).load()
            except (ValueError, zlib.error, EOFError) as exc:
                raise ValueError(f"test cases are neither JSON nor LiveCodeBench's compressed form ({exc})") from None
            decoded = json.loads(decoded) if isinstance(decoded, str) else decoded
    if not isinstance(decoded, Sequence) or isinstance(decoded, str | bytes):
        raise ValueError("test cases are a list")
    found: list[dict[str, Any]] = list(decoded)
    for index, case in enumerate(found):
        if not isinstance(case, Mapping) or "input" not in case or "output" not in case:
            raise ValueError(f"test case {index} is not an object with 'input' and 'output'")
    return found


class _StringsOnly(pickle.Unpickler):
    """Unpickles plain data only: any class or function a pickle names is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused: the pickle names {module}.{name}")
