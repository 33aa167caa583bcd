"""A live service with the tests scorer on a real bubblewrap sandbox, and ways to look at it from outside."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.core.config import Settings
from service.main import create_app
from tests.conftest import LiveServer

WORKERS = 2
SPARES = 1
UID_BASE = 63000  # apart from the default (61000) of the other test servers
SECRET = "vpo-planted-secret-6f1e"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[LiveServer]:
    os.environ["VPO_TEST_SECRET"] = SECRET  # in the service's environment: the sandbox must not see it
    settings = Settings(sandbox_workers=WORKERS, sandbox_spare_workers=SPARES, sandbox_uid_base=UID_BASE)
    server = LiveServer(create_app(settings)).start()
    scorers = httpx.get(f"{server.url}/v1/scorers").json()
    assert "tests" in {s["name"] for s in scorers["scorers"]}, scorers["unavailable"]
    yield server
    server.stop()
    os.environ.pop("VPO_TEST_SECRET", None)


class Sandbox:
    """Scores answers with the tests scorer over HTTP and reports verdicts."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=120)

    def score(self, answers: list[str], tests: list[dict[str, Any]], timeout_s: float = 1.0) -> dict[str, Any]:
        body = {
            "prompt": "sandbox test",
            "answers": [[a] for a in answers],
            "scorers": [{"name": "tests", "params": {"timeout_s": timeout_s, "tests": tests}}],
            "detail": True,
        }
        response = self.client.post("/v1/score", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def verdicts(self, answer: str, tests: list[dict[str, Any]], timeout_s: float = 1.0) -> list[str]:
        result = self.score([answer], tests, timeout_s)
        return [d["verdict"] for d in result["details"]["tests"][0][0]]

    def run_script(self, code: str, stdin: str = "", timeout_s: float = 1.0) -> dict[str, Any]:
        """Run ``code`` as a program; its verdict and what it printed."""
        result = self.score([code], [{"kind": "stdio", "stdin": stdin, "expected_stdout": "<never>"}], timeout_s)
        detail: dict[str, Any] = result["details"]["tests"][0][0][0]
        return detail


@pytest.fixture
def sandbox(sandbox_server: LiveServer) -> Iterator[Sandbox]:
    box = Sandbox(sandbox_server.url)
    yield box
    box.client.close()


def sandbox_processes() -> list[tuple[int, str]]:
    """(pid, name) of every live process on the host owned by a sandbox worker's uid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields.get("Uid", "-1").split()[0])
        if UID_BASE <= uid < UID_BASE + WORKERS + SPARES and not fields.get("State", "").strip().startswith("Z"):
            found.append((int(entry.name), fields.get("Name", "").strip()))
    return found


def settle_processes(expected: int, seconds: float = 3.0) -> list[tuple[int, str]]:
    """The sandbox processes once the count is back to ``expected`` (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        processes = sandbox_processes()
        if len(processes) <= expected or time.monotonic() > deadline:
            return processes
        time.sleep(0.05)
