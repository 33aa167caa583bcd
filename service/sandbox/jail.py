"""How a sandbox worker process is started: bubblewrap namespaces, an unprivileged uid, no environment.

``bwrap`` mode (the default): each worker runs the harness under bubblewrap with new user, PID, network
(loopback only), IPC, UTS and cgroup namespaces, a read-only ``/usr`` (and ``/etc/alternatives``, Debian's
symlinks into it), a private size-capped ``/tmp`` and
``/dev/shm`` (the only places it can write: ``/`` and ``/dev`` are read-only, so that what an answer writes is
bounded and the worker can remove it after each unit), a fresh ``/proc`` and ``/dev``, no capabilities, no
further user namespaces, an empty environment, and, when the service runs as root, a host uid of its own
(``sandbox_uid_base + i``) so that process limits count only that worker's processes. ``unsafe-local`` runs
the same harness without any of that (resource limits only): for development on hosts without user
namespaces, never for untrusted code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HARNESS = Path(__file__).with_name("harness.py")
PYTEST_STAND_IN = Path(__file__).with_name("pytest_stand_in.py")  # what the executions import as pytest
SANDBOX_MODES = ("bwrap", "unsafe-local")
WRITABLE = ("/tmp", "/dev/shm")  # where an execution can write under bwrap; the worker empties them after each unit
# The executions' environment: one thread per numeric library (an execution has one core's worth of time, and a
# thread pool per core would run into the process limit on a large host)
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class SandboxUnavailable(RuntimeError):
    """The host cannot provide the sandbox that was asked for."""


@dataclass(frozen=True)
class JailConfig:
    mode: str = "bwrap"
    python: str = "/usr/bin/python3"
    uid_base: int = 61000
    tmp_bytes: int = 256 * 1024 * 1024
    shm_bytes: int = 64 * 1024 * 1024
    site_packages: bool = True  # the interpreter's site-packages on the executions' sys.path (else stdlib only)


@dataclass(frozen=True)
class WorkerSpec:
    """What to execute for worker ``index``: the command, the uid/gid to drop to, the environment."""

    argv: list[str]
    uid: int | None
    env: dict[str, str]
    scratch: str | None  # host directory to remove when the worker stops (unsafe-local only)

    def drop_privileges(self) -> None:
        """Runs in the forked process before exec: become the worker's own unprivileged uid and gid."""
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)


# The worker's program: the harness compiled by the sandbox's own interpreter (once per interpreter), which a
# short ``-c`` program unmarshals and runs. Compiling the harness in the worker (``-c source``) left about 4 MB of
# the compiler's garbage in its heap, which every fork then copied the page tables of, with the harness's code
# objects scattered among it (each a page a child touches, and copies, when it runs them).
BOOT = "import binascii, marshal, sys, zlib; exec(marshal.loads(zlib.decompress(binascii.a2b_base64(sys.argv.pop(1)))))"
COMPILE = (
    "import binascii, marshal, sys, zlib\n"
    "code = compile(sys.stdin.read(), '<string>', 'exec', dont_inherit=True)\n"
    "sys.stdout.write(binascii.b2a_base64(zlib.compress(marshal.dumps(code), 9), newline=False).decode())\n"
)


@cache
def harness_args(python: str) -> tuple[str, ...]:
    """The interpreter's arguments that run the harness: compiled by ``python`` here, or (if that fails) its
    source, which the worker then compiles itself."""
    source = HARNESS.read_text(encoding="utf-8")
    try:
        done = subprocess.run([python, "-I", "-S", "-c", COMPILE], input=source, capture_output=True, text=True,
                              timeout=60, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ("-I", "-S", "-B", "-c", source)
    return ("-I", "-S", "-B", "-c", BOOT, done.stdout)


def worker_spec(config: JailConfig, index: int) -> WorkerSpec:
    python_args = list(harness_args(config.python))
    options = ["--pytest=" + PYTEST_STAND_IN.read_text(encoding="utf-8")]
    options += ["--site-packages"] if config.site_packages else []
    if config.mode == "unsafe-local":
        scratch = tempfile.mkdtemp(prefix="vpo-sandbox-")
        return WorkerSpec([config.python, *python_args, scratch, *options], None, dict(SANDBOX_ENV), scratch)
    if config.mode != "bwrap":
        raise SandboxUnavailable(f"unknown sandbox mode {config.mode!r}; use one of {', '.join(SANDBOX_MODES)}")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: apt-get install bubblewrap, or set VPO_SANDBOX=unsafe-local "
            "to run answer code without isolation (never for untrusted code)"
        )
    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        *(item for name, value in SANDBOX_ENV.items() for item in ("--setenv", name, value)),
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--ro-bind", "/usr", "/usr",
        # Debian's alternatives (symlinks only): libblas.so.3 for numpy resolves through them
        "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
    ]  # fmt: skip
    for top in ("bin", "lib", "lib64", "lib32", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(config.shm_bytes), "--tmpfs", "/dev/shm",
             "--remount-ro", "/dev", "--size", str(config.tmp_bytes), "--tmpfs", "/tmp", "--remount-ro", "/",
             "--chdir", "/tmp"]  # fmt: skip
    argv += ["--as-pid-1", "--", config.python, *python_args, "/tmp/scratch", "--pid-namespace", *options]
    argv += [f"--wipe={directory}" for directory in WRITABLE]
    uid = config.uid_base + index if os.geteuid() == 0 else None
    return WorkerSpec(argv, uid, {}, None)


def run_inside(config: JailConfig, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` where worker 0 would run (its namespaces, uid and environment; without any with
    unsafe-local), for a probe: what the sandbox can see and run."""
    spec = worker_spec(config, 0)
    prefix = spec.argv[: spec.argv.index("--") + 1] if config.mode == "bwrap" else []
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=timeout, env=spec.env, preexec_fn=spec.drop_privileges
    )


def probe(config: JailConfig) -> None:
    """Start one sandboxed interpreter and check what it sees; raise SandboxUnavailable with the reason."""
    if not Path(config.python).exists():
        raise SandboxUnavailable(f"the sandbox interpreter {config.python!r} does not exist (set VPO_SANDBOX_PYTHON)")
    worker_spec(config, 0)  # refuses an unknown mode, or bwrap missing
    if config.mode == "unsafe-local":
        return
    # the same command line, with a one-line program in place of the harness
    program = "import os, socket; print(os.getpid(), [n for _, n in socket.if_nameindex()])"
    try:
        done = run_inside(config, [config.python, "-I", "-S", "-c", program])
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"bubblewrap could not start: {exc}") from exc
    if done.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap could not create the sandbox (user namespaces disabled?): {done.stderr.strip()[:500]}; "
            "set VPO_SANDBOX=unsafe-local to run answer code without isolation (never for untrusted code)"
        )
    pid, interfaces = done.stdout.split(" ", 1)
    if int(pid) > 3 or interfaces.strip() != "['lo']":
        raise SandboxUnavailable(f"the sandbox is not isolated as expected: pid {pid}, interfaces {interfaces}")
    # the harness's seccomp filter (refused syscalls: see harness.DENIED_SYSCALLS), as a worker installs it
    done = run_inside(config, [config.python, *harness_args(config.python), "--check-filter"])
    if done.stdout.strip() != "filter ok":
        raise SandboxUnavailable(f"the sandbox cannot refuse the syscalls it must: {(done.stdout + done.stderr)[:500]}")
