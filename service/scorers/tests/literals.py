"""Names a test binds to a literal and only compares in its asserts: the host keeps their values.

``expected = [1, 2, 3]`` then ``assert sort_it(nums) == expected`` would put the expected value in the sandbox,
where the answer's code can read it (``sys._getframe(1).f_locals["expected"]``, or the calling code's
constants) and return it. Where the name is bound once, by a plain assignment of a literal at the top level
of a function's body (or the module's), and every use of it is an operand of a comparison that an assert after
it in that same body makes on the host, the assignment is dropped from the sandbox's code and the value is a
constant of those checks, as a literal written in the assert would be. Any other use (an argument, an index,
a nested function, ``locals()``) leaves the name as it is.

So with a parametrize case's value that a module-level test function only compares (hosted_parameters): each
of its collected calls runs a copy of the function with the value written into its asserts.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from typing import Any

from .spans import Spans

# calls that can reach a name without naming it
_DYNAMIC = {"locals", "globals", "vars", "eval", "exec", "dir"}
_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)
# the methods a test's runner calls before each of its tests, where an instance's attributes may be set
_SETUPS = ("setUp", "setup_method")
# the most text the copies of a test's functions may come to: past it, no more are made
SPECIALIZED_BYTES = 256 * 1024
# and the copies of its loops' bodies (each copy is rewritten, at about 0.3 ms a copy, the first time the test is
# seen; within this, the sandbox's worker compiles the test once for all its executions: see PRECOMPILE_BYTES)
UNROLLED_BYTES = 64 * 1024


# the comparisons the host makes for one part of an assert (asserts.host_compares): none for a part judged inside
HostCompares = Callable[[ast.expr], Sequence[ast.Compare]]
NOT_LITERAL = object()
# the expressions that may be literals (literal() decides): a cheap first check
_LITERAL_SHAPES = ast.Constant | ast.List | ast.Tuple | ast.Set | ast.Dict | ast.UnaryOp | ast.BinOp


def literal(expr: ast.expr) -> Any:
    """The value of a literal expression, else NOT_LITERAL."""
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def hosted_names(tree: ast.Module, host_compares: HostCompares) -> tuple[dict[int, Any], list[ast.Assign]]:
    """The values the host keeps, by ``id`` of each use (a ``Name`` node, or a test class's attribute: see
    _hosted_attributes), and the assignments to drop. ``host_compares``: the comparisons the host makes for
    a part of an assert (see asserts.host_compares)."""
    values, dropped = _hosted_attributes(tree, host_compares)
    scopes = [n for n in ast.walk(tree) if isinstance(n, _SCOPES)]
    if not any(_literal_assignment(statement) for scope in scopes for statement in scope.body):
        return values, dropped  # most tests have no such assignment: checked first, cheaply
    if reaches_dynamically(tree):
        return {}, []
    declared = _declared(tree)
    for scope in scopes:
        if not any(_literal_assignment(statement) for statement in scope.body):
            continue
        own = list(_own_nodes(scope))
        # a module's name is read by the functions it holds too (``EXPECTED = 3``, then ``def test_f(): assert
        # f() == EXPECTED``): its bindings and comparisons are counted in every scope, so that a function's
        # own variable of that name (which would shadow it) leaves it be; a function's, in its own body
        reach = list(ast.walk(tree)) if scope is tree else own
        bound = Counter(name for node in reach for name, _ in _binds(node))
        assignments: dict[str, tuple[ast.Assign, Any]] = {}
        for statement in scope.body:
            target = _literal_assignment(statement)
            if target is not None and bound[target] == 1 and target not in declared:
                assert isinstance(statement, ast.Assign)
                value = literal(statement.value)
                if value is not NOT_LITERAL:
                    assignments[target] = (statement, value)
        if not assignments:
            continue
        # uses that are operands of a comparison the host makes: in this scope's body after the binding, or in
        # a function (called once the module has run, as a test's functions are)
        in_body = {id(node) for node in own}
        hosted: set[int] = set()
        for check, operand in _compared_names(reach, host_compares):
            if operand.id in assignments:
                statement = assignments[operand.id][0]
                after = (check.lineno, check.col_offset) > (statement.lineno, statement.col_offset)
                if after or id(check) not in in_body:
                    hosted.add(id(operand))
        uses = _uses(scope, assignments.keys())
        for name, (statement, value) in assignments.items():
            found = uses.get(name, [])
            if found and all(id(use) in hosted for use in found):
                values.update((id(use), value) for use in found)
                dropped.append(statement)
    return values, dropped


def _hosted_attributes(tree: ast.Module, host_compares: HostCompares) -> tuple[dict[int, Any], list[ast.Assign]]:
    """A test class's attribute that holds a literal and is only compared (``self.expected = [1, 2]`` in setUp
    or setup_method, or ``expected = [1, 2]`` in the class's body; then ``self.assertEqual(f(), self.expected)``
    in its methods): each use, by ``id``, with its value, and the assignment to drop. The attribute is set
    once, every other use is ``self.<name>`` as an operand of a comparison the host makes in an assert of one
    of the class's methods, and nothing else in the test binds or names it (not even as a string)."""
    classes = [c for c in tree.body if isinstance(c, ast.ClassDef)]
    settings = [(c, s) for c in classes for s in _attribute_settings(c)]
    if not settings or reaches_dynamically(tree):
        return {}, []  # most tests set no such attribute: checked first
    operands = {id(o) for c in classes for m in c.body if isinstance(m, ast.FunctionDef)
                for _, o in _compared_operands(_own_nodes(m), host_compares)}  # fmt: skip
    values: dict[int, Any] = {}
    dropped = []
    for cls, statement in settings:
        selves = {m.args.args[0].arg for m in cls.body if isinstance(m, ast.FunctionDef) and m.args.args}
        uses = _attribute_uses(statement, tree)
        if not uses:
            continue
        if not all(id(use) in operands and isinstance(use.value, ast.Name) and use.value.id in selves for use in uses):
            continue
        value = literal(statement.value)
        if value is not NOT_LITERAL:
            values.update((id(use), value) for use in uses)
            dropped.append(statement)
    return values, dropped


def _attribute_settings(cls: ast.ClassDef) -> Iterator[ast.Assign]:
    """A class's assignments of a literal to an attribute: ``name = <literal>`` in its body, and ``self.name =
    <literal>`` at the top level of its setUp or setup_method (where nothing else in the test sets that
    attribute: see _hosted_attributes)."""
    for statement in cls.body:
        if _literal_assignment(statement) and isinstance(statement, ast.Assign):
            yield statement
        elif isinstance(statement, ast.FunctionDef) and statement.name in _SETUPS and statement.args.args:
            me = statement.args.args[0].arg
            for assignment in statement.body:
                if isinstance(assignment, ast.Assign) and len(assignment.targets) == 1:
                    target = assignment.targets[0]
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == me
                    ):
                        if isinstance(assignment.value, _LITERAL_SHAPES):
                            yield assignment


def _attribute_uses(statement: ast.Assign, tree: ast.Module) -> list[ast.Attribute] | None:
    """The uses of the attribute that ``statement`` (one of _attribute_settings) sets, but for its own target,
    where it is the attribute's one setting: nothing else in the test binds that name (another class's
    attribute, a method of that name), reads it bare (in the class's body) or names it as a string
    (``getattr(self, "expected")``), and any other setting of the attribute is among the uses returned; None
    otherwise."""
    target = statement.targets[0]
    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
    bindings = sum(1 for n in ast.walk(tree) for bound, _ in _binds(n) if bound == name)
    if bindings != (1 if isinstance(target, ast.Name) else 0) or _uses(tree, {name}):
        return None
    if any(isinstance(n, ast.Constant) and n.value == name for n in ast.walk(tree)):
        return None
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == name and n is not target]


def _literal_assignment(statement: ast.stmt) -> str | None:
    """The name ``statement`` assigns, if it is ``name = <a literal display or constant>`` (checked cheaply:
    literal() decides)."""
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        return None
    target, value = statement.targets[0], statement.value
    return target.id if isinstance(target, ast.Name) and isinstance(value, _LITERAL_SHAPES) else None


def reaches_dynamically(tree: ast.AST) -> bool:
    """It calls something that reaches names without naming them (``locals()``, ``globals()``...)."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _DYNAMIC for n in ast.walk(tree)
    )


def hosted_parameters(source: str, tree: ast.Module, host_compares: HostCompares) -> str | None:
    """``source`` with each call of a module-level function whose literal arguments a parameter takes only to
    compare made a call of a copy of the function in which that parameter's uses are the literal's text (the
    rewrite then keeps it on the host, as a literal written in the assert); the parameter is given None. That
    is a parametrize case (``@pytest.mark.parametrize("x, expected", [(1, 2)])``, collected as ``test_f(x=1,
    expected=2)``), or a test's own helper (``def check(x, expected): assert f(x) == expected``, then
    ``check(1, 2)``). The function itself (its decorators, which hold the cases, included) is replaced by its
    copies, where every reference to it is such a call, a statement of the module. None when there is none to
    make. The same conditions as hosted_names hold for the parameter in the function."""
    module_calls: dict[int, ast.Call] = {}  # the module's call statements, by their function's node
    called: set[str] = set()  # the functions called with a literal argument (collected test calls have them)
    for statement in _module_statements(tree):
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute):
            module_calls[id(call.func)] = call
            if any(isinstance(a, _LITERAL_SHAPES) for a in [*call.args, *(k.value for k in call.keywords)]):
                called.add(call.func.id if isinstance(call.func, ast.Name) else call.func.attr)
    # the module's functions, and the methods of its classes (a test class's, called on an instance as
    # collect writes it: ``__vpo_case__.test_f(x=1)``)
    functions: list[tuple[ast.FunctionDef, ast.ClassDef | None]]
    functions = [(f, None) for f in tree.body if isinstance(f, ast.FunctionDef)]
    functions += [
        (m, c) for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body if isinstance(m, ast.FunctionDef)
    ]
    if not any(f.name in called for f, _ in functions) or reaches_dynamically(tree):
        return None  # no call of a function with a literal (most tests: the cheap check first)
    declared = _declared(tree)
    bound = Counter(name for node in ast.walk(tree) for name, _ in _binds(node) if name in called)
    references: dict[str, list[ast.expr]] = {}  # each name's loads
    attributes: dict[str, list[ast.expr]] = {}  # each attribute's uses
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            references.setdefault(node.id, []).append(node)
        elif isinstance(node, ast.Attribute):
            attributes.setdefault(node.attr, []).append(node)
    spans = Spans(source)
    edits: list[tuple[int, int, bytes]] = []
    gone: list[tuple[int, int]] = []  # the spans of the marks of the functions replaced by copies
    added = 0  # the text of the copies (at most SPECIALIZED_BYTES in all)
    for function, owner in functions:
        # one function of that name (which is the one called), with its parameters, under pytest's marks only
        if function.name not in called or bound[function.name] != 1 or declared.intersection(_params(function)):
            continue
        if not all(_is_mark(decorator) for decorator in function.decorator_list):
            continue  # a decorator of another kind wraps it: the copies would go without
        hosted = _hosted_uses(function, host_compares)
        named = references.get(function.name, [])
        found = [module_calls.get(id(node)) for node in (attributes.get(function.name, []) if owner else named)]
        calls = [call for call in found if call is not None]
        if not hosted or not calls or len(calls) != len(found) or (owner and named):
            continue  # referred to otherwise than by calls that are statements of the module
        start, end = spans.span(function)
        if added + len(calls) * (end - start) > SPECIALIZED_BYTES:
            continue
        added += len(calls) * (end - start)
        copies, call_edits = [], []
        for index, call in enumerate(calls):
            given = _arguments(function, call, skip=1 if owner else 0)
            if given is None:
                break
            values = {name: given[name] for name in hosted if name in given and literal(given[name]) is not NOT_LITERAL}
            if not values:
                break
            copy = f"__vpo_{function.name}_{index}" + ("__" if owner else "")  # a method's: not name-mangled
            inner = [(*spans.span(use), spans.text(values[use.id]))
                     for name, uses in hosted.items() if name in values for use in uses]  # fmt: skip
            copies.append(_copy(spans, function, copy, inner))
            func = call.func
            renamed = (
                spans.text(func.value) + b"." + copy.encode() if isinstance(func, ast.Attribute) else copy.encode()
            )
            call_edits.append((*spans.span(func), renamed))
            call_edits += [(*spans.span(given[name]), b"None") for name in values]
        else:
            first = min([function.lineno, *(d.lineno for d in function.decorator_list)])
            indent = spans.data[spans.offset(function.lineno, 0) : start]  # a method's, before its def
            edits.append((spans.offset(first, 0), end, indent + (b"\n" + indent).join(copies)))
            edits += call_edits
            gone += [spans.span(decorator) for decorator in function.decorator_list]
    # a list of cases that only those marks named (``CASES = [(1, 2)]``, see collect.case_lists) goes with them
    for name, assignment in case_lists(tree).items():
        if all(any(s <= spans.span(use)[0] < e for s, e in gone) for use in references[name]):
            edits.append((*spans.span(assignment), b"pass"))
    return spans.splice(sorted(edits)) if edits else None


def unrolled_loops(source: str, tree: ast.Module, host_compares: HostCompares) -> str | None:
    """``source`` with each loop over a literal list of cases whose variables the test only compares written out
    once per case (``for x, expected in [(1, 2), (3, 4)]: assert f(x) == expected``), the compared values as
    the literal's text, so that the rewrite keeps them on the host; the loop's other variables are assigned
    before each copy, which is an ``if True:`` block at the loop's place (its body keeps its indentation). The
    list may be a name bound once, by a plain assignment of a list or tuple display at the top level of the
    loop's function or module, that nothing else uses: that assignment then goes too; and ``zip`` or
    ``enumerate`` of such lists (see _loop_cases). A body on the ``for``'s (last) line gets a line of its own in
    each copy. A loop with an ``else``, a ``break`` or ``continue``, or inside another loop written out, stays
    as it is. None when there is none to write out. The same conditions as hosted_names hold for the
    variables."""
    loops = [n for n in ast.walk(tree) if isinstance(n, ast.For) and _over_cases(n.iter)]
    if not loops or reaches_dynamically(tree):
        return None  # most tests have no loop over a list (the cheap check first)
    scope_of: dict[int, ast.AST] = {}
    for owner in (n for n in ast.walk(tree) if isinstance(n, _SCOPES)):
        scope_of.update((id(node), owner) for node in _own_nodes(owner) if isinstance(node, ast.For))
    declared = _declared(tree)
    everywhere = Counter(name for name, _ in binding_sites(tree))
    spans = Spans(source)
    edits: list[tuple[int, int, bytes]] = []
    added = 0  # the text of the copies (at most UNROLLED_BYTES in all)
    for loop in loops:
        scope = scope_of.get(id(loop))  # None: in a class's body
        start, end = spans.span(loop)
        if scope is None:
            continue
        if any(s < end and start < e for s, e, _ in edits):
            continue  # in a loop written out already (or holding the list assigned for one)
        if loop.orelse or _escapes(loop.body):
            continue
        names = _target_names(loop.target)
        found = _loop_cases(loop, scope, tree, everywhere) if names else None
        if names is None or found is None:
            continue
        cases, assignments = found
        hosted = _loop_hosted(loop, scope, names, declared, host_compares)
        # ``for case in CASES: assert f(case[0]) == case[1]`` (or ``case["expected"]``): each item's part
        indexed = _indexed_uses(loop, scope, names, declared, host_compares, cases) if not hosted else {}
        indent = spans.data[spans.offset(loop.lineno, 0) : start]
        body_start, first = spans.offset(loop.body[0].lineno, 0), spans.span(loop.body[0])[0]
        inner = spans.data[body_start:first]  # the body's indentation
        one_line = bool(inner.strip())  # the body on the (last) line of the ``for``: one line of statements
        if one_line:  # each copy gives it a line of its own, indented anew
            body_start, inner = first, indent + b"    "
        if not (hosted or indexed) or added + len(cases) * (end - body_start) > UNROLLED_BYTES:
            continue
        added += len(cases) * (end - body_start)
        copies = []
        text = functools.partial(_case_text, spans)
        for index, case in enumerate(cases):
            given = dict(zip(names, case, strict=True))
            replacements = [(*spans.span(use), text(given[use.id])) for uses in hosted.values() for use in uses]
            replacements += [(*spans.span(use), text(parts[index])) for use, parts in indexed.items()]
            assigned = b"".join(inner + f"{name} = ".encode() + text(given[name]) + b"\n"
                                for name in names if name not in hosted and not indexed)  # fmt: skip
            own_line = inner if one_line else b""
            copies.append(b"if True:\n" + assigned + own_line + _region(spans, body_start, end, replacements))
        edits.append((start, end, (b"\n" + indent).join(copies)))
        edits += [(*spans.span(assignment), b"pass") for assignment in assignments]
    return spans.splice(sorted(edits)) if edits else None


def unrolled_alls(source: str, tree: ast.Module) -> str | None:
    """``source`` with each ``all(...)`` over literal cases that an assert tests (``assert all(f(x) == y for x, y
    in [(1, 2), (3, 4)])``, or one part of its ``and``) written out as the ``and`` of its element, once per case
    with the case's values written in: ``assert (f(1) == 2) and (f(3) == 4)``. The rewrite then judges each
    part on the host as an assert of its own (see and_parts), so an expected value stays out of the sandbox and
    an answer's object with a forged ``__eq__`` passes none (``all`` of the comparisons' results, made in the
    sandbox, took its word). The comprehension has one ``for`` and no ``if``, over a list or tuple display of
    literals (or ``zip`` or ``enumerate`` of such), written there or bound to a name as a loop's may be (see
    _named_list: that assignment then goes too), and its element no lambda, comprehension or ``:=`` of its
    own; the test binds no ``all``, ``zip`` or ``enumerate`` of its own. None when there is none to write out."""
    if "all" not in source:
        return None  # most tests have no all() (the cheap check first)
    asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    found = [(node, part, comprehension) for node in asserts for part in and_parts(node.test)
             if (comprehension := _all_of_comprehension(part)) is not None]  # fmt: skip
    if not found or reaches_dynamically(tree):
        return None
    everywhere = Counter(name for name, _ in binding_sites(tree))
    if everywhere["all"] or everywhere["zip"] or everywhere["enumerate"]:
        return None
    scope_of = {id(node): owner for owner in ast.walk(tree) if isinstance(owner, _SCOPES)
                for node in _own_nodes(owner) if isinstance(node, ast.Assert)}  # fmt: skip
    spans = Spans(source)
    edits: list[tuple[int, int, bytes]] = []
    added = 0  # the text of the copies (at most UNROLLED_BYTES in all)
    for statement, part, comprehension in found:
        generator = comprehension.generators[0]
        names = _target_names(generator.target)
        if names is None:
            continue
        scope = scope_of.get(id(statement))  # None: in a class's body (a list written there only)

        def display(source: ast.expr, at: ast.stmt = statement, scope: ast.AST | None = scope) -> tuple[Any, Any]:
            named = None
            if isinstance(source, ast.Name) and scope is not None:
                named = _named_list(source, at, scope, tree, everywhere)
            return (named.value if named is not None else source), named

        found_cases = _cases(generator.iter, generator.target, display)
        if found_cases is None:
            continue
        cases, assignments = found_cases
        start, end = spans.span(comprehension.elt)
        if added + len(cases) * (end - start + 6) > UNROLLED_BYTES:
            continue
        added += len(cases) * (end - start + 6)
        uses = [n for n in ast.walk(comprehension.elt) if isinstance(n, ast.Name) and n.id in names]
        copies = []
        for case in cases:
            given = dict(zip(names, case, strict=True))
            replacements = [(*spans.span(use), b"(%s)" % _case_text(spans, given[use.id])) for use in uses]
            copies.append(b"(%s)" % _region(spans, start, end, replacements))
        edits.append((*spans.span(part), b" and ".join(copies)))
        edits += [(*spans.span(assignment), b"pass") for assignment in assignments]
    return spans.splice(sorted(edits)) if edits else None


def _all_of_comprehension(part: ast.expr) -> ast.GeneratorExp | ast.ListComp | None:
    """The comprehension of ``all(<comprehension>)`` with one ``for`` and no ``if``, its element free of nested
    scopes and ``:=``; None for anything else."""
    if not (isinstance(part, ast.Call) and isinstance(part.func, ast.Name) and part.func.id == "all"):
        return None
    comprehension = part.args[0] if len(part.args) == 1 and not part.keywords else None
    if not isinstance(comprehension, ast.GeneratorExp | ast.ListComp):
        return None
    if len(comprehension.generators) != 1 or comprehension.generators[0].ifs or comprehension.generators[0].is_async:
        return None
    nested = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr)
    return None if any(isinstance(node, nested) for node in ast.walk(comprehension.elt)) else comprehension


def _loop_cases(
    loop: ast.For, scope: ast.AST, tree: ast.Module, everywhere: Counter[str]
) -> tuple[list[list[ast.expr]], list[ast.Assign]] | None:
    """Each case of a loop over literal cases, as the expression of each of its variables (in the order of
    _target_names), and the assignments of the lists it names (see _named_list); None for a loop over anything
    else. The cases are a list or tuple display, or ``zip`` or ``enumerate`` of such (``for x, y in
    zip(inputs, outputs)``, ``for i, (x, y) in enumerate(cases)``), each display written there or named."""
    if isinstance(loop.iter, ast.Call) and isinstance(loop.iter.func, ast.Name) and everywhere[loop.iter.func.id]:
        return None  # the test's own zip or enumerate

    def display(source: ast.expr) -> tuple[ast.expr, ast.Assign | None]:
        assignment = None
        if isinstance(source, ast.Name):
            assignment = _named_list(source, loop, scope, tree, everywhere)
        elif isinstance(source, ast.Attribute):
            assignment = _attribute_list(source, scope, tree)
        return (assignment.value if assignment is not None else source), assignment

    return _cases(loop.iter, loop.target, display)


def _cases(
    iterable: ast.expr, target: ast.expr, display: Callable[[ast.expr], tuple[ast.expr, ast.Assign | None]]
) -> tuple[list[list[ast.expr]], list[ast.Assign]] | None:
    """The cases a ``for target in iterable`` goes over, where ``iterable`` is a list or tuple display of
    literals, or ``zip`` or ``enumerate`` of such (``display`` gives the display a source stands for, and the
    assignment that bound it there, if any), as the expression of each of the target's names; and those
    assignments. None for anything else."""
    call = iterable.func.id if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) else None
    if isinstance(iterable, ast.Call) and (call not in ("zip", "enumerate") or iterable.keywords):
        return None
    sources = iterable.args if isinstance(iterable, ast.Call) else [iterable]
    if call == "enumerate" and len(sources) not in (1, 2):
        return None
    start = literal(sources[1]) if call == "enumerate" and len(sources) == 2 else 0
    sources = sources[:1] if call == "enumerate" else sources
    if not sources or not isinstance(start, int) or isinstance(start, bool):
        return None
    displays, assignments = [], []
    for source in sources:
        shown, assignment = display(source)
        if not isinstance(shown, ast.List | ast.Tuple) or literal(shown) is NOT_LITERAL:
            return None
        displays.append(shown.elts)
        assignments += [assignment] if assignment is not None else []
    items: list[ast.expr | list[ast.expr]]
    if call == "zip":
        items = [list(parts) for parts in zip(*displays, strict=False)]
    elif call == "enumerate":
        items = [[ast.Constant(start + index), item] for index, item in enumerate(displays[0])]
    else:
        items = list(displays[0])
    cases = [_destructure(target, item) for item in items]
    if not cases or any(case is None for case in cases):
        return None
    return [case for case in cases if case is not None], assignments


def _target_names(target: ast.expr) -> list[str] | None:
    """The names a loop's target binds, in order (``i, (x, y)``: i, x, y); None for one this does not write
    out (a starred name, an attribute, an index)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        names: list[str] = []
        for element in target.elts:
            inner = _target_names(element)
            if inner is None:
                return None
            names += inner
        return names
    return None


def _destructure(target: ast.expr, item: ast.expr | list[ast.expr]) -> list[ast.expr] | None:
    """What each name of ``target`` gets of ``item`` (a display, or the items zip or enumerate make), as
    unpacking it would give; None where it does not unpack so."""
    if isinstance(target, ast.Name):
        return [item] if isinstance(item, ast.expr) else None
    assert isinstance(target, ast.Tuple | ast.List)
    parts = item if isinstance(item, list) else item.elts if isinstance(item, ast.Tuple | ast.List) else None
    if parts is None or len(parts) != len(target.elts) or any(isinstance(part, ast.Starred) for part in parts):
        return None
    found: list[ast.expr] = []
    for element, part in zip(target.elts, parts, strict=True):
        inner = _destructure(element, part)
        if inner is None:
            return None
        found += inner
    return found


def _case_text(spans: Spans, node: ast.expr) -> bytes:
    """The text of a case's part: the source's, or an index that enumerate gives."""
    if isinstance(node, ast.Constant) and getattr(node, "end_col_offset", None) is None:
        return repr(node.value).encode()
    return spans.text(node)


def _over_cases(iterable: ast.expr) -> bool:
    """A loop over this may be one over literal cases (a cheap first check: _loop_cases decides)."""
    if isinstance(iterable, ast.Call):
        return isinstance(iterable.func, ast.Name) and iterable.func.id in ("zip", "enumerate")
    return isinstance(iterable, ast.List | ast.Tuple | ast.Name | ast.Attribute)


def _escapes(body: list[ast.stmt]) -> bool:
    """A ``break`` or ``continue`` of the loop whose body this is (not of a loop or function inside it)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break | ast.Continue):
            return True
        if not isinstance(node, (*_SCOPES, ast.ClassDef, ast.Lambda, ast.For, ast.While, ast.AsyncFor)):
            stack.extend(ast.iter_child_nodes(node))
        elif isinstance(node, ast.For | ast.While | ast.AsyncFor):  # their else blocks are this loop's
            stack.extend(node.orelse)
    return False


def _named_list(
    node: ast.Name, loop: ast.stmt, scope: ast.AST, tree: ast.Module, everywhere: Counter[str]
) -> ast.Assign | None:
    """The assignment of a list a loop goes over by name (``for x, y in CASES``, ``node`` the name; or an
    assert's ``all()``, ``loop`` the assert): a list or tuple display bound by the name's one binding in the
    test, a plain assignment at the top level of the loop's scope (before the loop) or of the module, and the
    loop's use its one use."""
    name = node.id
    if everywhere[name] != 1 or _uses(tree, {name}).get(name) != [node]:
        return None
    for owner in {id(scope): scope, id(tree): tree}.values():
        for statement in getattr(owner, "body", []):
            if _literal_assignment(statement) == name and isinstance(statement, ast.Assign):
                if owner is tree and scope is not tree or statement.lineno < loop.lineno:
                    return statement
    return None


def _attribute_list(node: ast.Attribute, scope: ast.AST, tree: ast.Module) -> ast.Assign | None:
    """The assignment of a list a test method's loop goes over as an attribute (``for x, y in self.cases``,
    ``node`` the attribute): a list or tuple display set once, by ``self.cases = [...]`` at the top level of
    its class's setUp (or setup_method), or by ``cases = [...]`` in its class's body (see _attribute_settings),
    and this loop its one use (see _attribute_uses)."""
    owner = next((c for c in tree.body if isinstance(c, ast.ClassDef) and scope in c.body), None)
    arguments = getattr(scope, "args", None)
    if owner is None or arguments is None or not arguments.args or not isinstance(node.value, ast.Name):
        return None
    if node.value.id != arguments.args[0].arg:
        return None
    for statement in _attribute_settings(owner):
        target = statement.targets[0]
        if (target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")) == node.attr:
            if isinstance(statement.value, ast.List | ast.Tuple) and _attribute_uses(statement, tree) == [node]:
                return statement
            return None
    return None


def _indexed_uses(
    loop: ast.For,
    scope: ast.AST,
    names: list[str],
    declared: set[str],
    host_compares: HostCompares,
    cases: list[list[ast.expr]],
) -> dict[ast.Subscript, list[ast.expr]]:
    """For a loop of one variable over cases that are tuple, list or dict displays, used only as ``case[0]``
    or ``case["key"]`` in the loop's own statements, and at least once as an operand of a comparison the host
    makes: each such use with its part of every case. Empty otherwise (or where a case has no such part)."""
    if len(names) != 1 or not isinstance(loop.target, ast.Name) or names[0] in declared:
        return {}
    name = names[0]
    if sum(1 for node in _own_nodes(scope) for bound, _ in _binds(node) if bound == name) != 1:
        return {}
    uses = _uses(scope, {name}).get(name, [])
    body = list(_own_nodes(loop))
    own = {id(node) for node in body}
    parents = {id(node.value): node for node in body if isinstance(node, ast.Subscript)}
    indexed: dict[ast.Subscript, list[ast.expr]] = {}
    for use in uses:
        subscript = parents.get(id(use))
        if subscript is None or id(use) not in own or not isinstance(subscript.ctx, ast.Load):
            return {}  # the case itself, or ``case[0] = x``: a change to the case
        key = literal(subscript.slice)  # ``case[-1]`` too
        if not isinstance(key, int | str):
            return {}
        parts = [_part(case[0], key) for case in cases]
        if any(part is None for part in parts):
            return {}
        indexed[subscript] = [part for part in parts if part is not None]
    operands = {id(operand) for _, operand in _compared_operands(body, host_compares)}
    return indexed if any(id(subscript) in operands for subscript in indexed) else {}


def _part(item: ast.expr, key: Any) -> ast.expr | None:
    """``item[key]`` of a case written as a display: an element of a tuple or list (no starred ones), or the
    value of a dict's key (its keys all constants); None where there is none such."""
    if isinstance(item, ast.Tuple | ast.List) and isinstance(key, int) and not isinstance(key, bool):
        if any(isinstance(e, ast.Starred) for e in item.elts) or not -len(item.elts) <= key < len(item.elts):
            return None
        return item.elts[key]
    if isinstance(item, ast.Dict) and all(isinstance(k, ast.Constant) for k in item.keys):
        matches = [v for k, v in zip(item.keys, item.values, strict=True)
                   if isinstance(k, ast.Constant) and type(k.value) is type(key) and k.value == key]  # fmt: skip
        return matches[-1] if matches else None
    return None


def _loop_hosted(
    loop: ast.For,
    scope: ast.AST,
    names: list[str],
    declared: set[str],
    host_compares: HostCompares,
) -> dict[str, list[ast.Name]]:
    """The loop's variables that only its body compares, in asserts the host judges, each with its uses: bound
    by the loop alone in its scope (not declared global or nonlocal), and used nowhere else in that scope."""
    bound = Counter(name for node in _own_nodes(scope) for name, _ in _binds(node))
    operands = {id(operand) for _, operand in _compared_names(_own_nodes(loop), host_compares)}
    candidates = {name for name in names if bound[name] == 1 and name not in declared and names.count(name) == 1}
    uses = _uses(scope, candidates)
    return {name: found for name, found in uses.items() if all(id(use) in operands for use in found)}


def _region(spans: Spans, start: int, end: int, replacements: list[tuple[int, int, bytes]]) -> bytes:
    """The source's bytes from ``start`` to ``end``, each (start, end, text) of ``replacements`` made."""
    out, position = [], start
    for s, e, text in sorted(replacements):
        out += [spans.data[position:s], text]
        position = e
    out.append(spans.data[position:end])
    return b"".join(out)


def case_lists(tree: ast.Module) -> dict[str, ast.Assign]:
    """The module's names of parametrize cases (``CASES = [(1, 2), (3, 4)]``, then ``@pytest.mark.parametrize("x,
    expected", CASES)``), each with its assignment: a name bound once in the whole test, by a plain assignment of
    a list or tuple display in the module's body, used as the cases of parametrize marks and otherwise only
    read (``len(CASES)``, ``CASES[0]``, ``for case in CASES``, ``x in CASES``). Nothing can change their cases,
    so collect expands them as if the display were written in each mark (not in the sandbox, where an answer
    could patch the stand-in that would expand them), and the host can keep an expected value they hold
    (hosted_parameters)."""
    assigned = {s.targets[0].id: s for s in tree.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.List | ast.Tuple)}  # fmt: skip
    if not assigned or reaches_dynamically(tree):
        return {}
    bound = Counter(name for node in ast.walk(tree) for name, _ in _binds(node) if name in {*assigned, "len"})
    marks = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "parametrize"]  # fmt: skip
    as_cases = {id(a) for n in marks for a in [*n.args[1:2], *(k.value for k in n.keywords if k.arg == "argvalues")]}
    uses = _uses(tree, assigned.keys())
    marked = {name for name, found in uses.items() if any(id(use) in as_cases for use in found)}
    if not marked:
        return {}
    read, counted = _read_only(tree, bound["len"] == 0)
    found = {}
    for name in marked:
        # cases holding lists, dicts or sets could be changed through an item read (``CASES[0].append(1)``)
        items = getattr(assigned[name].value, "elts", [])  # a list or tuple display (see assigned)
        mutable = any(isinstance(n, ast.List | ast.Dict | ast.Set) for item in items for n in ast.walk(item))
        allowed = counted if mutable else read
        if bound[name] == 1 and all(id(use) in as_cases or id(use) in allowed for use in uses[name]):
            found[name] = assigned[name]
    return found


def _read_only(tree: ast.Module, builtin_len: bool) -> tuple[set[int], set[int]]:
    """The expressions (by ``id``) whose value is only read: iterated (a loop's or comprehension's iterable),
    indexed (``x[0]``), compared (``x in y``), or the one argument of the builtin ``len``; and those of the
    last kind alone (which reach none of the value's items)."""
    read: set[int] = set()
    counted: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension):
            read.add(id(node.iter))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            read.add(id(node.value))
        elif isinstance(node, ast.Compare):
            read.update(id(operand) for operand in (node.left, *node.comparators))
        elif builtin_len and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            counted.update(id(argument) for argument in node.args[:1] if len(node.args) == 1 and not node.keywords)
    return read | counted, counted


def _arguments(function: ast.FunctionDef, call: ast.Call, skip: int = 0) -> dict[str, ast.expr] | None:
    """The argument ``call`` gives each parameter of ``function`` it names, by the parameter's name (its first
    ``skip`` given otherwise: a method's ``self``); None for a call this does not read so (``*args``,
    ``**kwargs``, more positional arguments than parameters, or one parameter given twice)."""
    positional = [a.arg for a in [*function.args.posonlyargs, *function.args.args]][skip:]
    if len(call.args) > len(positional) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    given: dict[str, ast.expr] = dict(zip(positional, call.args, strict=False))
    for keyword in call.keywords:
        if keyword.arg is None or keyword.arg in given:
            return None
        given[keyword.arg] = keyword.value
    return given


def _copy(spans: Spans, function: ast.FunctionDef, name: str, replacements: list[tuple[int, int, bytes]]) -> bytes:
    """The text of ``function`` from its ``def`` (not its decorators), named ``name``, each (start, end, text)
    of ``replacements`` (offsets in the source) made."""
    start, end = spans.span(function)
    named = re.match(rb"def\s+", spans.data[start:end])
    assert named is not None
    at = start + named.end()
    return _region(spans, start, end, [(at, at + len(function.name.encode()), name.encode()), *replacements])


def _is_mark(decorator: ast.expr) -> bool:
    """``@pytest.mark.x`` or ``@mark.x`` (with arguments or not): the stand-in's marks change nothing, and the
    collected calls already follow them."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if not isinstance(target, ast.Attribute):
        return False
    owner = target.value
    return (isinstance(owner, ast.Name) and owner.id == "mark") or (
        isinstance(owner, ast.Attribute) and owner.attr == "mark" and isinstance(owner.value, ast.Name)
    )


def _params(function: ast.FunctionDef) -> set[str]:
    arguments = function.args
    return {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}


def _hosted_uses(function: ast.FunctionDef, host_compares: HostCompares) -> dict[str, list[ast.Name]]:
    """The parameters of ``function`` that it only compares in its own asserts, host-judged: each with its
    uses (an assert's message aside)."""
    if function.args.vararg or function.args.kwarg:
        return {}
    own = list(_own_nodes(function))
    bound = Counter(name for node in own for name, _ in _binds(node))
    candidates = {name for name in _params(function) if bound[name] == 1}
    operands = {id(operand) for _, operand in _compared_names(own, host_compares)}
    uses = _uses(function, candidates)
    return {name: found for name, found in uses.items() if all(id(use) in operands for use in found)}


def _compared_names(own: Iterable[ast.AST], host_compares: HostCompares) -> Iterator[tuple[ast.Assert, ast.Name]]:
    """Each name that stands as an operand of a comparison the host makes, in an assert among ``own`` (a
    scope's own nodes), with that assert."""
    for node, operand in _compared_operands(own, host_compares):
        if isinstance(operand, ast.Name):
            yield node, operand


def _compared_operands(own: Iterable[ast.AST], host_compares: HostCompares) -> Iterator[tuple[ast.Assert, ast.expr]]:
    """Each operand of a comparison the host makes, in an assert among ``own``, with that assert."""
    for node in own:
        if isinstance(node, ast.Assert):
            for part in and_parts(node.test):
                for compare in host_compares(part):
                    for operand in (compare.left, *compare.comparators):
                        yield node, operand


def _declared(tree: ast.AST) -> set[str]:
    """The names a ``global`` or ``nonlocal`` statement declares anywhere in the test."""
    return {name for n in ast.walk(tree) if isinstance(n, ast.Global | ast.Nonlocal) for name in n.names}


def _uses(scope: ast.AST, names: Container[str]) -> dict[str, list[ast.Name]]:
    """Every use of ``names`` in ``scope``, its nested functions, lambdas and comprehensions included (a closure
    reads them), but for those in an assert's message, which the rewritten assert no longer has."""
    messages = {id(n) for a in ast.walk(scope) if isinstance(a, ast.Assert) and a.msg for n in ast.walk(a.msg)}
    uses: dict[str, list[ast.Name]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
            if id(node) not in messages:
                uses.setdefault(node.id, []).append(node)
    return uses


def _module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """The module's statements, those in its if, for, while, with and try blocks included (not in functions
    or classes)."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            stack.extend(getattr(statement, field, []))
        for handler in getattr(statement, "handlers", []):
            stack.extend(handler.body)


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
    """The parts of ``assert A and B`` (judged as two asserts), those of a part that is itself an ``and``
    (``A and (B and C)``) too, or the one test."""
    if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And)):
        return [test]
    return [part for value in test.values for part in and_parts(value)]


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
