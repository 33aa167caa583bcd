"""The VPO-vs-GRPO experiment runs against a live service and shows its point on a short, seeded run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]


def test_vpo_vs_grpo_experiment(server: LiveServer, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "examples/vpo_vs_grpo.py", "--url", server.url, "--seeds", "1", "--steps", "40",
         "--prompts", "6", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    table = (tmp_path / "vpo_vs_grpo.md").read_text()
    assert (tmp_path / "vpo_vs_grpo.png").stat().st_size > 10_000
    lines = re.finditer(r"^\| (\w+) \| (.*) \|$", table, re.MULTILINE)
    rows = {m.group(1): [float(v) for v in re.findall(r"(\d\.\d+) ±", m.group(2))] for m in lines}
    rows.pop("estimator", None)
    assert set(rows) == {"vpo", "scalar", "multi_scalar"}
    best1, best64, diversity = 0, 3, 8
    assert rows["scalar"][best1] > rows["vpo"][best1]  # scalar RL wins a single sample...
    assert rows["vpo"][best64] > rows["scalar"][best64]  # ...VPO wins the search over many
    assert rows["vpo"][diversity] > 10 * rows["scalar"][diversity]


def test_grpo_loop_runs_against_the_service(server: LiveServer) -> None:
    done = subprocess.run(
        [sys.executable, "examples/grpo_loop.py", "--url", server.url, "--steps", "2", "--group", "4",
         "--max-new-tokens", "8", "--estimator", "vpo"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    steps = re.findall(r"step +(\d+) +mean set score ([0-9.]+) +loss ([-+0-9.]+)", done.stdout)
    assert [s[0] for s in steps] == ["0", "1"]
    assert all(0.0 <= float(s[1]) <= 1.0 for s in steps)
