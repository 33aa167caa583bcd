"""Recognising EvalPlus's generated tests (HumanEval+, MBPP+) for :func:`trainer_client.problems.evalplus_tests`:
the parts of a test in EvalPlus's usual shape, and what its ``assertion`` helper would decide about a result."""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Any

# The helpers of EvalPlus's generated tests, as EvalPlus writes them (comments aside): a test with others is kept
# whole. ``assertion`` comes in two forms.
IS_FLOATS = """def is_floats(x) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    if isinstance(x, np.ndarray):
        return x.dtype == np.float64 or x.dtype == np.float32
    return False
"""
ASSERTION = """def assertion(out, exp, atol):
    exact_match = out == exp
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        np.testing.assert_allclose(out, exp, atol=atol)
    else:
        assert exact_match
"""
ASSERTION_ALLCLOSE = ASSERTION.replace(
    "np.testing.assert_allclose(out, exp, atol=atol)", "assert np.allclose(out, exp, rtol=1e-07, atol=atol)"
)
# (name, body) of each known helper -> whether NaN meets NaN in it (np.testing.assert_allclose: yes; np.allclose
# as EvalPlus calls it: no)
_KNOWN_HELPERS = {
    (node.name, ast.dump(ast.Module(node.body, []))): "assert_allclose" in ast.unparse(node)
    for source in (IS_FLOATS, ASSERTION, ASSERTION_ALLCLOSE)
    for node in ast.parse(source).body
    if isinstance(node, ast.FunctionDef)
}
_LOOP = ast.parse("for i, (inp, exp) in enumerate(zip(inputs, results)):\n    assertion(F(*inp), exp, 0)\n").body[0]


@dataclass
class Plan:
    inputs: list[ast.expr]
    results: list[ast.expr]
    values: list[Any]  # each result's value (``inf`` and ``nan`` as the floats they name)
    atol: float
    imports: list[str]
    equal_nan: bool  # a NaN result is met by a NaN, as its assertion helper has it


def plan(test: str) -> Plan | None:
    """The parts of an EvalPlus test in its usual shape, or None: module level, its imports, the helpers as
    EvalPlus writes them, and the inputs, results and loop there or in ``def check(candidate)`` (called at
    the end or not)."""
    try:
        module = ast.parse(test)
    except (SyntaxError, ValueError):
        return None
    imports: list[str] = []
    scope: list[ast.stmt] | None = None
    helpers = set()
    equal_nan = False
    rest = []
    for node in module.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(ast.get_source_segment(test, node) or "")
        elif isinstance(node, ast.FunctionDef) and node.name in ("is_floats", "assertion"):
            known = _KNOWN_HELPERS.get((node.name, ast.dump(ast.Module(node.body, []))))
            if known is None:
                return None
            helpers.add(node.name)
            equal_nan = equal_nan or known
        elif (
            isinstance(node, ast.FunctionDef)
            and node.name == "check"
            and [a.arg for a in node.args.args] == ["candidate"]
        ):
            scope = node.body
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _called(node.value) == "check":
            continue
        else:
            rest.append(node)
    statements = rest if scope is None else scope
    if helpers != {"is_floats", "assertion"} or (scope is not None and rest):
        return None
    values: dict[str, list[ast.expr]] = {}
    atol = None
    for node in statements:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("inputs", "results")
            and isinstance(node.value, ast.List)
        ):
            values[node.targets[0].id] = node.value.elts
        elif isinstance(node, ast.For) and (atol := _loop_atol(node)) is not None:
            continue
        else:
            return None
    inputs, results = values.get("inputs"), values.get("results")
    if inputs is None or results is None or atol is None or len(inputs) != len(results):
        return None
    evaluated = []
    for args, expected in zip(inputs, results, strict=True):
        if not isinstance(args, (ast.List, ast.Tuple)):
            return None
        try:
            evaluated.append(ast.literal_eval(with_inf(expected)))
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    return Plan(inputs, results, evaluated, atol, imports, equal_nan)


def _loop_atol(node: ast.For) -> float | None:
    """The ``atol`` of EvalPlus's loop over its inputs and results (whatever name the function has), or None."""
    shape = _LOOP
    assert isinstance(shape, ast.For)
    body = node.body[0] if len(node.body) == 1 and not node.orelse else None
    if not (isinstance(body, ast.Expr) and isinstance(body.value, ast.Call) and len(body.value.args) == 3):
        return None
    call = body.value
    tolerance = call.args[2]
    if not (isinstance(tolerance, ast.Constant) and isinstance(tolerance.value, (int, float))):
        return None
    if not (isinstance(call.args[0], ast.Call) and isinstance(call.args[0].func, ast.Name)):
        return None
    shaped = ast.Call(
        call.func, [ast.Call(ast.Name("F", ast.Load()), call.args[0].args, []), call.args[1], ast.Constant(0)], []
    )
    mine = ast.For(node.target, node.iter, [ast.Expr(shaped)], [])
    same = ast.dump(mine) == ast.dump(ast.For(shape.target, shape.iter, shape.body, []))
    return float(tolerance.value) if same and not isinstance(tolerance.value, bool) else None


def _called(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def defines(test: str, name: str) -> bool:
    try:
        return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.parse(test).body)
    except (SyntaxError, ValueError):
        return False


def with_inf(node: ast.expr) -> ast.expr:
    """The expression with ``inf`` and ``nan`` (MBPP+'s ``from math import inf``) as the floats they name,
    for ``ast.literal_eval``."""

    class Floats(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.expr:
            if name.id in ("inf", "nan"):
                return ast.Constant(float(name.id))
            return name

    return Floats().visit(copy.deepcopy(node))  # type: ignore[no-any-return]


def floats(value: Any) -> bool:
    """EvalPlus's ``is_floats``."""
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(item, float) for item in value)


def numbers(value: Any) -> bool:
    """A number, or a flat list or tuple of numbers: what ``np.allclose`` compares."""

    def number(item: Any) -> bool:
        return isinstance(item, (int, float)) and not isinstance(item, bool)

    return number(value) or (isinstance(value, (list, tuple)) and all(number(item) for item in value))


def bound(statement: str) -> list[str]:
    """The names an import statement binds."""
    node = ast.parse(statement).body[0]
    assert isinstance(node, (ast.Import, ast.ImportFrom))
    return [alias.asname or alias.name.split(".")[0] for alias in node.names]
