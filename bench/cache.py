"""Groups per second for a batch scored cold against the same batch again (every row a cache hit), with
the reward cache in a real Redis, and Redis round trips per batch (constant, not one per answer).

    python bench/cache.py [--groups 256]      (needs redis-server on PATH)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.core.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from service.store.cache import RedisCache  # noqa: E402
from tests.trainer_client.test_client import free_port  # noqa: E402


def groups(count: int) -> list[dict[str, object]]:
    checks = [{"mode": "numeric", "reference": str(i)} for i in range(8)] + [{"mode": "regex", "pattern": "^1"}]
    return [
        {"prompt": f"question {g}", "completions": [f"answer {g}.{c}: {c * g}" for c in range(8)],
         "scorers": [{"name": "reference", "params": {"checks": checks}}]}
        for g in range(count)
    ]  # fmt: skip


async def measure(url: str, count: int) -> None:
    app = create_app(Settings(redis_url=url, scorers=["reference"], limits={"max_groups_per_batch": count}))
    cache = app.state.vpo.pipeline.cache
    assert isinstance(cache, RedisCache)
    body = {"groups": groups(count)}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            rates = {}
            for label in ("cold", "warm"):
                trips = cache.round_trips
                started = time.perf_counter()
                response = await client.post("/v1/score/batch", json=body)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                hits = sum(r["cache"]["hits"] for r in response.json()["results"])
                rates[label] = count / elapsed
                print(f"{label}: {rates[label]:8.1f} groups/s, {hits} cache hits, "
                      f"{cache.round_trips - trips} Redis round trips for {count * 8} answers")  # fmt: skip
            print(f"warm / cold: {rates['warm'] / rates['cold']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=256)
    args = parser.parse_args()
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir",
                                   directory], stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            time.sleep(0.3)
            asyncio.run(measure(f"redis://127.0.0.1:{port}/0", args.groups))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
