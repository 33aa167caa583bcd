"""How many CPUs this process may use: the default number of sandbox workers (one per core)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The CPUs in this process's affinity mask, capped by a cgroup CPU quota when one is set.

    ``os.cpu_count()`` reports the machine's CPUs, which in a container with a CPU limit (Kubernetes'
    ``resources.limits.cpu``, ``docker run --cpus``) may be many times what the process may use."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(cgroup_root)
    return max(1, min(count, math.ceil(quota)) if quota is not None else count)


def cgroup_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs allowed by the cgroup CPU controller (quota / period), or None without a quota. Reads cgroup v2's
    ``cpu.max`` ("max 100000" or "400000 100000"), else cgroup v1's ``cpu.cfs_quota_us`` (-1: none) and
    ``cpu.cfs_period_us``, as seen from inside the container (its own cgroup is the root there)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else _ratio(quota, period)
    except (OSError, ValueError):
        pass
    for v1 in (root / "cpu", root / "cpu,cpuacct"):
        try:
            return _ratio((v1 / "cpu.cfs_quota_us").read_text(), (v1 / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
    return None


def _ratio(quota: str, period: str) -> float | None:
    q, p = int(quota), int(period)
    return q / p if q > 0 and p > 0 else None
