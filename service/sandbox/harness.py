"""The program that runs inside the sandbox: a long-lived worker whose fork server forks one child per
execution unit.

Standalone on purpose (standard library only, no import of the service): it runs under the sandbox's own
interpreter with ``-I -S``, as an unprivileged uid, in its own namespaces. Protocol: the host writes one
JSON unit per line on stdin; the worker answers one JSON result per line on stdout.

Three processes per worker. The *worker* reads units, compiles their sources, watches each execution (wall
time, output) and answers the host. The *template* is a copy of the worker made once, right after its
imports, whose only job is to fork the children, wait for them and kill what they leave: it touches almost
none of its memory, so a fork costs it (and the worker, which no longer forks) no copy-on-write faults,
the largest cost of an execution on a virtual machine. The *child* reads its job (the unit, the compiled
code marshalled by the worker) from a pipe, then runs it.

A unit is some code plus tests. In ``functions`` mode the child runs the code once (as the module
``solution``, which a test may import), then each test in turn
(``call``: call a function with JSON arguments and send back its return value; ``check``: run rewritten
assert statements that send back the operands of their comparisons); in ``script`` mode the child runs the
code with a stdin and the worker returns its stdout. A unit in another language carries a ``command``: the
child writes the code to a file in its run directory and ``execve``s the command, with the same stdin,
limits and capture; a script's exit status 0 is its ``done``, and ``call`` tests run in the language's
driver, which reads the tests from a file and sends the same messages as the child does. In ``compile`` mode
the command is a compiler, and the worker sends back the program it left (a later unit brings it along).
The child never judges a test: values go back to the host, which compares them with expected values that
never entered the sandbox.
A child that ends, crashes or is killed before reporting a test leaves that test without a report; the
worker then runs the remaining tests in a fresh child, so one crash does not take the other tests with it.

Each child gets its own session, working directory and resource limits (address space, CPU time, file
size, open files, processes); after each unit the template kills every process it can signal in the PID
namespace (``kill(-1)``), so nothing an execution started survives it. The worker is the namespace's
init (PID 1): nothing in the sandbox can kill it. A program that kills the template (its parent) scores as
having exited early, and the worker makes a new template.
"""

import builtins
import gc
import json
import marshal
import math
import operator
import os
import resource
import select
import signal
import socket
import sys
import time
import warnings

# Every module the template holds makes each fork and exit cost more (page tables): shutil, which only the
# worker uses, is imported where it is used, after the template is made (select and warnings come in with
# socket and ctypes anyway).


class Quitter:
    """``exit`` and ``quit``: ``site`` adds them to the builtins of a program run as ``python3 main.py`` (this
    interpreter runs with ``-S``), and programs call them to end (``print(-1); exit()``). As site's: close
    stdin, raise SystemExit."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code=None):
        try:
            sys.stdin.close()
        except BaseException:
            pass
        raise SystemExit(code)


builtins.exit, builtins.quit = Quitter("exit"), Quitter("quit")


# The classes the answer's code creates with a ``class`` statement, with ``type`` or ``abc.ABCMeta`` for
# metaclass (their ids, the classes kept alive beside them so that no id is reused): an assert may compare two
# objects of one such class with that class's own ``__eq__`` (``assert f() == Point(1, 2)``), a comparison the
# answer's code owns anyway (see LocalObjects). Such a class is new: ``type.__new__`` (C code no answer can
# patch) made it, called by ``type`` itself or by ABCMeta's ``__new__`` as the standard library wrote it (see
# _pristine_abc). A class that existed before (the standard library's, whose ``__eq__`` the answer could
# patch) never gets in, nor does one another metaclass made, which could hand back any class, nor the test's
# own (whose ``__eq__`` may compare an object of the answer's inside).
LOCAL_CLASSES = []
LOCAL_IDS = set()
_build_class = builtins.__build_class__
_FUNCTION = type(Quitter.__call__)
ABC_AS_SEEN = None  # ABCMeta, its namespace, its __new__'s code, builtins' super, abc's globals (_trust_abc)


def _trust_abc():
    """Notes ABCMeta as the template's imports left it (abc is imported when the interpreter starts)."""
    global ABC_AS_SEEN
    abc = sys.modules["abc"]
    namespace = dict(_namespace(abc.ABCMeta))
    new = namespace.get("__new__")  # a staticmethod, whose __func__ cannot be reassigned
    if type(new) is staticmethod and type(new.__func__) is _FUNCTION:
        ABC_AS_SEEN = (abc.ABCMeta, namespace, new.__func__.__code__, builtins.__dict__["super"], abc.__dict__)


def _pristine_abc():
    """Whether ABCMeta still makes new classes: its namespace is as first seen (its ``__new__`` function, no
    ``__call__`` or ``__prepare__`` added), that function's code and ``__class__`` cell too, and the ``super``
    it calls is the builtin (abc's globals do not shadow it)."""
    meta, namespace, code, super_, module = ABC_AS_SEEN
    now = _namespace(meta)
    if type(meta) is not type or len(now) != len(namespace):
        return False
    if any(now.get(key) is not value for key, value in namespace.items()):
        return False
    new = namespace["__new__"].__func__
    cells = new.__closure__ or ()
    return (new.__code__ is code and all(cell.cell_contents is meta for cell in cells)
            and new.__builtins__ is builtins.__dict__ and "super" not in module
            and builtins.__dict__.get("super") is super_)  # fmt: skip


def _makes_new_classes(meta):
    """Whether a metaclass is one whose classes are surely new: ``type``, or ABCMeta left as it was."""
    if meta is type:
        return True
    return ABC_AS_SEEN is not None and meta is ABC_AS_SEEN[0] and _pristine_abc()


def _build_local_class(func, name, *bases, **keywords):
    """``__build_class__``, which every class statement calls, noting the classes of the answer."""
    if type(func) is not _FUNCTION or func.__code__.co_filename != "<answer>":
        return _build_class(func, name, *bases, **keywords)
    explicit = keywords.get("metaclass")
    if all(issubclass(type(base), type) for base in bases):
        cls = _build_class(func, name, *bases, **keywords)
        # the metaclass chosen is the most derived of these: it made the class
        if _made_new(explicit, bases) and _makes_new_classes(type(cls)):
            _note_local(cls)
        return cls
    # A base that is no class (``Generic[T]``) stands for the classes its __mro_entries__ gives, which only the
    # metaclass sees: if those that it gives now have metaclasses that make new classes, the class statement is
    # handed a function for metaclass (__build_class__ then calls it with the bases as resolved, and no
    # __prepare__: type's and ABCMeta's give an empty dict) that checks the same of the bases it is given.
    if not _made_new(explicit, _resolved(bases)):
        return _build_class(func, name, *bases, **keywords)

    def make(name, resolved, namespace, **keywords):
        if not _made_new(explicit, resolved):
            raise TypeError(f"the bases of class {name} changed while it was made")
        first = explicit if explicit is not None else (type(resolved[0]) if resolved else type)
        metas = {first, *map(type, resolved)}
        cls = (type if metas == {type} else ABC_AS_SEEN[0])(name, resolved, namespace, **keywords)
        if _makes_new_classes(type(cls)):
            _note_local(cls)
        return cls

    return _build_class(func, name, *bases, **{**keywords, "metaclass": make})


# The tests' builtins: a copy made before any answer runs, so that an answer patching the builtins module does
# not reach them. One dict for every test: copying it per test took a reference to each builtin, and the
# builtin types live in the interpreter's static data, so the first copy in a child cost ~50 copy-on-write
# faults (an answer that goes looking can reach this dict through the harness module either way).
PRISTINE_BUILTINS = dict(builtins.__dict__)
# Imported once, before the template is made, so that the children do not pay for them on every execution:
# the modules answers import most. Each costs every fork and exit a little more, so not the rarer ones
# (decimal, fractions, datetime, hashlib), nor random: its reseed after every fork costs a child ~30 faults.
PRELOAD = ("typing", "collections", "itertools", "functools", "math", "heapq", "bisect", "re", "string",
           "operator", "copy")  # fmt: skip
WARM_UP = "from typing import List\nclass _A:\n    pass\ndef _f(xs: List[int]) -> int:\n    return sum(x for x in xs)\n"
PID_NAMESPACE = "--pid-namespace" in sys.argv
SIGKILL = int(signal.SIGKILL)
LIBC = FOUR_INTS = None  # loaded before the template is made (see _load_libc)
# The places besides the scratch directory where an execution can write (``--wipe=DIR``; bwrap mounts all else
# read-only): emptied after every unit with the scratch directory, so that nothing one answer leaves there
# (files, and the memory they hold) reaches the next unit, another request's perhaps.
WIPED = tuple(a.split("=", 1)[1] for a in sys.argv if a.startswith("--wipe="))
# The source of what the executions import as ``pytest`` (pytest_stand_in.py beside this file, sent by the host).
# Compiled by the worker once it first needs it, after the template is made (compiling before that cost every
# child a dozen more copy-on-write faults), and sent in the job of a unit that mentions pytest.
PYTEST_SOURCE = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--pytest=")), None)
PYTEST_CODE = None
# A unit that leaves more entries than this (or anything the worker cannot remove) costs its worker: the
# worker asks to be replaced (a fresh sandbox, fresh mounts) rather than spend long removing them.
WIPE_ENTRIES = 10000
MAX_MESSAGE = 1 << 20
MAX_REPORTS = 32 << 20  # the reports of one execution, together (the host reads a unit's result as one line)
# Sources up to this size are compiled by the worker (the child gets the code objects): the compiler's first
# touches of its memory in a fresh child cost more copy-on-write faults than compiling does (about 1 ms per
# source). Python's compiler runs no code and bounds its constant folding; bigger sources compile in the child,
# under its limits.
PRECOMPILE_BYTES = 65536
CODE_CACHE_SIZE = 256
# The children's standard streams, built once by the worker (a forked child only points fds 0-2 elsewhere):
# building three text wrappers in every child costs more than the answer's code often does.
CHILD_STREAMS = ()
READ_CHUNK = 65536
TEMPLATE = None  # the worker's Template
TEMPLATE_REPLY_S = 5.0  # the template answers at once; one that does not within this (stopped?) is lost


# ------------------------------------------------------------------------------------------- values
FALSE_ASSERT = "assert %d of the test is false"  # a truth check's own failure: the host scores it fail
BIG_INT_BITS = 4096  # ints past this go as hexadecimal (1,233 decimal digits and more)


class Unencodable(Exception):
    pass


# A subclass of a plain type (a defaultdict, a namedtuple, an IntEnum) goes as the plain value it holds, read
# with the base type's own C methods, which no subclass overrides: Python compares it so too
# (``Point(1, 2) == (1, 2)``), and the host compares data, never the subclass's ``__eq__``. (A Counter and an
# OrderedDict go as themselves: see stdlib_value.)
PLAIN_BASES = (
    (int, int.__index__),
    (float, float.__float__),
    (str, str.__str__),
    (bytes, lambda value: bytes.__getitem__(value, slice(None))),
    (list, list.copy),
    (tuple, lambda value: tuple.__getitem__(value, slice(None))),
    (dict, lambda value: dict(dict.items(value))),
    (set, lambda value: set(set.__iter__(value))),
    (frozenset, lambda value: frozenset(frozenset.__iter__(value))),
)
EXACT = frozenset((type(None), bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset))


def plain(value):
    """``value`` if its type is an exact built-in one; the plain value of a subclass of one (see PLAIN_BASES);
    else Unencodable (an object of the answer's own class, with its own ``__eq__``)."""
    kind = type(value)
    if kind in EXACT:
        return value
    for base, read in PLAIN_BASES:
        if issubclass(kind, base):
            return read(value)
    numpy = sys.modules.get("numpy")  # a numpy scalar (np.int64, np.bool_) is the Python scalar it holds, as
    if numpy is not None and isinstance(value, numpy.generic):  # Python compares it; read with numpy's own item()
        scalar = numpy.generic.item(value)
        if type(scalar) in EXACT:  # not a datetime64's datetime, nor an object scalar's object
            return scalar
    raise Unencodable(f"a value of type {kind.__name__} is not plain data")


def stdlib_number(value):
    """A Fraction as ("fraction", [numerator, denominator]), a Decimal as ("decimal", its text), read with the
    standard library's own slots and C methods (no subclass of the answer's overrides them); None for anything
    else. Neither can exist unless the answer imported its module."""
    kind = type(value)
    fractions = sys.modules.get("fractions")
    if fractions is not None and issubclass(kind, fractions.Fraction):
        numerator = fractions.Fraction._numerator.__get__(value)
        denominator = fractions.Fraction._denominator.__get__(value)
        return "fraction", [int.__index__(plain(numerator)), int.__index__(plain(denominator))]
    decimal = sys.modules.get("decimal")
    if decimal is not None and issubclass(kind, decimal.Decimal):
        return "decimal", decimal.Decimal.__str__(value)
    return None


VIEWS = {type({}.keys()): "keys", type({}.values()): "values", type({}.items()): "items"}
# tags whose parts are values themselves
NESTED = frozenset(("fraction", "deque", "range", "keys", "values", "items", "counter", "ordereddict"))


def stdlib_value(value):
    """The standard library's values that Python compares by their contents, as (tag, parts) read with the
    library's own C methods (a subclass goes as its base, as for PLAIN_BASES): the numbers of stdlib_number,
    a Counter, an OrderedDict, a deque, a bytearray, a range, a dict's keys, values or items, a path (see
    _path), a UUID, a date, datetime, time or timedelta. None for anything else."""
    number = stdlib_number(value)
    if number is not None:
        return number
    kind = type(value)
    collections = sys.modules["collections"]  # preloaded
    # A Counter and an OrderedDict as themselves, not as plain dicts: the host's arithmetic on them is theirs
    # (``Counter(f()) - Counter(s)``), and so are their comparisons (a Counter's missing counts are zeros, two
    # OrderedDicts' order counts). Their items are read with dict's and OrderedDict's own C methods.
    if issubclass(kind, collections.Counter):
        return "counter", [[key, count] for key, count in dict.items(value)]
    if issubclass(kind, collections.OrderedDict):
        return "ordereddict", [[key, item] for key, item in collections.OrderedDict.items(value)]
    deque = collections.deque
    if issubclass(kind, deque):
        return "deque", list(deque.__iter__(value))
    if issubclass(kind, bytearray):
        return "bytearray", bytearray.hex(value)
    if kind is range:  # neither a range nor a view can be subclassed
        return "range", [value.start, value.stop, value.step]
    view = VIEWS.get(kind)
    if view is not None:
        return view, list(value)
    pathlib = sys.modules.get("pathlib")
    if pathlib is not None and issubclass(kind, pathlib.PurePath):
        return _path(pathlib, value, kind)
    uuid = sys.modules.get("uuid")
    if uuid is not None and issubclass(kind, uuid.UUID):
        return "uuid", format(int.__index__(plain(uuid.UUID.__dict__["int"].__get__(value))), "032x")
    datetime = sys.modules.get("datetime")
    if datetime is None:
        return None
    if issubclass(kind, datetime.datetime):  # before date, of which it is a subclass
        return "datetime", datetime.datetime.isoformat(value)
    if issubclass(kind, datetime.date):
        return "date", datetime.date.toordinal(value)
    if issubclass(kind, datetime.time):
        return "time", datetime.time.isoformat(value)
    if issubclass(kind, datetime.timedelta):
        delta = datetime.timedelta
        return "timedelta", [delta.days.__get__(value), delta.seconds.__get__(value), delta.microseconds.__get__(value)]
    return None


def _path(pathlib, value, kind):
    """A path as its flavour and the segments it was made of, read from PurePath's slots: 3.11's ``_drv``,
    ``_root`` and ``_parts``, or 3.12's and later's ``_raw_paths`` (another pathlib leaves paths not plain
    data). The host joins them with its own pathlib. Its ``__str__`` is not asked: an answer can patch it."""
    try:
        slots = pathlib.PurePath.__dict__
        if "_parts" in slots:
            drive, root, parts = (slots[name].__get__(value) for name in ("_drv", "_root", "_parts"))
            str.__str__(plain(drive)), str.__str__(plain(root))
        else:
            parts = slots["_raw_paths"].__get__(value)
        parts = [str.__str__(plain(part)) for part in list.copy(plain(parts))]
    except Exception:
        return None
    return "path", ["windows" if issubclass(kind, pathlib.PureWindowsPath) else "posix", parts]


def truthy(value):
    """The truth of plain data (see plain) or a standard library value, never the answer's own ``__bool__``.
    A numpy array's is numpy's (one element: its truth; else an error, as in Python): it only decides whether
    the test goes on, as every value here does; the host judges the array it was sent with its own numpy."""
    if type(value) in EXACT:
        return bool(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and type(value) is numpy.ndarray:
        return bool(numpy.ndarray.__bool__(value))
    special = stdlib_value(value)
    if special is None:
        try:
            return bool(plain(value))
        except Unencodable:
            if always_true(type(value)):  # no __bool__, no __len__ anywhere on its class: true, as in Python
                return True
            raise
    tag, parts = special
    if tag == "fraction":
        return parts[0] != 0
    if tag == "decimal":
        return not _zero(parts)
    if tag == "range":
        return len(range(*parts)) > 0
    if tag == "timedelta":
        return any(parts)
    return tag in ("date", "datetime", "time", "path", "uuid") or len(parts) > 0


def _zero(text):
    """Whether a Decimal's text (as Decimal.__str__ writes it) is a zero: its digits are all 0 (``0.000``,
    ``-0E-7``); a NaN or an infinity is no zero."""
    digits = text.lstrip("-+").split("E")[0].replace(".", "")
    return digits.isdigit() and not digits.strip("0")


# objects of the answer's classes (and compared by identity) in one assert's values, and pairs of them compared
MAX_LOCAL_OBJECTS = 10_000
ALL_PAIRS = 64  # up to this many, every two of one class are compared; past it, those that == would compare
LOCAL_TEXT = 200  # characters of such an object's repr, for a failed assert's detail


_OBJECT_EQ, _OBJECT_NE, _OBJECT_LT = object.__dict__["__eq__"], object.__dict__["__ne__"], object.__dict__["__lt__"]
_mro = type.__dict__["__mro__"].__get__
_namespace = type.__dict__["__dict__"].__get__  # a class's own namespace, whatever its metaclass says
_MISSING = object()


def _lookup(kind, name):
    """What ``name`` is on the class, from the first namespace of its real MRO that has it (as Python finds a
    special method: no metaclass or ``__getattr__`` plays a part); _MISSING if none has it."""
    for klass in _mro(kind):
        namespace = _namespace(klass)
        if name in namespace:
            return namespace[name]
    return _MISSING


def always_true(kind):
    """Whether Python takes every object of this class for true: no class on its real MRO defines ``__bool__``
    or ``__len__``."""
    return _lookup(kind, "__bool__") is _MISSING and _lookup(kind, "__len__") is _MISSING


def by_identity(kind):
    """Whether objects of this class compare as ``object`` does, by identity: the first ``__eq__`` and the first
    ``__ne__`` on its real MRO are object's own (an Enum's members, a ListNode without ``__eq__``)."""
    return _lookup(kind, "__eq__") is _OBJECT_EQ and _lookup(kind, "__ne__") is _OBJECT_NE


class LocalObjects:
    """The objects in the values one assert compares that are no data but can still be compared: those that
    compare by identity (see by_identity), and those of the answer's own classes (see LOCAL_CLASSES). Each
    goes as a reference, with its hash, its repr and its class (a number: objects of two classes are never
    equal). The report says which objects of one of the answer's classes are equal by that class's own
    ``__eq__``, run here: of every two when they are few (ALL_PAIRS), else of those that ``==`` on the values
    would compare (see _matched), and then which of those are not (the host fails an assert that needs
    another). The host compares the values around them: such an object equals itself and what its class said
    it equals, never a plain value."""

    __slots__ = ("objects", "index", "classes")

    def __init__(self):
        self.objects = []
        self.index = {}  # id -> position (ids: an object's own __hash__ and __eq__ play no part here)
        self.classes = {}  # id of a class -> (its number, whether its objects compare by identity, the class)

    def ref(self, value):
        position = self.index.get(id(value))
        if position is None:
            if len(self.objects) >= MAX_LOCAL_OBJECTS:
                raise Unencodable(f"more than {MAX_LOCAL_OBJECTS} objects of the answer's classes in one assert")
            position = self.index[id(value)] = len(self.objects)
            self.objects.append(value)
            kind = type(value)
            if id(kind) not in self.classes:
                self.classes[id(kind)] = (len(self.classes), id(kind) not in LOCAL_IDS or by_identity(kind), kind)
        return {"local": position}

    def report(self, operands):
        objects = self.objects
        hashes = [_hash(o) for o in objects]
        if len(objects) <= ALL_PAIRS:
            pairs = [(i, j) for i in range(len(objects)) for j in range(i + 1, len(objects))]
        else:
            matched = set()
            for left, right in zip(operands, operands[1:], strict=False):
                self._matched(left, right, matched, 0)
            # a set or a dict (the host's too: set(f()) is made there) compares the items of one hash
            by_hash = {}
            for place, item in enumerate(objects):
                if self._comparable(item, item):
                    by_hash.setdefault((id(type(item)), hashes[place]), []).append(place)
            for (_, hashed), places in by_hash.items():
                for k, x in enumerate(places if hashed is not None else ()):
                    matched.update((x, y) for y in places[k + 1 :] if len(matched) < MAX_LOCAL_OBJECTS)
            pairs = sorted(matched)
        compared = [(i, j) for i, j in pairs if self._comparable(objects[i], objects[j])]
        held = [_holds(operator.eq, objects[i], objects[j]) for i, j in compared]
        report = {  # the classes are numbered in the order they came (a dict keeps it)
            "objects": [[_text(o), h, self.classes[id(type(o))][0]] for o, h in zip(objects, hashes, strict=True)],
            "identity": [identity for _, identity, _ in self.classes.values()],
            "equal": [[i, j] for (i, j), equal in zip(compared, held, strict=True) if equal],
        }
        if len(objects) > ALL_PAIRS:
            report["unequal"] = [[i, j] for (i, j), equal in zip(compared, held, strict=True) if not equal]
        else:  # few: ``<`` too, both ways, where the class has its own __lt__ (sorted(), min(), max() on the host)
            ordered = {key for key, (_, identity, kind) in self.classes.items() if not identity and _orders(kind)}
            report["ordered"] = [key in ordered for key in self.classes]
            report["less"] = [[a, b] for i, j in compared if id(type(objects[i])) in ordered
                              for a, b in ((i, j), (j, i)) if _holds(operator.lt, objects[a], objects[b])]  # fmt: skip
        return report

    def _comparable(self, a, b):
        """Two objects of one of the answer's classes (not one that compares by identity): ``==`` runs."""
        return type(a) is type(b) and not self.classes[id(type(a))][1]

    def _matched(self, a, b, found, depth):
        """The pairs of objects at the places of ``a`` and ``b`` that ``a == b`` (or ``a in b``) compares: the
        items of two sequences of one length in turn, the values of two dicts under one key."""
        if depth > 100 or len(found) >= MAX_LOCAL_OBJECTS:  # what it leaves out fails the assert on the host
            return
        i, j = self.index.get(id(a)), self.index.get(id(b))
        if i is not None and j is not None:
            found.add((min(i, j), max(i, j)))
            return
        try:
            a, b = plain(a) if i is None else a, plain(b)
        except Unencodable:
            return
        if i is not None:  # ``a in b``
            if type(b) in (list, tuple, set, frozenset):
                for item in b:
                    k = self.index.get(id(item))
                    if k is not None:
                        found.add((min(i, k), max(i, k)))
            return
        if type(a) in (list, tuple) and type(b) is type(a) and len(a) == len(b):
            for x, y in zip(a, b, strict=True):
                self._matched(x, y, found, depth + 1)
        elif type(a) is dict and type(b) is dict:
            for key, value in a.items():
                if type(key) in EXACT and key in b:
                    self._matched(value, b[key], found, depth + 1)


def _holds(compare, a, b):
    """Whether ``compare(a, b)`` (``operator.eq`` or ``lt``: their class's own ``__eq__`` or ``__lt__``) is
    true: a plain truth; an exception is a no."""
    try:
        return truthy(compare(a, b))
    except Exception:
        return False


def _orders(kind):
    """Whether the class has an ``__lt__`` of its own (not object's) on its real MRO."""
    return _lookup(kind, "__lt__") not in (_MISSING, _OBJECT_LT)


def _hash(value):
    try:
        return hash(value)
    except Exception:  # unhashable: the host's stand-in is too
        return None


def _text(value):
    try:
        return str.__str__(repr(value))[:LOCAL_TEXT]
    except Exception:
        return "<unprintable>"


MAX_ITEMS = 100_000  # as many values as encode's budget takes
# numpy arrays an assert's operand may be (see array_value): numbers and booleans, in this machine's byte order,
# and texts (see array_dtype)
ARRAY_DTYPES = frozenset(("|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8",
                          "<c16"))  # fmt: skip
ARRAY_DIMENSIONS = 2
ARRAY_TEXT = 4096  # the most characters (or bytes) of an element of an array of texts ("<U5", "|S3")


def array_dtype(dtype):
    """Whether an array of this dtype (its ``str``) can go: numbers, booleans, texts of at most ARRAY_TEXT."""
    if dtype in ARRAY_DTYPES:
        return True
    width = dtype[2:]
    return dtype[:2] in ("<U", "|S") and width.isdigit() and width.isascii() and 0 < int(width) <= ARRAY_TEXT


def _itemized(operands, k):
    """The operands of an ``in`` with the container (the k-th) as the tuple of its items where it is no data
    (a linked list of the answer's, a generator, a Flag): ``in`` over them is Python's ``in`` over the object
    for any container whose ``__contains__`` agrees with its ``__iter__``, and the host judges it. The items
    come from the object's own iteration (the answer's code: it makes its values, as any other), never from
    its ``__contains__``, which could answer True to anything. Plain data and the standard library's values
    stay as they are (a string's ``in`` is a substring's)."""
    value = operands[k]
    try:
        operand(value)  # an array too: ``x in array`` is numpy's, over its elements (not its rows)
        return operands
    except Unencodable:
        pass
    if stdlib_value(value) is not None:
        return operands
    items = []
    try:
        for item in value:
            items.append(item)
            if len(items) > MAX_ITEMS:
                return operands  # more than a report could hold (an endless iterator): it fails as no data
    except Exception:
        return operands  # no iteration: it fails as no data
    return (*operands[:k], tuple(items), *operands[k + 1 :])


def _with_objects(check_id, operands):
    """What the host is told of one assert's values that are not all plain data: [id, values, the report of
    the objects they refer to] (see LocalObjects), or [id, None, why] when one cannot go."""
    objects = LocalObjects()
    try:
        values = [operand(v, objects) for v in operands]
    except Unencodable as error:
        return [check_id, None, str(error)]
    return [check_id, values, objects.report(operands)]


def operand(value, objects=None):
    """One value an assert compares, as encode has it, or (where it is no such value) a numpy array of at most
    ARRAY_DIMENSIONS dimensions, or a list or a tuple of such values and arrays of one dimension at most (a
    matrix's rows: ``len(f())`` sends the items of f()), see array_value. An array goes nowhere deeper: the
    host bounds numpy's work on the values it applies its operators to (an (n, 1) array against an (n,) one
    is n * n), which it could not for arrays of more dimensions in a list that ``==`` compares item by item;
    arrays of one dimension compare in time linear in their sizes."""
    try:
        return encode(value, objects=objects)
    except Unencodable:
        array = array_value(value, ARRAY_DIMENSIONS, [MAX_ITEMS])
        kind = type(value)
        if array is None and kind is not list and kind is not tuple:
            raise
    if array is not None:
        return array
    budget = [MAX_ITEMS]
    items = []
    for item in value:
        row = array_value(item, 1, budget)
        items.append(encode(item, 1, budget, objects) if row is None else row)
    return items if kind is list else {"tuple": items}


def array_value(value, dimensions, budget):
    """A numpy array of numbers, booleans or texts (see array_dtype; its class numpy's own: no subclass's
    operators) of at most this many dimensions, within the budget of elements, as {"ndarray": [dtype, shape,
    its bytes in C order as hex]}; None for anything else.
    Read with numpy's C attributes: an answer that swapped numpy's module for its own sends data it chose,
    as it could by returning that data, and the host compares data."""
    numpy = sys.modules.get("numpy")
    if numpy is None or type(value) is not numpy.ndarray:
        return None
    dtype, shape = value.dtype.str, value.shape
    if type(dtype) is not str or not array_dtype(dtype) or type(shape) is not tuple or len(shape) > dimensions:
        return None
    shape = [int.__index__(n) for n in shape if type(n) is int]
    budget[0] -= math.prod(shape)
    if len(shape) != len(value.shape) or budget[0] < 0:
        raise Unencodable("value too large or too deep")
    data = value.tobytes().hex()
    return {"ndarray": [dtype, shape, data]} if type(data) is str else None


def encode(value, depth=0, budget=None, objects=None):
    """Plain data (see plain) and the standard library's values (see stdlib_value) as tagged JSON; with
    ``objects`` (a LocalObjects), an object of the answer's own classes, or one compared by identity, as a
    reference to it.
    Anything else (an object with its own __eq__) is refused, so a comparison made by the host cannot be
    steered by the answer's code."""
    budget = budget if budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0 or depth > 100:
        raise Unencodable("value too large or too deep")
    kind = type(value)
    if kind not in EXACT:
        special = stdlib_value(value)
        if special is not None:
            tag, parts = special
            return {tag: encode(parts, depth + 1, budget, objects) if tag in NESTED else parts}
        try:
            value = plain(value)
        except Unencodable:
            if objects is None or not (id(kind) in LOCAL_IDS or by_identity(kind)):
                raise
            return objects.ref(value)
        kind = type(value)
    if kind is int and value.bit_length() > BIG_INT_BITS:
        # JSON's decimal digits are past Python's int/str conversion limit (4300 digits) for such an int, and
        # quadratic in its size: hexadecimal converts in linear time, without a limit, both ways
        return {"bigint": format(value, "x")}
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is list:
        return [encode(item, depth + 1, budget, objects) for item in value]
    if kind is tuple:
        return {"tuple": [encode(item, depth + 1, budget, objects) for item in value]}
    if kind is dict:
        return {
            "dict": [
                [encode(k, depth + 1, budget, objects), encode(v, depth + 1, budget, objects)] for k, v in value.items()
            ]
        }
    if kind is set or kind is frozenset:
        return {kind.__name__: [encode(item, depth + 1, budget, objects) for item in value]}
    if kind is complex:
        return {"complex": [encode(value.real), encode(value.imag)]}
    return {"bytes": value.hex()}  # the last of EXACT's types


# ------------------------------------------------------------------------------------------- child
def child_main(fds):
    """Runs in a child forked by the template; never returns. ``fds``: the pipe its job comes on, then the
    pipes for its results, stdout and stderr."""
    job_r, result_w, out_w, err_w = fds
    try:
        os.setsid()
        job = _read_job(job_r)
        unit, tests, token = job, job["tests"], job["token"]
        stdin_fd = os.open(job["stdin_path"], os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(result_w, 3)
        os.closerange(4, 65536)
        os.chdir(job["run_dir"])
        limits = unit["limits"]
        cpu = _cpu_seconds(limits)
        cpu_total = cpu * (len(tests) + 1) + 1
        # the hard CPU limit covers the load and every test; the soft one is moved on before each test (another
        # language's driver cannot do that: it has the whole budget, each test still bounded by its wall time)
        for name, soft, hard in (
            (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
            (resource.RLIMIT_CPU, cpu_total if job["command"] else cpu, cpu_total),
            (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
            (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
            (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
            (resource.RLIMIT_CORE, 0, 0),
            # a native program's stack may take its whole memory, as judges allow deep recursion
            *(
                [(resource.RLIMIT_STACK, limits["stack_bytes"], limits["stack_bytes"])]
                if "stack_bytes" in limits
                else []
            ),
        ):
            resource.setrlimit(name, (soft, hard))
        if job["command"]:
            _exec_program(job)
        sys.stdin, sys.stdout, sys.stderr = CHILD_STREAMS  # made by the worker: on the fds just set up
    except BaseException:
        os._exit(70)
    send = _sender(token)
    gc.disable()  # a collection now would touch (and copy) the parent's pages; back on for the tests
    if job["pytest"] is not None:
        _stand_in(job["pytest"])
    script = unit["mode"] == "script"
    if job["module"]:  # the answer is the module ``solution`` (``__main__`` as a script), as pickle finds it
        globals_ = _module("__main__" if script else "solution")
    else:  # a module's dict costs every child a few copy-on-write faults more: only for code that may need it
        globals_ = {"__name__": "__main__" if script else "solution", "__builtins__": builtins}
    try:
        if job["warnings"]:
            sys.stderr.write(job["warnings"])
        exec(_code(job["code"], "<answer>"), globals_)
    except SystemExit as stop:
        if script and stop.code in (None, 0):
            _flush()
            send({"done": True})
            os._exit(0)
        _flush()
        send({"load_error": "SystemExit", "message": f"exit({stop.code!r}) while loading"})
        os._exit(0)
    except BaseException as error:  # the answer's own exception, reported as its verdict
        _flush()
        send({"load_error": type(error).__name__, "message": _message(error)})
        os._exit(0)
    if script:
        _flush()
        send({"done": True})
        os._exit(0)
    gc.enable()
    send({"loaded": True})
    for test in tests:
        _renew_cpu(limits)
        if test.get("own_pytest") and job["pytest"] is not None:
            # it expands parametrize cases with the stand-in (collect.py): one the answer's code has not seen
            # (it may have patched the one it imported, to expand into no case, or into cases it passes)
            _stand_in(job["pytest"])
        report = _run_test(test, globals_)
        _flush()
        send(dict(report, i=test["i"]))
    _flush()
    send({"done": True})
    os._exit(0)


def _stand_in(code):
    """A new pytest stand-in, made ``pytest`` (and ``pytest_mock``) in sys.modules."""
    stand_in = type(sys)("pytest")
    exec(code, stand_in.__dict__)
    sys.modules["pytest"] = sys.modules["pytest_mock"] = stand_in


def _exec_program(job):
    """A program in another language replaces the child, written to its file in the run directory (under the
    file-size limit just set) with the language's support files. A script: its command runs on that file
    with the result pipe closed (its verdict is its exit status and its stdout). Call tests: the command runs
    the language's driver, written beside it, which reads the token and the tests from job.json (and removes
    it before the answer's code runs) and reports on the result pipe (fd 3)."""
    files = dict(job["files"])  # text, or a compiled program (bytes, executable)
    if job["filename"]:
        files[job["filename"]] = job["code"]
    if job["mode"] in ("script", "compile"):
        os.close(3)
    else:
        files["job.json"] = json.dumps({"token": job["token"], "filename": job["filename"], "tests": job["tests"]})
    for name, content in files.items():
        binary = isinstance(content, bytes)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700 if binary else 0o600)
        data = content if binary else content.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.close(fd)
    os.execv(job["command"][0], job["command"])


def _cpu_seconds(limits):
    return max(1, int(math.ceil(limits["cpu_s"])))


def _renew_cpu(limits):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + _cpu_seconds(limits)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))
    except (ValueError, OSError):
        pass


def _sender(token):
    write = os.write
    dumps = json.dumps

    def send(message):
        message["token"] = token
        data = (dumps(message) + "\n").encode()
        while data:
            data = data[write(3, data) :]

    return send


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _message(error):
    try:
        return str(error)[:500]
    except BaseException:
        return "<unprintable>"


def _read_job(fd):
    """The job the worker wrote (see _job), read whole before any of the answer's code runs."""
    chunks = []
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return marshal.loads(b"".join(chunks))


def _code(code, filename):
    """A code object compiled by the worker, or a source it left to compile here (too big for it to compile,
    or one that does not compile: compiling it here raises its error)."""
    return code if not isinstance(code, str) else compile(code, filename, "exec", dont_inherit=True)


def _target(name, globals_):
    """What a call test calls: the answer's function ``f``; for ``Cls.m``, the method ``m`` of a fresh ``Cls()``;
    for a bare ``m`` that is no function of the answer's, the method of a fresh ``Solution()`` if the answer
    has that class (the convention of LeetCode, LiveCodeBench and APPS). None when there is none."""
    owner, _, method = name.rpartition(".")
    if not owner:
        function = globals_.get(method)
        if callable(function) or not isinstance(globals_.get("Solution"), type):
            return function
        owner = "Solution"
    cls = globals_.get(owner)
    return getattr(cls(), method, None) if isinstance(cls, type) else None


def _module(name):
    """The dict of a new module ``name``, put in ``sys.modules``: where the code run in it is found by name
    (``sys.modules["__main__"]`` is otherwise the harness, so pickle could not find a program's functions by
    their ``__module__``, nor could multiprocessing send them to its workers)."""
    module = type(sys)(name)
    module.__dict__["__builtins__"] = builtins
    sys.modules[name] = module
    return module.__dict__


def _run_test(test, globals_):
    try:
        if test["type"] == "call":
            function = _target(test["function"], globals_)
            if not callable(function):
                return {"status": "error", "type": "NameError", "message": "no function {!r}".format(test["function"])}
            value = function(*test["args"], **test["kwargs"])
            return {"status": "ok", "value": operand(value)}  # a numpy array too: JSON has none, as no tuple
        checks = []

        def check(check_id, operands, container=None):
            try:  # plain data: the common case, with nothing more to make (a call less: fewer pages touched)
                checks.append([check_id, [encode(v) for v in operands]])
            except Unencodable:
                if container is not None:  # the right side of an ``in``
                    operands = _itemized(operands, container)
                checks.append(_with_objects(check_id, operands))

        def truth(check_id, value):
            try:
                entry = [check_id, [encode(value)]]
            except Unencodable:
                entry = _with_objects(check_id, (value,))
            checks.append(entry)
            if entry[1] is None:
                raise AssertionError(entry[2])
            try:
                holds = truthy(value)  # the truth of plain data, never the answer's own __bool__
            except Unencodable as error:
                entry[1:] = [None, str(error)]
                raise AssertionError(str(error)) from None
            if not holds:
                raise AssertionError(FALSE_ASSERT % (check_id + 1))

        # the test runs as a script would (the answer's code is "solution"), as sys.modules["__main__"] where
        # it may need that (pickle, multiprocessing)
        test_globals = _module("__main__") if test.get("module") else {}
        test_globals.update(globals_)
        test_globals["__name__"] = "__main__"
        test_globals["__builtins__"] = PRISTINE_BUILTINS
        test_globals["__vpo_check__"] = check
        test_globals["__vpo_truth__"] = truth
        exec(_code(test["source"], "<test>"), test_globals)
        return {"status": "ok", "checks": checks}
    except SystemExit as stop:
        return {"status": "error", "type": "SystemExit", "message": f"exit({stop.code!r}) during the test"}
    except Unencodable as error:
        return {"status": "error", "type": "Unencodable", "message": str(error)}
    except BaseException as error:
        return {"status": "error", "type": type(error).__name__, "message": _message(error)}


# ---------------------------------------------------------------------------------------- template
def template_main(sock):
    """The fork server (see the module's docstring); never returns. For each set of four descriptors the
    worker sends: fork a child on them, send back its pid, wait for it, kill and reap what it left behind,
    send back its wait status. It ends when the worker goes away."""
    if PID_NAMESPACE:  # orphans of the child's processes come back to us (not to the worker, init) to be reaped
        try:
            import ctypes

            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER = 36
        except Exception:
            pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the children get SIGPIPE like any program
    try:  # the executions (forked from here) are what an OOM killer takes first, in the worker's cgroup or not
        with open("/proc/self/oom_score_adj", "w") as adjust:
            adjust.write("1000")
    except OSError:
        pass
    null = os.open(os.devnull, os.O_RDWR)  # the channel to the host (fds 0 and 1) stays with the worker alone
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    # Every page the template writes after a fork is a copy-on-write fault (the child shares them all), and
    # every object it allocates writes to one: the loop allocates little, and raises nothing on its common
    # path. socket.recv_fds's objects, and the exceptions of killing and reaping nothing, cost about 17 faults
    # per fork (``bench/humaneval_ab.py``: 382 against 365 machine-wide per program); a Python loop that only
    # forks and waits still costs about 35.
    receive, room = sock.recvmsg, socket.CMSG_SPACE(4 * 4)
    while True:
        try:
            _, ancillary, _, _ = receive(16, room)
        except OSError:
            os._exit(0)
        if len(ancillary) != 1 or len(ancillary[0][2]) != 16:
            os._exit(0)
        fds = FOUR_INTS(ancillary[0][2])
        pid = os.fork()
        if pid == 0:
            child_main(fds)
        for fd in fds:
            os.close(fd)
        try:
            sock.send(b"%d" % pid)
            _, status = os.waitpid(pid, 0)
            _kill_strays(pid)
            sock.send(b"%d" % status)
        except OSError:
            os._exit(0)


def _kill_strays(pid):
    """Kill what the execution left behind: in the PID namespace, every process the template may signal
    (double-forked daemons included; the worker is init and out of reach); without one (unsafe-local), the
    child's session only. Then reap them all: the template's children, and in the namespace the orphans it
    takes in as a subreaper (unsafe-local leaves those to the host's init, so an escaped daemon cannot hold
    the template). Through libc, which reports failure (usually: nothing left to kill) in its result rather
    than an exception (see template_main)."""
    LIBC.kill(-1 if PID_NAMESPACE else -pid, SIGKILL)
    _reap_children()


def _reap_children():
    """Wait for every child of this process (all of them killed just before) until none is left."""
    while LIBC.waitpid(-1, None, 0) > 0:  # -1: none left (no signal handler here could interrupt it)
        pass


def _load_libc():
    """libc's kill and waitpid (see _kill_strays), and what reads the four descriptors the template receives:
    loaded once by the worker, before the template is made (ctypes, which imports struct, is loaded already)."""
    global LIBC, FOUR_INTS
    import ctypes
    import struct

    LIBC = ctypes.CDLL(None)
    FOUR_INTS = struct.Struct("4i").unpack


# Syscalls refused (EPERM) to everything the worker starts, by a seccomp filter it installs on itself first:
# those whose effects outlive the process (SysV shared memory, semaphores and message queues, POSIX message
# queues and kernel keys stay in the worker's namespaces, for the next unit to find, holding memory that no
# limit of the answer's counts) and the kernel's riskiest surfaces no answer needs (perf events, bpf,
# userfaultfd, io_uring; Docker's default profile refuses them too). Numbers per architecture (AUDIT_ARCH_*):
# shmget, semget, msgget, mq_open, add_key, request_key, keyctl, perf_event_open, bpf, userfaultfd,
# io_uring_setup. Any other architecture's syscalls (x86_64's x32 and i386 ABIs) are refused outright.
DENIED_SYSCALLS = {
    "x86_64": (0xC000003E, (29, 64, 68, 240, 248, 249, 250, 298, 321, 323, 425)),
    "aarch64": (0xC00000B7, (194, 190, 186, 180, 217, 218, 219, 241, 280, 282, 425)),
}


def deny_syscalls():
    """Install the filter (see DENIED_SYSCALLS) on this process and all it starts; None, or why it could not."""
    import ctypes

    machine = os.uname().machine
    if machine not in DENIED_SYSCALLS:
        return f"no seccomp filter for the {machine} architecture"
    arch, numbers = DENIED_SYSCALLS[machine]
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW; SECCOMP_RET_ERRNO | EPERM
    load, equal, at_least, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    refused = 5 + len(numbers)  # the index of the last instruction; jumps count from the next one
    program = [
        (load, 0, 0, 4),  # seccomp_data.arch
        (equal, 0, refused - 2, arch),
        (load, 0, 0, 0),  # seccomp_data.nr
        (at_least, refused - 4, 0, 0x40000000),  # x32 syscalls on x86_64
        *((equal, refused - index - 5, 0, number) for index, number in enumerate(numbers)),
        (ret, 0, 0, allow),
        (ret, 0, 0, deny),
    ]

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*program)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    filter_program = Program(len(program), instructions)
    # PR_SET_NO_NEW_PRIVS = 38 (required to install a filter unprivileged); PR_SET_SECCOMP = 22, mode FILTER = 2
    if libc.prctl(38, 1, None, 0, 0) != 0 or libc.prctl(22, 2, ctypes.addressof(filter_program), 0, 0) != 0:
        return f"the seccomp filter could not be installed: {os.strerror(ctypes.get_errno())}"
    return None


def check_filter():
    """``--check-filter``: install the filter, then see that it refuses shmget; prints ``filter ok`` or why not."""
    import ctypes

    reason = deny_syscalls()
    if reason is None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.shmget(0, 4096, 0o1000 | 0o600) != -1 or ctypes.get_errno() != 1:  # IPC_CREAT; EPERM
            reason = "the seccomp filter is installed but shmget is not refused"
    print(reason or "filter ok")


class TemplateLost(Exception):
    """The template died (the answer's code may kill it: it runs as the same uid) or stopped answering."""


class Template:
    """The worker's handle on its template process."""

    def __init__(self):
        self.sock, self.pid = None, None
        _load_libc()
        self.start()

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            template_main(theirs)
        theirs.close()
        self.sock, self.pid = ours, pid

    def spawn(self, fds):
        """Fork a child on ``fds``; its pid."""
        try:
            socket.send_fds(self.sock, [b"fork"], fds)
            return int(self._receive(TEMPLATE_REPLY_S))
        except (OSError, ValueError) as error:
            raise TemplateLost(str(error)) from None

    def wait(self, timeout):
        """The child's wait status, once it ended and what it left was reaped; None if not within ``timeout``."""
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return None
        try:
            return int(self._receive(0))
        except (OSError, ValueError) as error:
            raise TemplateLost(str(error)) from None

    def _receive(self, timeout):
        self.sock.settimeout(timeout or None)
        reply = self.sock.recv(64)
        if not reply:
            raise TemplateLost("the template exited")
        return reply

    def stop(self):
        """Close the template's channel, on which it ends, and reap it."""
        self.sock.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    def restart(self):
        """After a loss: kill the template and everything left in the sandbox, reap them, start a new one."""
        self.sock.close()
        try:
            if PID_NAMESPACE:
                os.kill(-1, signal.SIGKILL)  # the worker is init: all but itself
            else:
                os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        _reap_children()  # orphans of a lost template are ours now (init), and so is the template
        self.start()


# ------------------------------------------------------------------------------------------ worker
class Compiled:
    """The unit's sources compiled by the worker (see PRECOMPILE_BYTES); ``ref`` stands for a source in the
    child's job: its code object, or the source itself when the child is to compile it.

    The answers of a group share their tests, so the worker keeps the last CODE_CACHE_SIZE compilations."""

    cache = {}  # (source, filename) -> (code object, or None if it does not compile; warnings text)

    def __init__(self, unit):
        self.entries = {}
        self.warnings = ""
        python = "command" not in unit  # another language's sources are not Python's to compile
        sources = [(unit["code"], "<answer>")] if "code" in unit and python else []
        sources += [(test["source"], "<test>") for test in unit.get("tests", []) if "source" in test and python]
        for key in sources:
            if len(key[0]) <= PRECOMPILE_BYTES and key not in self.entries:
                entry = self.cache.pop(key, None) or self._compile(*key)
                self.cache[key] = entry
                self.entries[key] = entry
                if entry[0] is not None:  # the child compiles a failing source itself, warnings and all
                    self.warnings += entry[1]
        while len(self.cache) > CODE_CACHE_SIZE:
            del self.cache[next(iter(self.cache))]

    @staticmethod
    def _compile(source, filename):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = compile(source, filename, "exec", dont_inherit=True)
            except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError):
                code = None
        # compile-time warnings (SyntaxWarning...) go to the child's stderr, as if it had compiled the source
        return code, "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)

    def ref(self, source, filename):
        entry = self.entries.get((source, filename))
        return source if entry is None or entry[0] is None else entry[0]


def run_unit(unit, scratch):
    """Runs a unit to completion (re-running the tests left after a crash) and returns its result."""
    command = unit.get("command")
    # checked here, not in the child: its failed exec would look like the answer's doing (and a message saying
    # otherwise could come from the answer). A program the unit brings ("./main") is the child's to write.
    if command and not command[0].startswith("./") and not os.access(command[0], os.X_OK):
        return {"id": unit["id"], "sandbox_error": f"{command[0]} cannot be run in the sandbox"}
    token = os.urandom(16).hex()
    limits = unit["limits"]
    reports = {}
    pending = [test for test in unit.get("tests", [])]
    outputs = {"stdout": b"", "stderr": b""}
    result = {"id": unit["id"], "reports": reports}
    compiled = Compiled(unit)
    attempt = 0
    while True:
        attempt += 1
        outcome = _execute(unit, pending, token, scratch, limits, outputs, compiled)
        if outcome["lost"]:  # the program killed the template: its doing, whatever it reported
            result["worker_died"] = True
            break
        reports.update(outcome["reports"])
        pending = [test for test in pending if str(test["i"]) not in reports]
        result.update({"loaded": result.get("loaded", False) or outcome["loaded"], "done": outcome["done"]})
        if outcome["load_error"] is not None:
            result["load_error"] = outcome["load_error"]
            break
        if unit["mode"] == "script" or not pending:
            result["ended"] = outcome["ended"]
            break
        if not outcome["loaded"]:
            result["ended"] = outcome["ended"]  # died while loading: every test shares the fate
            break
        # tests run in order: the one that was running is the first without a report
        current = pending[0]["i"] if pending else None
        if current is not None and str(current) not in reports:
            reports[str(current)] = {"i": current, "status": "killed", "ended": outcome["ended"]}
            pending = [test for test in pending if str(test["i"]) not in reports]
        elif attempt > len(unit.get("tests", [])) + 1:
            result["ended"] = outcome["ended"]
            break
        if not pending:
            break
        try:  # the tests left run in a fresh child, and in a sandbox as the unit found it
            _wipe(scratch)
        except Unremovable:  # the worker is replaced after this unit: they share the crashed test's fate
            for test in pending:
                reports[str(test["i"])] = {"i": test["i"], "status": "killed", "ended": outcome["ended"]}
            result["ended"] = outcome["ended"]
            break
    if unit["mode"] == "compile" and result.get("done"):
        result["program"] = _program(os.path.join(scratch, "run", unit["output"]), limits["file_bytes"])
    result["stdout"] = outputs["stdout"].decode("utf-8", "replace")
    result["stderr"] = outputs["stderr"].decode("utf-8", "replace")
    result["output_limited"] = outputs.get("limited", False)
    return result


def _program(path, limit):
    """The program a compilation left (base64), or None: not a regular file (never followed), or too big."""
    import binascii
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        size = os.fstat(fd)
        if not stat.S_ISREG(size.st_mode) or size.st_size > limit:
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return binascii.b2a_base64(b"".join(chunks), newline=False).decode("ascii")
    finally:
        os.close(fd)


class Unremovable(Exception):
    """What an execution left cannot be removed (or not cheaply): the worker is to be replaced."""


def _wipe(scratch):
    """The sandbox's writable places as a new execution needs them: nothing in the ``WIPED`` directories but
    the scratch directory, and nothing in that but an empty private run directory (the last one is reused when
    untouched). Raises Unremovable when that cannot be had."""
    budget = [WIPE_ENTRIES]
    try:
        for directory in WIPED:
            _empty(directory, os.path.basename(scratch) if os.path.dirname(scratch) == directory else None, budget)
        try:
            if os.lstat(scratch).st_mode != 0o40700:  # the answer changed its mode, or put something in its place
                _remove(scratch, budget)
                os.mkdir(scratch, 0o700)
        except FileNotFoundError:  # removed or moved away (moved: emptied above with the rest of /tmp)
            os.mkdir(scratch, 0o700)
        _empty(scratch, "run", budget)
        run_dir = os.path.join(scratch, "run")
        try:
            info = os.lstat(run_dir)
            if info.st_mode == 0o40700 and info.st_nlink == 2 and not os.listdir(run_dir):
                return
            _remove(run_dir, budget)
        except FileNotFoundError:
            pass
        os.mkdir(run_dir, 0o700)
    except (OSError, RecursionError) as error:
        raise Unremovable(f"{type(error).__name__}: {error}") from None


def _empty(directory, keep, budget):
    """Remove everything in ``directory`` but the entry ``keep``."""
    os.chmod(directory, 0o755 if directory in WIPED else 0o700)  # the answer may have changed it: ours to set
    for name in os.listdir(directory):
        if name != keep:
            _remove(os.path.join(directory, name), budget)


def _spend(budget):
    budget[0] -= 1
    if budget[0] < 0:
        raise Unremovable(f"more than {WIPE_ENTRIES} entries left behind")


def _remove(path, budget):
    """Remove ``path``, whatever it is: a directory tree however its modes were set too, without recursion."""
    import stat

    _spend(budget)
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        os.unlink(path)
        return
    stack = [path]
    while stack:  # a directory stays on the stack until its subdirectories are gone, then goes (listed twice)
        directory = stack[-1]
        os.chmod(directory, 0o700)
        subdirectories = []
        for name in os.listdir(directory):
            _spend(budget)
            entry = os.path.join(directory, name)
            if stat.S_ISDIR(os.lstat(entry).st_mode):
                subdirectories.append(entry)
            else:
                os.unlink(entry)
        if subdirectories:
            stack += subdirectories
        else:
            os.rmdir(directory)
            stack.pop()


def _job(unit, tests, token, run_dir, stdin_path, compiled):
    """What the child reads first, marshalled (code objects and all: one ``marshal.loads`` in the child
    touches fewer of its pages, each a copy-on-write fault, than JSON and separate code would)."""
    job = {
        "token": token,
        "run_dir": run_dir,
        "stdin_path": stdin_path,
        "mode": unit["mode"],
        "limits": unit["limits"],
        "warnings": compiled.warnings,
        "code": compiled.ref(unit["code"], "<answer>"),
        "command": unit.get("command"),
        "filename": unit.get("filename"),
        "files": {**unit.get("files", {}), **_programs(unit)},
        "tests": [
            dict(
                t,
                source=compiled.ref(t["source"], "<test>"),
                module=_finds_modules(t["source"]),
                own_pytest=".parametrized(" in t["source"],
            )  # fmt: skip
            if "source" in t
            else t
            for t in tests
        ],
        # a test that may import the answer, or code that may look itself up by its module's name
        "module": _finds_modules(unit.get("code", "")) or any("solution" in t.get("source", "") for t in tests),
        "pytest": _pytest_code(unit, tests),
    }
    return marshal.dumps(job)


# Words in code that may look up its own functions and classes by their module's name: it then runs in a module
# of sys.modules (``solution``, or ``__main__`` as a script or a test).
FINDS_MODULES = ("pickle", "multiprocessing", "concurrent", "sys.modules", "copyreg", "shelve", "import __main__",
                 "from __main__", "import_module", "__import__", "inspect", "__module__")  # fmt: skip


def _finds_modules(source):
    return any(word in source for word in FINDS_MODULES)


def _pytest_code(unit, tests):
    """The stand-in for pytest, compiled, if the unit's Python code or tests mention pytest; else None."""
    global PYTEST_CODE
    if PYTEST_SOURCE is None or "command" in unit:
        return None
    if not any("pytest" in text for text in (unit.get("code", ""), *(t.get("source", "") for t in tests))):
        return None
    if PYTEST_CODE is None:
        PYTEST_CODE = compile(PYTEST_SOURCE, "<pytest>", "exec", dont_inherit=True)
    return PYTEST_CODE


def _programs(unit):
    """The compiled programs a unit brings (base64 in the unit), as bytes for the child to write."""
    if not unit.get("programs"):
        return {}
    import binascii

    return {name: binascii.a2b_base64(data) for name, data in unit["programs"].items()}


def _start_child():
    """A child forked by the template on fresh pipes: (pid, and the worker's ends: job, result, stdout,
    stderr). A template found gone (killed from outside since the last execution, say by the OOM killer) is
    replaced and asked once more: that is the sandbox's doing, not the answer's."""
    for _ in range(2):
        job_r, job_w = os.pipe()
        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            pid = TEMPLATE.spawn([job_r, result_w, out_w, err_w])
        except TemplateLost:
            pid = None
        for fd in (job_r, result_w, out_w, err_w):
            os.close(fd)
        if pid is not None:
            return pid, job_w, result_r, out_r, err_r
        for fd in (job_w, result_r, out_r, err_r):
            os.close(fd)
        TEMPLATE.restart()
    raise RuntimeError("the template process could not fork the execution")  # ours, not the answer's


def _execute(unit, tests, token, scratch, limits, outputs, compiled):
    run_dir = os.path.join(scratch, "run")
    stdin_path = os.devnull
    if unit.get("stdin"):
        stdin_path = os.path.join(scratch, "stdin")
        with open(os.open(stdin_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w",
                  encoding="utf-8") as handle:  # fmt: skip
            handle.write(unit["stdin"])
    job = memoryview(_job(unit, tests, token, run_dir, stdin_path, compiled))
    state = {"reports": {}, "wanted": {str(test["i"]) for test in tests}, "report_bytes": 0, "loaded": False,
             "done": False, "load_error": None, "ended": None, "lost": False}  # fmt: skip
    pid, job_w, result_r, out_r, err_r = _start_child()
    os.set_blocking(job_w, False)
    writing = [job_w]
    wall = limits["wall_s"]
    deadline = time.monotonic() + wall
    # however the child paces its messages, the execution ends by then
    hard_deadline = deadline + wall * len(tests)
    buffers = {result_r: b"", out_r: b"", err_r: b""}
    open_fds = [result_r, out_r, err_r]
    killed = None
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed = "timeout"
            break
        ready, can_write, _ = select.select(open_fds, writing, [], remaining)
        if can_write:
            try:
                job = job[os.write(job_w, job[:READ_CHUNK]) :]
            except BlockingIOError:
                pass
            except OSError:  # the child is gone before it read its job
                job = job[:0]
            if not job:
                os.close(job_w)
                writing = []
        for fd in ready:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                open_fds.remove(fd)
                continue
            if fd == result_r:
                buffers[fd] += chunk
                if len(buffers[fd]) > MAX_MESSAGE * 4:
                    killed = "output_limit"
                    break
                *lines, buffers[fd] = buffers[fd].split(b"\n")
                state["report_bytes"] += sum(map(len, lines))
                if state["report_bytes"] > MAX_REPORTS:  # what the host is sent stays within its line limit
                    killed = "output_limit"
                    break
                for line in lines:
                    if _accept(line, token, state):
                        # every test (and the load) gets the full wall time
                        deadline = min(time.monotonic() + wall, hard_deadline)
            else:
                name = "stdout" if fd == out_r else "stderr"
                room = limits["output_bytes"] - len(outputs[name])
                outputs[name] += chunk[: max(room, 0)]
                if len(chunk) > room:
                    outputs["limited"] = True
                    killed = "output_limit"
                    break
        if killed:
            break
    for fd in writing:
        os.close(fd)
    for fd in (result_r, out_r, err_r):
        os.close(fd)
    status = None
    try:
        if not killed:  # its streams are closed, but it may still run: it has until the deadline to end
            status = TEMPLATE.wait(deadline - time.monotonic())
            killed = "timeout" if status is None else None
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            status = TEMPLATE.wait(TEMPLATE_REPLY_S)
            if status is None:
                raise TemplateLost("the template did not reap the execution")
    except TemplateLost:
        TEMPLATE.restart()
        state["lost"] = True
        return state
    if killed:
        state["ended"] = killed
    elif os.WIFSIGNALED(status):
        state["ended"] = "signal:" + signal.Signals(os.WTERMSIG(status)).name
    else:
        state["ended"] = "exit:" + str(os.WEXITSTATUS(status))
        state["done"] = state["done"] or ("command" in unit and unit["mode"] in ("script", "compile") and status == 0)
    return state


def _accept(line, token, state):
    """Takes a message of the child; false for anything without the unit's token (not from the harness)."""
    try:
        message = json.loads(line)
    except ValueError:
        return False
    if not isinstance(message, dict) or message.pop("token", None) != token:
        return False
    if message.get("loaded"):
        state["loaded"] = True
    elif "load_error" in message:
        state["load_error"] = {"type": message["load_error"], "message": message.get("message", "")}
    elif message.get("done"):
        state["done"] = True
    elif str(message.get("i")) in state["wanted"]:  # the last report of each test counts (one, from the harness)
        state["reports"][str(message["i"])] = message
    return True


# (defined last: objects made earlier in this module shift where the children's most touched ones lie)
def _made_new(explicit, bases):
    """Whether the metaclass Python picks for these bases (resolved) and explicit metaclass (or None) is one
    that makes new classes (``type``, or ABCMeta left as it was), every base's being one."""
    if bases is None:
        return False
    # (``is None``, not truth: a metaclass whose own metaclass makes it false would pass for type)
    return all(_makes_new_classes(meta) for meta in (type if explicit is None else explicit, *map(type, bases)))


def _resolved(bases):
    """The bases as a class statement resolves them (a base that is no class gives its ``__mro_entries__``),
    or None where one is neither."""
    resolved = []
    for base in bases:
        if issubclass(type(base), type):
            resolved.append(base)
            continue
        entries = getattr(base, "__mro_entries__", None)
        more = entries(bases) if entries is not None else None
        if type(more) is not tuple:
            return None
        resolved.extend(more)
    return tuple(resolved)


def _note_local(cls):
    LOCAL_CLASSES.append(cls)
    LOCAL_IDS.add(id(cls))


def main():
    global CHILD_STREAMS, TEMPLATE
    if "--check-filter" in sys.argv:
        check_filter()
        return
    if PID_NAMESPACE and os.getpid() != 1:  # the template's kill(-1) would reach the worker
        sys.exit("the worker must be the PID namespace's init (bwrap --as-pid-1)")
    reason = deny_syscalls()
    if reason is not None and PID_NAMESPACE:  # the host's probe checked it: this should not happen
        sys.exit(reason)
    try:  # no ptrace or /proc/<pid>/mem access to the worker from what it runs
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass
    # Before the imports below: what this frees, they fill, and not the children (each block a child fills in
    # a page the worker's memory shares costs it a copy-on-write fault).
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    scratch = arguments[0] if arguments else "/tmp"
    # what the executions see of the command line: a program run as ``python3 solution.py`` (one that reads
    # its arguments, or unittest.main(), would otherwise find the worker's options there)
    site_packages = "--site-packages" in sys.argv
    sys.argv = ["solution.py"]
    sys.orig_argv = [sys.executable, "solution.py"]
    if site_packages:  # the packages installed for this interpreter, as ``python3 main.py`` sees them (no .pth)
        import site

        sys.path += [path for path in site.getsitepackages() if os.path.isdir(path) and path not in sys.path]
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    exec(compile(WARM_UP, "<warm-up>", "exec"), {})  # lazy parser and compiler state, set up once
    # after the imports (so that its calls do not shift where their objects lie: more pages the children touch)
    builtins.__build_class__ = PRISTINE_BUILTINS["__build_class__"] = _build_local_class
    _trust_abc()
    # what every child needs, set once here and inherited: default signal dispositions (the answer's code gets
    # SIGXFSZ like any program; the worker's parent ends it by closing stdin; init ignores them all anyway)
    for number in (signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a child gone before it read its job; the template resets it
    CHILD_STREAMS = (
        open(0, encoding="utf-8", errors="replace", closefd=False),
        open(1, "w", encoding="utf-8", closefd=False),
        open(2, "w", encoding="utf-8", closefd=False),
    )
    gc.freeze()  # the worker's objects stay out of the children's collections: fewer copy-on-write faults
    os.makedirs(scratch, 0o700, exist_ok=True)
    os.chmod(scratch, 0o700)
    _wipe(scratch)
    TEMPLATE = Template()
    reader = os.fdopen(0, "rb", buffering=0)
    pending = b""
    while True:
        while b"\n" not in pending:
            ready, _, _ = select.select([reader, TEMPLATE.sock], [], [])
            if TEMPLATE.sock in ready:  # between executions the template says nothing: it ended (killed)
                TEMPLATE.restart()
                continue
            chunk = reader.read(READ_CHUNK)
            if not chunk:  # the host is done with us
                TEMPLATE.stop()
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        unit = json.loads(line)
        try:
            result = run_unit(unit, scratch)
        except Exception as error:  # a fault of the sandbox itself, not of the answer
            result = {"id": unit.get("id"), "sandbox_error": f"{type(error).__name__}: {error}"}
        try:
            _wipe(scratch)
        except Unremovable as error:  # this worker ends after answering; the host starts a fresh one
            result["recycle"] = str(error)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        if "recycle" in result:
            TEMPLATE.stop()
            return


if __name__ == "__main__":
    main()
