"""What the sandbox imports as ``pytest``: the helpers that test files written for pytest use most, for tests
that run as a script in the sandbox (pytest itself is not there, and importing it would cost every execution
a quarter of a second).

``raises`` (as a context manager or with a callable, ``match`` included), ``approx`` (numbers, and lists,
tuples and dicts of them), ``fail``, ``skip``, ``param``, and ``mark`` and ``fixture`` as decorators that leave
the function as it is. The test functions are called by the code the tests scorer appends to the test
(``parametrize`` expanded there; see service.scorers.tests.collect), not by anything here.

Standard library only: the host imports this module too (its ``approx`` judges ``assert f(x) ==
pytest.approx(y)`` outside the sandbox, where the answer's code cannot reach it).
"""

import math
import re
from collections.abc import Callable
from typing import Any, NoReturn

DEFAULT_REL = 1e-6
DEFAULT_ABS = 1e-12


class approx:  # noqa: N801 (pytest's name)
    """Equal to numbers within a tolerance of ``expected`` (and to lists, tuples and dicts of such numbers of
    the same shape), as ``pytest.approx``: relative ``rel`` (default 1e-6) or absolute ``abs`` (default 1e-12),
    whichever is larger; with ``abs`` alone, only ``abs``. Anything not a number compares with ``==``."""

    def __init__(self, expected: Any, rel: float | None = None, abs: float | None = None, nan_ok: bool = False) -> None:
        self.expected, self.rel, self.abs, self.nan_ok = expected, rel, abs, nan_ok

    def __eq__(self, actual: object) -> bool:
        return _close(actual, self.expected, self)

    def __ne__(self, actual: object) -> bool:
        return not self == actual

    __hash__ = None  # type: ignore[assignment]  # as pytest's: not hashable

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


def _number(value: Any) -> bool:
    return isinstance(value, int | float | complex) and not isinstance(value, bool)


def _close(actual: Any, expected: Any, tolerance: approx) -> bool:
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_close(actual[key], expected[key], tolerance) for key in expected)
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, type(expected))
            and len(actual) == len(expected)
            and all(_close(a, e, tolerance) for a, e in zip(actual, expected, strict=True))
        )
    if not (_number(expected) and _number(actual)):
        return bool(actual == expected)
    if actual == expected:
        return True
    if math.isnan(abs(expected)):
        return bool(tolerance.nan_ok) and math.isnan(abs(actual))
    if math.isinf(abs(expected)) or math.isinf(abs(actual)):
        return False
    absolute = DEFAULT_ABS if tolerance.abs is None else tolerance.abs
    if tolerance.rel is None and tolerance.abs is not None:
        allowed = absolute
    else:
        allowed = max((DEFAULT_REL if tolerance.rel is None else tolerance.rel) * abs(expected), absolute)
    return bool(abs(expected - actual) <= allowed)


class RaisesContext:
    """What ``raises`` gives: the exception caught is ``value`` (its type ``type``) once the block ends."""

    def __init__(
        self, expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None = None
    ) -> None:
        self.expected, self.match_pattern = expected, match
        self.value: BaseException | None = None
        self.type: type[BaseException] | None = None

    def __enter__(self) -> "RaisesContext":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: Any) -> bool:
        if kind is None:
            raise AssertionError(f"DID NOT RAISE {self.expected!r}")
        if not issubclass(kind, self.expected):
            return False  # another exception: the test's error
        if self.match_pattern is not None and not re.search(self.match_pattern, str(value)):
            raise AssertionError(f"the message {str(value)!r} does not match {self.match_pattern!r}")
        self.value, self.type = value, kind
        return True

    def match(self, pattern: str) -> bool:
        if not re.search(pattern, str(self.value)):
            raise AssertionError(f"the message {str(self.value)!r} does not match {pattern!r}")
        return True


def raises(
    expected: type[BaseException] | tuple[type[BaseException], ...], *args: Any, match: str | None = None, **kwargs: Any
) -> RaisesContext:
    context = RaisesContext(expected, match)
    if not args:
        return context
    with context:
        args[0](*args[1:], **kwargs)
    return context


def fail(reason: str = "", pytrace: bool = True) -> NoReturn:
    raise AssertionError(reason or "failed")


class Skipped(Exception):
    """``pytest.skip()`` in a test: here, the test cannot pass."""


def skip(reason: str = "", allow_module_level: bool = False) -> NoReturn:
    raise Skipped(reason)


def param(*values: Any, marks: Any = (), id: str | None = None) -> tuple[Any, ...]:  # noqa: A002 (pytest's name)
    return values


def _leave_as_is(*args: Any, **kwargs: Any) -> Any:
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


class _Marks:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        return _leave_as_is


mark = _Marks()
fixture = _leave_as_is
