"""The vpo-rewards command, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REFERENCE_FOUR, LiveServer
from tests.trainer_client.test_client import free_port

CLI = [sys.executable, "-m", "service.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, **kwargs)  # type: ignore[call-overload, no-any-return]


def write_groups(path: Path, count: int) -> None:
    lines = [
        json.dumps({"prompt": f"q{i}", "completions": ["4", "5", str(i)], "scorers": [REFERENCE_FOUR]})
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n\n")


def test_score_in_process(tmp_path: Path) -> None:
    write_groups(tmp_path / "in.jsonl", 5)
    done = run(
        "score", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--in-process", "--batch-size", "2"
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(results) == 5
    assert [r["rewards"][2][0][0] for r in results] == [0.0, 0.0, 0.0, 0.0, 1.0]  # group 4's third answer is "4"
    assert "group" in done.stderr  # the progress bar


def test_score_against_a_running_service(tmp_path: Path, server: LiveServer) -> None:
    write_groups(tmp_path / "in.jsonl", 3)
    bad = {"prompt": "q", "completions": ["4"], "scorers": [{"name": "nope"}]}
    with (tmp_path / "in.jsonl").open("a") as handle:
        handle.write(json.dumps(bad) + "\n")
    done = run("score", str(tmp_path / "in.jsonl"), "--url", server.url, "--batch-size", "3", "--no-progress")
    assert done.returncode == 1  # one group failed
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 4 and all("advantages" in r for r in results[:3])
    assert results[3]["error"]["code"] == "unknown_scorer"
    assert "1 of 4 groups failed" in done.stderr


def test_score_refuses_a_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"prompt": "q"}\nnot json\n')
    done = run("score", str(tmp_path / "in.jsonl"), "--in-process")
    assert done.returncode == 2 and "in.jsonl:2: not JSON" in done.stderr


def test_serve_starts_and_stops(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "vpo.yaml"
    config.write_text("cache_size: 10\nlimits:\n  max_groups_per_batch: 2\n")
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.1)
        body = {"groups": [{"prompt": "q", "completions": ["4"], "scorers": [REFERENCE_FOUR]}] * 3}
        refused = httpx.post(f"http://127.0.0.1:{port}/v1/score/batch", json=body, headers={"x-request-id": "trace-7"})
        assert refused.status_code == 413  # the config file's limit is in force
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    # structured logs: one JSON object a line, the access line carrying the client's request id
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines and len(lines) == len([line for line in output.splitlines() if line.strip()]), output
    access = [entry for entry in lines if entry["logger"] == "vpo_rewards.access"]
    assert [(a["request_id"], a["endpoint"], a["status"]) for a in access] == [("trace-7", "/v1/score/batch", 413)]
    assert any(entry["logger"].startswith("uvicorn") for entry in lines)  # uvicorn's own lines are JSON too


def test_serve_refuses_the_network_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VPO_")}
    done = run("serve", "--host", "0.0.0.0", "--port", str(free_port()), env=env)
    assert done.returncode == 2 and "refusing to serve" in done.stderr


def test_no_command_prints_help() -> None:
    done = run()
    assert done.returncode == 2 and "serve" in done.stdout


@pytest.mark.parametrize("args", [["score", "x.jsonl", "--batch-size", "0"]])
def test_bad_arguments(args: list[str], tmp_path: Path) -> None:
    assert run(*args).returncode == 2


def test_precompile_headers_builds_what_the_compile_command_takes(tmp_path: Path) -> None:
    """The precompiled <bits/stdc++.h> is one g++ takes under the cpp compile command's own flags (``-H``
    marks a precompiled header it used with ``!``)."""
    from service.scorers.tests.languages import HEADERS, LANGUAGES

    done = run("precompile-headers", "--directory", str(tmp_path / "include"))
    assert done.returncode == 0, done.stderr
    built = tmp_path / "include" / "bits" / "stdc++.h.gch"
    assert done.stdout.split() == [str(built)] and built.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "include" / "bits").stat().st_mode & 0o777 == 0o755  # the sandbox's uids read it
    command = [part.replace(str(HEADERS), str(tmp_path / "include")) for part in LANGUAGES["cpp"].compile]
    (tmp_path / "main.cpp").write_text("#include <bits/stdc++.h>\nint main() { std::cout << 1; }\n")
    compiled = subprocess.run([*command, "-H"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0 and f"! {built}" in compiled.stderr.splitlines()[0], compiled.stderr[:500]
