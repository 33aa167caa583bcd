"""What the sandbox imports as ``pytest``: the helpers that test files written for pytest use most, for tests
that run as a script in the sandbox (pytest itself is not there, and importing it would cost every execution
a quarter of a second).

``raises`` (as a context manager or with a callable, ``match`` included), ``warns``, ``deprecated_call``,
``approx`` (numbers, and lists, tuples and dicts of them, numpy arrays), ``fail``, ``skip``, ``param``,
``mark`` and ``fixture`` as decorators that leave the function as it is, pytest's fixtures ``capsys``,
``capfd``, ``tmp_path``, ``tmpdir``, ``monkeypatch`` and ``caplog``, pytest-mock's ``mocker``, and
``request`` (FixtureRequest). The test functions are called by the code the tests scorer appends to the test
(``parametrize`` expanded there, fixtures given; see service.scorers.tests.collect), not by anything here.

Standard library only: the host imports this module too (its ``approx`` judges ``assert f(x) ==
pytest.approx(y)`` outside the sandbox, where the answer's code cannot reach it).
"""

import io
import math
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn, TypeVar

DEFAULT_REL = 1e-6
DEFAULT_ABS = 1e-12
_NOTSET: Any = object()
Context = TypeVar("Context", "RaisesContext", "WarnsContext")


class approx:  # noqa: N801 (pytest's name)
    """Equal to numbers within a tolerance of ``expected`` (and to lists, tuples and dicts of such numbers of
    the same shape, a list and a tuple alike, and numpy arrays), as ``pytest.approx``: relative ``rel``
    (default 1e-6) or absolute ``abs`` (default 1e-12), whichever is larger; with ``abs`` alone, only ``abs``.
    Anything not a number compares with ``==``. A numpy array compares element by element (with an array of
    its shape, a list of lists of it, or a number), and numpy leaves ``array == approx(...)`` to approx, as
    pytest's."""

    __array_ufunc__ = None  # numpy's operators on an array and an approx return NotImplemented: ours decide
    __array_priority__ = 100

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


def _array(value: Any) -> bool:
    """A numpy array, told without importing numpy (this module is the standard library's only)."""
    kind = type(value)
    return kind.__name__ == "ndarray" and kind.__module__ == "numpy"


def _close_array(actual: Any, expected: Any, tolerance: approx) -> bool:
    """``approx(expected) == actual`` where one of them is a numpy array: of one shape, element by element (a
    list or a tuple as the array numpy would make of it), or every element against a number."""
    if _number(actual) or _number(expected):
        number, array = (actual, expected) if _number(actual) else (expected, actual)
        flat = array.ravel().tolist()
        pairs = [(number, e) for e in flat] if number is actual else [(a, number) for a in flat]
        return all(_close(a, e, tolerance) for a, e in pairs)
    shape = tuple(expected.shape if _array(expected) else actual.shape)
    return _shaped(actual, shape) and _shaped(expected, shape) and _close(_nested(actual), _nested(expected), tolerance)


def _shaped(value: Any, shape: tuple[int, ...]) -> bool:
    """Whether a value (an array, or nested lists and tuples) has this shape."""
    if _array(value):
        return tuple(value.shape) == shape
    if not shape:
        return not isinstance(value, list | tuple)
    return isinstance(value, list | tuple) and len(value) == shape[0] and all(_shaped(v, shape[1:]) for v in value)


def _nested(value: Any) -> Any:
    """An array as nested lists of Python numbers; nested tuples as nested lists."""
    if _array(value):
        return value.tolist()
    return [_nested(v) for v in value] if isinstance(value, list | tuple) else value


def _close(actual: Any, expected: Any, tolerance: approx) -> bool:
    if _array(expected) or (_array(actual) and not isinstance(expected, list | tuple | dict)):
        return _close_array(actual, expected, tolerance)
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_close(actual[key], expected[key], tolerance) for key in expected)
        )
    if isinstance(expected, list | tuple):  # any sequence of its length, as pytest's (a tuple, an array's rows)
        items = actual.tolist() if _array(actual) else actual
        return (
            isinstance(items, list | tuple)
            and len(items) == len(expected)
            and all(_close(a, e, tolerance) for a, e in zip(items, expected, strict=True))
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
    return _around(RaisesContext(expected, match), args, kwargs)


def _around(context: Context, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Context:
    """``context`` itself, or, given a callable and its arguments (``raises(E, f, 1)``), after calling it in it."""
    if args:
        with context:
            args[0](*args[1:], **kwargs)
    return context


class WarnsContext:
    """What ``warns`` gives: the warnings the block issued are ``list`` once it ends; one must be of the
    expected category (and match ``match``)."""

    def __init__(self, expected: type[Warning] | tuple[type[Warning], ...], match: str | None = None) -> None:
        import warnings

        self.expected, self.match_pattern = expected, match
        self.catcher = warnings.catch_warnings(record=True)
        self.list: list[Any] = []

    def __enter__(self) -> "WarnsContext":
        import warnings

        recorded = self.catcher.__enter__()  # the list the warnings go to (empty, so never ``or``-ed away)
        self.list = recorded if recorded is not None else []
        warnings.simplefilter("always")
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: Any) -> None:
        self.catcher.__exit__(kind, value, traceback)
        if kind is None and not any(
            issubclass(w.category, self.expected)
            and (self.match_pattern is None or re.search(self.match_pattern, str(w.message)))
            for w in self.list
        ):
            raise AssertionError(f"DID NOT WARN {self.expected!r}")


class WarningsRecorder:
    """pytest's ``recwarn``: the warnings the test issues (every one: the filter is "always"), as ``list``; with
    ``pop(category)`` and ``clear()``. ``finish()``, after the test, restores the warning filters."""

    def __init__(self) -> None:
        import warnings

        self.catcher = warnings.catch_warnings(record=True)
        recorded = self.catcher.__enter__()
        self.list: list[Any] = recorded if recorded is not None else []
        warnings.simplefilter("always")

    def __len__(self) -> int:
        return len(self.list)

    def __iter__(self) -> Any:
        return iter(self.list)

    def __getitem__(self, index: int) -> Any:
        return self.list[index]

    def pop(self, cls: type[Warning] = Warning) -> Any:
        for index, warning in enumerate(self.list):
            if issubclass(warning.category, cls):
                return self.list.pop(index)
        raise AssertionError(f"{cls!r} not found in warning list")

    def clear(self) -> None:
        self.list[:] = []

    def finish(self) -> None:
        self.catcher.__exit__(None, None, None)


def warns(
    expected: type[Warning] | tuple[type[Warning], ...] = Warning, *args: Any, match: str | None = None, **kwargs: Any
) -> WarnsContext:
    return _around(WarnsContext(expected, match), args, kwargs)


def deprecated_call(*args: Any, **kwargs: Any) -> WarnsContext:
    return warns((DeprecationWarning, PendingDeprecationWarning), *args, **kwargs)


def fail(reason: str = "", pytrace: bool = True) -> NoReturn:
    raise AssertionError(reason or "failed")


class Skipped(Exception):
    """``pytest.skip()`` in a test: here, the test cannot pass."""


def skip(reason: str = "", allow_module_level: bool = False) -> NoReturn:
    raise Skipped(reason)


def xfail(reason: str = "") -> NoReturn:
    raise Skipped(reason or "xfail")


def importorskip(modname: str, minversion: str | None = None, reason: str | None = None) -> Any:
    """The module, imported; a skip (here: the test cannot pass) where it is not there."""
    import importlib

    try:
        return importlib.import_module(modname)
    except ImportError:
        skip(reason or f"could not import {modname!r}")


class ParameterSet(tuple):  # type: ignore[type-arg]
    """What ``param(1, 2)`` gives: the values of one case."""


def param(*values: Any, marks: Any = (), id: str | None = None) -> ParameterSet:  # noqa: A002 (pytest's name)
    return ParameterSet(values)


def parametrized(specs: list[tuple[tuple[str, ...], Any]], limit: int) -> list[dict[str, Any]]:
    """The cases of a test's parametrize decorators whose values are not written out in the decorator
    (``@parametrize("a, b", CASES)``): each a mapping of parameter names to values, every combination of the
    decorators' cases (at most ``limit``)."""
    combinations: list[dict[str, Any]] = [{}]
    for names, values in specs:
        cases = []
        for value in values:
            if isinstance(value, ParameterSet):
                value = value[0] if len(names) == 1 and len(value) == 1 else tuple(value)
            if len(names) == 1:
                cases.append({names[0]: value})
                continue
            items = tuple(value)
            if len(items) != len(names):
                raise ValueError(f"a case of {len(items)} values for the {len(names)} parameters {names}")
            cases.append(dict(zip(names, items, strict=True)))
        if len(combinations) * len(cases) > limit:
            raise ValueError(f"more than {limit} parametrized cases")
        combinations = [{**done, **case} for done in combinations for case in cases]
    return combinations


def _leave_as_is(*args: Any, **kwargs: Any) -> Any:
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


class _Marks:
    def __getattr__(self, name: str) -> Callable[..., Any]:
        return _leave_as_is


mark = _Marks()
fixture = _leave_as_is


# ------------------------------------------------------------------------------- pytest's own fixtures
# The calls collect appends make one per test that asks for it (``builtin_fixture("capsys")``) and finish it
# after the test: capsys and capfd (what the test printed: ``readouterr().out``), monkeypatch (undone after the
# test), tmp_path (a fresh directory in the execution's own).


class CaptureResult(NamedTuple):
    out: str
    err: str


class Capture:
    """``capsys`` (and ``capfd``): sys.stdout and sys.stderr write to memory until the test ends. Also
    ``pytest.CaptureFixture`` (``capsys: pytest.CaptureFixture[str]``)."""

    def __class_getitem__(cls, item: Any) -> type["Capture"]:
        return cls

    def __init__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()

    def readouterr(self) -> CaptureResult:
        out, err = sys.stdout, sys.stderr
        result = CaptureResult(out.getvalue() if isinstance(out, io.StringIO) else "",
                               err.getvalue() if isinstance(err, io.StringIO) else "")  # fmt: skip
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return result

    def finish(self) -> None:
        sys.stdout, sys.stderr = self.saved


class MonkeyPatch:
    """``monkeypatch``: setattr (an object and a name, or ``"module.name"``), delattr, setitem, delitem,
    setenv, delenv, chdir; all undone when the test ends."""

    def __init__(self) -> None:
        self.undos: list[Callable[[], None]] = []

    def setattr(self, target: Any, name: Any, value: Any = _NOTSET, raising: bool = True) -> None:
        if value is _NOTSET:  # setattr("module.attr", value)
            if not isinstance(target, str):
                raise TypeError("use setattr(target, name, value) or setattr('module.name', value)")
            path, _, attribute = target.rpartition(".")
            target, name, value = _resolve(path), attribute, name
        if raising and not hasattr(target, name):
            raise AttributeError(f"{target!r} has no attribute {name!r}")
        old = getattr(target, name, _NOTSET)
        setattr(target, name, value)
        self.undos.append(lambda: delattr(target, name) if old is _NOTSET else setattr(target, name, old))

    def delattr(self, target: Any, name: Any = _NOTSET, raising: bool = True) -> None:
        if name is _NOTSET:
            path, _, name = str(target).rpartition(".")
            target = _resolve(path)
        if not hasattr(target, name):
            if raising:
                raise AttributeError(name)
            return
        old = getattr(target, name)
        delattr(target, name)
        self.undos.append(lambda: setattr(target, name, old))

    def setitem(self, mapping: Any, key: Any, value: Any) -> None:
        old = mapping.get(key, _NOTSET) if hasattr(mapping, "get") else _NOTSET
        mapping[key] = value
        self.undos.append(lambda: mapping.pop(key, None) if old is _NOTSET else mapping.__setitem__(key, old))

    def delitem(self, mapping: Any, key: Any, raising: bool = True) -> None:
        if key not in mapping:
            if raising:
                raise KeyError(key)
            return
        old = mapping[key]
        del mapping[key]
        self.undos.append(lambda: mapping.__setitem__(key, old))

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        value = str(value)
        if prepend and name in os.environ:
            value = value + prepend + os.environ[name]
        self.setitem(os.environ, name, value)

    def delenv(self, name: str, raising: bool = True) -> None:
        self.delitem(os.environ, name, raising)

    def chdir(self, path: Any) -> None:
        old = os.getcwd()
        os.chdir(path)
        self.undos.append(lambda: os.chdir(old))

    def undo(self) -> None:
        while self.undos:
            self.undos.pop()()

    finish = undo


def _resolve(path: str) -> Any:
    """The object ``"package.module.name"`` names: the longest importable module, then attributes."""
    import importlib

    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:]:
            found = getattr(found, part)
        return found
    raise ImportError(f"cannot import {path!r}")


class FixtureRequest:
    """pytest's ``request`` as a fixture (or a test) sees it: ``param``, the param of a fixture made with
    ``params=[...]`` for this call, and ``addfinalizer``; collect's calls run the finalizers after the test."""

    def __init__(self, *param: Any) -> None:
        if param:
            self.param = param[0]
        self._finalizers: list[Callable[[], Any]] = []

    def addfinalizer(self, finalizer: Callable[[], Any]) -> None:
        self._finalizers.append(finalizer)

    def finish(self) -> None:
        while self._finalizers:
            self._finalizers.pop()()


class LocalPath(os.PathLike[str]):
    """What pytest's ``tmpdir`` gives (a ``py.path.local``), in the part tests use: ``join``, ``mkdir``,
    ``write``, ``read``, ``exists``, ``listdir``, ``remove``, ``strpath``, ``basename``, ``dirname``, ``/``,
    ``str()`` and ``os.fspath()``."""

    def __init__(self, path: str) -> None:
        self.strpath = os.path.abspath(path)

    def __fspath__(self) -> str:
        return self.strpath

    def __str__(self) -> str:
        return self.strpath

    def __repr__(self) -> str:
        return f"local({self.strpath!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalPath | str) and self.strpath == str(other)

    def __hash__(self) -> int:
        return hash(self.strpath)

    def __truediv__(self, other: str) -> "LocalPath":
        return self.join(other)

    @property
    def basename(self) -> str:
        return os.path.basename(self.strpath)

    @property
    def dirname(self) -> str:
        return os.path.dirname(self.strpath)

    def join(self, *parts: str) -> "LocalPath":
        return LocalPath(os.path.join(self.strpath, *map(str, parts)))

    def mkdir(self, *parts: str) -> "LocalPath":
        made = self.join(*parts)
        os.mkdir(made.strpath)
        return made

    def write(self, data: str | bytes, mode: str = "w") -> None:
        with open(self.strpath, mode + ("b" if isinstance(data, bytes) and "b" not in mode else "")) as file:
            file.write(data)

    def write_text(self, data: str, encoding: str = "utf-8") -> None:
        with open(self.strpath, "w", encoding=encoding) as file:
            file.write(data)

    def read(self, mode: str = "r") -> str | bytes:
        with open(self.strpath, mode) as file:
            return file.read()  # type: ignore[no-any-return]

    def read_text(self, encoding: str = "utf-8") -> str:
        with open(self.strpath, encoding=encoding) as file:
            return file.read()

    def exists(self) -> bool:
        return os.path.exists(self.strpath)

    def check(self, file: bool = False, dir: bool = False) -> bool:  # noqa: A002 (py.path's names)
        return os.path.isfile(self.strpath) if file else os.path.isdir(self.strpath) if dir else self.exists()

    def listdir(self) -> list["LocalPath"]:
        return [self.join(name) for name in sorted(os.listdir(self.strpath))]

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.strpath) if os.path.isdir(self.strpath) else os.remove(self.strpath)


class LogCapture:
    """pytest's ``caplog``: the records the root logger gets while the test runs (every level from
    ``set_level``'s or ``at_level``'s, else WARNING as logging's default), as ``records``, ``messages``,
    ``record_tuples`` and ``text``; ``clear()``. ``finish()`` takes its handler off and the levels back."""

    def __init__(self) -> None:
        import logging

        self._logging = logging
        self.records: list[Any] = []
        capture = self

        class Handler(logging.Handler):
            def emit(self, record: Any) -> None:
                capture.records.append(record)

        self.handler = Handler(level=0)
        self._restore: list[tuple[Any, int]] = []
        logging.getLogger().addHandler(self.handler)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    @property
    def record_tuples(self) -> list[tuple[str, int, str]]:
        return [(record.name, record.levelno, record.getMessage()) for record in self.records]

    @property
    def text(self) -> str:
        formatter = self._logging.Formatter("%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s")
        return "".join(formatter.format(record) + "\n" for record in self.records)

    def clear(self) -> None:
        self.records.clear()

    def set_level(self, level: int | str, logger: str | None = None) -> None:
        target = self._logging.getLogger(logger)
        self._restore.append((target, target.level))
        target.setLevel(level)

    def at_level(self, level: int | str, logger: str | None = None) -> Any:
        import contextlib

        @contextlib.contextmanager
        def scope() -> Any:
            target = self._logging.getLogger(logger)
            before = target.level
            target.setLevel(level)
            try:
                yield
            finally:
                target.setLevel(before)

        return scope()

    def finish(self) -> None:
        self._logging.getLogger().removeHandler(self.handler)
        while self._restore:
            target, level = self._restore.pop()
            target.setLevel(level)


class Mocker:
    """pytest-mock's ``mocker``: ``patch`` (also ``patch.object``, ``patch.dict``, ``patch.multiple``) as
    unittest.mock's, started at once and stopped after the test (``finish``, ``stopall``), ``spy``, and
    unittest.mock's ``Mock``, ``MagicMock``, ``PropertyMock``, ``AsyncMock``, ``ANY``, ``call``, ``sentinel``,
    ``DEFAULT`` as attributes."""

    def __init__(self) -> None:
        from unittest import mock

        self._mock = mock
        self._started: list[Any] = []
        for name in ("Mock", "MagicMock", "NonCallableMock", "PropertyMock", "AsyncMock", "ANY", "call", "sentinel",
                     "DEFAULT", "mock_open", "create_autospec"):  # fmt: skip
            setattr(self, name, getattr(mock, name))
        started = self._start

        class Patch:
            def __call__(self, target: str, *args: Any, **kwargs: Any) -> Any:
                return started(mock.patch(target, *args, **kwargs))

            def object(self, target: Any, attribute: str, *args: Any, **kwargs: Any) -> Any:
                return started(mock.patch.object(target, attribute, *args, **kwargs))

            def dict(self, in_dict: Any, values: Any = (), clear: bool = False, **kwargs: Any) -> Any:
                return started(mock.patch.dict(in_dict, values, clear, **kwargs))

            def multiple(self, target: Any, *args: Any, **kwargs: Any) -> Any:
                return started(mock.patch.multiple(target, *args, **kwargs))

        self.patch = Patch()

    def _start(self, patcher: Any) -> Any:
        value = patcher.start()
        self._started.append((patcher, value))
        return value

    def spy(self, obj: Any, name: str) -> Any:
        """``obj.name`` replaced by a MagicMock that calls the original and records its calls (and
        ``spy_return``, the last value it returned)."""
        original = getattr(obj, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            spy.spy_return = original(*args, **kwargs)
            return spy.spy_return

        spy = self.patch.object(obj, name, side_effect=call)
        spy.spy_return = None
        return spy

    def stopall(self) -> None:
        while self._started:
            self._started.pop()[0].stop()

    def resetall(self) -> None:
        for _, value in self._started:
            if isinstance(value, self._mock.NonCallableMock):
                value.reset_mock()

    finish = stopall


def builtin_fixture(name: str) -> Any:
    """A fresh value of pytest's fixture ``name``: capsys, capfd, monkeypatch, caplog, mocker, recwarn (each
    with ``finish()``, which collect's calls make after the test), tmp_path or tmpdir."""
    if name in ("capsys", "capfd"):
        return Capture()
    if name == "monkeypatch":
        return MonkeyPatch()
    if name == "caplog":
        return LogCapture()
    if name == "mocker":
        return Mocker()
    if name == "recwarn":
        return WarningsRecorder()
    if name in ("tmp_path", "tmpdir"):
        import tempfile  # here: importing it costs every execution that has the stand-in, not only this one

        made = tempfile.mkdtemp(prefix=f"{name}-", dir=os.getcwd())
        if name == "tmpdir":
            return LocalPath(made)
        import pathlib

        return pathlib.Path(made)
    raise LookupError(f"no fixture {name!r} here")


# the names test files give these classes in their annotations (``monkeypatch: pytest.MonkeyPatch``), and
# pytest-mock's module (``from pytest_mock import MockerFixture``), which the harness makes of this one too
CaptureFixture = Capture
LogCaptureFixture = LogCapture
MockerFixture = MockFixture = Mocker
