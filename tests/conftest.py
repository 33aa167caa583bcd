"""Shared fixtures: real uvicorn servers on free loopback ports, in this process's threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from service.core.config import Settings
from service.main import create_app
from service.scorers.registry import ScorerRegistry


class LiveServer:
    """A uvicorn server on 127.0.0.1 and a free port, serving ``app`` from a background thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


ServerFactory = Callable[..., LiveServer]


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Start servers with custom settings / registry / app; all stopped at the end of the test."""
    started: list[LiveServer] = []

    def make(
        settings: Settings | None = None, registry: ScorerRegistry | None = None, app: FastAPI | None = None
    ) -> LiveServer:
        server = LiveServer(app or create_app(settings or Settings(), registry)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    """The default service (built-in scorers, no token), shared by the session."""
    with LiveServer(create_app(Settings())) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


REFERENCE_FOUR = {"name": "reference", "params": {"checks": [{"mode": "numeric", "reference": "4"}]}}
