"""Hostile answers against the real sandbox. Each attack is checked from outside: files on the host, the
host's process table, a listening socket, the service's secrets, and the pool serving the next request."""

from __future__ import annotations

import os
import signal
import socket
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from tests.sandbox.conftest import SECRET, SPARES, WORKERS, Sandbox, settle_processes

BASELINE = 3 * (WORKERS + SPARES)  # per worker (spares too): bwrap, the harness (the namespace's init), its template
ADD = [
    {"kind": "assert", "code": "assert add(2, 3) == 5"},
    {"kind": "call", "function": "add", "args": [1, 1], "expected": 2},
]
GOOD = "def add(a, b):\n    return a + b\n"


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def assert_pool_healthy(sandbox: Sandbox) -> None:
    assert sandbox.verdicts(GOOD, ADD) == ["pass", "pass"]
    assert len(settle_processes(BASELINE)) == BASELINE


def test_baseline_processes(sandbox: Sandbox) -> None:
    assert_pool_healthy(sandbox)


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    bomb = code("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)
    assert sandbox.run_script(bomb)["verdict"] == "timeout"
    assert_pool_healthy(sandbox)


def test_memory_bomb(sandbox: Sandbox) -> None:
    assert sandbox.run_script("blob = bytearray(8 * 1024 ** 3)\nprint(len(blob))")["verdict"] == "memory"
    grow = code("""
        chunks = []
        while True:
            chunks.append(bytearray(64 * 1024 ** 2))
    """)
    assert sandbox.run_script(grow, timeout_s=5)["verdict"] == "memory"  # filling 512 MB takes a moment
    assert_pool_healthy(sandbox)


LOOPS = [
    "while True:\n    pass\n",
    "import time\ntime.sleep(3600)\n",
    "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n",
]


@pytest.mark.parametrize("loop", LOOPS)
def test_infinite_loops_and_sleeps_time_out(sandbox: Sandbox, loop: str) -> None:
    assert sandbox.run_script(loop, timeout_s=0.5)["verdict"] == "timeout"
    assert sandbox.verdicts(
        GOOD + loop.replace("\n", "\n    ").join(["def spin():\n    ", ""]),
        [{"kind": "assert", "code": "spin()"}, *ADD],
        timeout_s=0.5,
    ) == ["timeout", "pass", "pass"]


def test_huge_stdout(sandbox: Sandbox) -> None:
    flood = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    assert sandbox.run_script(flood)["verdict"] == "output_limit"
    assert sandbox.run_script("import os\nwhile True:\n    os.write(2, b'y' * 65536)\n")["verdict"] == "output_limit"
    assert_pool_healthy(sandbox)


def test_writing_outside_its_tmp_dir(sandbox: Sandbox, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"vpo-escape-{uuid.uuid4().hex}"
    probe = code(f"""
        import os
        results = []
        for path in ("{marker}", "/etc/vpo-escape", "/usr/vpo-escape", "{tmp_path}/escape", "/vpo-escape"):
            try:
                with open(path, "w") as handle:
                    handle.write("escaped")
                results.append(path + ":written")
            except OSError as error:
                results.append(path + ":" + type(error).__name__)
        print(results)
    """)
    detail = sandbox.run_script(probe)
    # the sandbox's own /tmp is private: writing there works, and nothing reaches the host
    assert not marker.exists()
    assert not Path("/etc/vpo-escape").exists() and not Path("/usr/vpo-escape").exists()
    assert not (tmp_path / "escape").exists() and not Path("/vpo-escape").exists()
    assert "/etc/vpo-escape:written" not in detail["stdout"]


def test_no_secrets_from_the_service(sandbox: Sandbox, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET)
    probe = code(f"""
        import os
        found = [str(dict(os.environ))]
        for path in ("{secret_file}", "/proc/1/environ", "/proc/self/environ", "/proc/2/environ",
                     "/root/.bash_history", "/etc/shadow"):
            try:
                found.append(open(path, "rb").read().decode("latin-1"))
            except OSError as error:
                found.append(type(error).__name__)
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    found.append(open(f"/proc/{{pid}}/environ", "rb").read().decode("latin-1"))
                except OSError:
                    pass
        print(found)
    """)
    detail = sandbox.run_script(probe)
    assert "PermissionError" in detail["stdout"] or "FileNotFoundError" in detail["stdout"]
    assert SECRET not in detail["stdout"] and SECRET not in detail["stderr"]
    assert "VPO_TEST_SECRET" not in detail["stdout"]


def test_no_network_but_its_own_loopback(sandbox: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    probe = code(f"""
        import socket
        print([name for _, name in socket.if_nameindex()])
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
            print("connected")
        except OSError as error:
            print("refused", type(error).__name__)
    """)
    try:
        detail = sandbox.run_script(probe, timeout_s=3)
        assert detail["stdout"].splitlines()[0] == "['lo']"
        assert "refused" in detail["stdout"] and "connected" not in detail["stdout"]
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever reached the host's port
    finally:
        listener.close()


def test_setsid_double_fork_daemon_is_killed(sandbox: Sandbox) -> None:
    daemon = code("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.setsid()
                while True:
                    time.sleep(0.05)
            os._exit(0)
        print("parent done")
    """)
    detail = sandbox.run_script(daemon)
    assert "parent done" in detail["stdout"]
    assert len(settle_processes(BASELINE)) == BASELINE  # the daemon did not outlive the execution
    assert_pool_healthy(sandbox)


@pytest.mark.parametrize(
    "kill",
    [
        "import os\nos.kill(os.getppid(), 9)\n",
        "import os\nos.kill(-1, 9)\n",
        "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",  # a stopped template is a lost one
    ],
)
def test_killing_the_parent_or_everything(sandbox: Sandbox, kill: str) -> None:
    assert sandbox.verdicts(kill + GOOD, ADD) == ["exited_early", "exited_early"]
    assert_pool_healthy(sandbox)


def test_units_queued_behind_a_killer_are_not_lost(sandbox: Sandbox) -> None:
    """Workers are handed their next unit ahead of time: when an answer kills its worker, the units waiting
    behind it go back to the queue and score as themselves."""
    killer = "import os\nos.kill(os.getppid(), 9)\n"
    answers = [killer + GOOD if i % 3 == 0 else GOOD + f"\n# answer {i}\n" for i in range(24)]
    result = sandbox.score(answers, ADD)
    verdicts = [[d["verdict"] for d in answer[0]] for answer in result["details"]["tests"]]
    assert verdicts == [["exited_early"] * 2 if i % 3 == 0 else ["pass"] * 2 for i in range(24)]
    assert_pool_healthy(sandbox)


def test_closing_stdout_and_the_report_channel(sandbox: Sandbox) -> None:
    assert sandbox.verdicts("import os\nos.close(1)\nos.close(2)\n" + GOOD, ADD) == ["pass", "pass"]
    closer = "import os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n"
    assert sandbox.verdicts(closer + GOOD, ADD) == ["exited_early", "exited_early"]
    assert_pool_healthy(sandbox)


def test_closing_every_channel_then_running_on_is_a_timeout(sandbox: Sandbox) -> None:
    """Streams and report channel closed, the program runs on: the worker, which no longer hears from it, still
    ends it at its wall time (the template tells when an execution has ended), and the next one runs at once."""
    closer = code("""
        import os, time
        for fd in range(64):
            try:
                os.close(fd)
            except OSError:
                pass
    """)
    for tail in ("time.sleep(3600)\n", "while True:\n    pass\n"):
        assert sandbox.verdicts(closer + tail + GOOD, ADD, timeout_s=0.5) == ["timeout", "timeout"]
    assert_pool_healthy(sandbox)


def test_blocking_on_stdin_does_not_block(sandbox: Sandbox) -> None:
    assert sandbox.run_script("import sys\nprint(repr(sys.stdin.read()))")["stdout"] == "''\n"
    assert sandbox.verdicts("x = input()\n" + GOOD, ADD) == ["error", "error"]  # EOFError, at once


@pytest.mark.parametrize(
    "hack",
    [
        "import os\nos._exit(0)\n",
        "import posix\nposix._exit(0)\n",
        "raise SystemExit(0)\n",
        "import sys\nsys.exit()\n",
        "import builtins\nbuiltins.print = lambda *a, **k: None\nimport sys, io\nsys.stdout = io.StringIO()\n"
        "def add(a, b):\n    return 0\n",
        "class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
        "def add(a, b):\n    return Yes()\n",
        "class Yes(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return Yes(0)\n",
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\ndef add(a, b):\n    return -1\n",
        "import operator\noperator.eq = lambda a, b: True\ndef add(a, b):\n    return -1\n",
    ],
    ids=[
        "os._exit",
        "posix._exit",
        "SystemExit",
        "sys.exit",
        "patched-print",
        "always-equal",
        "int-subclass",
        "patched-AssertionError",
        "patched-operator",
    ],
)
def test_exit_and_comparison_hacks_score_zero(sandbox: Sandbox, hack: str) -> None:
    tests = [*ADD, {"kind": "stdio", "stdin": "2 3", "expected_stdout": "5\n"}]
    assert sandbox.score([hack], tests)["rewards"][0][0] == [0.0, 0.0, 0.0]


def test_abs_patch_cannot_fake_a_tolerance_assert(sandbox: Sandbox) -> None:
    hack = "import builtins\nbuiltins.abs = lambda x: 0\ndef area(r):\n    return 1.0\n"
    tolerance = [{"kind": "assert", "code": "assert abs(area(1) - 3.14159) < 1e-3"}]
    assert sandbox.verdicts(hack, tolerance) == ["fail"]
    honest = "def area(r):\n    return 3.14159 * r * r\n"
    assert sandbox.verdicts(honest, tolerance) == ["pass"]


# numpy's comparisons as tests write them: the host applies its own numpy to the values of the answer's calls
NUMPY_TESTS = [
    {
        "kind": "assert",
        "code": "import numpy as np\nassert np.allclose(area(np.array([1.0, 2.0])), [3.14159, 12.566], rtol=1e-3)",
    },
    {
        "kind": "assert",
        "code": "import numpy as np\nnp.testing.assert_allclose(area(np.array([1.0])), [3.14159], rtol=1e-3)",
    },
    {"kind": "assert", "code": "import numpy as np\nassert np.all(np.abs(area(np.array([2.0])) - 12.566) < 1e-2)"},
    {"kind": "assert", "code": "from numpy.testing import assert_array_equal\nassert_array_equal(area(0) * 0, 0)"},
    {"kind": "assert", "code": "import numpy as np\nassert np.array_equal(np.round(area(np.array([1.0])), 2), [3.14])"},
]


def test_patched_numpy_cannot_fake_its_comparisons(sandbox: Sandbox) -> None:
    """``numpy.allclose = lambda *a, **k: True`` (or ``array_equal``, ``all``, ``testing.assert_allclose``...)
    in the answer's process passed every assert that called them there: the host applies its own numpy to
    the answer's values (a numpy.testing assertion statement is judged as an assert), as it does math's."""
    honest = "import numpy as np\ndef area(r):\n    return np.pi * np.asarray(r) ** 2\n"
    assert sandbox.verdicts(honest, NUMPY_TESTS) == ["pass"] * len(NUMPY_TESTS)
    patch = "import numpy\nimport numpy.testing\n" + "".join(
        f"numpy.{name} = lambda *a, **k: {value}\n"
        for name, value in [("allclose", True), ("array_equal", True), ("all", True), ("abs", "numpy.zeros(1)"),
                            ("round", "numpy.array([3.14])"), ("testing.assert_allclose", None),
                            ("testing.assert_array_equal", None)]
    )  # fmt: skip
    hack = patch + "def area(r):\n    return numpy.asarray(r) * 0 + 1.0\n"
    assert sandbox.verdicts(hack, NUMPY_TESTS[:3] + NUMPY_TESTS[4:]) == ["fail"] * 4


# Tolerance and truth asserts as datasets write them: the host does the arithmetic, abs, round and math's
# functions, so whatever the answer patches in its process, only the values of its own calls count.
TOLERANCE = [
    {"kind": "assert", "code": "import math\nassert math.isclose(area(2), 12.566, rel_tol=1e-3)"},
    {"kind": "assert", "code": "assert abs(area(1) - 3.14159) < 1e-3"},
    {"kind": "assert", "code": "from math import isclose as close\nassert close(area(3), 28.274, rel_tol=1e-3)"},
    {"kind": "assert", "code": "assert not area(0)"},
    {"kind": "assert", "code": "import math\nassert math.floor(area(1)) == 3 and round(area(1), 2) == 3.14"},
]
WRONG_AREA = "def area(r):\n    return 1.0\n"


@pytest.mark.parametrize(
    "patch",
    [
        "import math\nmath.isclose = lambda *a, **k: True\nmath.floor = lambda x: 3\n",
        "abs = lambda x: 0\nround = lambda x, n=0: 3.14\n",  # the answer's own globals, seen by the test
        # the builtins the test runs with, reached from the test's frame while it calls the answer
        "import sys\ndef area(r):\n    b = sys._getframe(1).f_globals['__builtins__']\n"
        "    b['abs'] = lambda x: 0\n    b['round'] = lambda x, n=0: 3.14\n    return 1.0\n",
        # the checks the rewritten asserts call, replaced from the test's frame (a truth check is judged outside)
        "import sys\ndef area(r):\n    g = sys._getframe(1).f_globals\n    g['__vpo_truth__'] = lambda i, v: None\n"
        "    return 1.0\n",
    ],
    ids=["patched-math", "shadowed-builtins", "patched-test-builtins", "patched-truth"],
)
def test_patched_functions_cannot_fake_tolerance_or_truth_asserts(sandbox: Sandbox, patch: str) -> None:
    hack = patch + WRONG_AREA if "def area" not in patch else patch
    assert sandbox.score([hack], TOLERANCE)["rewards"][0][0] == [0.0] * len(TOLERANCE)
    honest = "import math\ndef area(r):\n    return math.pi * r * r\n"
    assert sandbox.score([honest], TOLERANCE)["rewards"][0][0] == [1.0] * len(TOLERANCE)


def test_patched_sorted_cannot_fake_an_order_free_assert(sandbox: Sandbox) -> None:
    """``sorted`` and ``set`` on both sides: patched to return one list, they would make any two lists equal.
    The host applies them to the items the sandbox sends (a generator's too)."""
    order_free = "assert set(digits(3113)) == set([3, 1]) and len(digits(40)) == 2"  # an ``and``: each part counts
    tests = [{"kind": "assert", "code": "assert sorted(digits(321)) == sorted([3, 2, 1])"},
             {"kind": "assert", "code": order_free}]  # fmt: skip
    patch = "import sys\ndef digits(n):\n    b = sys._getframe(1).f_globals['__builtins__']\n" \
            "    b['sorted'] = b['set'] = lambda x: []\n    b['len'] = lambda x: 2\n    return [0]\n"  # fmt: skip
    assert sandbox.score([patch], tests)["rewards"][0][0] == [0.0, 0.0]
    honest = "def digits(n):\n    return (int(c) for c in str(n))\n"  # a generator: its items count
    assert sandbox.score([honest], tests)["rewards"][0][0] == [1.0, 1.0]


YES = "class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
NAMESPACE_FORGED = (
    "argparse.Namespace.__eq__ = lambda self, other: True\ndef when():\n    return argparse.Namespace(a=2)\n"
)
OBJECT_HACKS = {
    # an object of the answer's class equals nothing but objects of that class
    "yes-against-a-number": (YES + "def when():\n    return Yes()\n", "assert when() == 3"),
    "yes-against-the-tests-class": (
        YES + "def when():\n    return Yes()\n",
        "class Day:\n    def __eq__(self, other):\n        return isinstance(other, Day)\nassert when() == Day()",
    ),
    # the test's own class is no class of the answer's: its __eq__ would compare the answer's object inside it
    "yes-inside-the-tests-dataclass": (
        YES + "def when(D):\n    return D(Yes())\n",
        "from dataclasses import dataclass\n@dataclass\nclass D:\n    x: object\nassert when(D) == D(1)",
    ),
    # a standard library class, its __eq__ patched
    "patched-path": (
        "import pathlib\npathlib.PurePath.__eq__ = lambda self, other: True\n"
        "def when():\n    return pathlib.PurePosixPath('b')\n",
        "import pathlib\nassert when() == pathlib.PurePosixPath('a')",
    ),
    # ...which a metaclass would have passed off as a class of the answer's
    "metaclass-returns-a-library-class": (
        "import pathlib\nclass Mine(metaclass=lambda *a: pathlib.PurePosixPath):\n    pass\n"
        "pathlib.PurePath.__eq__ = lambda self, other: True\ndef when():\n    return pathlib.PurePosixPath('b')\n",
        "import pathlib\nassert when() == pathlib.PurePosixPath('a')",
    ),
    # ...or ABCMeta made to hand it back: its __new__ replaced, or the super it calls shadowed
    "abcmeta-new-returns-a-library-class": (
        "import argparse, abc\nabc.ABCMeta.__new__ = staticmethod(lambda *a, **k: argparse.Namespace)\n"
        "class Mine(abc.ABC):\n    pass\n" + NAMESPACE_FORGED,
        "import argparse\nassert when() == argparse.Namespace(a=1)",
    ),
    "abc-super-shadowed": (
        "import argparse, abc, types\n"
        "abc.super = lambda *a: types.SimpleNamespace(__new__=lambda *a, **k: argparse.Namespace)\n"
        "class Mine(abc.ABC):\n    pass\ndel abc.super\n" + NAMESPACE_FORGED,
        "import argparse\nassert when() == argparse.Namespace(a=1)",
    ),
    "builtin-super-shadowed": (
        "import argparse, abc, builtins, types\nsaved = builtins.super\n"
        "builtins.super = lambda *a: types.SimpleNamespace(__new__=lambda *a, **k: argparse.Namespace)\n"
        "class Mine(abc.ABC):\n    pass\nbuiltins.super = saved\n" + NAMESPACE_FORGED,
        "import argparse\nassert when() == argparse.Namespace(a=1)",
    ),
    # ...or a base that is no class, whose __mro_entries__ gives type's classes when asked first and then one
    # whose metaclass hands a library class back
    "mro-entries-switch-bases": (
        "import argparse\nclass Entries:\n    calls = 0\n    def __mro_entries__(self, bases):\n"
        "        Entries.calls += 1\n        return (object,) if Entries.calls == 1 else (Mine,)\n"
        "class Meta(type):\n    def __new__(meta, name, *rest):\n"
        "        return type.__new__(meta, name, *rest) if name == 'Mine' else argparse.Namespace\n"
        "class Mine(metaclass=Meta):\n    pass\ntry:\n    class Other(Entries()):\n        pass\n"
        "except TypeError:\n    pass\n" + NAMESPACE_FORGED,
        "import argparse\nassert when() == argparse.Namespace(a=1)",
    ),
    # ...or an explicit metaclass that is false (its own metaclass's __bool__), to pass for "none given"
    "falsy-explicit-metaclass": (
        "import argparse\nclass Falsy(type):\n    def __bool__(cls):\n        return False\n"
        "    def __call__(cls, *args, **kwargs):\n        return argparse.Namespace\n"
        "class Meta(metaclass=Falsy):\n    pass\nclass Mine(metaclass=Meta):\n    pass\n" + NAMESPACE_FORGED,
        "import argparse\nassert when() == argparse.Namespace(a=1)",
    ),
    "patched-enum": (
        "import enum\nenum.Enum.__eq__ = lambda self, other: True\nclass Day(enum.Enum):\n    MON = 1\n    TUE = 2\n"
        "def when():\n    return Day.TUE\n",
        "assert when() == Day.MON",
    ),
    # comparisons in an all() over cases: written out as the and of its cases, each compared on the host
    "yes-in-all-over-cases": (
        YES + "def when(x):\n    return Yes()\n",
        "def check(f):\n    assert all(f(x) == y for x, y in [(1, 2), (3, 4)])\ncheck(when)",
    ),
    # ...or in an or of comparisons: each compared on the host
    "yes-in-an-or": (YES + "def when():\n    return Yes()\n", "r = when()\nassert r == [1, 2] or r == [2, 1]"),
    # ...or in a comparison under a not (a unittest assertFalse), or compared again
    "yes-under-a-not": (YES + "def when():\n    return Yes()\n", "assert not (when() != [1, 2])"),
    "yes-compared-again": (YES + "def when():\n    return Yes()\n", "assert (when() == [1, 2]) == True"),
    # ...or a container whose __contains__ says no, under a not (unittest's assertFalse(x in y)): its items go
    "contains-nothing-under-a-not": (
        "class Bag:\n    def __iter__(self):\n        return iter([1, 2])\n    def __contains__(self, item):\n"
        "        return False\ndef when():\n    return Bag()\n",
        "assert not (2 in when())",
    ),
    # a subclass of a standard library value goes as that value: its own __eq__ plays no part
    "date-subclass": (
        "import datetime\nclass Day(datetime.date):\n    def __eq__(self, other):\n        return True\n"
        "def when():\n    return Day(2021, 1, 1)\n",
        "import datetime\nassert when() == datetime.date(2020, 1, 2)",
    ),
    "claims-to-be-a-date": (
        "import datetime\nclass Day:\n    __class__ = datetime.date\n"
        "    def __eq__(self, other):\n        return True\ndef when():\n    return Day()\n",
        "import datetime\nassert when() == datetime.date(2020, 1, 2)",
    ),
}


@pytest.mark.parametrize("hack", OBJECT_HACKS.values(), ids=OBJECT_HACKS.keys())
def test_objects_with_forged_comparisons_score_zero(sandbox: Sandbox, hack: tuple[str, str]) -> None:
    """Objects that are not data reach the host as references: one of the answer's own classes equals what
    that class's __eq__ says (run in the sandbox) only for objects of that class, and no other class's __eq__
    runs at all (an object compares by identity, or as the standard library value it is, or not at all)."""
    answer, test = hack
    result = sandbox.score([answer], [{"kind": "assert", "code": test}])
    assert result["rewards"][0][0] == [0.0], result["details"]
    assert result["details"]["tests"][0][0][0]["verdict"] == "fail"


EXPECTED_IN_A_NAME = [
    "def test_sorted():\n    nums = [3, 1, 2]\n    expected = [1, 2, 3]\n    assert sort_it(nums) == expected\n"
    "\ntest_sorted()\n",
    "from solution import sort_it\n\n\ndef test_sorted():\n    nums = [3, 1, 2]\n    expected_output = [1, 2, 3]\n"
    "    result = sort_it(nums)\n    assert result == expected_output\n",  # a pytest file (KodCode's form)
    "import pytest\nfrom solution import sort_it\n\n\n@pytest.mark.parametrize('nums, expected', "
    "[([3, 1, 2], [1, 2, 3]), ([2, 1, 3], [1, 2, 3])])\ndef test_sorted(nums, expected):\n"
    "    assert sort_it(nums) == expected\n",  # parametrized: each case's expected value
    "from solution import sort_it\n\nEXPECTED = [1, 2, 3]\n\n\ndef test_sorted():\n"
    "    assert sort_it([3, 1, 2]) == EXPECTED\n",  # the module's constant, compared in a test function
    "import pytest\nfrom solution import sort_it\n\nCASES = [([3, 1, 2], [1, 2, 3]), ([2, 1, 3], [1, 2, 3])]\n\n\n"
    "@pytest.mark.parametrize('nums, expected', CASES)\ndef test_sorted(nums, expected):\n"
    "    assert sort_it(nums) == expected\n",  # the cases in a list of the module
    "def check(nums, expected):\n    assert sort_it(nums) == expected\n\n\ncheck([3, 1, 2], [1, 2, 3])\n"
    "check(nums=[2, 1, 3], expected=[1, 2, 3])\n",  # the test's own helper, called with each case
    "import pytest\nfrom solution import sort_it\n\n\nclass TestSort:\n    @pytest.mark.parametrize('nums, expected', "
    "[([3, 1, 2], [1, 2, 3])])\n    def test_sorted(self, nums, expected):\n"
    "        assert sort_it(nums) == expected\n",  # a test class's method
    "from solution import sort_it\n\n\ndef test_sorted():\n"
    "    cases = [([3, 1, 2], [1, 2, 3]), ([2, 1, 3], [1, 2, 3])]\n"
    "    for nums, expected in cases:\n        assert sort_it(nums) == expected\n",  # a loop over the cases
    "from solution import sort_it\n\n\ndef test_sorted():\n    result = sort_it([3, 1, 2])\n"
    "    assert result == [1, 2, 3] or result == [3, 2, 1]\n",  # either of two expected values
    "from solution import sort_it\n\n\ndef test_sorted():\n"
    "    assert all(sort_it(nums) == expected for nums, expected in\n"
    "               [([3, 1, 2], [1, 2, 3]), ([2, 1, 3], [1, 2, 3])])\n",  # all() over the cases
    "from solution import sort_it\n\nCASES = [([3, 1, 2], [1, 2, 3]), ([2, 1, 3], [1, 2, 3])]\n\n\n"
    "def test_sorted():\n    assert all(sort_it(n) == e for n, e in CASES)\n",  # ...named in the module
    "from solution import sort_it\n\n\ndef test_sorted():\n    for nums, expected in [([3, 1, 2], [1, 2, 3]),\n"
    "                           ([2, 1, 3], [1, 2, 3])]: assert sort_it(nums) == expected\n",  # a loop on one line
    "import unittest\nfrom solution import sort_it\n\n\nclass TestSort(unittest.TestCase):\n    def setUp(self):\n"
    "        self.expected = [1, 2, 3]\n\n    def test_sorted(self):\n"
    "        self.assertEqual(sort_it([3, 1, 2]), self.expected)\n",  # the test case's attribute
]
PEEKS = {
    # the caller's locals: the test function's own names
    "caller-locals": "import sys\ndef sort_it(xs):\n    f = sys._getframe(1)\n"
    "    return next((v for k, v in f.f_locals.items() if k.startswith('expected')), None)\n",
    # the constants of the caller's code, where an assigned literal would be
    "caller-constants": "import sys\ndef sort_it(xs):\n    consts = sys._getframe(1).f_code.co_consts\n"
    "    return next((list(c) for c in consts if isinstance(c, tuple) and len(c) == 3 and c != (3, 1, 2)), None)\n",
    # the attributes of the caller's ``self`` (a test case's), and of its class
    "caller-self": "import sys\ndef sort_it(xs):\n    me = sys._getframe(1).f_locals.get('self')\n"
    "    spaces = [*vars(me).items(), *vars(type(me)).items()] if me else []\n"
    "    found = [v for k, v in spaces if isinstance(v, list) and v]\n"
    "    return found[0] if found else None\n",
    # the globals of the test's module (its caller's, or any module's): a constant, or the case of this input
    "module-globals": "import sys\ndef sort_it(xs):\n"
    "    modules = [vars(m) for m in list(sys.modules.values()) if hasattr(m, '__dict__')]\n"
    "    spaces = [sys._getframe(1).f_globals, *modules]\n"
    "    for value in [v for space in spaces for k, v in list(space.items()) if k.isupper() and isinstance(v, list)]:\n"
    "        for case in value:\n"
    "            if isinstance(case, tuple) and len(case) == 2 and case[0] == xs:\n"
    "                return case[1]\n"
    "        if value and all(isinstance(item, int) for item in value):\n"
    "            return value\n",
}


@pytest.mark.parametrize("peek", PEEKS.values(), ids=PEEKS.keys())
def test_expected_values_in_names_are_not_in_the_sandbox(sandbox: Sandbox, peek: str) -> None:
    """A name the test binds to a literal and only compares (``expected = [1, 2, 3]`` then ``assert f(x) ==
    expected``; the module's, compared in its test functions), or a parametrize case's value that the test only
    compares (its cases written in the mark, or in a list of the module that only marks name; in a test class
    too), or an argument that a helper of the test only compares, or a loop's variable over a list of cases, or
    a test case's attribute, is kept on the host like a literal in the assert: an answer that reads the test's
    frame (its locals, its ``self``, its code's constants) or its module's globals finds nothing to return,
    while a right answer passes."""
    tests = [{"kind": "assert", "code": test} for test in EXPECTED_IN_A_NAME]
    right = "def sort_it(xs):\n    return sorted(xs)\n"
    result = sandbox.score([right, peek], tests)
    assert result["rewards"] == [[[1.0] * len(tests)], [[0.0] * len(tests)]], result["details"]


PARAMETRIZED_AT_RUN_TIME = [
    # cases given by an expression: expanded as the test runs, by the pytest stand-in in the sandbox
    "import pytest\nfrom solution import sort_it\n\n\n@pytest.mark.parametrize('nums, expected', "
    "list(zip([[3, 1, 2], [2, 1]], [[1, 2, 3], [1, 2]])))\ndef test_sorted(nums, expected):\n"
    "    assert sort_it(nums) == expected\n",
    # a list of cases the file also reads: expanded before the run (the stand-in is not asked)
    "import pytest\nfrom solution import sort_it\n\nCASES = [([3, 1, 2], [1, 2, 3]), ([2, 1], [1, 2])]\n\n\n"
    "@pytest.mark.parametrize('nums, expected', CASES)\ndef test_sorted(nums, expected):\n"
    "    assert sort_it(nums) == expected\n\n\ndef test_count():\n    assert len(CASES) == 2\n",
]
STAND_IN_PATCHES = {
    # no case at all: the asserts of the test function never run
    "no-cases": "import pytest\ndef sort_it(xs):\n    return xs\npytest.parametrized = lambda specs, limit: []\n",
    # a case the answer passes, in place of the test's
    "own-cases": "import sys\ndef sort_it(xs):\n    return 'x'\n"
    "sys.modules['pytest'].parametrized = lambda specs, limit: [{'nums': [], 'expected': 'x'}]\n",
}


@pytest.mark.parametrize("patch", STAND_IN_PATCHES.values(), ids=STAND_IN_PATCHES.keys())
def test_parametrize_cases_are_not_the_answer_s_to_choose(sandbox: Sandbox, patch: str) -> None:
    """Cases that the pytest stand-in expands as the test runs are expanded by a stand-in made after the
    answer's code ran, not by the one the answer imported and patched; a list of cases that the file only
    reads is expanded before the run."""
    tests = [{"kind": "assert", "code": test} for test in PARAMETRIZED_AT_RUN_TIME]
    right = "def sort_it(xs):\n    return sorted(xs)\n"
    result = sandbox.score([right, patch], tests)
    assert result["rewards"] == [[[1.0] * len(tests)], [[0.0] * len(tests)]], result["details"]


def test_many_concurrent_executions_leave_no_stray_processes(sandbox: Sandbox) -> None:
    spawner = code("""
        import subprocess, sys
        children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)]
        def add(a, b):
            return a + b
    """)
    variants = [spawner.replace("range(3)", f"range({i % 3 + 1})") + f"# {i}\n" for i in range(24)]
    result = sandbox.score(variants, ADD, timeout_s=2.0)
    assert all(row[0] == [1.0, 1.0] for row in result["rewards"])
    assert len(settle_processes(BASELINE)) == BASELINE


def templates() -> dict[int, int]:
    """Seen from the host: each worker's template (a python3 whose parent is a python3) and its worker."""
    processes = dict(settle_processes(BASELINE))
    parents = {pid: int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) for pid in processes}
    found = {pid: parents[pid] for pid, name in processes.items() if name == processes.get(parents[pid]) == "python3"}
    assert len(found) == WORKERS + SPARES
    return found


def test_only_the_worker_holds_the_channel_to_the_host(sandbox: Sandbox) -> None:
    """Seen from the host: each worker's template (the parent of every execution) has /dev/null where the
    worker has its pipes (or socket pairs) to the service."""
    assert_pool_healthy(sandbox)
    for pid, worker in templates().items():
        assert [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (0, 1)] == ["/dev/null", "/dev/null"]
        assert all(os.readlink(f"/proc/{worker}/fd/{fd}").startswith(("pipe:", "socket:")) for fd in (0, 1))


def test_a_template_killed_from_outside_is_replaced_before_the_next_execution(sandbox: Sandbox) -> None:
    """The OOM killer (here: the test, as root) may take a template between two executions: the worker makes
    a new one and the next answers score as themselves, not as sandbox failures."""
    assert_pool_healthy(sandbox)
    for pid in templates():
        os.kill(pid, signal.SIGKILL)
    for i in range(2 * (WORKERS + SPARES)):  # every worker gets one
        assert sandbox.verdicts(GOOD + f"# {i}\n", ADD) == ["pass", "pass"]
    assert_pool_healthy(sandbox)


def test_no_way_into_the_worker_or_its_channel_to_the_host(sandbox: Sandbox) -> None:
    """The worker (pid 1 in the namespace) and its template (the parent of every execution), which both hold the
    channel to the host, are not dumpable: no ptrace, no /proc/<pid>/mem, no /proc/<pid>/fd."""
    forge = code("""
        import os
        outcomes = []
        for path, mode in [(f"/proc/{pid}/{name}", mode) for pid in (1, os.getppid())
                           for name, mode in (("fd/1", os.O_WRONLY), ("mem", os.O_RDWR), ("fd/0", os.O_RDONLY))]:
            try:
                fd = os.open(path, mode)
                if mode == os.O_WRONLY:
                    os.write(fd, b'{"id": 0, "reports": {"0": {"status": "ok", "value": 5}}}\\n')
                outcomes.append(path + ":opened")
            except OSError as error:
                outcomes.append(path + ":" + type(error).__name__)
        print(outcomes)
        def add(a, b):
            return 0
    """)
    detail = sandbox.run_script(forge)
    assert ":opened" not in detail["stdout"], detail["stdout"]
    assert detail["stdout"].count("PermissionError") == 6, detail["stdout"]
    assert sandbox.verdicts(forge, ADD) == ["fail", "fail"]
    assert_pool_healthy(sandbox)


# Where an answer can write in the sandbox, and what it leaves there for the next unit to find.
LEAVE_AND_LOOK = code("""
    import os, sys
    found = {}
    for where in ("/tmp", "/tmp/scratch", "/dev/shm", "."):
        try:
            found[where] = sorted(os.listdir(where))
        except OSError as error:
            found[where] = type(error).__name__
    expected = {"/tmp": ["scratch"], "/tmp/scratch": ["run"], "/dev/shm": [], ".": []}
    print("clean" if found == expected else found)
    tag = sys.argv[0] + str(os.getpid())
    for path in ("/tmp/left", "/tmp/scratch/left", "/dev/shm/left", "left"):
        with open(path, "w") as handle:
            handle.write(tag)
    os.makedirs("locked/inner")
    open("locked/inner/file", "w").close()
    os.chmod("locked/inner", 0)
    os.chmod("locked", 0o500)
    os.symlink("/tmp", "/tmp/scratch/run-link")
    os.mkfifo("/tmp/fifo")
    os.chmod(".", 0o500)
    os.chmod("/tmp/scratch", 0o500)
    os.chmod("/tmp", 0o500)
""")


def test_nothing_one_unit_writes_reaches_the_next(sandbox: Sandbox) -> None:
    """Every answer first looks for what others left in the places it can write, then leaves files (some behind
    modes the worker has to undo) in each. More answers than workers: some run after others on one worker."""
    answers = [LEAVE_AND_LOOK + f"# answer {i}\n" for i in range(3 * (WORKERS + SPARES) + 3)]
    result = sandbox.score(answers, [{"kind": "stdio", "stdin": "", "expected_stdout": "clean\n"}])
    outputs = [answer[0][0]["stdout"] for answer in result["details"]["tests"]]
    assert outputs == ["clean\n"] * len(answers)
    assert_pool_healthy(sandbox)


def test_only_tmp_and_dev_shm_are_writable_and_both_are_capped(sandbox: Sandbox) -> None:
    probe = code("""
        import os
        for path in ("/left", "/dev/left", "/usr/left", "/tmp/left", "/dev/shm/left"):
            try:
                open(path, "w").close()
                print(path, "written")
            except OSError as error:
                print(path, type(error).__name__)
        print(os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize)
        print(os.statvfs("/dev/shm").f_blocks * os.statvfs("/dev/shm").f_frsize)
    """)
    lines = sandbox.run_script(probe)["stdout"].splitlines()
    assert lines[:5] == ["/left OSError", "/dev/left OSError", "/usr/left OSError", "/tmp/left written",
                         "/dev/shm/left written"]  # fmt: skip
    assert [int(size) for size in lines[5:]] == [256 << 20, 64 << 20]


def recycles(sandbox: Sandbox) -> int:
    return int(sandbox.client.get("/readyz").json()["scorers"]["tests"].get("worker_recycles", 0))


@pytest.mark.parametrize(
    "mess",
    [
        # deeper than any path the worker can name: it cannot remove the tree
        "import os\nfor _ in range(2100):\n    os.mkdir('d')\n    os.chdir('d')\n",
        # more entries than the worker removes before it would rather start afresh
        "for i in range(12000):\n    open(f'/tmp/f{i}', 'w').close()\n",
    ],
)
def test_a_mess_too_big_to_clean_gets_a_fresh_worker(sandbox: Sandbox, mess: str) -> None:
    before = recycles(sandbox)
    assert sandbox.verdicts(mess + GOOD, ADD, timeout_s=5) == ["pass", "pass"]
    assert recycles(sandbox) == before + 1
    answers = [LEAVE_AND_LOOK + f"# after a mess {i}\n" for i in range(2 * (WORKERS + SPARES))]
    result = sandbox.score(answers, [{"kind": "stdio", "stdin": "", "expected_stdout": "clean\n"}])
    assert [answer[0][0]["stdout"] for answer in result["details"]["tests"]] == ["clean\n"] * len(answers)
    assert_pool_healthy(sandbox)


def test_state_that_outlives_a_process_is_refused(sandbox: Sandbox) -> None:
    """SysV IPC objects, POSIX message queues and kernel keys would stay in the worker's namespaces after the
    answer's processes are gone: for the next unit to read, in memory no limit of the answer's counts. The
    worker's seccomp filter refuses them (and io_uring), and the host's shared memory does not grow."""
    probe = code("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        calls = {
            "shmget": lambda: libc.shmget(4242, 64 << 20, 0o1000 | 0o600),
            "semget": lambda: libc.semget(4242, 1, 0o1000 | 0o600),
            "msgget": lambda: libc.msgget(4242, 0o1000 | 0o600),
            "mq_open": lambda: libc.mq_open(b"/vpo-queue", os.O_CREAT | os.O_RDWR, 0o600, None),
        }
        if os.uname().machine == "x86_64":  # no glibc wrappers: add_key(2), io_uring_setup(2)
            calls["add_key"] = lambda: libc.syscall(248, b"user", b"vpo-key", b"secret", 6, -4)
            calls["io_uring_setup"] = lambda: libc.syscall(425, 8, ctypes.create_string_buffer(120))
        for name, call in calls.items():
            ctypes.set_errno(0)
            print(name, call(), os.strerror(ctypes.get_errno()))
    """)
    shared_before = host_shared_memory_kb()
    lines = sandbox.run_script(probe)["stdout"].splitlines()
    expected = ["shmget", "semget", "msgget", "mq_open"] + (["add_key", "io_uring_setup"] if os.uname().machine ==
                                                            "x86_64" else [])  # fmt: skip
    assert lines == [f"{name} -1 Operation not permitted" for name in expected]
    assert host_shared_memory_kb() < shared_before + 32 * 1024
    assert_pool_healthy(sandbox)


def host_shared_memory_kb() -> int:
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) for line in meminfo if line.startswith("Shmem:"))


def test_the_processes_of_an_execution_share_its_memory(sandbox: Sandbox) -> None:
    """Each process's address space is limited on its own (512 MB here): six forked children of 300 MB each
    would hold 1.8 GB of the host's memory. The worker's memory cgroup holds them together to the unit's
    memory (plus the sandbox's /tmp, /dev/shm and harness): the OOM killer ends them, and the verdict is
    memory."""
    status = sandbox.client.get("/readyz").json()["scorers"]["tests"]
    if not status["memory_cgroup"]:
        pytest.skip("no memory cgroup on this host (not root, or no writable cgroup filesystem)")
    bomb = code("""
        import os, time
        for _ in range(6):
            if os.fork() == 0:
                block = bytearray(300 << 20)
                for offset in range(0, len(block), 4096):
                    block[offset] = 1
                time.sleep(30)
                os._exit(0)
        time.sleep(30)
    """)
    lowest, stop = [available_mb()], threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            lowest[0] = min(lowest[0], available_mb())

    before = lowest[0]
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        verdict = sandbox.run_script(bomb, timeout_s=4)["verdict"]
    finally:
        stop.set()
        watcher.join()
    assert verdict == "memory"
    assert before - lowest[0] < 1200  # the unit's 512 MB and the 448 MB reserve, not 1.8 GB
    assert_pool_healthy(sandbox)


def available_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        return next(int(line.split()[1]) >> 10 for line in meminfo if line.startswith("MemAvailable:"))


@pytest.mark.parametrize(
    "move",
    [
        "import shutil\nshutil.rmtree('/tmp/scratch')\n",
        "import os\nos.rename('/tmp/scratch', '/tmp/elsewhere')\n",
        "import os, shutil\nshutil.rmtree('/tmp/scratch')\nos.symlink('/dev/shm', '/tmp/scratch')\n",
        "import os\nos.rename('/tmp/scratch/run', '/tmp/moved')\nos.symlink('/tmp/moved', '/tmp/scratch/run')\n",
    ],
)
def test_the_worker_takes_back_its_directories(sandbox: Sandbox, move: str) -> None:
    """An answer that removes, moves or replaces the worker's scratch or run directory costs nobody anything:
    the worker makes them anew (no fresh worker needed), and the next units see nothing of it."""
    before = recycles(sandbox)
    answers = [move + GOOD + f"# answer {i}\n" for i in range(2 * (WORKERS + SPARES))]
    result = sandbox.score(answers, ADD)
    assert [[d["verdict"] for d in answer[0]] for answer in result["details"]["tests"]] == [["pass", "pass"]] * len(
        answers
    )
    looks = [LEAVE_AND_LOOK + f"# after a move {i}\n" for i in range(2 * (WORKERS + SPARES))]
    result = sandbox.score(looks, [{"kind": "stdio", "stdin": "", "expected_stdout": "clean\n"}])
    assert [answer[0][0]["stdout"] for answer in result["details"]["tests"]] == ["clean\n"] * len(looks)
    assert recycles(sandbox) == before
    assert_pool_healthy(sandbox)
