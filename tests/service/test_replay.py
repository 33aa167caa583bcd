"""The replay log (JSONL) and ``vpo-rewards replay``: groups scored by a real service are logged, re-scored by
the command and compared; a reward that changed is reported, with exit status 1."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.protocol import ScoreRequest
from service.core.appender import Appender
from service.core.config import Settings
from service.main import create_app
from service.replay.diff import ReplayReport, diff_group
from service.replay.recorder import JsonlSink, entry_line
from service.scoring.prepare import prepare_group
from tests.conftest import REFERENCE_FOUR, ServerFactory
from tests.service.test_cli import run
from tests.service.test_metrics import samples

GROUPS = [{"prompt": f"q{i}", "completions": ["4", "5", str(i)], "scorers": [REFERENCE_FOUR]} for i in range(6)]


def logged_service(make_server: ServerFactory, path: Path) -> str:
    server = make_server(Settings(replay_log=str(path), scorers=["reference"]))
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/v1/score", json=GROUPS[0], headers={"X-Request-ID": "first-call"}).status_code == 200
        response = client.post("/v1/score/batch", json={"groups": GROUPS[1:]}, headers={"X-Request-ID": "batch"})
        assert response.status_code == 200
        assert samples(server.url)[("vpo_replay_entries_total", (("outcome", "dropped"),))] == 0
    server.stop()  # the lifespan's end writes what is queued
    return server.url


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scored_groups_are_logged_with_request_and_result(make_server: ServerFactory, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "replay.jsonl"
    logged_service(make_server, log)
    entries = read_log(log)
    assert len(entries) == len(GROUPS)
    assert [e["request_id"] for e in entries] == ["first-call"] + ["batch"] * 5
    assert sorted(e["request"]["prompt"] for e in entries) == [g["prompt"] for g in GROUPS]
    for entry in entries:
        assert entry["v"] == 1 and entry["request"]["scorers"][0]["name"] == "reference"
        assert entry["response"]["rewards"][0] == [[1.0]] and len(entry["response"]["advantages"]) == 3


def test_replay_of_an_unchanged_log_reports_no_change(make_server: ServerFactory, tmp_path: Path) -> None:
    log = tmp_path / "replay.jsonl"
    logged_service(make_server, log)
    done = run("replay", str(log), "--no-progress", "--batch-size", "1", "--concurrency", "1")  # chunks of 4
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replayed 6 groups: 0 changed, 0 failed")


def test_replay_reports_changed_rewards_and_advantages(make_server: ServerFactory, tmp_path: Path) -> None:
    log = tmp_path / "replay.jsonl"
    logged_service(make_server, log)
    entries = read_log(log)
    # as if yesterday's scorer had given the second answer of the first group full marks
    entries[0]["response"]["rewards"][1] = [[1.0]]
    entries[0]["response"]["advantages"] = [0.5, 0.5, -1.0]
    lines = [json.dumps(e) for e in entries]
    lines.insert(2, "{not json")
    lines.insert(3, json.dumps({"prompt": "a /v1/score body, not an entry"}))
    log.write_text("\n".join(lines) + "\n")
    report_path = tmp_path / "report.json"
    done = run("replay", str(log), "--no-progress", "--json", "--report", str(report_path))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report == json.loads(report_path.read_text())
    assert (report["groups"], report["changed_groups"], report["unreadable_entries"]) == (6, 1, 2)
    assert report["components"]["reference/0"] == {"changed": 1, "to_null": 0, "from_null": 0,
                                                   "mean_abs_delta": 1.0, "max_abs_delta": 1.0}  # fmt: skip
    assert report["advantages"]["sign_flips"] >= 1
    example = report["examples"][0]
    assert example["where"] == f"{log}:1" and example["request_id"] == "first-call"
    assert {"field": "rewards", "component": "reference/0", "completion": 1, "answer": 0, "old": 1.0,
            "new": 0.0} in example["changes"]  # fmt: skip
    assert [u["where"] for u in report["unreadable"]] == [f"{log}:3", f"{log}:4"]


def test_replay_against_a_running_service_reports_groups_it_refuses(make_server: ServerFactory, tmp_path: Path) -> None:
    log = tmp_path / "replay.jsonl"
    logged_service(make_server, log)
    url = make_server(Settings(scorers=["reference"])).url
    entries = read_log(log)
    entries[-1]["request"]["scorers"] = [{"name": "no-such-scorer"}]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    done = run("replay", str(log), "--url", url, "--no-progress", "--limit", "6")
    assert done.returncode == 1
    assert "replayed 6 groups: 0 changed, 1 failed" in done.stdout and "unknown_scorer" in done.stdout


def test_replay_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    done = run("replay", str(tmp_path / "missing.jsonl"), "--no-progress")
    assert done.returncode == 2 and "cannot replay" in done.stderr
    done = run("replay", str(tmp_path / "missing.jsonl"), "--batch-size", "0")
    assert done.returncode == 2


def test_jsonl_sink_rotates_past_its_size(tmp_path: Path) -> None:
    sink = JsonlSink(str(tmp_path / "r-{pid}.jsonl"), max_bytes=100)
    assert sink.path.endswith(f"r-{os.getpid()}.jsonl")
    for i in range(5):
        asyncio.run(sink.append([json.dumps({"n": i, "pad": "x" * 30})]))
    current, previous = Path(sink.path), Path(sink.path + ".1")
    assert [json.loads(line)["n"] for line in current.read_text().splitlines()] == [4]
    assert [json.loads(line)["n"] for line in previous.read_text().splitlines()] == [2, 3]


class FailingSink:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.lines: list[str] = []

    async def append(self, lines: Sequence[str]) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.lines += lines


def test_recorder_retries_a_failing_sink_and_drops_only_past_its_capacity() -> None:
    app = create_app(Settings(scorers=["reference"]))
    state = app.state.vpo

    async def scenario() -> tuple[FailingSink, Appender]:
        async with app.router.lifespan_context(app):
            group = prepare_group(ScoreRequest.model_validate(GROUPS[0]), state.registry, state.settings.limits)
            response = await state.pipeline.score(group)
        sink = FailingSink(failures=2)
        recorder = Appender(sink, entry_line, "replay log", capacity=3)
        await recorder.start()
        for _ in range(5):
            recorder.record(group, response)
        for _ in range(100):  # two failures: retried after 0.1 s, then 0.5 s
            if recorder.written:
                break
            await asyncio.sleep(0.05)
        await recorder.close()
        return sink, recorder

    sink, recorder = asyncio.run(scenario())
    assert (recorder.written, recorder.dropped, len(sink.lines)) == (3, 2, 3)
    assert json.loads(sink.lines[0])["response"]["rewards"][0] == [[1.0]]


def test_diff_matches_components_by_name() -> None:
    old = {"components": ["a", "b"], "rewards": [[[1.0, 0.0]]], "advantages": [0.0]}
    new = {"components": ["b", "a"], "rewards": [[[0.0, 1.0]]], "advantages": [0.0]}
    assert diff_group(old, new, 1e-6) == [{"field": "components", "old": ["a", "b"], "new": ["b", "a"]}]
    new["rewards"] = [[[None, 1.0]]]
    assert diff_group(old, new, 1e-6)[1:] == [
        {"field": "rewards", "component": "b", "completion": 0, "answer": 0, "old": 0.0, "new": None}
    ]
    report = ReplayReport(atol=1e-6)
    report.add("x:1", None, old, new)
    assert report.as_dict()["components"]["b"]["to_null"] == 1 and not report.clean


def test_replay_to_redis_needs_redis() -> None:
    with pytest.raises(ValueError, match="VPO_REDIS_URL"):
        Settings(replay_log="redis")
