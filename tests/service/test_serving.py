"""``vpo-rewards serve --workers N``: every worker listens on a socket of its own (SO_REUSEPORT), so the
kernel spreads connections over all of them; uvicorn's supervisor still replaces a worker that dies.
Checked from outside, through /proc: which worker process holds which connection."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.test_cli import CLI, ROOT
from tests.trainer_client.test_client import free_port

WORKERS = 2


def sockets_of(pid: int) -> set[str]:
    """Socket inodes among the process's open files."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
        if match:
            inodes.add(match.group(1))
    return inodes


def tcp_sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on this local port in this state (0A listening, 01 established)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def children(parent: int) -> list[int]:
    """The process's children, whichever of its threads started them."""
    return [
        int(pid) for task in Path(f"/proc/{parent}/task").iterdir() for pid in (task / "children").read_text().split()
    ]


def workers(parent: int, port: int) -> dict[int, set[str]]:
    """The parent's children that listen on the port, with their socket inodes."""
    listening = tcp_sockets(port, "0A")
    owned = {pid: sockets_of(pid) for pid in children(parent) if os.path.exists(f"/proc/{pid}")}
    return {pid: inodes for pid, inodes in owned.items() if inodes & listening}


def wait_for_workers(
    parent: int, port: int, count: int, deadline_s: float = 90, gone: int | None = None
) -> dict[int, set[str]]:
    """The workers listening on ``port``, once there are ``count`` of them (and ``gone``, a killed one that
    may still hold its sockets for a moment while it exits, is not among them)."""
    deadline = time.monotonic() + deadline_s
    while len(found := workers(parent, port)) < count or gone in found:
        assert time.monotonic() < deadline, f"{len(found)} of {count} workers listening ({gone} gone?)"
        time.sleep(0.1)
    return found


@pytest.fixture
def service() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(WORKERS)], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield process, port
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def connect(port: int, count: int) -> list[socket.socket]:
    """``count`` open keep-alive connections, each of which has had one request answered."""
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        connections.append(connection)
    return connections


def test_connections_spread_over_every_worker_and_a_dead_worker_is_replaced(
    service: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = service
    found = wait_for_workers(process.pid, port, WORKERS)
    assert len(tcp_sockets(port, "0A")) == WORKERS  # one listening socket each; the parent's never listens
    connections = connect(port, 32)
    try:
        established = tcp_sockets(port, "01")
        held = {pid: len(inodes & established) for pid, inodes in workers(process.pid, port).items()}
        # the kernel picks each connection's worker by a hash: 32 land 4 or fewer on one of 2 workers with
        # probability 3e-6 (one shared socket gave, here, 32 / 0 / 0 / 0 over 4 workers)
        assert sum(held.values()) == 32 and min(held.values()) >= 4, held
    finally:
        for connection in connections:
            connection.close()

    victim = min(found)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for_workers(process.pid, port, WORKERS, gone=victim)
    assert victim not in replaced and len(replaced) == WORKERS and process.poll() is None
    for _ in range(20):  # new connections reach live workers only
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def test_a_taken_port_fails_at_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*CLI, "serve", "--port", str(port), "--workers", "2"], cwd=ROOT, text=True,
                              capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 3  # uvicorn's start-up failure, as with one worker
    assert f"cannot bind 127.0.0.1:{port}: [Errno 98] Address already in use" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def host_uids(pid: int) -> set[int]:
    """Real uids of the process's descendants (its sandbox workers run as their own)."""
    uids = set()
    for child in descendants(pid):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        uids.add(int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)))  # type: ignore[union-attr]
    return uids - {0}


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox workers get uids of their own only when the service is root")
def test_each_workers_sandboxes_run_as_uids_of_their_own() -> None:
    """A replacement worker takes the dead one's uid block; no two live workers share a uid."""
    port, base = free_port(), 64000
    env = {**os.environ, "VPO_SCORERS": "tests", "VPO_SANDBOX_WORKERS": "1", "VPO_SANDBOX_SPARE_WORKERS": "1",
           "VPO_SANDBOX_UID_BASE": str(base)}  # fmt: skip
    process = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:

        def blocks() -> dict[int, set[int]]:
            deadline = time.monotonic() + 60
            while True:
                found = {pid: host_uids(pid) for pid in wait_for_workers(process.pid, port, WORKERS)}
                if all(len(uids) == 2 for uids in found.values()) and len(found) == WORKERS:
                    return found
                assert time.monotonic() < deadline, found
                time.sleep(0.2)

        first = blocks()
        assert sorted(sorted(uids) for uids in first.values()) == [[base, base + 1], [base + 2, base + 3]]
        victim = next(pid for pid, uids in first.items() if base in uids)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in (second := blocks()):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert sorted(sorted(uids) for uids in second.values()) == [[base, base + 1], [base + 2, base + 3]]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def test_the_workers_metrics_add_up_whichever_worker_is_scraped() -> None:
    """Requests served by both workers count once each in every scrape, and so do both workers' sandboxes;
    a worker that dies keeps its requests in the total."""
    from tests.conftest import REFERENCE_FOUR
    from tests.service.test_metrics import samples

    port = free_port()
    env = {**os.environ, "VPO_SCORERS": "reference,tests", "VPO_SANDBOX_WORKERS": "1",
           "VPO_SANDBOX_SPARE_WORKERS": "0"}  # fmt: skip
    process = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    key = ("vpo_requests_total", (("endpoint", "/v1/score"), ("method", "POST"), ("status", "200")))
    try:
        wait_for_workers(process.pid, port, WORKERS)
        # 16 connections: all on one worker with probability 3e-5 (the kernel hashes each to a worker)
        connections = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
        for i, client in enumerate(connections * 2):
            body = {"prompt": "q", "answers": [[f"{i}"]], "scorers": [REFERENCE_FOUR]}
            assert client.post("/v1/score", json=body).status_code == 200
        served = {pid: len(inodes & tcp_sockets(port, "01")) for pid, inodes in workers(process.pid, port).items()}
        assert all(served.values()), served  # both workers served some of them
        for client in connections:
            client.close()
        deadline = time.monotonic() + 10  # each worker writes its sandbox snapshot every 2 s
        while True:
            scrapes = [samples(url) for _ in range(6)]  # new connections: both workers answer some
            if all(s.get(("vpo_sandbox_workers", ())) == 2 for s in scrapes) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [s[key] for s in scrapes] == [32] * 6
        assert [s[("vpo_sandbox_workers", ())] for s in scrapes] == [2] * 6  # one sandbox worker each
        victim = next(iter(workers(process.pid, port)))
        os.kill(victim, signal.SIGKILL)
        wait_for_workers(process.pid, port, WORKERS, gone=victim)
        deadline = time.monotonic() + 10
        while True:  # the replacement's sandbox counts once it has written its snapshot; the dead one's no more
            after = [samples(url) for _ in range(6)]
            if all(s.get(("vpo_sandbox_workers", ())) == 2 for s in after) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [s[("vpo_sandbox_workers", ())] for s in after] == [2] * 6
        assert [s[key] for s in after] == [32] * 6  # the dead worker's requests are still counted
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
