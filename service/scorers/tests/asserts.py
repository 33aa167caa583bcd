"""Rewriting assert statements so that their comparisons are made outside the sandbox.

``assert f(2) == 3`` becomes ``__vpo_check__(0, (f(2),))``: the sandbox evaluates ``f(2)`` and sends the
value back as plain data; the literal ``3`` never enters the sandbox, and the host applies ``==`` itself, so
neither an object with a forged ``__eq__`` nor a patched builtin can turn a wrong answer into a pass.
Assertions that are not such comparisons become ``__vpo_truth__(i, expr)``: the value must be plain data
and truthy. Asserts nested in functions (HumanEval's ``check(candidate)``) are rewritten too.

The rewrite splices the original source (each assert statement's span replaced, its operands' text kept)
rather than unparsing the tree, and is cached per test source: a training run scores the same tests for
every answer of every step.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
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
_NOT_LITERAL = object()


@dataclass(frozen=True)
class Check:
    """One rewritten assert: ``operands`` are ("const", value) kept here or ("slot", k), the k-th value the
    sandbox sends; no ``ops`` means a truth check of slot 0."""

    ops: tuple[Callable[[Any, Any], Any], ...]
    operands: tuple[tuple[str, Any], ...]


@lru_cache(maxsize=4096)
def rewrite_asserts(source: str) -> tuple[str, tuple[Check, ...]]:
    """The test source with every assert rewritten, and the checks the host evaluates."""
    data = source.encode("utf-8")
    line_starts = [0]
    for line in data.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # ast columns are UTF-8 byte offsets
        return line_starts[line - 1] + column

    def text(node: ast.expr) -> bytes:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return b"(" + data[offset(node.lineno, node.col_offset) : offset(node.end_lineno, node.end_col_offset)] + b")"

    checks: list[Check] = []
    edits: list[tuple[int, int, bytes]] = []
    asserts = sorted((n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Assert)),
                     key=lambda n: (n.lineno, n.col_offset))  # fmt: skip
    for node in asserts:
        check_id = len(checks)
        test = node.test
        if isinstance(test, ast.Compare) and _outside_comparable(test):
            operands: list[tuple[str, Any]] = []
            sent: list[bytes] = []
            for expr in (test.left, *test.comparators):
                literal = _literal(expr)
                if literal is not _NOT_LITERAL:
                    operands.append(("const", literal))
                else:
                    operands.append(("slot", len(sent)))
                    sent.append(text(expr))
            checks.append(Check(tuple(OPERATORS[type(op)] for op in test.ops), tuple(operands)))
            call = b"__vpo_check__(%d, (%s))" % (check_id, b"".join(s + b", " for s in sent))
        else:
            checks.append(Check((), (("slot", 0),)))
            call = b"__vpo_truth__(%d, %s)" % (check_id, text(test))
        assert node.end_lineno is not None and node.end_col_offset is not None
        edits.append((offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset), call))
    pieces, position = [], 0
    for start, end, call in edits:
        pieces += [data[position:start], call]
        position = end
    pieces.append(data[position:])
    return b"".join(pieces).decode("utf-8"), tuple(checks)


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
