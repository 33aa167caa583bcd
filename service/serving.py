"""Several uvicorn worker processes, each listening on a socket of its own in one ``SO_REUSEPORT`` group, so
that the kernel spreads connections evenly over the workers.

Uvicorn's own ``--workers`` mode hands every worker one shared listening socket: the worker that wakes first
accepts the whole burst of connections waiting there. Measured on this 2-core machine, 32 keep-alive
connections opened at once went 32 / 0 / 0 / 0 to 4 workers, so one event loop served everything. With a
socket per worker the kernel picks a worker for each connection by a hash of its addresses.

Uvicorn's supervisor stays in charge (it restarts a worker that dies, handles SIGHUP, SIGTTIN / SIGTTOU and
shutdown); only how a worker gets its socket changes. The parent binds the port too, without listening, so a
port already taken fails at once, and port 0 becomes one port for all the workers.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

logger = logging.getLogger("uvicorn.error")


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) in the port's SO_REUSEPORT group, not yet listening."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker process that listens on a socket of its own, bound in the worker itself."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (a child process)
        super().target([reuse_port_socket(self.config.host, self.config.port)])


def run_workers(config: Config) -> None:
    """Serve with ``config.workers`` processes under uvicorn's supervisor, one listening socket each."""
    try:
        reserved = reuse_port_socket(config.host, config.port)  # held, never listening: receives no connection
    except OSError as exc:
        logger.error("cannot bind %s:%d: %s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    config.port = reserved.getsockname()[1]
    logger.info("Uvicorn running on http://%s:%d with %d workers, one socket each (SO_REUSEPORT)",
                config.host, config.port, config.workers)  # fmt: skip
    # The supervisor makes (and remakes) its workers through this module-level name.
    original: Any = multiprocess.Process
    multiprocess.Process = OwnSocketWorker  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        multiprocess.Process = original  # type: ignore[misc]
        reserved.close()
