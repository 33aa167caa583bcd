"""Several uvicorn worker processes, each listening on a socket of its own in one ``SO_REUSEPORT`` group, so
that the kernel spreads connections evenly over the workers.

Uvicorn's own ``--workers`` mode hands every worker one shared listening socket: the worker that wakes first
accepts the whole burst of connections waiting there. Measured on this 2-core machine, 32 keep-alive
connections opened at once went 32 / 0 / 0 / 0 to 4 workers, so one event loop served everything. With a
socket per worker the kernel picks a worker for each connection by a hash of its addresses.

Uvicorn's supervisor stays in charge (it restarts a worker that dies, handles SIGHUP, SIGTTIN / SIGTTOU and
shutdown); only how a worker gets its socket changes. The parent binds the port too, without listening, so a
port already taken fails at once, and port 0 becomes one port for all the workers.

With ``shared_models`` the parent also starts the model process (``service.models.host``) before the
workers, and starts it again whenever it ends.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import Any, ClassVar

from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

from .core.metrics import MULTIPROCESS_ENV  # prometheus_client's multiprocess mode

logger = logging.getLogger("uvicorn.error")
MODEL_HOST_ENV = "VPO_MODEL_HOST"


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
    """A uvicorn worker process that listens on a socket of its own, bound in the worker itself.

    Each live worker also holds a slot (0, 1, ...; a replacement takes a dead worker's), and its sandbox
    workers run as host uids of that slot's own block, ``sandbox_uid_base + slot * uid_block``: the process
    limits of one worker's sandboxes never count another worker's processes."""

    holders: ClassVar[list[OwnSocketWorker]] = []  # in the supervisor: the workers made so far
    uid_base: ClassVar[int | None] = None  # set in the supervisor; each worker carries its own value over
    uid_block: ClassVar[int] = 0
    slot: int
    sandbox_uid_base: int | None

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        taken = {w.slot for w in self.holders if w.process.exitcode is None}  # not started, or running
        self.slot = min(set(range(len(taken) + 1)) - taken)
        self.sandbox_uid_base = None if self.uid_base is None else self.uid_base + self.slot * self.uid_block
        OwnSocketWorker.holders = [w for w in self.holders if w.process.exitcode is None] + [self]
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (a child process)
        if self.sandbox_uid_base is not None:  # read by this worker's settings: the environment wins
            os.environ["VPO_SANDBOX_UID_BASE"] = str(self.sandbox_uid_base)
        threading.Thread(target=_end_with_parent, args=(os.getppid(),), name="vpo-parent-watch", daemon=True).start()
        super().target([reuse_port_socket(self.config.host, self.config.port)])


def _end_with_parent(parent: int, every_s: float = 0.5) -> None:  # pragma: no cover (a child process)
    """In a worker: when the supervisor is gone (killed outright: it could not stop us), shut down as on
    SIGTERM. An orphaned worker would go on serving the port beside a restarted service's workers (each
    socket of the SO_REUSEPORT group gets its share of connections) with the old code and settings."""
    while os.getppid() == parent:
        time.sleep(every_s)
    logger.warning("worker %d: the supervisor %d is gone; shutting down", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)


def run_workers(config: Config, settings: Any = None) -> None:
    """Serve with ``config.workers`` processes under uvicorn's supervisor, one listening socket each; with
    ``settings.shared_models`` (and models configured), one model process holds the models for them all."""
    try:
        reserved = reuse_port_socket(config.host, config.port)  # held, never listening: receives no connection
    except OSError as exc:
        logger.error("cannot bind %s:%d: %s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    config.port = reserved.getsockname()[1]
    models = None
    if settings is not None and settings.shared_models and settings.models:
        models = ModelProcess(settings.models, config.log_config if isinstance(config.log_config, dict) else None)
        if not models.start_and_wait():
            logger.error("the model process failed to load the models")
            reserved.close()
            sys.exit(STARTUP_FAILURE)
        os.environ[MODEL_HOST_ENV] = models.path  # the workers' settings point their scorers at it
    logger.info("Uvicorn running on http://%s:%d with %d workers, one socket each (SO_REUSEPORT)",
                config.host, config.port, config.workers)  # fmt: skip
    if settings is not None:
        OwnSocketWorker.uid_base = settings.sandbox_uid_base
        OwnSocketWorker.uid_block = settings.sandbox_workers + settings.sandbox_spares()
    # the workers' metrics add up (see service.core.metrics): in a directory of this service's own
    metrics_directory = None
    if not os.environ.get(MULTIPROCESS_ENV):
        metrics_directory = tempfile.mkdtemp(prefix="vpo-metrics-")
        os.environ[MULTIPROCESS_ENV] = metrics_directory
    # The supervisor makes (and remakes) its workers through this module-level name.
    original: Any = multiprocess.Process
    multiprocess.Process = OwnSocketWorker  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        multiprocess.Process = original  # type: ignore[misc]
        reserved.close()
        if models is not None:
            models.stop()
        if metrics_directory is not None:
            shutil.rmtree(metrics_directory, ignore_errors=True)
            del os.environ[MULTIPROCESS_ENV]


class ModelProcess:
    """The shared model process (``service.models.host``), started before the workers and started again
    whenever it ends until the service stops."""

    def __init__(self, specs: dict[str, Any], log_config: dict[str, Any] | None) -> None:
        self.specs = {name: spec.model_dump() for name, spec in specs.items()}
        self.log_config = log_config
        self.directory = tempfile.mkdtemp(prefix="vpo-models-")  # mode 0700: only this user reaches the socket
        self.path = os.path.join(self.directory, "models.sock")
        self.process: Any = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="vpo-model-process", daemon=True)

    def _start(self) -> None:
        from .models.host import host_main

        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=host_main, args=(self.specs, self.path, self.log_config),
                                       name="vpo-models")  # fmt: skip
        self.process.start()

    def start_and_wait(self) -> bool:
        """Starts it and waits until it serves (its models loaded): false if it ended first."""
        self._start()
        while not os.path.exists(self.path):
            if not self.process.is_alive():
                return False
            time.sleep(0.1)
        self.watcher.start()
        return True

    def _watch(self) -> None:
        quick, started = 0, time.monotonic()
        while not self.stopping.wait(0.5):
            if self.process.is_alive():
                continue
            # one that keeps ending soon after its start (its models no longer load?) is restarted less often
            quick = quick + 1 if time.monotonic() - started < 60 else 0
            delay = min(30.0, 0.25 * 2**quick) if quick else 0.0
            logger.warning("model process %d ended (exit code %s); starting another in %.1f s", self.process.pid,
                           self.process.exitcode, delay)  # fmt: skip
            if self.stopping.wait(delay):
                return
            self._start()
            started = time.monotonic()

    def stop(self) -> None:
        self.stopping.set()
        if self.watcher.is_alive():
            self.watcher.join()
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(30)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        shutil.rmtree(self.directory, ignore_errors=True)
