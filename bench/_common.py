"""Helpers shared by the benchmarks: timing by median of repeats, a live service on loopback (in a thread or in
a process of its own), and the common sandbox baseline (a fresh process under bubblewrap per execution)."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from service.sandbox.jail import JailConfig, run_inside

ROOT = Path(__file__).resolve().parent.parent


def fresh_rate(command: list[str], runs: int, workers: int) -> float:
    """Executions per second of ``command`` (which prints ``ok``) started afresh each time under bubblewrap
    with the sandbox's namespaces and uid, ``workers`` at once: the common approach the pool is measured
    against."""

    def once(_: int) -> None:
        done = run_inside(JailConfig(), command, timeout=60)
        assert done.stdout == "ok\n", done.stderr

    once(0)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as executor:
        list(executor.map(once, range(runs)))
    return runs / (time.perf_counter() - started)


def median_seconds(fn: Callable[[], Any], repeats: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class ServiceThread:
    """The service in a uvicorn thread on a free loopback port (like the tests' LiveServer)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServiceProcess:
    """``vpo-rewards serve`` in a process of its own on a free loopback port (as deployed: the clients of a
    benchmark do not share its interpreter), with settings from ``VPO_*`` variables and a settings file."""

    def __init__(
        self, env: dict[str, str], config: dict[str, Any] | None = None, args: tuple[str, ...] = (), root: Path = ROOT
    ) -> None:
        self.env = {**os.environ, "VPO_LOG_LEVEL": "warning", **env}
        self.config = config
        self.args = args
        self.root = root  # the checkout whose service runs (``python -m`` imports it from its directory)
        self.process: subprocess.Popen[bytes] | None = None
        self.directory = tempfile.TemporaryDirectory(prefix="vpo-bench-")

    def __enter__(self) -> str:
        port = free_port()
        command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *self.args]
        if self.config is not None:
            path = Path(self.directory.name) / "settings.yaml"
            path.write_text(json.dumps(self.config))  # JSON is YAML
            command += ["--config", str(path)]
        self.process = subprocess.Popen(command, cwd=self.root, env=self.env)
        url = f"http://127.0.0.1:{port}"
        workers = int(self.args[self.args.index("--workers") + 1]) if "--workers" in self.args else 1
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                # every worker listens once its start-up (models included) is done: wait for all of them, or
                # the clients' keep-alive connections all go to the first one up
                if httpx.get(f"{url}/readyz").status_code == 200:
                    listening = listeners(port)
                    if listening >= workers:
                        return url
                    if listening == 0:  # this kernel's /proc/net does not show them: give the rest time
                        print("bench: cannot see the service's sockets; waiting 15 s for its workers", file=sys.stderr)
                        time.sleep(15)
                        return url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("the service did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.directory.cleanup()


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A detached worktree of this repository at ``ref`` (a commit, branch or tag), removed afterwards: the
    code whose service a comparison runs beside the working tree's."""
    with tempfile.TemporaryDirectory(prefix="vpo-ref-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def listeners(port: int) -> int:
    """Listening TCP sockets on this port (one per service worker), from /proc/net/tcp and tcp6."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                count += int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A"  # 0A: LISTEN
    return count


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (whichever of their threads started them)."""
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                queue += [int(child) for child in task.read_text().split()]
            except OSError:  # the thread or the process ended meanwhile
                pass
    return found


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (0 once it is gone)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_counters() -> tuple[int, float]:
    """The whole machine's page faults so far (``/proc/vmstat``'s pgfault) and CPU seconds spent (all cores,
    idle and iowait left out, from ``/proc/stat``): what one batch costs, wherever it ran, is their change."""
    with open("/proc/vmstat") as vmstat:
        faults = next(int(line.split()[1]) for line in vmstat if line.startswith("pgfault "))
    with open("/proc/stat") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    busy = sum(ticks[:8]) - ticks[3] - ticks[4]  # user nice system (idle iowait) irq softirq steal
    return faults, busy / os.sysconf("SC_CLK_TCK")


def service_roles(root: int, shared_models: bool) -> dict[str, list[int]]:
    """The processes of ``vpo-rewards serve`` by role: its HTTP worker(s) and, with shared models, the model
    process (the supervisor's first spawned child: it is started before the workers)."""
    children = [
        pid for pid in process_tree(root)[1:] if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    if not children:  # one worker: the service is one process
        return {"HTTP workers": [root]}
    children.sort(key=lambda pid: int(_stat(pid)[19]))  # start time
    if shared_models:
        return {"HTTP workers": children[1:], "model process": children[:1]}
    return {"HTTP workers": children}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A redis-server on a loopback port with an append-only file, so that a restart keeps the job queue."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="vpo-bench-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "yes", "--appendfsync", "always", "--dir", self.directory.name]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis writes its append-only file and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.directory.cleanup()
