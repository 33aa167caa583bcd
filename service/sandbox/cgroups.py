"""A memory cgroup per sandbox worker: the bound on the memory of everything one execution runs, together.

Resource limits bound each process on its own, so an answer that forks could hold ``processes x memory_mb``
of the host's memory; the worker's cgroup holds its whole sandbox (bubblewrap, the harness, its template,
the execution's processes and the files they write in the private ``/tmp`` and ``/dev/shm``) to the unit's
own need. The kernel's OOM killer then ends the execution's largest process inside the cgroup (the harness
marks the executions as the first to go), and the pool reads the cgroup's OOM kill counter after each unit,
so the verdict says ``memory``.

cgroup v1's memory controller, or v2's where this process's cgroup has it. v2 gives a cgroup's children
controllers only while the cgroup itself holds no process, so the processes of the service's cgroup (in a
container: the container's own) first move into a leaf below it, ``vpo-processes``, as a delegated cgroup
must (systemd's ``Delegate=``, docker-in-docker); they stay under the same parent and the same limits. Either
version needs write access to the cgroup filesystem: root on a host or in a privileged container. Without it
there is no such bound (``/readyz`` says ``memory_cgroup: false``; see README: a pod's own memory limit then
protects the node).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)
CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED = 2**63 - 1


@dataclass
class MemoryCgroup:
    """One worker's cgroup; ``limit`` is the bound now written to it (bytes)."""

    path: Path
    version: int
    limit: int = field(default=UNLIMITED)  # as a new cgroup starts
    oom_kills_seen: int = field(default=0)
    _events: int | None = field(default=None, repr=False)  # the OOM counter's file, kept open: read after each unit

    def join(self) -> None:
        """Move the calling process into the cgroup (in the worker's process before it execs bubblewrap)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def set_limit(self, limit: int) -> None:
        """Bound the memory (and swap) of everything in the cgroup to ``limit`` bytes."""
        if limit == self.limit:
            return
        if self.version == 1:
            # v1 wants memory+swap >= memory at every step: raise memsw first, lower it last
            files = ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
            if limit < self.limit:
                files.reverse()
            for name in files:
                if (self.path / name).exists():
                    try:
                        (self.path / name).write_text(str(limit))
                    except OSError as error:  # lowered below what is in use and cannot be reclaimed: keep it
                        logger.debug("cgroup %s: %s not set to %d: %r", self.path, name, limit, error)
                        return
        else:
            (self.path / "memory.max").write_text(str(limit))
        self.limit = limit

    def new_oom_kills(self) -> int:
        """OOM kills in the cgroup since the last call. The file stays open and is read again from its start
        (one pread: about 2 us here, against 30 for opening and reading it each time)."""
        try:
            if self._events is None:
                name = "memory.oom_control" if self.version == 1 else "memory.events"
                self._events = os.open(self.path / name, os.O_RDONLY | os.O_CLOEXEC)
            text = os.pread(self._events, 4096, 0).decode()
        except OSError:
            return 0
        count = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("oom_kill ")), 0)
        new, self.oom_kills_seen = count - self.oom_kills_seen, count
        return max(new, 0)

    def remove(self) -> None:
        if self._events is not None:
            os.close(self._events)
            self._events = None
        for _ in range(50):  # its last processes may take a moment to be gone
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)
        logger.warning("could not remove the sandbox cgroup %s", self.path)


def own_memory_cgroup(root: Path = CGROUP_ROOT) -> tuple[Path, int] | None:
    """The directory of this process's memory cgroup and the cgroup version, or None without one."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") and (root / "memory").is_dir():
            return root / "memory" / path.lstrip("/"), 1
    for line in lines:
        if line.startswith("0::"):
            directory = root / line[3:].lstrip("/")
            try:
                if "memory" in (directory / "cgroup.controllers").read_text().split():
                    return directory, 2
            except OSError:
                return None
    return None


PREFIX = "vpo-sandbox-"  # then the pid of the service process that made it
LEAF = "vpo-processes"  # cgroup v2: where the processes of the service's cgroup move, so that it can delegate
MOVE_PASSES = 20  # processes may fork while they are moved: a bounded number of passes over cgroup.procs


def delegate_memory(directory: Path, root: Path = CGROUP_ROOT) -> Path:
    """cgroup v2: the cgroup whose children get the memory controller, with it enabled for them. That is
    ``directory`` (this process's cgroup), or its parent when this process already lives in the leaf that an
    earlier call (another worker of the same service) moved it to. A cgroup that holds processes cannot enable
    controllers for its children (EBUSY): its processes move into the leaf first, the root's never."""
    if directory.name == LEAF:
        return directory.parent
    control = directory / "cgroup.subtree_control"
    try:
        control.write_text("+memory")
        return directory
    except OSError as error:
        if error.errno != errno.EBUSY or directory == root:
            raise
    leaf = directory / LEAF
    leaf.mkdir(exist_ok=True)
    for _ in range(MOVE_PASSES):
        pids = (directory / "cgroup.procs").read_text().split()
        if not pids:
            break
        for pid in pids:
            try:
                (leaf / "cgroup.procs").write_text(pid)
            except ProcessLookupError:  # it ended meanwhile
                pass
    logger.info("cgroup v2: moved the processes of %s into %s, so that its children can have memory", directory, leaf)
    control.write_text("+memory")
    return directory


def create_memory_cgroups(names: list[str], root: Path = CGROUP_ROOT) -> list[MemoryCgroup] | str:
    """A memory cgroup per name (``<pid>-...``), under this process's own; or why there can be none. Those a
    service process left when it ended without removing them go first."""
    own = own_memory_cgroup(root)
    if own is None:
        return "no memory cgroup controller"
    parent, version = own
    for stale in parent.glob(PREFIX + "*"):
        pid = stale.name.removeprefix(PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path("/proc", pid).exists():
            try:
                stale.rmdir()
            except OSError:
                pass
    made: list[MemoryCgroup] = []
    try:
        if version == 2:
            parent = delegate_memory(parent, root)
        for name in names:
            path = parent / (PREFIX + name)
            path.mkdir(exist_ok=True)
            cgroup = MemoryCgroup(path, version)
            if version == 2 and (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
            cgroup.new_oom_kills()  # the counter's start
            made.append(cgroup)
    except OSError as error:
        for cgroup in made:
            cgroup.remove()
        return f"cannot create memory cgroups under {parent}: {error.strerror or error}"
    return made
