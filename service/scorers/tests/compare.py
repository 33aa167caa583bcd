"""Host-side judging: decode the sandbox's plain values and compare them with what never entered it."""

from __future__ import annotations

import json
import math
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from uuid import UUID

import numpy as np

from .asserts import Check, evaluate, few_collisions


class Undecodable(ValueError):
    pass


DECIMAL_CHARS = 1 << 20  # a Decimal's text the host reads (linear in it): a value's text is bounded anyway
# (see asserts.QUADRATIC_BITS: the host's work on an answer's values stays about linear in their size)
FRACTION_BITS = 1 << 17  # a Fraction's parts (made in lowest terms on the host: a gcd, quadratic in their size)
# and the parts of all the Fractions of one assert's values (ordering them multiplies their parts)
FRACTIONS_BITS = 1 << 20
DECIMAL_INT_BITS = 1 << 16  # an int that a Decimal may meet on the host (converted to one: quadratic in its size)
ISO_CHARS = 64  # a datetime's or time's ISO text
MAX_LOCAL_OBJECTS = 10_000  # as the harness's: objects in one assert's values, and pairs of them compared
ALL_PAIRS = 64  # as the harness's: up to this many objects, a report says of every two whether they are equal
LOCAL_TEXT = 200  # as the harness's: the characters of an object's repr
# as the harness's: the numpy arrays an assert's operand may be (numbers and booleans), their dimensions, elements
ARRAY_DTYPES = frozenset(("|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
                          "<c16"))  # fmt: skip
ARRAY_DIMENSIONS = 2
ARRAY_ITEMS = 100_000
ARRAY_TEXT = 4096  # as the harness's: the characters (or bytes) of an element of an array of texts


def array_dtype(dtype: str) -> bool:
    """As the harness's: numbers, booleans, texts of at most ARRAY_TEXT characters ("<U5") or bytes ("|S3")."""
    if dtype in ARRAY_DTYPES:
        return True
    width = dtype[2:]
    return dtype[:2] in ("<U", "|S") and width.isdigit() and width.isascii() and 0 < int(width) <= ARRAY_TEXT


class Local:
    """An object that stayed in the sandbox (of the answer's own class, or one that compares by identity): it
    equals itself, and what its class's ``__eq__`` said it equals there (objects of the same class only, never
    a plain value); it hashes as it hashed there and shows as its repr. ``equal`` and ``known`` (the pairs
    the sandbox compared, None when it compared them all) are shared by the objects of one assert."""

    __slots__ = ("cls", "equal", "hash", "identity", "index", "known", "less", "ordered", "text")

    def __init__(
        self, index: int, text: str, hash_: int | None, cls: int, identity: bool, equal: frozenset[tuple[int, int]],
        known: frozenset[tuple[int, int]] | None, ordered: bool = False, less: frozenset[tuple[int, int]] = frozenset(),
    ) -> None:  # fmt: skip
        self.index, self.text, self.hash, self.cls, self.identity = index, text, hash_, cls, identity
        self.equal, self.known, self.ordered, self.less = equal, known, ordered, less

    def __lt__(self, other: object) -> bool:
        """``<`` as the class's own ``__lt__`` said in the sandbox (where the class has one and the objects were
        few enough to compare them all); else none (a TypeError, as for objects that have no ordering)."""
        if not isinstance(other, Local) or other.cls != self.cls or not self.ordered:
            return NotImplemented
        return (self.index, other.index) in self.less

    def __gt__(self, other: object) -> bool:
        return other.__lt__(self) if isinstance(other, Local) else NotImplemented

    def __le__(self, other: object) -> bool:
        below = self.__lt__(other)
        return below if below is NotImplemented else below or self == other

    def __ge__(self, other: object) -> bool:
        return other.__le__(self) if isinstance(other, Local) else NotImplemented

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Local):
            return NotImplemented
        if self is other:
            return True
        if self.cls != other.cls or self.identity:
            return False
        pair = (self.index, other.index) if self.index <= other.index else (other.index, self.index)
        if pair in self.equal:
            return True
        if self.known is not None and pair not in self.known:
            raise Undecodable(f"{self.text} and {other.text} were not compared in the sandbox")
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other if isinstance(other, Local) else NotImplemented

    def __hash__(self) -> int:
        if self.hash is None:
            raise TypeError(f"unhashable object {self.text}")
        return self.hash

    def __repr__(self) -> str:
        return self.text


def local_objects(report: Any) -> tuple[Local, ...]:
    """The stand-ins of the objects a sandbox's report of one assert describes (see the harness's
    LocalObjects); Undecodable if it is not such a report."""
    if report is None:
        return ()
    try:
        described, identity, pairs = report["objects"], report["identity"], report["equal"]
        unequal = report.get("unequal")
        count = len(described)
        most = count * (count - 1) // 2 if count <= ALL_PAIRS else MAX_LOCAL_OBJECTS  # pairs it can tell of
        if not (
            isinstance(described, list) and count <= MAX_LOCAL_OBJECTS and isinstance(identity, list)
            and len(identity) <= count and all(type(flag) is bool for flag in identity) and isinstance(pairs, list)
            and (unequal is None) == (count <= ALL_PAIRS) and isinstance(unequal or [], list)
            and len(pairs) + len(unequal or []) <= most
        ):  # fmt: skip
            raise Undecodable("a report of objects: the objects, their classes, the equal pairs")
        equal = _pairs(pairs, count)
        known = None if unequal is None else equal | _pairs(unequal, count)
        ordered, less_pairs = report.get("ordered", []), report.get("less", [])
        if not (isinstance(ordered, list) and len(ordered) <= len(identity) and all(type(o) is bool for o in ordered)
                and isinstance(less_pairs, list) and len(less_pairs) <= 2 * most * (count <= ALL_PAIRS)):  # fmt: skip
            raise Undecodable("a report's ordering: a flag per class, the pairs in order")
        less = _pairs(less_pairs, count, increasing=False)  # both ways
        objects = []
        for index, (text, hash_, cls) in enumerate(described):
            if not (type(text) is str and len(text) <= LOCAL_TEXT and (hash_ is None or type(hash_) is int)
                    and type(cls) is int and 0 <= cls < len(identity)):  # fmt: skip
                raise Undecodable("an object is described by its repr, its hash and its class")
            in_order = cls < len(ordered) and ordered[cls] and known is None
            objects.append(Local(index, text, hash_, cls, identity[cls], equal, known, in_order, less))
        return tuple(objects)
    except (TypeError, ValueError, KeyError) as error:
        raise Undecodable(f"not a report of objects: {error}") from None


def _pairs(pairs: list[Any], count: int, increasing: bool = True) -> frozenset[tuple[int, int]]:
    """Pairs of two objects' places (the first the lower, where ``increasing``)."""
    found = frozenset((i, j) for i, j in pairs)
    if not all(type(i) is int and type(j) is int and 0 <= i < count and 0 <= j < count for i, j in found):
        raise Undecodable("a pair is two objects' places")
    if increasing and not all(i < j for i, j in found):
        raise Undecodable("a pair of equal objects is in order")
    return found


def decode(value: Any, objects: tuple[Local, ...] = (), seen: Counter[str] | None = None, array: bool = False) -> Any:
    """The inverse of the harness's ``encode``: tagged JSON back to Python values (``objects``: the stand-ins
    of the objects an assert's values refer to; ``seen`` counts the Decimals, the ints wider than
    DECIMAL_INT_BITS and the bits of the Fractions they hold; ``array``: the value may be a numpy array, as
    an assert's operand, or arrays of one dimension in a list or a tuple that is one, never deeper: see the
    harness's ``operand``). Anything else (a value an answer forged, having found its token) raises
    :class:`Undecodable`."""
    seen = Counter() if seen is None else seen
    try:
        if not array:
            return _decode(value, objects, seen)
        if _tag(value) == "ndarray":
            return _array(value["ndarray"], ARRAY_DIMENSIONS)
        items = value["tuple"] if _tag(value) == "tuple" else value
        if not isinstance(items, list) or not any(_tag(item) == "ndarray" for item in items):
            return _decode(value, objects, seen)
        rows = [_array(i["ndarray"], 1) if _tag(i) == "ndarray" else _decode(i, objects, seen) for i in items]
        return rows if items is value else tuple(rows)
    except (TypeError, ValueError, OverflowError, RecursionError, InvalidOperation, IndexError) as error:
        raise Undecodable(f"not a value the harness encodes: {error}") from None


def _tag(value: Any) -> str | None:
    """The tag of a tagged value (a dict of one key), else None."""
    return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None


def _decode(value: Any, objects: tuple[Local, ...], seen: Counter[str]) -> Any:
    if isinstance(value, list):
        return [_decode(item, objects, seen) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise Undecodable("a tagged value has exactly one key")
    [(tag, body)] = value.items()
    if tag == "float":
        return float(body)
    if tag == "local":
        if type(body) is not int or body < 0:
            raise Undecodable("a reference is an index")
        return objects[body]
    if tag in CONTAINERS:
        return CONTAINERS[tag](_decode(body, objects, seen))
    if tag == "complex":
        return complex(_decode(body[0], objects, seen), _decode(body[1], objects, seen))
    if tag in TEXTS:
        if not isinstance(body, str) or len(body) > TEXTS[tag][1]:
            raise Undecodable(f"a {tag} is its text")
        number = TEXTS[tag][0](body)
        if tag == "decimal" or (tag == "bigint" and number.bit_length() > DECIMAL_INT_BITS):
            seen["decimal" if tag == "decimal" else "wide int"] += 1
        return number
    if tag == "fraction":
        numerator, denominator = (_int(part, objects, seen) for part in body)
        if denominator <= 0:
            raise Undecodable("a fraction's denominator is positive")
        seen["fraction bits"] += numerator.bit_length() + denominator.bit_length()
        if max(numerator.bit_length(), denominator.bit_length()) > FRACTION_BITS:
            raise Undecodable(f"a fraction wider than {FRACTION_BITS} bits")
        if seen["fraction bits"] > FRACTIONS_BITS:
            raise Undecodable(f"fractions of more than {FRACTIONS_BITS} bits in all")
        return Fraction(numerator, denominator)
    if tag == "range":
        start, stop, step = (_int(part, objects, seen) for part in body)
        return range(start, stop, step)
    if tag == "date":
        return date.fromordinal(_int(body, objects, seen))
    if tag == "path":
        flavour, parts = body
        if flavour not in PATHS or not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise Undecodable("a path is its flavour and its parts")
        return PATHS[flavour](*parts)
    if tag == "timedelta":
        days, seconds, microseconds = (_int(part, objects, seen) for part in body)
        return timedelta(days=days, seconds=seconds, microseconds=microseconds)
    raise Undecodable(f"unknown tag {tag!r}")


def _array(body: Any, dimensions: int) -> np.ndarray[Any, Any]:
    """A numpy array of at most this many dimensions from its dtype, its shape and its bytes (as hex):
    read-only, as the host only reads it."""
    dtype, shape, data = body
    if not (
        isinstance(dtype, str) and array_dtype(dtype) and isinstance(shape, list) and len(shape) <= dimensions
        and all(type(n) is int and n >= 0 for n in shape) and isinstance(data, str)
    ):  # fmt: skip
        raise Undecodable("an array is its dtype, its shape and its bytes")
    kind = np.dtype(dtype)
    size = math.prod(shape)
    if size > ARRAY_ITEMS or len(data) != 2 * size * kind.itemsize:
        raise Undecodable("an array's bytes are its elements'")
    return np.frombuffer(bytes.fromhex(data), dtype=kind).reshape(shape)


def _int(value: Any, objects: tuple[Local, ...], seen: Counter[str]) -> int:
    number = _decode(value, objects, seen)
    if type(number) is not int:
        raise Undecodable("not an int")
    return number


def _hashable(value: Any) -> Any:
    hash(value)
    return value


def _keyed(pairs: list[Any]) -> list[tuple[Any, Any]]:
    """A dict's pairs, its keys hashable and of few collisions (see asserts.few_collisions)."""
    few_collisions(_hashable(key) for key, _ in pairs)
    return [(key, item) for key, item in pairs]


def _bigint(text: str) -> int:
    return int(text, 16)  # linear in its length, whatever the size


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    if number.is_snan():  # it raises on any comparison
        raise Undecodable("a signalling NaN")
    return number


PATHS = {"posix": PurePosixPath, "windows": PureWindowsPath}
# tags whose body is a list of values, and what the host makes of their decoded items
CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {
    "tuple": tuple,
    "dict": lambda pairs: dict(_keyed(pairs)),
    "set": lambda items: set(few_collisions(items)),
    "frozenset": lambda items: frozenset(few_collisions(items)),
    "deque": deque,
    "counter": lambda pairs: Counter(dict(_keyed(pairs))),
    "ordereddict": lambda pairs: OrderedDict(_keyed(pairs)),
    "keys": lambda items: dict.fromkeys(few_collisions(items)).keys(),
    "values": lambda items: dict(enumerate(items)).values(),
    "items": lambda pairs: dict(_keyed(pairs)).items(),
}
# tags whose body is a text, what reads it, and its longest length
TEXTS: dict[str, tuple[Callable[[str], Any], int]] = {
    "bytes": (bytes.fromhex, 1 << 40),  # bounded by the report's size
    "bytearray": (bytearray.fromhex, 1 << 40),
    "bigint": (_bigint, 1 << 40),
    "decimal": (_decimal, DECIMAL_CHARS),
    "datetime": (datetime.fromisoformat, ISO_CHARS),
    "uuid": (lambda text: UUID(hex=text), 32),
    "time": (time.fromisoformat, ISO_CHARS),
}


def check_passes(check: Check, reported: list[Any] | None, objects: Any = None) -> bool:
    """Whether one rewritten assert holds, given the values the sandbox sent (None: not plain data) and its
    report of the objects they refer to (see local_objects)."""
    if reported is None:
        return False
    try:
        with np.errstate(all="ignore"):  # numpy's floating-point warnings (1 / an array of 0): an answer's, not logs
            values = check_operands(check, reported, objects)
            if not check.ops:
                return bool(values[0])
            return all(bool(op(values[i], values[i + 1])) for i, op in enumerate(check.ops))
    except (Undecodable, IndexError, TypeError, ValueError, KeyError, ArithmeticError):  # Decimal NaN's < too
        return False


def check_operands(check: Check, reported: list[Any], objects: Any = None) -> list[Any]:
    """The values one rewritten assert compares: the sandbox's (decoded) in their slots, the constants the host
    kept in theirs, and the host's work on them. Raises Undecodable or IndexError on a report the harness
    would not send, or what that work raised (a TypeError, a ZeroDivisionError...)."""
    slots = _slots(reported, objects)
    return [evaluate(operand, slots) for operand in check.operands]


def _slots(reported: list[Any], objects: Any) -> list[Any]:
    """The values the sandbox sent for one assert, decoded."""
    stand_ins, seen = local_objects(objects), Counter[str]()
    slots = [decode(v, stand_ins, seen, array=True) for v in reported]
    if seen["decimal"] and seen["wide int"]:  # comparing or adding them makes the int a Decimal
        raise Undecodable(f"a Decimal and an int wider than {DECIMAL_INT_BITS} bits in one assert")
    return slots


def compared_values(check: Check, reported: list[Any], objects: Any = None) -> list[Any]:
    """What a failed assert's detail shows: the values it compared (see check_operands); for ``A == x or A ==
    y``, those of each comparison."""
    operand = check.operands[0] if len(check.operands) == 1 else None
    with np.errstate(all="ignore"):
        if check.ops or operand is None or operand[0] != "any":
            return check_operands(check, reported, objects)
        slots = _slots(reported, objects)
        return [[evaluate(value, slots) for value in comparison[2]] for comparison in operand[1]]


def returned_matches(value: Any, expected: Any, abs_tol: float = 0.0, rel_tol: float = 0.0) -> bool:
    """A call test's return value against its JSON ``expected``: tuples and numpy arrays compare as lists and
    dict keys as JSON writes them (JSON has no tuples and no arrays, and only strings for keys: ``{1: "a"}``
    matches ``{"1": "a"}``), floats within the tolerances, everything else with Python's ``==``."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(expected, list) and isinstance(value, list):
        return len(value) == len(expected) and all(
            returned_matches(v, e, abs_tol, rel_tol) for v, e in zip(value, expected, strict=True)
        )
    if isinstance(expected, dict) and isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            keyed = _json_keys(value)
            if keyed is None:
                return False
            value = keyed
        return value.keys() == expected.keys() and all(
            returned_matches(value[k], expected[k], abs_tol, rel_tol) for k in expected
        )
    if _is_number(value) and _is_number(expected) and (abs_tol or rel_tol):
        return math.isclose(value, expected, abs_tol=abs_tol, rel_tol=rel_tol)
    try:
        return bool(value == expected)
    except (TypeError, ValueError):
        return False


def _json_keys(value: dict[Any, Any]) -> dict[str, Any] | None:
    """``value`` with its keys as JSON writes them (``1`` -> ``"1"``, ``True`` -> ``"true"``, ``None`` ->
    ``"null"``); None if a key has no JSON form (a tuple) or two keys would be one (``1`` and ``"1"``)."""
    keyed: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            if key is not None and not isinstance(key, int | float):
                return None
            try:
                key = json.dumps(key)
            except ValueError:  # an int past Python's int/str digit limit
                return None
        if key in keyed:
            return None
        keyed[key] = item
    return keyed


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def normalize_stdout(text: str, mode: str) -> Any:
    """``exact``: as is; ``lines`` (default): line endings unified, trailing whitespace of every line and
    trailing blank lines dropped; ``tokens``: the whitespace-separated tokens."""
    if mode == "exact":
        return text
    if mode == "tokens":
        return text.split()
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# linear on any token (no part can take back what another gave up: ``\d+\.?\d*`` was quadratic on a long run
# of digits, which a program can print)
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
NUMBER_CHARS = 100  # longer tokens compare as text
Equal = Callable[[str, str], bool]


def unit_equal(mode: str, abs_tol: float = 0.0, rel_tol: float = 0.0) -> Equal:
    """How two units of ``normalize_stdout`` (lines, tokens) compare: as strings; with a tolerance, tokens
    that are both decimal numbers (``3``, ``-0.5``, ``1e-9``) also match within it (as checkers of
    competitive programming problems accept ``0.333333`` for ``1/3``), and a line matches when its tokens do."""
    if not (abs_tol or rel_tol):
        return str.__eq__

    def token(actual: str, expected: str) -> bool:
        if actual == expected:
            return True
        if max(len(actual), len(expected)) > NUMBER_CHARS or not (
            NUMBER.fullmatch(actual) and NUMBER.fullmatch(expected)
        ):
            return False
        a, e = float(actual), float(expected)  # decimal text: never NaN; past 1e308, infinite
        return math.isfinite(a) and math.isfinite(e) and math.isclose(a, e, abs_tol=abs_tol, rel_tol=rel_tol)

    if mode == "tokens":
        return token

    def line(actual: str, expected: str) -> bool:
        if actual == expected:
            return True
        a, e = actual.split(), expected.split()
        return len(a) == len(e) and all(map(token, a, e))

    return line


def stdout_matches(actual: Sequence[str], expected: Sequence[str], equal: Equal = str.__eq__) -> bool:
    """Whether a program's normalised output is the expected one, unit by unit."""
    if equal is str.__eq__:
        return actual == expected
    return len(actual) == len(expected) and all(map(equal, actual, expected))


def similarity(actual: Sequence[str], expected: Sequence[str], equal: Equal = str.__eq__) -> float:
    """Partial credit of a stdio test: the units (of ``normalize_stdout``) equal at the same position, over
    the longer of the two; 1.0 only when they are equal. Linear in the output's size."""
    longest: int = max(len(actual), len(expected))
    if longest == 0:
        return 1.0
    matching = sum(1 for a, e in zip(actual, expected, strict=False) if equal(a, e))
    return matching / longest
