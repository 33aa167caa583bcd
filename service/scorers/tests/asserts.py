"""Rewriting assert statements so that their comparisons are made outside the sandbox.

``assert f(2) == 3`` becomes ``__vpo_check__(0, (f(2),))``: the sandbox evaluates ``f(2)`` and sends the
value back as plain data; the literal ``3`` never enters the sandbox, and the host applies ``==`` itself, so
neither an object with a forged ``__eq__`` nor a patched builtin can turn a wrong answer into a pass.
Assertions that are not such comparisons become ``__vpo_truth__(i, expr)``: the value must be plain data
and truthy. Asserts nested in functions (HumanEval's ``check(candidate)``) are rewritten too.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OPERATORS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_SINGLETONS = (None, True, False)


@dataclass(frozen=True)
class Check:
    """One rewritten assert: ``operands`` are ("const", value) kept here or ("slot", k), the k-th value the
    sandbox sends; no ``ops`` means a truth check of slot 0."""

    ops: tuple[Callable[[Any, Any], Any], ...]
    operands: tuple[tuple[str, Any], ...]


def rewrite_asserts(source: str) -> tuple[str, list[Check]]:
    """The test source with every assert rewritten, and the checks the host evaluates."""
    rewriter = _Rewriter()
    tree = ast.fix_missing_locations(rewriter.visit(ast.parse(source)))
    return ast.unparse(tree), rewriter.checks


class _Rewriter(ast.NodeTransformer):
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        check_id = len(self.checks)
        test = node.test
        if isinstance(test, ast.Compare) and _outside_comparable(test):
            operands: list[tuple[str, Any]] = []
            sent: list[ast.expr] = []
            for expr in (test.left, *test.comparators):
                literal = _literal(expr)
                if literal is not _NOT_LITERAL:
                    operands.append(("const", literal))
                else:
                    operands.append(("slot", len(sent)))
                    sent.append(expr)
            self.checks.append(Check(tuple(OPERATORS[type(op)] for op in test.ops), tuple(operands)))
            arguments: list[ast.expr] = [ast.Constant(check_id), ast.Tuple(sent, ast.Load())]
            call = ast.Call(ast.Name("__vpo_check__", ast.Load()), arguments, [])
        else:
            self.checks.append(Check((), (("slot", 0),)))
            call = ast.Call(ast.Name("__vpo_truth__", ast.Load()), [ast.Constant(check_id), test], [])
        return ast.copy_location(ast.Expr(call), node)


_NOT_LITERAL = object()


def _literal(expr: ast.expr) -> Any:
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _outside_comparable(test: ast.Compare) -> bool:
    """Identity survives the trip out of the sandbox only for None, True and False."""
    if not all(type(op) in OPERATORS for op in test.ops):
        return False
    operands = [test.left, *test.comparators]
    for index, op in enumerate(test.ops):
        if isinstance(op, ast.Is | ast.IsNot):
            pair = (operands[index], operands[index + 1])
            if not any(isinstance(e, ast.Constant) and e.value in _SINGLETONS for e in pair):
                return False
    return True
