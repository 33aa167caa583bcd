"""Names a test binds to a literal and only compares in its asserts: the host keeps their values.

``expected = [1, 2, 3]`` then ``assert sort_it(nums) == expected`` would put the expected value in the sandbox,
where the answer's code can read it (``sys._getframe(1).f_locals["expected"]``, or the calling code's
constants) and return it. Where the name is bound once, by a plain assignment of a literal at the top level
of a function's body (or the module's), and every use of it is an operand of a comparison that an assert after
it in that same body makes on the host, the assignment is dropped from the sandbox's code and the value is a
constant of those checks, as a literal written in the assert would be. Any other use (an argument, an index,
a nested function, ``locals()``) leaves the name as it is.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# calls that can reach a name without naming it
_DYNAMIC = {"locals", "globals", "vars", "eval", "exec", "dir"}
_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)


NOT_LITERAL = object()


def literal(expr: ast.expr) -> Any:
    """The value of a literal expression, else NOT_LITERAL."""
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def hosted_names(
    tree: ast.Module, compared_on_host: Callable[[ast.Compare], bool]
) -> tuple[dict[int, Any], list[ast.Assign]]:
    """The values the host keeps, by ``id`` of each use (a ``Name`` node), and the assignments to drop.
    ``compared_on_host``: whether the host makes a comparison of the kind (see asserts._outside_comparable)."""
    if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _DYNAMIC for n in ast.walk(tree)):
        return {}, []
    declared = {name for n in ast.walk(tree) if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}
    values: dict[int, Any] = {}
    dropped = []
    for scope in (n for n in ast.walk(tree) if isinstance(n, _SCOPES)):
        own = list(_own_nodes(scope))
        bound = Counter(name for node in own for name, _ in _binds(node))  # this scope's own variables
        assignments: dict[str, tuple[ast.Assign, Any]] = {}
        for statement in scope.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name) and bound[target.id] == 1 and target.id not in declared:
                    value = literal(statement.value)
                    if value is not NOT_LITERAL:
                        assignments[target.id] = (statement, value)
        if not assignments:
            continue
        hosted: set[int] = set()  # uses that are operands of a comparison the host makes, after the binding
        for node in own:
            if isinstance(node, ast.Assert):
                for part in and_parts(node.test):
                    if not (isinstance(part, ast.Compare) and compared_on_host(part)):
                        continue
                    for operand in (part.left, *part.comparators):
                        if isinstance(operand, ast.Name) and operand.id in assignments:
                            statement = assignments[operand.id][0]
                            if (node.lineno, node.col_offset) > (statement.lineno, statement.col_offset):
                                hosted.add(id(operand))
        # every use in the scope, its nested functions, lambdas and comprehensions included (a closure reads it),
        # but for those in an assert's message, which the rewritten assert no longer has
        messages = {id(n) for a in ast.walk(scope) if isinstance(a, ast.Assert) and a.msg for n in ast.walk(a.msg)}
        uses: dict[str, list[ast.Name]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assignments:
                if id(node) not in messages:
                    uses.setdefault(node.id, []).append(node)
        for name, (statement, value) in assignments.items():
            found = uses.get(name, [])
            if found and all(id(use) in hosted for use in found):
                values.update((id(use), value) for use in found)
                dropped.append(statement)
    return values, dropped


def binding_sites(tree: ast.AST) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each place the test binds a name: the name, and how: ("module", name) for ``import name [as alias]``,
    ("from", module, name) for ``from module import name [as alias]``, ("other",) for anything else."""
    for node in ast.walk(tree):
        yield from _binds(node)


def _binds(node: ast.AST) -> list[tuple[str, tuple[str, ...]]]:
    """The names one node binds (see binding_sites)."""
    if isinstance(node, ast.Import):
        return [(a.asname or a.name.partition(".")[0], ("module", a.name) if a.asname or "." not in a.name
                 else ("other",)) for a in node.names]  # fmt: skip
    if isinstance(node, ast.ImportFrom):
        return [(a.asname or a.name, ("from", node.module or "", a.name)) for a in node.names]
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [(node.id, ("other",))]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [(node.name, ("other",))]
    if isinstance(node, ast.arg):
        return [(node.arg, ("other",))]
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
        return [(node.name, ("other",))]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [(node.rest, ("other",))]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return [(name, ("other",)) for name in node.names]
    return []


def and_parts(test: ast.expr) -> list[ast.expr]:
    """The parts of ``assert A and B`` (judged as two asserts), or the one test."""
    return test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]


def _own_nodes(scope: ast.AST) -> Iterable[ast.AST]:
    """The nodes of a scope's body, not of the functions, classes, lambdas and comprehensions it holds (an
    assert there is no statement of this scope's body)."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (*_SCOPES, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                 ast.GeneratorExp)):  # fmt: skip
            stack.extend(ast.iter_child_nodes(node))
