"""The program that runs inside the sandbox: a long-lived worker that forks one child per execution unit.

Standalone on purpose (standard library only, no import of the service): it runs under the sandbox's own
interpreter with ``-I -S``, as an unprivileged uid, in its own namespaces. Protocol: the host writes one
JSON unit per line on stdin; the worker answers one JSON result per line on stdout.

A unit is some code plus tests. In ``functions`` mode the child runs the code once, then each test in turn
(``call``: call a function with JSON arguments and send back its return value; ``check``: run rewritten
assert statements that send back the operands of their comparisons); in ``script`` mode the child runs the
code with a stdin and the worker returns its stdout. The child never judges a test: values go back to the
host, which compares them with expected values that never entered the sandbox. A child that ends, crashes
or is killed before reporting a test leaves that test without a report; the worker then runs the remaining
tests in a fresh child, so one crash does not take the other tests with it.

Each child gets its own session, working directory and resource limits (address space, CPU time, file
size, open files, processes); after each unit the worker kills every process it can signal in its PID
namespace (``kill(-1)``), so nothing an execution started survives it.
"""

import builtins
import gc
import json
import math
import os
import resource
import select
import shutil
import signal
import sys
import time
import warnings

PRISTINE_BUILTINS = dict(builtins.__dict__)
# Imported once by the worker, so that children (forked copies) do not pay for them on every execution.
PRELOAD = ("typing", "collections", "itertools", "functools", "math", "heapq", "bisect", "re", "string",
           "operator", "copy", "random", "fractions", "decimal", "datetime", "statistics", "hashlib")  # fmt: skip
WARM_UP = "from typing import List\nclass _A:\n    pass\ndef _f(xs: List[int]) -> int:\n    return sum(x for x in xs)\n"
PID_NAMESPACE = "--pid-namespace" in sys.argv
MAX_MESSAGE = 1 << 20
# Sources up to this size are compiled by the worker before it forks: the compiler's first touches of its
# memory in a fresh child cost more copy-on-write faults than compiling does (about 1 ms per source). Python's
# compiler runs no code and bounds its constant folding; bigger sources compile in the child, under its limits.
PRECOMPILE_BYTES = 65536
CODE_CACHE_SIZE = 256
# The children's standard streams, built once by the worker (a forked child only points fds 0-2 elsewhere):
# building three text wrappers in every child costs more than the answer's code often does.
CHILD_STREAMS = ()
READ_CHUNK = 65536


# ------------------------------------------------------------------------------------------- values
class Unencodable(Exception):
    pass


def encode(value, depth=0, budget=None):
    """Plain data of exact built-in types as tagged JSON; anything else (a subclass, an object with its own
    __eq__) is refused, so a comparison made by the host cannot be steered by the answer's code."""
    budget = budget if budget is not None else [100_000]
    budget[0] -= 1
    if budget[0] < 0 or depth > 100:
        raise Unencodable("value too large or too deep")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is list:
        return [encode(item, depth + 1, budget) for item in value]
    if kind is tuple:
        return {"tuple": [encode(item, depth + 1, budget) for item in value]}
    if kind is dict:
        return {"dict": [[encode(k, depth + 1, budget), encode(v, depth + 1, budget)] for k, v in value.items()]}
    if kind is set or kind is frozenset:
        return {kind.__name__: [encode(item, depth + 1, budget) for item in value]}
    if kind is complex:
        return {"complex": [encode(value.real), encode(value.imag)]}
    if kind is bytes:
        return {"bytes": value.hex()}
    raise Unencodable(f"a value of type {kind.__name__} is not plain data")


def decode_args(value):
    """JSON arguments of a call test, as Python values (JSON has lists, numbers, strings, objects)."""
    return value


# ------------------------------------------------------------------------------------------- child
def child_main(unit, tests, result_fd, out_w, err_w, stdin_path, run_dir, token, compiled):
    """Runs in the forked child; never returns."""
    try:
        os.setsid()
        stdin_fd = os.open(stdin_path, os.O_RDONLY)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(result_fd, 3)
        os.closerange(4, 65536)
        os.chdir(run_dir)
        limits = unit["limits"]
        cpu = _cpu_seconds(limits)
        # the hard CPU limit covers the load and every test; the soft one is moved on before each test
        for name, soft, hard in (
            (resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
            (resource.RLIMIT_CPU, cpu, cpu * (len(tests) + 1) + 1),
            (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
            (resource.RLIMIT_NOFILE, limits["open_files"], limits["open_files"]),
            (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
            (resource.RLIMIT_CORE, 0, 0),
        ):
            resource.setrlimit(name, (soft, hard))
        sys.stdin, sys.stdout, sys.stderr = CHILD_STREAMS  # made by the worker: on the fds just set up
    except BaseException:
        os._exit(70)
    send = _sender(token)
    gc.disable()  # a collection now would touch (and copy) the parent's pages; back on for the tests
    script = unit["mode"] == "script"
    globals_ = {"__name__": "__main__" if script else "solution", "__builtins__": builtins}
    try:
        if compiled.warnings:
            sys.stderr.write(compiled.warnings)
        exec(compiled.get(unit["code"], "<answer>"), globals_)
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
        report = _run_test(test, globals_, compiled)
        _flush()
        send(dict(report, i=test["i"]))
    _flush()
    send({"done": True})
    os._exit(0)


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


def _run_test(test, globals_, compiled):
    try:
        if test["type"] == "call":
            function = globals_.get(test["function"])
            if not callable(function):
                return {"status": "error", "type": "NameError", "message": "no function {!r}".format(test["function"])}
            value = function(*test["args"], **test["kwargs"])
            return {"status": "ok", "value": encode(value)}
        checks = []

        def check(check_id, operands):
            try:
                checks.append([check_id, [encode(v) for v in operands]])
            except Unencodable as error:
                checks.append([check_id, None, str(error)])

        def truth(check_id, value):
            try:
                encoded = encode(value)
            except Unencodable as error:
                checks.append([check_id, None, str(error)])
                raise AssertionError(str(error)) from None
            checks.append([check_id, [encoded]])
            if not (type(value) in (bool, int, float, str, list, tuple, dict, set, frozenset, type(None)) and value):
                raise AssertionError("assertion failed")

        test_globals = dict(globals_)
        test_globals["__builtins__"] = dict(PRISTINE_BUILTINS)
        test_globals["__vpo_check__"] = check
        test_globals["__vpo_truth__"] = truth
        exec(compiled.get(test["source"], "<test>"), test_globals)
        return {"status": "ok", "checks": checks}
    except SystemExit as stop:
        return {"status": "error", "type": "SystemExit", "message": f"exit({stop.code!r}) during the test"}
    except Unencodable as error:
        return {"status": "error", "type": "Unencodable", "message": str(error)}
    except BaseException as error:
        return {"status": "error", "type": type(error).__name__, "message": _message(error)}


# ------------------------------------------------------------------------------------------ worker
class Compiled:
    """The unit's sources compiled by the worker (see PRECOMPILE_BYTES). ``get`` in the child returns the code
    object, raises the compiler's error as compiling there would have, or compiles a source left to it.

    Code objects are immutable and each child has its own copy of the worker's memory, so the worker keeps the
    last CODE_CACHE_SIZE compilations: the answers of a group share their tests, which compile once."""

    cache = {}  # (source, filename) -> (code object or compile error, warnings text); insertion-ordered LRU

    def __init__(self, unit):
        self.codes = {}
        self.warnings = ""
        sources = [(unit["code"], "<answer>")] if "code" in unit else []
        sources += [(test["source"], "<test>") for test in unit.get("tests", []) if "source" in test]
        for key in sources:
            if len(key[0]) <= PRECOMPILE_BYTES and key not in self.codes:
                entry = self.cache.pop(key, None) or self._compile(*key)
                self.cache[key] = entry
                self.codes[key] = entry[0]
                self.warnings += entry[1]
        while len(self.cache) > CODE_CACHE_SIZE:
            del self.cache[next(iter(self.cache))]

    @staticmethod
    def _compile(source, filename):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = compile(source, filename, "exec", dont_inherit=True)
            except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError) as error:
                code = error
        # compile-time warnings (SyntaxWarning...) go to the child's stderr, as if it had compiled the source
        return code, "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)

    def get(self, source, filename):
        code = self.codes.get((source, filename))
        if code is None:
            return compile(source, filename, "exec", dont_inherit=True)
        if isinstance(code, BaseException):
            raise code.with_traceback(None)
        return code


def run_unit(unit, scratch):
    """Runs a unit to completion (re-running the tests left after a crash) and returns its result."""
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
        for message in outcome["messages"]:
            if "i" in message:
                reports[str(message["i"])] = message
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
    result["stdout"] = outputs["stdout"].decode("utf-8", "replace")
    result["stderr"] = outputs["stderr"].decode("utf-8", "replace")
    result["output_limited"] = outputs.get("limited", False)
    return result


def _fresh_dir(path):
    """An empty private directory at ``path``; the last one is reused when the execution left it untouched."""
    try:
        info = os.lstat(path)
        if info.st_mode == 0o40700 and info.st_nlink == 2 and not os.listdir(path):
            return
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)
    os.mkdir(path, 0o700)


def _execute(unit, tests, token, scratch, limits, outputs, compiled):
    run_dir = os.path.join(scratch, "run")
    _fresh_dir(run_dir)
    stdin_path = os.devnull
    if unit.get("stdin"):
        stdin_path = os.path.join(scratch, "stdin")
        with open(stdin_path, "w", encoding="utf-8") as handle:
            handle.write(unit["stdin"])
    result_r, result_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        for fd in (result_r, out_r, err_r):
            os.close(fd)
        child_main(unit, tests, result_w, out_w, err_w, stdin_path, run_dir, token, compiled)
    for fd in (result_w, out_w, err_w):
        os.close(fd)
    wall = limits["wall_s"]
    deadline = time.monotonic() + wall
    # however the child paces its messages, the execution ends by then
    hard_deadline = deadline + wall * len(tests)
    buffers = {result_r: b"", out_r: b"", err_r: b""}
    open_fds = [result_r, out_r, err_r]
    state = {"messages": [], "loaded": False, "done": False, "load_error": None, "ended": None}
    killed = None
    while open_fds:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed = "timeout"
            break
        ready, _, _ = select.select(open_fds, [], [], remaining)
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
    if killed:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    _kill_strays(pid)
    for fd in (result_r, out_r, err_r):
        os.close(fd)
    if killed:
        state["ended"] = killed
    elif os.WIFSIGNALED(status):
        state["ended"] = "signal:" + signal.Signals(os.WTERMSIG(status)).name
    else:
        state["ended"] = "exit:" + str(os.WEXITSTATUS(status))
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
    elif "i" in message:
        state["messages"].append(message)
    return True


def _kill_strays(pid):
    """Kill what the execution left behind: in its own PID namespace, every process the worker may signal
    (double-forked daemons included); without one (unsafe-local), the child's session only."""
    try:
        if PID_NAMESPACE:
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def main():
    try:  # no ptrace or /proc/<pid>/mem access to the worker from what it runs
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except Exception:
        pass
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    exec(compile(WARM_UP, "<warm-up>", "exec"), {})  # lazy parser and compiler state, set up once
    # what every child needs, set once here and inherited: default signal dispositions (the answer's code gets
    # SIGPIPE and SIGXFSZ like any program; the worker's parent ends it by closing stdin) and its streams
    for number in (signal.SIGXFSZ, signal.SIGPIPE, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    global CHILD_STREAMS
    CHILD_STREAMS = (
        open(0, encoding="utf-8", errors="replace", closefd=False),
        open(1, "w", encoding="utf-8", closefd=False),
        open(2, "w", encoding="utf-8", closefd=False),
    )
    gc.freeze()  # the worker's objects stay out of the children's collections: fewer copy-on-write faults
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    scratch = arguments[0] if arguments else "/tmp"
    os.makedirs(scratch, exist_ok=True)
    reader = os.fdopen(0, "rb", buffering=0)
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = reader.read(READ_CHUNK)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        unit = json.loads(line)
        try:
            result = run_unit(unit, scratch)
        except Exception as error:  # a fault of the sandbox itself, not of the answer
            result = {"id": unit.get("id"), "sandbox_error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
