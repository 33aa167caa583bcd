"""Rewriting assert statements so that their comparisons are made outside the sandbox.

``assert f(2) == 3`` becomes ``__vpo_check__(0, (f(2),))``: the sandbox evaluates ``f(2)`` and sends the
value back as plain data; the literal ``3`` never enters the sandbox, and the host applies ``==`` itself, so
neither an object with a forged ``__eq__`` nor a patched builtin can turn a wrong answer into a pass.
A name the test binds to a literal and only compares counts as that literal (see literals.py).
Assertions that are not such comparisons become ``__vpo_truth__(i, expr)``: the value must be plain data
and truthy. Asserts nested in functions (HumanEval's ``check(candidate)``) are rewritten too.

The arithmetic around the values goes out too: in ``assert abs(candidate(2.5) - 0.5) < 1e-6`` or ``assert
math.isclose(candidate(2), 3.14, rel_tol=1e-3)`` or ``assert not candidate(3)``, only ``candidate(...)`` is
evaluated in the sandbox; the host applies the operators (``+ - * / // % **``, unary ``-``, ``+``, ``not``)
and the numeric functions (``abs``, ``round`` and ``math``'s ``isclose``, ``fabs``, ``floor``, ``ceil``,
``trunc``, ``sqrt``, ``isnan``, ``isinf``, ``isfinite``) itself, ``type(x)`` and ``isinstance(x, T)``
against the built-in types (see BUILTIN_TYPES), and ``pytest.approx`` (the sandbox's stand-in's, run here).
An answer can reach anything in its process (the builtins the test sees, the ``math`` module) and patch it;
what the host applies it cannot. A name the test itself binds (an assignment, a parameter, an import of
something else) is the test's, not lifted.
So are ``sorted``, ``set``, ``len``, ``sum``, ``min``, ``max``... (see ITERABLE_BUILTINS) on an answer's
value, which the sandbox sends as the tuple of its items: else ``assert sorted(candidate(x)) == sorted([3, 1,
2])`` would pass for an answer that patched ``sorted`` to return one list for both. So is a comparison inside
an operand (``not (f(2) != 3)``: one operator, see _one_comparison), and an ``or`` of comparisons (see
_or_on_host); ``assert all(f(x) == y for x, y in [...])`` is first written out as the ``and`` of its cases
(see literals.unrolled_alls), whose parts are judged as asserts of their own (see literals.and_parts). An
answer's numpy array arrives as an array, and the host's operators on it are numpy's (``all(f(x) == [1,
2])``), as are numpy's own comparisons (``np.allclose``, ``np.testing.assert_allclose``: see PURE_NUMPY and
NUMPY_ASSERTIONS), which an answer could replace in its process. The host's work on the values stays about
linear in their size, or is refused (see QUADRATIC_BITS and _numpy_bounded).

The rewrite splices the original source (each assert statement's span replaced, its operands' text kept)
rather than unparsing the tree, and is cached per test source: a training run scores the same tests for
every answer of every step.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache, wraps
from typing import Any

import numpy as np

from service.sandbox.pytest_stand_in import approx

from .collect import called_name, runnable
from .literals import NOT_LITERAL as _NOT_LITERAL
from .literals import and_parts, hosted_names, hosted_parameters, unrolled_alls, unrolled_loops
from .literals import binding_sites as _binding_sites
from .literals import literal as _literal
from .spans import Spans

_SINGLETONS = (None, True, False)
# The host's work on an answer's values takes time about linear in their size (a unit's reports come to 32 MB at
# most), or it is refused (OverflowError: the check fails) where Python's would not be: the answer chooses the
# values, and the work holds the host's interpreter (a long int's multiplication or division does not let go
# of the GIL; two 8-million-bit ints took 40 s to divide).
BIG_RESULT = 1 << 20  # the host makes no sequence longer than this, and no int wider (in bits), for a test
QUADRATIC_BITS = 1 << 36  # the most bits(a) * bits(b) of two ints the host multiplies or divides (about 0.1 s)
SUM_COPIES = 1 << 26  # the most items sum() of sequences (``sum(f(), [])``, quadratic) may copy on the host
ROUND_DIGITS = 10_000  # round(x, n) for |n| past this would make 10 ** |n| (an int or a Fraction's)
# values of one hash that a set or a dict the host makes of an answer's values may hold: more, and making it takes
# time quadratic in their number (ints that differ by a multiple of 2 ** 61 - 1 hash alike, and an answer's
# class may hash all its objects alike); fewer are cheap however many groups of them there are
HASH_COLLISIONS = 64
COLLISION_CHUNK = 256  # values of one crowded hash put in a set at a time (see few_collisions)
# the most len(items) * bits of the widest int that sum() of ints may take on the host: each addition copies the
# total (about 0.2 s; [2 ** 8_000_000] + [1] * 99_999 took 16 s)
SUM_BITS = 1 << 33
# the most decimal digits of an int the host makes of a Decimal (math.floor(Decimal('1e1000000')) took 25 s), and
# of a Decimal raised to a power that is no integer (a base of 10,000 digits took 4 s)
DECIMAL_INT_DIGITS = 10_000
DECIMAL_POWER_DIGITS = 1_000
# a conversion of ``%`` formatting: its width and precision (the characters it makes beyond its value's text)
FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
NUMPY = (np.ndarray, np.generic)  # what numpy's elementwise work comes from on the host (see _numpy_bounded)
ARRAY_TEXTS = 1 << 23  # characters of an array of texts the host makes (each text padded to the longest)
SEQUENCES = (str, bytes, bytearray, list, tuple, deque)
VIEWS: tuple[type, ...] = (type({}.keys()), type({}.items()))  # (values() has no ``-``)


def _numpy_bounded(*values: Any, strings: bool = False, broadcast: bool = True) -> None:
    """Refuses numpy's elementwise work on values (an answer's arrays, see compare._array, and what the host
    made of them) where it would not be about linear in their size: a broadcast past BIG_RESULT elements (an
    (n, 1) array against an (n,) one is n * n), or a value numpy would hold as Python objects (an int wider
    than 64 bits, a Fraction, None: each element's work is then Python's, and a product of two arrays of wide
    ints quadratic); texts only where ``strings`` (comparisons: ``*`` repeats them). ``approx`` compares
    arrays itself (numpy defers to it). Without ``broadcast``, values that do not broadcast are numpy's to
    judge (``np.array_equal`` of two shapes is False)."""
    shapes = []
    kinds = "biufcUS" if strings else "biufc"
    for value in values:
        if isinstance(value, approx):
            return
        if value is None and strings:  # ``f() == None``: each element against one scalar
            continue
        size = _numbers(value, strings)  # before numpy makes an array of it (of a range of 10 ** 8: 800 MB)
        if size is None:
            raise TypeError("numpy's work on values that are not numbers")
        if size > ARRAY_TEXTS:
            raise OverflowError("texts too long to make an array of")
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        if array.dtype.kind not in kinds:
            raise TypeError("numpy's work on values that are not numbers")
        shapes.append(array.shape)
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        if broadcast:
            raise
        return
    if math.prod(shape) > BIG_RESULT:
        raise OverflowError("arrays too large to broadcast")


def _numbers(value: Any, strings: bool = False) -> int | None:
    """For a value that is a number, an array, or lists and tuples of those only (and texts, where ``strings``):
    its texts' count times the longest one's length, what an array of them takes (numpy pads each text to the
    longest: one of a million characters among 100,000 short ones is 400 GB). None for any other value."""
    leaves = (np.ndarray, np.generic, bool, int, float, complex, *((str, bytes) if strings else ()))
    pending, texts, longest = [value], 0, 0
    while pending:
        item = pending.pop()
        if isinstance(item, list | tuple):
            pending.extend(item)
        elif not isinstance(item, leaves):
            return None
        elif isinstance(item, str | bytes):
            texts, longest = texts + 1, max(longest, len(item))
    return texts * longest


def _elementwise(function: Callable[[Any, Any], Any], strings: bool = False) -> Callable[[Any, Any], Any]:
    """``function`` (an operator), its work bounded where numpy does it (see _numpy_bounded)."""

    @wraps(function)
    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, NUMPY) or isinstance(b, NUMPY):
            _numpy_bounded(a, b, strings=strings)
        return function(a, b)

    return apply


def _contains(a: Any, b: Any) -> bool:
    """``a in b``: of an array, numpy's (``(b == a).any()``, bounded); an array of more than one element in a
    non-empty list raises as Python would (its first comparison's truth is ambiguous), before numpy compares
    it with an item."""
    if isinstance(b, NUMPY):
        _numpy_bounded(a, b, strings=True)
    elif isinstance(a, np.ndarray) and a.size > 1 and isinstance(b, list | tuple | deque) and b:
        raise ValueError("the truth value of an array with more than one element is ambiguous")
    elif isinstance(b, range) and type(a) not in (int, bool) and len(b) > BIG_RESULT:
        raise OverflowError("a range too long to search")  # Python's ``in`` goes through it but for an int
    return a in b


OPERATORS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: _elementwise(operator.eq, strings=True),
    ast.NotEq: _elementwise(operator.ne, strings=True),
    ast.Lt: _elementwise(operator.lt, strings=True),
    ast.LtE: _elementwise(operator.le, strings=True),
    ast.Gt: _elementwise(operator.gt, strings=True),
    ast.GtE: _elementwise(operator.ge, strings=True),
    ast.In: _contains,
    ast.NotIn: lambda a, b: not _contains(a, b),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _int_bits(value: Any) -> int:
    """The bits of an int (or of a Fraction's wider part): what the cost of the host's work on it goes by."""
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length())
    return 0


def _quadratic(a: Any, b: Any) -> None:
    """Refuses a product or a division of two ints (their time about the product of their sizes), or of an
    int and a Fraction or two Fractions (a gcd of their parts: 1.3 s for an int of 8 million bits times a
    Fraction of 131,000), past QUADRATIC_BITS."""
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction) and _int_bits(a) * _int_bits(b) > QUADRATIC_BITS:
        raise OverflowError("two numbers too wide to multiply or divide")


def _multiply(a: Any, b: Any) -> Any:
    repeated = False  # a sequence times a count (numpy's integers count too: they have __index__)
    for sequence, count in ((a, b), (b, a)):
        if isinstance(sequence, SEQUENCES) and isinstance(count, int | np.integer):
            repeated = True
            if len(sequence) * int(count) > BIG_RESULT:
                raise OverflowError("a sequence too long to make")
    if not repeated and (isinstance(a, NUMPY) or isinstance(b, NUMPY)):
        _numpy_bounded(a, b)
    _quadratic(a, b)
    return a * b


@_elementwise
def _subtract(a: Any, b: Any) -> Any:
    for view, other in ((a, b), (b, a)):  # a dict view's ``-`` (either side) goes through any iterable's items
        if isinstance(view, VIEWS) and isinstance(other, range) and len(other) > BIG_RESULT:
            raise OverflowError("a range too long to go through")
    return a - b


@_elementwise
def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, Fraction) or isinstance(b, Fraction):  # (of two ints, a float: linear in their size)
        _quadratic(a, b)
    return a / b


@_elementwise
def _floor_divide(a: Any, b: Any) -> Any:
    _quadratic(a, b)
    return a // b


@_elementwise
def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes | bytearray):
        _formatting(a, b)
    _quadratic(a, b)
    return a % b


def _formatting(text: str | bytes | bytearray, args: Any) -> None:
    """Refuses ``text % args`` (an answer's text, or its values in the test's) where it would make more than
    BIG_RESULT characters beyond its values' own text (``'%0999999999d' % 1``: widths and precisions, written
    or taken from the values by ``*``), or an int of a Decimal past DECIMAL_INT_DIGITS (``%d``)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("latin-1")
    values = args if isinstance(args, tuple) else (args,)
    for value in values:
        _decimal_int(value)
    made = 0
    for width, precision in FORMAT_SPEC.findall(text):
        for part in (width, precision):
            if part == "*":  # taken from the values: at most the largest of them
                made += max((abs(v) for v in values if isinstance(v, int)), default=0)
            elif part:
                made += int(part) if len(part) < 10 else BIG_RESULT + 1
        if made > BIG_RESULT:
            raise OverflowError("a formatted text too long to make")


def _decimal_int(value: Any) -> None:
    """Refuses a Decimal whose int (math.floor, round, ``%d``) would have more than DECIMAL_INT_DIGITS digits:
    making it takes time quadratic in them."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > DECIMAL_INT_DIGITS:
        raise OverflowError("a Decimal too large to make an int of")


def _to_int(function: Callable[..., Any]) -> Callable[..., Any]:
    """math.floor, ceil or trunc, bounded for a Decimal (see _decimal_int)."""

    @wraps(function)
    def apply(value: Any) -> Any:
        _decimal_int(value)
        return function(value)

    return apply


def _grows(a: Any, b: int) -> bool:
    """Whether ``a ** b`` (b an int) is a number wider than ``a``: an int other than 0, 1 and -1 to a positive
    power (to a negative one it is a float), a Fraction other than 0, 1 and -1 to any power but 0 (1/3 ** b is
    1 / 3 ** b)."""
    if isinstance(a, Fraction):
        return b != 0 and (abs(a.numerator) > 1 or a.denominator != 1)
    return isinstance(a, int) and b > 0 and abs(a) > 1


@_elementwise  # numpy's power: of machine numbers, by squaring
def _power(a: Any, b: Any) -> Any:
    if isinstance(b, int) and _grows(a, b) and abs(b) * _int_bits(a) > BIG_RESULT:
        raise OverflowError("a number too wide to make")
    elif isinstance(b, Decimal) and b.is_finite() and b != b.to_integral_value():  # exp(b * ln(a)), a's digits all
        digits = len(a.as_tuple().digits) if isinstance(a, Decimal) else _int_bits(a) * 0.302
        if digits > DECIMAL_POWER_DIGITS:
            raise OverflowError("a Decimal too long to raise to a power that is no integer")
    return a**b


BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _elementwise(operator.add), ast.Sub: _subtract, ast.Mult: _multiply,
    ast.Div: _divide, ast.FloorDiv: _floor_divide, ast.Mod: _modulo, ast.Pow: _power,
}  # fmt: skip


def few_collisions(items: Iterable[Any]) -> list[Any]:
    """``items`` as a list; OverflowError where more than HASH_COLLISIONS different values among them share one
    hash (equal ones are one value: a set keeps one). TypeError for one that has no hash, as a set would raise.
    The values of a hash that many share go into a set of their own a chunk at a time, checked after each:
    its insertions compare each with at most HASH_COLLISIONS + COLLISION_CHUNK others (as a set compares
    them), and many equal values (``[1] * 100_000``) cost what a set's own loop costs."""
    items = list(items)
    if len(items) <= HASH_COLLISIONS:
        return items
    hashes = list(map(hash, items))
    crowded = {key for key, count in Counter(hashes).items() if count > HASH_COLLISIONS}
    if not crowded:  # (most values have hashes of their own: nothing to compare)
        return items
    groups: dict[int, list[Any]] = {key: [] for key in crowded}
    for item, key in zip(items, hashes, strict=True):
        if key in groups:
            groups[key].append(item)
    for group in groups.values():
        kept: set[Any] = set()
        for start in range(0, len(group), COLLISION_CHUNK):
            kept.update(group[start : start + COLLISION_CHUNK])
            if len(kept) > HASH_COLLISIONS:
                raise OverflowError(f"more than {HASH_COLLISIONS} values of one hash")
    return items


def _set(items: Iterable[Any] = (), /) -> set[Any]:
    # a text's characters (or a bytes' ints) have hashes of their own: a set of them costs what it does in Python
    return set(items) if isinstance(items, str | bytes | bytearray) else set(few_collisions(items))


def _frozenset(items: Iterable[Any] = (), /) -> frozenset[Any]:
    return frozenset(_set(items))


def _sum(items: Iterable[Any], /, start: Any = 0) -> Any:
    """sum(); of sequences (``sum(f(), [])``, each addition a copy of all so far), not past SUM_COPIES; of ints,
    not past SUM_BITS (each addition copies the total); of Fractions (whose terms in lowest terms grow with each
    addition, and each costs a gcd quadratic in their size), not past QUADRATIC_BITS of that work; of numpy's
    values other than scalars (an array's rows), each addition bounded as the host's ``+`` is."""
    items = list(items)
    values = [start, *items]
    if any(isinstance(value, np.ndarray) for value in values):
        add, result, made = BINARY[ast.Add], start, 0
        for item in items:
            result = add(result, item)
            made += np.size(result)  # each addition makes a new array: ``sum(f(), g())`` for a big array g()
            if made > SUM_COPIES:
                raise OverflowError("a sum of arrays too large to make")
        return result
    if not isinstance(start, int | float | complex | Fraction | Decimal):
        total = sum(len(item) if hasattr(item, "__len__") else 1 for item in values)
        if len(items) * total > SUM_COPIES:
            raise OverflowError("a sum of sequences too long to make")
    if len(items) * max(map(_int_bits, values)) > SUM_BITS:
        raise OverflowError("a sum of ints too wide to make")
    if not any(isinstance(item, Fraction) for item in values):
        return sum(items, start)
    result, work = start, 0
    for item in items:
        result = result + item
        work += _int_bits(result) ** 2
        if work > QUADRATIC_BITS:
            raise OverflowError("a sum of fractions too wide to make")
    return result


def _extreme(function: Callable[..., Any]) -> Callable[..., Any]:
    """min or max: of several arguments, numpy's comparisons among them bounded (see _numpy_bounded); of an
    iterable's items, they are plain values or arrays of one dimension, which compare in linear time."""

    @wraps(function)
    def apply(*args: Any, **keywords: Any) -> Any:
        if len(args) > 1 and any(isinstance(arg, NUMPY) for arg in args):
            for i, a in enumerate(args):
                for b in args[i + 1 :]:
                    _numpy_bounded(a, b, strings=True)
        return function(*args, **keywords)

    return apply


def _round(number: Any, ndigits: Any = None) -> Any:
    if isinstance(ndigits, int | np.integer) and abs(int(ndigits)) > ROUND_DIGITS:
        raise OverflowError("round() to too many digits")
    if ndigits is None:
        _decimal_int(number)
    return round(number) if ndigits is None else round(number, ndigits)


UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos,
                                                        ast.Not: operator.not_}  # fmt: skip
# the builtins whose first argument is any iterable: the sandbox sends it as a tuple of its items (``(*x,)``,
# syntax no answer can patch), which these functions treat as they treat the iterable itself
ITERABLE_BUILTINS: dict[str, Callable[..., Any]] = {
    "sorted": sorted, "set": _set, "frozenset": _frozenset, "list": list, "tuple": tuple, "len": len, "sum": _sum,
    "min": _extreme(min), "max": _extreme(max), "all": all, "any": any,
}  # fmt: skip
PURE_BUILTINS: dict[str, Callable[..., Any]] = {"abs": abs, "round": _round, **ITERABLE_BUILTINS}
PURE_MATH: dict[str, Callable[..., Any]] = {
    **{name: getattr(math, name) for name in ("isclose", "fabs", "sqrt", "isnan", "isinf", "isfinite")},
    **{name: _to_int(getattr(math, name)) for name in ("floor", "ceil", "trunc")},
}


def _numpy_function(function: Callable[..., Any], broadcast: bool = True) -> Callable[..., Any]:
    """One of numpy's functions, applied by the host to the values the sandbox sent (where an answer could have
    replaced it: ``numpy.allclose = lambda *a, **k: True``), its work bounded as the host's operators' (see
    _numpy_bounded) over its positional arguments."""

    @wraps(function)
    def apply(*args: Any, **keywords: Any) -> Any:
        _numpy_bounded(*args, strings=True, broadcast=broadcast)
        return function(*args, **keywords)

    return apply


def _numpy_assertion(function: Callable[..., Any]) -> Callable[..., Any]:
    """One of ``numpy.testing``'s assertions, applied by the host: None where it holds, False where it raised
    AssertionError (the statement ``np.testing.assert_allclose(a, b)`` is judged as ``assert
    np.testing.assert_allclose(a, b) is None``: see _numpy_statements)."""

    @wraps(function)
    def apply(*args: Any, **keywords: Any) -> Any:
        _numpy_bounded(*args[:2], strings=True, broadcast=False)
        try:
            function(*args, **keywords)
        except AssertionError:
            return False
        return None

    return apply


# numpy's functions the host applies (a test's ``np.allclose(f(x), [1.0, 2.0])``): predicates, reductions and
# elementwise functions of numbers, and the arrays a test builds of its expected values (``np.array([1, 2])``)
PURE_NUMPY: dict[str, Callable[..., Any]] = {
    name: _numpy_function(getattr(np, name), broadcast=name not in ("array_equal", "array_equiv"))
    for name in ("allclose", "isclose", "array_equal", "array_equiv", "all", "any", "sum", "max", "min", "mean",
                 "abs", "absolute", "round", "sqrt", "isnan", "isfinite", "count_nonzero", "sort", "array", "asarray")
    if hasattr(np, name)
}  # fmt: skip
NUMPY_ASSERTIONS: dict[str, Callable[..., Any]] = {
    name: _numpy_assertion(getattr(np.testing, name))
    for name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal",
                 "assert_array_almost_equal")
}  # fmt: skip
# the built-in types, by the names a test gives them where it binds them to nothing else: constants on the host
# (``type(f(2)) == int``, ``isinstance(f(2), (int, float))``), as the answer's values arrive as plain data
BUILTIN_TYPES: dict[str, type] = {
    kind.__name__: kind for kind in (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
}
LIFT_DEPTH = 32  # deeper expressions go to the sandbox whole


@dataclass(frozen=True)
class Check:
    """One rewritten assert: each operand is ("const", value) kept here, ("slot", k) the k-th value the sandbox
    sends (("items", k) where that is the tuple of an iterable's items), or the host's own work on such
    operands: ("binary", function, left, right), ("unary", function,
    operand), ("call", function, args, keyword pairs), ("any", comparisons) for ``A == x or A == y``, each
    comparison ("compare", ops, operands). No ``ops`` means a truth check of the one operand."""

    ops: tuple[Callable[[Any, Any], Any], ...]
    operands: tuple[tuple[Any, ...], ...]
    # The straight-line block (a function's or the module's own statements, not a loop's or a branch's) the
    # assert stands in, if any: ("module", 0) or ("function", k). A test that ends normally has run every
    # assert of its module block, and of each function block it entered (any of whose asserts ran).
    block: tuple[str, int] | None = None
    # It stands in a ``try`` statement: an exception the test expects may rightly skip it (``try: f(-1)`` /
    # ``assert False`` / ``except ValueError: pass``), so a test of such asserts may end with none of them run.
    guarded: bool = False


def evaluate(node: tuple[Any, ...], slots: list[Any]) -> Any:
    """An operand's value, from the values the sandbox sent (its work on them done here)."""
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "slot":
        return slots[node[1]]
    if kind == "items":  # what ``(*x,)`` made: a tuple (data), never a range of 10 ** 18 that max() would go through
        items = slots[node[1]]
        if type(items) is not tuple and type(items) is not list:
            raise TypeError("an iterable's items are sent as a tuple")
        return items
    if kind == "binary":
        return node[1](evaluate(node[2], slots), evaluate(node[3], slots))
    if kind == "unary":
        return node[1](evaluate(node[2], slots))
    if kind == "any":  # in order, the first that holds ends it (as ``or`` does)
        return any(evaluate(comparison, slots) for comparison in node[1])
    if kind == "compare":  # its value as Python's: a chain's first false link, else its last (an array, say)
        values = [evaluate(operand, slots) for operand in node[2]]
        result: Any = True
        for i, op in enumerate(node[1]):
            result = op(values[i], values[i + 1])
            if i < len(node[1]) - 1 and not result:
                break
        return result
    args = [evaluate(arg, slots) for arg in node[2]]
    return node[1](*args, **{name: evaluate(value, slots) for name, value in node[3]})


@lru_cache(maxsize=4096)
def rewrite_asserts(source: str) -> tuple[str, tuple[Check, ...]]:
    """The test source with every assert rewritten, and the checks the host evaluates. A test file written
    for pytest or unittest is first made to run its tests as a script (see collect.runnable)."""
    tree = ast.parse(source)
    collected = runnable(source, tree)
    if collected is not None:
        source, tree = collected, ast.parse(collected)
    # ``np.testing.assert_allclose(f(1), [1.0])`` is judged as an assert: ``assert (...) is None``
    numpy_asserted = _numpy_statements(source, tree)
    if numpy_asserted is not None:
        source, tree = numpy_asserted, ast.parse(numpy_asserted)
    # ``test_f(x=1, expected=2)`` (a parametrize case) calls a copy of test_f whose asserts have the 2 written in
    bindings = _bindings(tree)
    specialized = hosted_parameters(source, tree, lambda part: host_compares(part, bindings))
    if specialized is not None:
        source, tree = specialized, ast.parse(specialized)
        bindings = _bindings(tree)
    # ``for x, expected in [(1, 2)]: assert f(x) == expected`` is written out per case, each with its 2 written in
    unrolled = unrolled_loops(source, tree, lambda part: host_compares(part, bindings))
    if unrolled is not None:
        source, tree = unrolled, ast.parse(unrolled)
        bindings = _bindings(tree)
    # ``assert all(f(x) == y for x, y in [(1, 2)])`` is written out as the ``and`` of its cases, each a check
    expanded = unrolled_alls(source, tree)
    if expanded is not None:
        source, tree = expanded, ast.parse(expanded)
        bindings = _bindings(tree)
    spans = Spans(source)
    text = spans.text
    checks: list[Check] = []
    edits: list[tuple[int, int, bytes]] = []
    # ``expected = [1, 2]`` then ``assert f() == expected``: the value stays here, as a literal in the assert would
    constants, dropped = hosted_names(tree, lambda part: host_compares(part, bindings))
    edits += [(*spans.span(statement), b"pass") for statement in dropped]
    blocks = _blocks(tree)
    guarded = _swallowed(tree)
    asserts = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assert)),
                     key=lambda n: (n.lineno, n.col_offset))  # fmt: skip
    for node in asserts:
        block, in_try = blocks.get(id(node)), id(node) in guarded
        # ``assert A and B`` is judged as ``assert A`` then ``assert B``: each part a check of its own (B is then
        # evaluated even when A is false, which can only make a failing assert an error, both scoring 0)
        parts = and_parts(node.test)
        calls = []
        for part in parts:
            test = _flipped_in(part)
            check_id = len(checks)
            lift = _Lifter(bindings, text, constants)
            sent = lift.sent
            container = b""
            if isinstance(test, ast.Compare) and _outside_comparable(test, bindings):
                operands = tuple(lift(expr) for expr in (test.left, *test.comparators))
                checks.append(Check(tuple(OPERATORS[type(op)] for op in test.ops), operands, block, in_try))
                if len(test.ops) == 1 and isinstance(test.ops[0], ast.In | ast.NotIn) and operands[1][0] == "slot":
                    # ``x in f()``: where f() is an object that is no data, the sandbox sends its items instead
                    container = b", %d" % operands[1][1]
            elif (isinstance(test, ast.UnaryOp) and type(test.op) in UNARY) or _pure_function(test, bindings):
                checks.append(Check((), (lift(test),), block, in_try))  # the truth of the host's work on the values
            elif _or_on_host(test, bindings):
                assert isinstance(test, ast.BoolOp)
                lift.shared = True  # ``r`` of ``r == x or r == y`` goes once
                alternatives = tuple(lift(value) for value in test.values)  # each a ("compare", ...) of the host's
                checks.append(Check((), (("any", alternatives),), block, in_try))
            else:  # the truth of a value judged inside
                checks.append(Check((), (("slot", 0),), block, in_try))
                calls.append(b"__vpo_truth__(%d, %s)" % (check_id, text(test)))
                continue
            calls.append(b"__vpo_check__(%d, (%s)%s)" % (check_id, b"".join(s + b", " for s in sent), container))
        edits.append((*spans.span(node), b"; ".join(calls)))
    return spans.splice(sorted(edits)), tuple(checks)


def _numpy_statements(source: str, tree: ast.Module) -> str | None:
    """The source with each statement that is a call of one of ``numpy.testing``'s assertions (see
    NUMPY_ASSERTIONS, as _pure_function finds them) written as ``assert (call) is None``: the same in Python
    (the call returns None or raises AssertionError), and an assert the host judges, with its own numpy (an
    answer could have replaced ``numpy.testing.assert_allclose``). Not in a ``try`` or a ``with`` that expects
    an exception (``pytest.raises(AssertionError)``), where the call must raise in the sandbox. None if there
    is no such statement."""
    if "assert_" not in source:
        return None
    bindings = _bindings(tree)
    swallowed = _swallowed(tree)
    spans = Spans(source)
    edits = [
        (*spans.span(node), b"assert %s is None" % spans.text(node.value))
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and id(node) not in swallowed
        and _pure_function(node.value, bindings) in NUMPY_ASSERTIONS.values()
    ]  # fmt: skip
    return spans.splice(sorted(edits)) if edits else None


class _Lifter:
    """Splits an assert's operand into the host's part (literals, operators, pure functions) and what it needs
    of the sandbox: the text of each such expression goes in ``sent``, and the operand refers to it as a slot."""

    def __init__(
        self, bindings: dict[str, set[tuple[str, ...]]], text: Callable[[ast.expr], bytes], constants: dict[int, Any]
    ) -> None:
        self.bindings, self.text, self.constants = bindings, text, constants  # constants: see literals.py
        self.sent: list[bytes] = []
        self.shared = False  # an expression sent already (the same code) is sent once (see _or_on_host)
        self.keys: dict[str, int] = {}  # each sent expression's code (ast.dump), to its slot
        self.names: list[bool] = []  # each sent expression is a bare name

    def __call__(self, expr: ast.expr, depth: int = 0, items: bool = False) -> tuple[Any, ...]:
        """The host's part of ``expr``; ``items``: it is an iterable, and only its items matter."""
        if id(expr) in self.constants:
            return ("const", self.constants[id(expr)])
        literal = _literal(expr)
        if literal is not _NOT_LITERAL:
            return ("const", literal)
        types = _builtin_types(expr, self.bindings)
        if types is not None:
            return ("const", types)
        if depth < LIFT_DEPTH:
            if isinstance(expr, ast.BinOp) and type(expr.op) in BINARY:
                return ("binary", BINARY[type(expr.op)], self(expr.left, depth + 1), self(expr.right, depth + 1))
            if isinstance(expr, ast.UnaryOp) and type(expr.op) in UNARY:
                return ("unary", UNARY[type(expr.op)], self(expr.operand, depth + 1))
            if _one_comparison(expr, self.bindings):  # ``not (f(x) != 3)``, ``(f(x) > 0) == True``
                assert isinstance(expr, ast.Compare)
                operands = tuple(self(operand, depth + 1) for operand in (expr.left, *expr.comparators))
                return ("compare", tuple(OPERATORS[type(op)] for op in expr.ops), operands)
            function = _pure_function(expr, self.bindings)
            if function is not None:
                assert isinstance(expr, ast.Call)
                # min(a, b) and max(a, b) compare their arguments; with one argument, it is the iterable
                iterable = function in ITERABLE_BUILTINS.values() and (len(expr.args) == 1 or function is _sum)
                args = tuple(self(arg, depth + 1, items=iterable and i == 0) for i, arg in enumerate(expr.args))
                keywords = tuple((k.arg, self(k.value, depth + 1)) for k in expr.keywords)
                return ("call", function, args, keywords)
        if self.shared:  # (the code's dump only where it is asked for: it costs more than the rest)
            key = f"{items}:{ast.dump(expr)}"
            if key in self.keys:
                return ("items" if items else "slot", self.keys[key])
            self.keys[key] = len(self.sent)
        self.names.append(isinstance(expr, ast.Name) and not items)
        self.sent.append(b"(*%s,)" % self.text(expr) if items else self.text(expr))
        return ("items" if items else "slot", len(self.sent) - 1)


def _one_comparison(expr: ast.expr, bindings: dict[str, set[tuple[str, ...]]]) -> bool:
    """A comparison the host can make in place of Python wherever it stands (in an operand, an ``or``): one
    operator (a chain stops at its first false link, and Python evaluates no operand after it, where the
    sandbox would have evaluated them all), its operands surviving the trip (see _outside_comparable), and for
    ``in`` a container written as a literal (one the sandbox sends could be no data: a generator)."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 1 and _outside_comparable(expr, bindings)):
        return False
    return not isinstance(expr.ops[0], ast.In | ast.NotIn) or _literal(expr.comparators[0]) is not _NOT_LITERAL


def _flipped_in(test: ast.expr) -> ast.expr:
    """``not (a in b)`` as ``a not in b``, and ``not (a not in b)`` as ``a in b`` (what unittest's
    ``assertFalse(a in b)`` becomes): Python defines each as the other, and as a comparison of the assert's
    own, a container that is no data goes as its items (see the rewrite), where under a ``not`` its own
    ``__contains__`` answered in the sandbox. Any other part as it is."""
    if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Compare)):
        return test
    compare = test.operand
    if len(compare.ops) != 1 or not isinstance(compare.ops[0], ast.In | ast.NotIn):
        return test
    flipped = ast.NotIn() if isinstance(compare.ops[0], ast.In) else ast.In()
    return ast.copy_location(ast.Compare(left=compare.left, ops=[flipped], comparators=compare.comparators), test)


def host_compares(part: ast.expr, bindings: dict[str, set[tuple[str, ...]]]) -> list[ast.Compare]:
    """The comparisons the host makes for one part of an assert: the part, where it is a comparison that
    survives the trip (see _outside_comparable), or those of an ``or`` of such (see _or_on_host); none for any
    other part (judged inside). ``not (a in b)`` is ``a not in b`` (see _flipped_in)."""
    part = _flipped_in(part)
    if isinstance(part, ast.Compare):
        return [part] if _outside_comparable(part, bindings) else []
    if _or_on_host(part, bindings):
        assert isinstance(part, ast.BoolOp)
        return [value for value in part.values if isinstance(value, ast.Compare)]
    return []


def _or_on_host(test: ast.expr, bindings: dict[str, set[tuple[str, ...]]]) -> bool:
    """Whether the host makes ``assert r == [1, 2] or r == [2, 1]`` (an ``or`` of comparisons that survive the
    trip), each comparison's operands lifted as an assert's are and the first that holds ending it: where the
    sandbox evaluates nothing for the later comparisons but what the first needs too (``r``, ``f(x)``, sent
    once) and bare names (a value the test bound). Python evaluates the first in any case; a later one's own
    operand could raise where the first already held (``r is None or r[0] == 1``): that ``or`` is judged
    inside. Decided on the code alone (a name the host keeps as a literal counts as sent), so that literals.py
    and the rewrite agree on it."""
    if not (isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or)):
        return False
    if not all(_one_comparison(value, bindings) for value in test.values):
        return False
    lift = _Lifter(bindings, lambda expr: b"", {})
    lift.shared = True
    first = 0
    for index, value in enumerate(test.values):
        lift(value)  # one comparison: its operands lifted, as the rewrite will
        if index == 0:
            first = len(lift.sent)
        elif not all(lift.names[first:]):
            return False
    return True


# context managers that may end their block early and swallow the exception: ``with pytest.raises(E):``
SWALLOWING = {"raises", "assertRaises", "assertRaisesRegex", "assertRaisesRegexp", "suppress"}


def _may_swallow(statement: ast.AST) -> bool:
    """A try statement, or a with statement of a context manager that expects an exception: an assert in it
    may rightly not run."""
    if isinstance(statement, ast.Try | ast.TryStar):
        return True
    if not isinstance(statement, ast.With):
        return False
    return any(isinstance(item.context_expr, ast.Call) and called_name(item.context_expr) in SWALLOWING
               for item in statement.items)  # fmt: skip


def _swallowed(tree: ast.Module) -> set[int]:
    """The ids of the statements in a try statement or a with statement that expects an exception (see
    _may_swallow): one may rightly not run, or must raise there."""
    return {id(n) for t in ast.walk(tree) if _may_swallow(t) for n in ast.walk(t) if isinstance(n, ast.stmt)}


def _blocks(tree: ast.Module) -> dict[int, tuple[str, int]]:
    """The straight-line block of each assert that stands directly in the module's or a function's body, or
    directly in the body of a loop there that surely runs (``for ... in range(3)`` or over a non-empty
    literal, with no ``break``, ``continue`` or ``return`` in it) or of an ``if True:`` (a loop written out,
    see literals.unrolled_loops): such an assert runs whenever its block does.
    A function's body is part of the module's block where the module's own statements call it by the name its
    one ``def`` gave it (HumanEval's ``check(candidate)``), and so is a method's where they call it on an
    instance of its class (``Cls().m()``, or ``case = Cls(...)`` then ``case.m()``: a test class's methods, as
    collect appends their calls): a test that ended normally made that call."""
    found: dict[int, tuple[str, int]] = {}
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    # a function that may leave early (return, raise, yield) has no straight line to hold its calls to
    leaves = (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom)
    straight = [(k, f) for k, f in enumerate(functions) if not any(isinstance(n, leaves) for n in ast.walk(f))]
    bound = Counter(name for name, _ in _binding_sites(tree))
    called = {s.value.func.id for s in tree.body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
              and isinstance(s.value.func, ast.Name) and bound[s.value.func.id] == 1}  # fmt: skip
    methods = {id(m) for m in _methods_called(tree, bound)}
    # (not a decorated one: what its decorator returns may run its body any number of times, or never)
    joined = [
        f for _, f in straight if not f.decorator_list and ((f.name in called and f in tree.body) or id(f) in methods)
    ]
    module = list(tree.body) + [statement for f in joined for statement in f.body]
    bodies = [(("module", 0), module)] + [(("function", k), f.body) for k, f in straight]
    for block, body in bodies:
        statements = list(body)
        for statement in statements:
            if isinstance(statement, ast.Assert):
                found.setdefault(id(statement), block)
            elif isinstance(statement, ast.For) and _surely_runs(statement):
                statements += statement.body  # its own asserts, and those of a surely running loop in it
            elif isinstance(statement, ast.If) and _always(statement):  # as a loop over cases is written out
                statements += statement.body
    return found


def _always(statement: ast.If) -> bool:
    """``if True:`` with no ``else``: its body runs as the statements around it do."""
    return isinstance(statement.test, ast.Constant) and statement.test.value is True and not statement.orelse


def _methods_called(tree: ast.Module, bound: Counter[str]) -> Iterator[ast.FunctionDef]:
    """The methods the module's own statements call on an instance of a class of the module (bound once):
    ``Cls(...).m()``, or ``m()`` on a name the module last bound to ``Cls(...)``; the method is the one ``def``
    of that name in the class, or else in its bases of the module."""
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef) and bound[c.name] == 1}

    def instance(expr: ast.expr) -> ast.ClassDef | None:
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
            return classes.get(expr.func.id)
        return None

    def method(cls: ast.ClassDef, name: str, depth: int = 0) -> ast.FunctionDef | None:
        defined = [m for m in cls.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name == name]
        if defined:
            return defined[0] if len(defined) == 1 and isinstance(defined[0], ast.FunctionDef) else None
        bases = [classes.get(b.id) for b in cls.bases if isinstance(b, ast.Name)]
        found = [m for b in bases if b is not None and depth < 8 and (m := method(b, name, depth + 1))]
        return found[0] if len(found) == 1 else None

    instances: dict[str, ast.ClassDef | None] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                instances[target.id] = instance(statement.value)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            func = statement.value.func
            if isinstance(func, ast.Attribute):
                receiver = func.value
                cls = instances.get(receiver.id) if isinstance(receiver, ast.Name) else instance(receiver)
                called = method(cls, func.attr) if cls is not None else None
                if called is not None:
                    yield called


def _surely_runs(loop: ast.For) -> bool:
    """Whether a ``for`` loop surely runs its body (at least once, to its end)."""
    jumps = (ast.Break, ast.Continue, ast.Return, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    if any(isinstance(node, jumps) for statement in loop.body for node in ast.walk(statement)) or loop.orelse:
        return False
    iterable = loop.iter
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "range":
        bounds = [_literal(arg) for arg in iterable.args]
        if iterable.keywords or not all(type(b) is int for b in bounds) or not 1 <= len(bounds) <= 2:
            return False
        return len(range(*bounds)) > 0
    literal = _literal(iterable)
    return isinstance(literal, list | tuple | str) and len(literal) > 0


def _bindings(tree: ast.AST) -> dict[str, set[tuple[str, ...]]]:
    """How the test binds each name it binds: ("module", name) for ``import name [as alias]``, ("from",
    module, name) for ``from module import name [as alias]``, ("other",) for anything else."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for name, how in _binding_sites(tree):
        found.setdefault(name, set()).add(how)
    return found


def _pure_function(expr: ast.expr, bindings: dict[str, set[tuple[str, ...]]]) -> Callable[..., Any] | None:
    """The function the host applies for a call to one of PURE_BUILTINS, one of ``math``'s (see PURE_MATH),
    ``type`` of one value, ``isinstance`` against built-in types or ``pytest.approx``, as the test names them;
    None for any other expression (or a call with ``*args`` or ``**kwargs``)."""
    if not isinstance(expr, ast.Call) or any(isinstance(a, ast.Starred) for a in expr.args):
        return None
    if any(k.arg is None or _literal(k.value) is _NOT_LITERAL for k in expr.keywords):
        return None  # ``**kwargs``, or ``key=len``: a function is not a value the sandbox can send
    func = expr.func
    if isinstance(func, ast.Name):
        if func.id in PURE_BUILTINS and func.id not in bindings:
            return PURE_BUILTINS[func.id]
        if func.id in ("type", "isinstance") and func.id not in bindings and not expr.keywords:
            if func.id == "type" and len(expr.args) == 1:  # a value's type (type(name, bases, dict) makes one)
                return type
            if func.id == "isinstance" and len(expr.args) == 2 and _builtin_types(expr.args[1], bindings):
                return isinstance  # against built-in types (a class of the test's or the answer's is inside)
        imported = bindings.get(func.id, set())
        if len(imported) == 1:
            [how] = imported
            if how[:2] == ("from", "math") and how[2] in PURE_MATH:
                return PURE_MATH[how[2]]
            if how == ("from", "pytest", "approx"):
                return approx
            if how[:2] == ("from", "numpy") and how[2] in PURE_NUMPY:
                return PURE_NUMPY[how[2]]
            if how[:2] == ("from", "numpy.testing") and how[2] in NUMPY_ASSERTIONS:
                return NUMPY_ASSERTIONS[how[2]]
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        module = bindings.get(func.value.id)
        # ``math`` the test imports, or (unbound in the test) the one the answer's code imported for it
        if func.attr in PURE_MATH and (module == {("module", "math")} or (module is None and func.value.id == "math")):
            return PURE_MATH[func.attr]
        if func.attr == "approx" and module == {("module", "pytest")}:
            return approx  # ``f(x) == pytest.approx(y)``: the host's approx (that of the sandbox's stand-in)
        if func.attr in PURE_NUMPY and _numpy_module(func.value.id, module):
            return PURE_NUMPY[func.attr]
        if func.attr in NUMPY_ASSERTIONS and module == {("module", "numpy.testing")}:
            return NUMPY_ASSERTIONS[func.attr]
    if (
        isinstance(func, ast.Attribute) and func.attr in NUMPY_ASSERTIONS and isinstance(func.value, ast.Attribute)
        and func.value.attr == "testing" and isinstance(func.value.value, ast.Name)
        and _numpy_module(func.value.value.id, bindings.get(func.value.value.id))
    ):  # fmt: skip
        return NUMPY_ASSERTIONS[func.attr]  # ``np.testing.assert_allclose(...)``
    return None


def _numpy_module(name: str, how: set[tuple[str, ...]] | None) -> bool:
    """Whether a name is numpy: the test imports it so, or (unbound in the test) it is ``np`` or ``numpy``, as
    the answer's code imported it for the test."""
    return how == {("module", "numpy")} or (how is None and name in ("np", "numpy"))


def _builtin_types(expr: ast.expr, bindings: dict[str, set[tuple[str, ...]]]) -> type | tuple[type, ...] | None:
    """The built-in type (``int``) or non-empty tuple of them (``(int, float)``) that ``expr`` names, or None."""
    if isinstance(expr, ast.Tuple) and expr.elts:
        kinds = [_builtin_types(element, bindings) for element in expr.elts]
        return tuple(k for k in kinds if isinstance(k, type)) if all(isinstance(k, type) for k in kinds) else None
    if isinstance(expr, ast.Name) and expr.id in BUILTIN_TYPES and expr.id not in bindings:
        return BUILTIN_TYPES[expr.id]
    return None


def _outside_comparable(test: ast.Compare, bindings: dict[str, set[tuple[str, ...]]]) -> bool:
    """Identity survives the trip out of the sandbox only for None, True and False, and the built-in types
    (``type(f(2)) is int``)."""
    if not all(type(op) in OPERATORS for op in test.ops):
        return False
    operands = [test.left, *test.comparators]
    for index, op in enumerate(test.ops):
        if isinstance(op, ast.Is | ast.IsNot):
            pair = (operands[index], operands[index + 1])
            if not any((isinstance(e, ast.Constant) and e.value in _SINGLETONS) or
                       isinstance(_builtin_types(e, bindings), type) for e in pair):  # fmt: skip
                return False
    return True
