"""Test files written for pytest or unittest, made into tests that run as a script.

A pytest file defines ``test*`` functions (and ``Test*`` classes of ``test*`` methods) and leaves calling them
to pytest; a unittest file defines ``unittest.TestCase`` classes and calls ``unittest.main()``, which ends the
process. Run as a script, the first would run no test and the second would end in SystemExit. So
:func:`runnable` appends the calls pytest or unittest would make, in the order of the file:

- a ``test*`` function of the module that the module does not refer to itself, once, or once per case of its
  ``pytest.mark.parametrize`` decorators (written out here, or by the stand-in's ``parametrized`` as the test
  runs where the cases are given by a name), given the fixtures it asks for: the module's own
  ``@pytest.fixture`` functions (its ``autouse`` ones whether asked for or not), given in turn the fixtures
  they ask for, each made once per call and finished after it (the code after a ``yield``; one of module,
  package or session scope without params, asking only for such fixtures, once for the file's tests, made
  by the first that needs it and finished after them all; one of class scope, so for a test class's tests),
  one call per
  param of a fixture with ``params`` or of an indirect parametrize (``request.param``; params that are no
  list display are gone through as the test runs), and pytest's ``capsys``, ``capfd``, ``monkeypatch``,
  ``caplog``, ``recwarn``, ``tmp_path``, ``tmpdir``, and pytest-mock's ``mocker`` (see BUILTIN_FIXTURES), and
  those its ``usefixtures`` marks name. Its marks are its own, its class's and the module's ``pytestmark``: a
  ``skipif`` makes the call only where its condition is false (as the test runs). Not one marked ``skip`` or
  ``xfail``, nor one with a parameter that none of these fills (another fixture: other plugins', or one that
  asks for such a fixture);
- each ``test*`` method of a ``Test*`` class without ``__init__``, on a fresh instance, between the class's
  ``setup_method``/``teardown_method`` (and ``setup_class``/``teardown_class``) where it has them, given the
  fixtures as above and the class's own fixture methods (called on the instance);
- each ``test*`` method of a ``TestCase`` class (its own and those of its TestCase bases in the file; not one
  decorated ``skip``, ``skipIf``, ``skipUnless`` or ``expectedFailure``), on ``Class("test_name")`` between
  ``setUp`` and ``tearDown`` (``setUpClass``/``tearDownClass`` around them).

The module's xunit-style hooks run around them: pytest's ``setup_module``/``teardown_module`` before and after
its tests, ``setup_function``/``teardown_function`` around each test function; unittest's
``setUpModule``/``tearDownModule`` around its TestCase classes. All in the file's order.

A ``unittest.main(...)`` or ``pytest.main(...)`` statement becomes ``pass``, and in TestCase classes the
assertion methods that compare values (``self.assertEqual(a, b)``, ``assertTrue``, ``assertIn``,
``assertIsNone``, ``assertAlmostEqual``..., see ASSERT_METHODS) become the assert statements they stand for,
so that the host judges them as any other assert (see asserts). Others (``assertRaises``,
``assertCountEqual``...) run in the sandbox as unittest has them. The sandbox's ``pytest`` is a stand-in
(service/sandbox/pytest_stand_in.py): ``raises``, ``approx``, ``fail``, ``skip``, ``param``, ``mark``,
``fixture``, and the fixtures above.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from .literals import case_lists
from .spans import Spans

# unittest's assertion methods that are a comparison: their parameters (but ``msg``, which each takes last) and
# the assert each stands for, from its arguments' text (each in parentheses: ``assertEqual(f(1) > 0, True)`` is
# ``(f(1) > 0) == (True)``, not the chain ``f(1) > 0 == True``)
_EQUAL = "({0}) == ({1})"
ASSERT_METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    **dict.fromkeys(("assertEqual", "assertEquals", "assertMultiLineEqual"), (("first", "second"), _EQUAL)),
    "assertListEqual": (("list1", "list2"), _EQUAL),
    "assertTupleEqual": (("tuple1", "tuple2"), _EQUAL),
    "assertDictEqual": (("d1", "d2"), _EQUAL),
    "assertSetEqual": (("set1", "set2"), _EQUAL),
    "assertSequenceEqual": (("seq1", "seq2"), _EQUAL),
    **dict.fromkeys(("assertNotEqual", "assertNotEquals"), (("first", "second"), "({0}) != ({1})")),
    **dict.fromkeys(("assertTrue", "assert_"), (("expr",), "({0})")),
    "assertFalse": (("expr",), "not ({0})"),
    "assertIs": (("expr1", "expr2"), "({0}) is ({1})"),
    "assertIsNot": (("expr1", "expr2"), "({0}) is not ({1})"),
    "assertIsNone": (("obj",), "({0}) is None"),
    "assertIsNotNone": (("obj",), "({0}) is not None"),
    "assertIn": (("member", "container"), "({0}) in ({1})"),
    "assertNotIn": (("member", "container"), "({0}) not in ({1})"),
    "assertIsInstance": (("obj", "cls"), "isinstance(({0}), ({1}))"),
    "assertNotIsInstance": (("obj", "cls"), "not isinstance(({0}), ({1}))"),
    "assertGreater": (("a", "b"), "({0}) > ({1})"),
    "assertGreaterEqual": (("a", "b"), "({0}) >= ({1})"),
    "assertLess": (("a", "b"), "({0}) < ({1})"),
    "assertLessEqual": (("a", "b"), "({0}) <= ({1})"),
}  # fmt: skip
ALMOST_EQUAL = {"assertAlmostEqual": "==", "assertAlmostEquals": "==", "assertNotAlmostEqual": "!=",
                "assertNotAlmostEquals": "!="}  # fmt: skip
SKIPPING_MARKS = {"skip", "skipif", "xfail"}  # (skipif with a condition: the test runs where it is false)
UNITTEST_SKIPS = {"skip", "skipIf", "skipUnless", "expectedFailure"}  # unittest's decorators: the test is not run
CASE = "__vpo_case__"  # the instance the appended calls run a test method on
SHARED_SCOPES = {"module", "package", "session"}  # a fixture of these scopes is made once for the file's tests
SHARED = "__vpo_shared_"  # the prefix of the names of such a fixture's value and generator
PARAM = "__vpo_param_"  # the key of a fixture's param in a case expanded as the test runs (``__vpo_param_x``)
MAX_CASES = 10_000  # the calls of one test function (its parametrize cases, multiplied): more is refused
# the module's own functions pytest (setup_module, setup_function...) and unittest (setUpModule...) call
XUNIT_HOOKS = {"setup_module", "teardown_module", "setup_function", "teardown_function", "setUpModule",
               "tearDownModule"}  # fmt: skip
# pytest's own fixtures the sandbox's stand-in makes (pytest_stand_in.builtin_fixture), and whether each is
# finished after the test (stdout back, monkeypatches undone)
BUILTIN_FIXTURES = {"capsys": True, "capfd": True, "monkeypatch": True, "caplog": True, "mocker": True,
                    "recwarn": True, "tmp_path": False, "tmpdir": False}  # fmt: skip


def runnable(source: str, tree: ast.Module) -> str | None:
    """``source`` made to run its pytest or unittest tests as a script (see the module's docstring); None
    when it has none (a test of plain asserts: nothing to change). Raises ValueError for a test function of
    more than MAX_CASES parametrized cases."""
    imports = _imports(tree)
    referred = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    cases = _test_cases(tree, imports)
    fixtures = _fixtures(tree.body, imports)
    hooks = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name in XUNIT_HOOKS}
    module_marks = tuple(mark for s in tree.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                         and isinstance(s.targets[0], ast.Name) and s.targets[0].id == "pytestmark"
                         for mark in _marks(s.value))  # fmt: skip
    lists = case_lists(tree)
    calls: list[str] = []
    shared = Shared()  # the fixtures made once for the file (module scope), and in a class for the class
    first_case = last_case = 0  # where in ``calls`` unittest's calls begin and end (their module hooks there)
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name.startswith("test"):
            if statement.name not in referred:
                around = [_hook(hooks, "setup_function", statement.name), _hook(hooks, "teardown_function",
                                                                                 statement.name)]  # fmt: skip
                for call in _calls(statement, imports, fixtures, shared, 0, module_marks, lists):
                    call = replace(call, before=(*around[0], *call.before), after=(*call.after, *around[1]))
                    calls += call.lines(statement.name)
        elif isinstance(statement, ast.ClassDef) and statement.name in cases:
            case_calls = _unittest_calls(statement, cases)
            if case_calls:
                first_case = first_case if last_case else len(calls)
                calls += case_calls
                last_case = len(calls)
        elif isinstance(statement, ast.ClassDef) and statement.name.startswith("Test"):
            calls += _pytest_class_calls(statement, imports, fixtures, shared, module_marks, lists)
    pytest_calls = len(calls) - (last_case - first_case)
    if last_case:  # unittest's module hooks, before its first TestCase's calls and after its last's
        cases_calls = calls[first_case:last_case]
        calls[first_case:last_case] = [*_hook(hooks, "setUpModule"), *cases_calls, *_hook(hooks, "tearDownModule")]
    if pytest_calls:  # pytest's, around all its tests (the file's fixtures finished after them, the last first)
        finish = _finish(shared.file, SHARED, fixtures)
        calls = [*_hook(hooks, "setup_module", "None"), *calls, *finish, *_hook(hooks, "teardown_module", "None")]
    spans = Spans(source)
    edits = [
        (*spans.span(s), b"pass") for s in ast.walk(tree) if isinstance(s, ast.Expr) and _is_runner_main(s, imports)
    ]
    for case in cases.values():
        edits += _assert_statements(case, spans)
    if not calls and not edits:
        return None
    edits.sort()
    tail = "".join(f"\n{call}" for call in calls) + "\n"
    return spans.splice(edits, b"\n" + tail.encode("utf-8"))


def _hook(hooks: dict[str, ast.FunctionDef], name: str, argument: str | None = None) -> list[str]:
    """The call of the module's xunit-style hook ``name`` if it has one (pytest's ``setup_function(function)``
    and ``setup_module(module)`` may take their argument or not; here a module is None)."""
    hook = hooks.get(name)
    if hook is None:
        return []
    takes = argument is not None and len([*hook.args.posonlyargs, *hook.args.args]) > len(hook.args.defaults)
    return [f"{name}({argument})" if takes else f"{name}()"]


def _imports(tree: ast.Module) -> dict[str, str]:
    """The qualified name each imported name stands for: ``pytest``, ``unittest.TestCase``, ``pytest.mark``."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname or "." not in alias.name:
                    found[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _qualified(expr: ast.expr, imports: dict[str, str]) -> str | None:
    """``pytest.mark.parametrize`` for ``mark.parametrize`` where the test did ``from pytest import mark``."""
    if isinstance(expr, ast.Name):
        return imports.get(expr.id)
    if isinstance(expr, ast.Attribute):
        owner = _qualified(expr.value, imports)
        return None if owner is None else f"{owner}.{expr.attr}"
    return None


def _is_runner_main(statement: ast.Expr, imports: dict[str, str]) -> bool:
    """``unittest.main(...)`` or ``pytest.main([__file__])``: the runner, which the appended calls stand for."""
    call = statement.value
    return isinstance(call, ast.Call) and _qualified(call.func, imports) in ("unittest.main", "pytest.main")


@dataclass(frozen=True)
class Call:
    """One call of a test function: its arguments (text), and the statements to run before and after it (the
    making and the finishing of fixtures); with a ``loop``, once per mapping of parameters that expression
    gives (``__vpo_parameters__``); with a ``guard``, only where it holds."""

    args: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    loop: str | None = None
    guard: str | None = None  # the call is made only where this holds (``skipif`` conditions, negated)

    def lines(self, function: str) -> list[str]:
        """The statements that make the call of ``function`` (text: ``test_x`` or ``__vpo_case__.test_x``)."""
        body = [*self.before, f"{function}({self.args})", *self.after]
        if self.loop is not None:
            body = [f"for __vpo_parameters__ in {self.loop}:", *(f"    {line}" for line in body)]
        if self.guard is not None:
            body = [f"if {self.guard}:", *(f"    {line}" for line in body)]
        return body


@dataclass(frozen=True)
class Fixture:
    """One of the module's own ``@pytest.fixture`` functions: the fixtures it asks for (its parameters without
    defaults), whether it yields its value (what follows the yield is its teardown), whether it is autouse,
    and the text of each of its ``params`` (``request.param`` in it), if it has them."""

    name: str
    asks: tuple[str, ...]
    yields: bool
    autouse: bool
    params: tuple[str, ...] | str | None = None  # the text of each param, or of the expression that gives them
    owner: str = ""  # a test class's fixture is a method, called on the test's instance (``__vpo_case__.``)
    scope: str = "function"  # pytest's scope: "module", "package" and "session" are one value for the file


def _fixtures(body: list[ast.stmt], imports: dict[str, str], owner: str = "") -> dict[str, Fixture]:
    """The fixtures a module (or a test class: ``owner``, the instance its methods are called on) defines, by
    name (a fixture with a parameter only a position can give is left out)."""
    found = {}
    for function in body:
        if not isinstance(function, ast.FunctionDef):
            continue
        marks = [d for d in function.decorator_list if _qualified(d.func if isinstance(d, ast.Call) else d, imports)
                 == "pytest.fixture"]  # fmt: skip
        if not marks:
            continue
        arguments = function.args
        positional = [*arguments.posonlyargs, *arguments.args][1 if owner else 0 :]  # a method's self
        required = positional[: len(positional) - len(arguments.defaults)]
        if any(a in arguments.posonlyargs for a in required):
            continue
        asks = [a.arg for a in required]
        asks += [a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is None]
        yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(function))
        keywords = {k.arg: k.value for m in marks if isinstance(m, ast.Call) for k in m.keywords}
        params: tuple[str, ...] | str | None = None
        if "params" in keywords:
            params = _fixture_params(keywords["params"])
            if params is None:  # not a display: the expression, whose items the test's run goes through
                params = ast.unparse(keywords["params"])
            elif not params:
                continue  # none: pytest runs no test of it
        autouse = "autouse" in keywords and _literal_true(keywords["autouse"])
        scope = keywords.get("scope")
        scope_name = scope.value if isinstance(scope, ast.Constant) and isinstance(scope.value, str) else "function"
        found[function.name] = Fixture(function.name, tuple(asks), yields, autouse, params, owner, scope_name)
    return found


def _fixture_params(values: ast.expr) -> tuple[str, ...] | None:
    """The text of each of a fixture's ``params`` (a list or tuple display, read as a parametrize's cases of one
    name: ``pytest.param(x, id=...)`` is ``x``); None for another form."""
    cases = _cases(["param"], values) if isinstance(values, ast.List | ast.Tuple) else None
    return None if cases is None else tuple(case["param"] for case in cases)


def _fixture_choices(
    fixtures: dict[str, Fixture], asked: list[str], given: set[str]
) -> tuple[list[dict[str, str]], list[Fixture]]:
    """Every choice of a param for each parametrized fixture that a call asking for ``asked`` (and the autouse
    fixtures) makes, directly or through other fixtures, but those an indirect parametrize ``given`` their
    param: pytest calls the test once per choice. And the fixtures whose params an expression gives (the
    test's run goes through them)."""
    listed: list[Fixture] = []
    by_expression: list[Fixture] = []
    seen, queue = set(), [*asked, *(f.name for f in fixtures.values() if f.autouse)]
    while queue:
        name = queue.pop(0)
        fixture = fixtures.get(name)
        if fixture is None or name in seen:
            continue
        seen.add(name)
        if fixture.params is not None and name not in given:
            (listed if isinstance(fixture.params, tuple) else by_expression).append(fixture)
        queue += fixture.asks
    params = [f.params for f in listed if isinstance(f.params, tuple)]
    if math.prod(len(p) for p in params) > MAX_CASES:
        raise ValueError(f"more than {MAX_CASES} choices of fixture params")
    choices = [
        {f.name: param for f, param in zip(listed, choice, strict=True)} for choice in itertools.product(*params)
    ]
    return choices, by_expression


@dataclass
class Shared:
    """The fixtures made once for many tests, each in the order first made: the file's (module, package or
    session scope), and, for the calls of a test class (``cls``), that class's (class scope)."""

    file: list[str] = field(default_factory=list)
    cls: str | None = None
    of_class: list[str] = field(default_factory=list)

    @property
    def class_prefix(self) -> str:
        """The prefix of the names of a class-scoped fixture's value and generator in this class's calls."""
        return f"__vpo_{self.cls}_shared_"


def _finish(names: list[str], prefix: str, fixtures: dict[str, Fixture]) -> list[str]:
    """The statements that finish these shared fixtures (those that yield, and were made), the last made
    first."""
    return [line for name in reversed(names) if fixtures[name].yields for line in (
        "try:", f"    {prefix}{name}_generator__", "except NameError:", "    pass", "else:",
        f"    next({prefix}{name}_generator__, None)")]  # fmt: skip


class _Setup:
    """The statements that make the fixtures of one call of a test, each once (a fixture two others ask for is
    one value, as in pytest), those it asks for first; and those that finish them after the test, in the
    reverse order: the code after a fixture's ``yield``, capsys's end, monkeypatch's undoing."""

    def __init__(
        self, fixtures: dict[str, Fixture], parameters: dict[str, str], choices: dict[str, str], shared: Shared
    ) -> None:
        self.fixtures = fixtures
        self.parameters = parameters  # the test's parametrize values (text), which a fixture may ask for too
        self.choices = choices  # the param of each parametrized fixture in this call (text)
        self.shared = shared  # the fixtures made once for many tests (see Shared)
        self.made: dict[str, str] = {}  # fixture -> the variable that holds its value
        self.before: list[str] = []
        self.after: list[str] = []

    def sharing(self, name: str, asking: tuple[str, ...] = ()) -> str | None:
        """The prefix of the names fixture ``name``'s one value has where pytest makes it once for many tests:
        a fixture of the module's of module, package or session scope, once for the file; one of class scope
        (the module's, or the test class's own method), once for the test class whose calls these are (for a
        function of the module, pytest makes it per test). Only without params, and asking only for such
        fixtures, none of a narrower scope (never ``request``, a builtin fixture or a parametrized value).
        None for a fixture made per call."""
        fixture = self.fixtures.get(name)
        if fixture is None or fixture.params is not None or name in asking:
            return None
        if name in self.parameters or name in self.choices:
            return None
        if fixture.scope in SHARED_SCOPES and not fixture.owner:
            prefix = SHARED
        elif fixture.scope == "class" and self.shared.cls is not None:
            prefix = self.shared.class_prefix
        else:
            return None
        for asked in fixture.asks:
            inner = self.sharing(asked, (*asking, name))
            if inner is None or (prefix == SHARED and inner != SHARED):
                return None
        return prefix

    def make(self, name: str, asking: tuple[str, ...] = ()) -> str | None:
        """The variable of fixture ``name``'s value, made first if need be; None where it cannot be given (a
        fixture this does not have: pytest's plugins'; one that asks for itself in the end)."""
        if name in self.parameters:
            return self.parameters[name]
        if name == "request":
            return self.request(asking[-1] if asking else None)
        if name in self.made:
            return self.made[name]
        if name in asking:
            return None
        fixture = self.fixtures.get(name)
        variable = f"__vpo_{name}__"
        if fixture is None:
            if name not in BUILTIN_FIXTURES:
                return None
            self.before.append(f"{variable} = __import__('pytest').builtin_fixture({name!r})")
            self.after += [f"{variable}.finish()"] if BUILTIN_FIXTURES[name] else []
        else:
            given = []
            for asked in fixture.asks:
                value = self.make(asked, (*asking, name))
                if value is None:
                    return None
                given.append(f"{asked}={value}")
            call = f"{fixture.owner}{name}({', '.join(given)})"
            # a shared value has names of its own: a test where it cannot be shared makes its own, in __vpo_x__
            prefix = self.sharing(name)
            variable, generator = f"{prefix or '__vpo_'}{name}__", f"{prefix or '__vpo_'}{name}_generator__"
            made = [f"{generator} = {call}", f"{variable} = next({generator})"] if fixture.yields else \
                [f"{variable} = {call}"]  # fmt: skip
            if prefix is None:
                self.before += made
                self.after += [f"next({generator}, None)"] if fixture.yields else []
            else:  # made by the first test that needs it, finished after the last (see _finish)
                self.before += ["try:", f"    {variable}", "except NameError:", *(f"    {line}" for line in made)]
                made_once = self.shared.file if prefix == SHARED else self.shared.of_class
                if name not in made_once:
                    made_once.append(name)
        self.made[name] = variable
        return variable

    def request(self, fixture: str | None) -> str:
        """pytest's ``request`` as ``fixture`` (or the test, None) sees it: ``request.param`` in a parametrized
        fixture; ``addfinalizer``, whose finalizers run after the test."""
        variable = f"__vpo_request_{fixture}__" if fixture is not None else "__vpo_request__"
        param = self.choices.get(fixture, "") if fixture is not None else ""
        self.before.append(f"{variable} = __import__('pytest').FixtureRequest({param})")
        self.after.append(f"{variable}.finish()")
        return variable


def _literal_true(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is True


def _skip_condition(call: ast.Call) -> str | None:
    """The condition of ``@pytest.mark.skipif(condition, reason=...)`` (text; a string condition is pytest's
    old form, evaluated); None where it has none this can read (no condition: skipped, as pytest does)."""
    given = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "condition"), None)
    if given is None or isinstance(given, ast.Starred):
        return None
    if isinstance(given, ast.Constant) and isinstance(given.value, str):
        return f"eval({given.value!r})"
    return ast.unparse(given)


def _marks(node: ast.expr) -> tuple[ast.expr, ...]:
    """The marks of a ``pytestmark = ...`` assignment: one mark, or a list or tuple of them."""
    return tuple(node.elts) if isinstance(node, ast.List | ast.Tuple) else (node,)


def _calls(
    function: ast.FunctionDef,
    imports: dict[str, str],
    fixtures: dict[str, Fixture],
    shared: Shared,
    skip: int,
    inherited: tuple[ast.expr, ...] = (),
    lists: dict[str, ast.Assign] | None = None,
) -> Iterator[Call]:
    """Each call pytest would make of ``function`` (its first ``skip`` parameters given otherwise: ``self``):
    one per combination of its parametrize cases, with the module's fixtures and pytest's own (BUILTIN_FIXTURES)
    it asks for or its ``usefixtures`` marks name, made only where its ``skipif`` conditions are false; none if
    it is skipped or needs another fixture. Its marks are its decorators and those it ``inherited`` (its
    module's ``pytestmark``, its class's). Cases given by a name rather than a list display
    (``@pytest.mark.parametrize("a, b", CASES)``) are expanded as the test runs: one Call with a loop; but for
    a name of ``lists`` (see case_lists) assigned before the function, whose display is expanded here."""
    used: list[str] = []  # the fixtures its usefixtures marks name
    parametrized: list[tuple[list[str], ast.expr]] = []
    indirect: set[str] = set()  # parametrized names whose values are their fixtures' request.param
    conditions: list[str] = []  # of its skipif marks: the test runs where none holds
    for decorator in [*inherited, *function.decorator_list]:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = _qualified(call.func if call else decorator, imports) or ""
        if name == "pytest.fixture":
            return  # a fixture, not a test
        if not name.startswith("pytest.mark."):
            continue  # another decorator: what it returns is called as pytest would
        mark = name.removeprefix("pytest.mark.")
        if mark == "usefixtures" and call is not None:
            names = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if len(names) != len(call.args) or call.keywords:
                return  # names that are not string literals
            used += names
        elif mark == "skipif" and call is not None:
            condition = _skip_condition(call)
            if condition is None:
                return
            conditions.append(condition)
        elif mark in SKIPPING_MARKS:
            return
        if mark == "parametrize":
            spec = _parametrize(call)
            if spec is not None and isinstance(spec[1], ast.Name) and spec[1].id in (lists or {}):
                assignment = (lists or {})[spec[1].id]
                if assignment.lineno < min([function.lineno, *(d.lineno for d in function.decorator_list)]):
                    spec = (spec[0], assignment.value)
            through = _indirect(call, spec[0]) if spec is not None and call is not None else None
            if spec is None or through is None or not through <= fixtures.keys():
                return
            parametrized.append(spec)
            indirect |= through
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args][skip:]
    first_default = len(positional) - len(arguments.defaults)
    defaulted = {a.arg for a in positional[first_default:]} if arguments.defaults else set()
    defaulted |= {a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None}
    parameters = {name for names, _ in parametrized for name in names} - indirect
    if parameters & {a.arg for a in arguments.posonlyargs}:
        return  # a parameter only a position can give
    if any(a.arg not in defaulted for a in arguments.posonlyargs[skip:]):
        return  # a fixture only a position can give

    # made before each call, whether it asks for them or not: autouse fixtures, and those marks name
    first = [*(f.name for f in fixtures.values() if f.autouse), *used]
    guard = " and ".join(f"not ({condition})" for condition in conditions) or None

    def made(values: dict[str, str], choices: dict[str, str], loop: str | None = None) -> Call | None:
        """The call with these parametrize values and fixture params (text), given the fixtures it asks for;
        None if one of them cannot be given. An indirect parametrize's value is its fixture's param."""
        choices = {**choices, **{name: values[name] for name in indirect}}
        values = {name: value for name, value in values.items() if name not in indirect}
        setup = _Setup(fixtures, values, choices, shared)
        if any(setup.make(name) is None for name in first):
            return None
        given = [f"{name}={value}" for name, value in values.items()]
        for argument in [*positional, *arguments.kwonlyargs]:
            name = argument.arg
            if name in defaulted or name in parameters:
                continue
            variable = setup.make(name)
            if variable is None:
                return None  # a fixture this does not have: pytest's plugins', or one that asks for such
            given.append(f"{name}={variable}")
        return Call(", ".join(given), tuple(setup.before), tuple(setup.after[::-1]), loop, guard)

    asked = [a.arg for a in [*positional, *arguments.kwonlyargs] if a.arg not in defaulted | parameters]
    choices, by_expression = _fixture_choices(fixtures, [*asked, *used], indirect)
    if by_expression or any(not isinstance(values, ast.List | ast.Tuple) for _, values in parametrized):
        # expanded as the test runs: the parametrize cases and the params an expression gives, every combination
        specs = [f"({tuple(names)!r}, {ast.unparse(values)})" for names, values in parametrized]
        specs += [f"(('{PARAM}{f.name}',), {f.params})" for f in by_expression]
        expanded = {f.name: f"__vpo_parameters__['{PARAM}{f.name}']" for f in by_expression}
        for choice in choices:
            looped = made({name: f"__vpo_parameters__[{name!r}]" for names, _ in parametrized for name in names},
                          {**choice, **expanded},
                          f"__import__('pytest').parametrized([{', '.join(specs)}], {MAX_CASES})")  # fmt: skip
            if looped is None:
                return
            yield looped
        return
    cases = [_cases(names, values) for names, values in parametrized]
    if any(c is None for c in cases):
        return
    if math.prod(len(c) for c in cases if c is not None) * len(choices) > MAX_CASES:
        raise ValueError(f"{function.name} has more than {MAX_CASES} parametrized cases")
    for combination in itertools.product(*[c for c in cases if c is not None]):
        for choice in choices:
            one = made({name: value for case in combination for name, value in case.items()}, choice)
            if one is None:
                return
            yield one


def _parametrize(call: ast.Call | None) -> tuple[list[str], ast.expr] | None:
    """The parameter names and the argument values (the expression) of ``@pytest.mark.parametrize("a, b",
    [(1, 2), (3, 4)])``; None for a form this does not take (names that are not a literal)."""
    if call is None:
        return None
    arguments = {**dict(zip(("argnames", "argvalues"), call.args, strict=False)),
                 **{k.arg: k.value for k in call.keywords if k.arg}}  # fmt: skip
    names_node, values_node = arguments.get("argnames"), arguments.get("argvalues")
    try:
        names = ast.literal_eval(names_node) if names_node is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    if not isinstance(names, list | tuple) or not names or values_node is None:
        return None
    if not all(isinstance(name, str) and name.isidentifier() for name in names):
        return None
    return list(names), values_node


def _indirect(call: ast.Call, names: list[str]) -> set[str] | None:
    """The names of a parametrize whose values go to the fixture of that name (``indirect=True``, or a list of
    names), as ``request.param``; None for a form this does not read."""
    given = {k.arg: k.value for k in call.keywords}
    if len(call.args) > 2:
        given["indirect"] = call.args[2]
    if "indirect" not in given:
        return set()
    try:
        indirect = ast.literal_eval(given["indirect"])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(indirect, bool):
        return set(names) if indirect else set()
    if isinstance(indirect, list | tuple) and all(isinstance(name, str) and name in names for name in indirect):
        return set(indirect)
    return None


def _cases(names: list[str], values: ast.expr) -> list[dict[str, str]] | None:
    """The text of each argument of each case of a parametrize whose values are a list or tuple display;
    None if a case is not one this can read (then the test runs no case: it cannot be called as pytest would)."""
    assert isinstance(values, ast.List | ast.Tuple)
    cases = []
    for value in values.elts:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "param":
            items = list(value.args)  # pytest.param(1, 2, id="...")
        elif len(names) == 1:
            items = [value]
        elif isinstance(value, ast.Tuple | ast.List):
            items = list(value.elts)
        else:
            return None
        if len(items) != len(names) or any(isinstance(item, ast.Starred) for item in items):
            return None
        cases.append({name: ast.unparse(item) for name, item in zip(names, items, strict=True)})
    return cases


def _pytest_class_calls(
    cls: ast.ClassDef,
    imports: dict[str, str],
    fixtures: dict[str, Fixture],
    shared: Shared,
    inherited: tuple[ast.expr, ...],
    lists: dict[str, ast.Assign],
) -> list[str]:
    """A fresh instance per test method, between the class's setup and teardown methods where it has them; its
    marks (and the module's, ``inherited``) apply to every method."""
    methods = {m.name: m for m in cls.body if isinstance(m, ast.FunctionDef)}
    if "__init__" in methods:
        return []  # pytest does not collect such a class
    fixtures = {**fixtures, **_fixtures(cls.body, imports, f"{CASE}.")}  # the class's own, methods on the instance
    marks = (*inherited, *cls.decorator_list)
    in_class = Shared(shared.file, cls.name)  # the file's shared fixtures, and the class's own
    tests = [(name, call) for name, m in methods.items() if name.startswith("test")
             for call in _calls(m, imports, fixtures, in_class, 1, marks, lists)]  # fmt: skip
    if not tests:
        return []

    def hook(name: str, method: str) -> list[str]:
        if name not in methods:
            return []
        takes_method = len(methods[name].args.args) > 1
        return [f"{CASE}.{name}({CASE}.{method})" if takes_method else f"{CASE}.{name}()"]

    calls = [f"{cls.name}.setup_class()"] if "setup_class" in methods else []
    for name, call in tests:
        calls += [f"{CASE} = {cls.name}()", *hook("setup_method", name), *call.lines(f"{CASE}.{name}"),
                  *hook("teardown_method", name)]  # fmt: skip
    calls += _finish(in_class.of_class, in_class.class_prefix, fixtures)
    return calls + ([f"{cls.name}.teardown_class()"] if "teardown_class" in methods else [])


def _test_cases(tree: ast.Module, imports: dict[str, str]) -> dict[str, ast.ClassDef]:
    """The module's unittest.TestCase classes (subclasses of one in the file included), by name."""
    cases: dict[str, ast.ClassDef] = {}
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef) and any(
            _qualified(base, imports) == "unittest.TestCase" or (isinstance(base, ast.Name) and base.id in cases)
            for base in statement.bases
        ):
            cases[statement.name] = statement
    return cases


def _unittest_calls(cls: ast.ClassDef, cases: dict[str, ast.ClassDef]) -> list[str]:
    """Each test method of a TestCase class (its own, then its TestCase bases' in the file), as unittest runs
    them: ``setUpClass``, then per test ``setUp``, the test, ``tearDown``; then ``tearDownClass``."""
    names: list[str] = []
    chain, seen = [cls], set()
    while chain:
        current = chain.pop(0)
        if current.name in seen:
            continue
        seen.add(current.name)
        for m in current.body:
            if isinstance(m, ast.FunctionDef) and m.name.startswith("test") and m.name not in names:
                if not any(called_name(d) in UNITTEST_SKIPS for d in m.decorator_list):
                    names.append(m.name)
        chain += [cases[b.id] for b in current.bases if isinstance(b, ast.Name) and b.id in cases]
    if not names:
        return []
    calls = [f"{cls.name}.setUpClass()"]
    for name in sorted(names):  # unittest's order: by name
        calls += [f"{CASE} = {cls.name}({name!r})", f"{CASE}.setUp()", f"{CASE}.{name}()", f"{CASE}.tearDown()"]
    return calls + [f"{cls.name}.tearDownClass()"]


def called_name(expr: ast.expr) -> str | None:
    """The last name of what ``expr`` calls or names: ``skip`` for ``@unittest.skip("why")``, ``@skip("why")`` or
    ``@unittest.skip``; ``raises`` for ``pytest.raises(E)``."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    return target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else None


def _assert_statements(cls: ast.ClassDef, spans: Spans) -> list[tuple[int, int, bytes]]:
    """Edits that write ``self.assertEqual(a, b)`` statements in the class's methods as ``assert a == b``."""
    edits = []
    for method in cls.body:
        if not isinstance(method, ast.FunctionDef) or not method.args.args:
            continue
        own = method.args.args[0].arg
        for statement in ast.walk(method):
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
                continue
            call = statement.value
            func = call.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == own):
                continue
            test = _assert_of(func.attr, call, spans)
            if test is not None:
                edits.append((*spans.span(statement), b"assert " + test))
    return edits


def _assert_of(method: str, call: ast.Call, spans: Spans) -> bytes | None:
    """The test of the assert statement a unittest assertion call stands for; None for another call."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    keywords = {k.arg: k.value for k in call.keywords}
    if method in ASSERT_METHODS:
        names, template = ASSERT_METHODS[method]
        given = _given(call, (*names, "msg"), keywords, names)
        if given is None:
            return None
        return template.format(*(spans.text(given[name]).decode("utf-8") for name in names)).encode("utf-8")
    if method in ALMOST_EQUAL:
        given = _given(call, ("first", "second", "places", "msg", "delta"), keywords, ("first", "second"))
        if given is None:
            return None
        first, second = (f"({spans.text(given[name]).decode()})" for name in ("first", "second"))
        if "delta" in given and "places" not in given:  # unittest: within delta, equal ones included
            comparison = "<=" if ALMOST_EQUAL[method] == "==" else ">"
            return f"abs({first} - {second}) {comparison} ({spans.text(given['delta']).decode()})".encode()
        places = f"({spans.text(given['places']).decode()})" if "places" in given else "7"
        return f"round(abs({first} - {second}), {places}) {ALMOST_EQUAL[method]} 0".encode()
    return None


def _given(
    call: ast.Call, parameters: tuple[str, ...], keywords: dict[str | None, ast.expr], required: tuple[str, ...]
) -> dict[str | None, ast.expr] | None:
    """The arguments of a call by the name of their parameter (given by position or keyword); None where they
    do not bind so (too many, an unknown keyword, one given twice, a required one missing)."""
    if len(call.args) > len(parameters):
        return None
    given: dict[str | None, ast.expr] = dict(zip(parameters, call.args, strict=False))
    if given.keys() & keywords.keys() or keywords.keys() - set(parameters):
        return None
    given |= keywords
    return given if set(required) <= given.keys() else None
