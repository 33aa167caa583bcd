"""Scoring many groups from the command line (``score`` and ``replay``): through a running service or a service
built in this process, in batches, several requests in flight, results in input order."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from trainer_client import APIError, AsyncRewardClient, InvalidRequestError, RequestTooLargeError, TransportError

from .constants import CONFIG_FILE_ENV


@contextlib.asynccontextmanager
async def open_client(url: str | None, token: str | None, config: Path | None) -> AsyncIterator[AsyncRewardClient]:
    """A client of the service at ``url``; with no url, of a service run inside this process (settings from
    ``config``, the environment and the defaults; no tokens)."""
    if url is not None:
        async with AsyncRewardClient(url, token=token) as client:
            yield client
        return
    import httpx

    from .core.config import Settings
    from .main import create_app

    if config is not None:
        os.environ[CONFIG_FILE_ENV] = str(config.resolve())
    # no replay log (replaying must not write to it) and no dashboard history that nobody would read
    app = create_app(Settings(tokens=[], replay_log=None, dashboard=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with AsyncRewardClient("http://in-process", transport=transport) as client:
            yield client


async def score_in_batches(
    client: AsyncRewardClient, groups: Sequence[dict[str, Any]], batch_size: int, concurrency: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """The results of ``groups`` (``/v1/score`` bodies), one list per batch, in order. When the service refuses
    a batch for what it holds (400/404/413/422), its groups are sent one by one, so that one bad group costs only
    itself; a group that fails gives ``{"error": {...}}``."""
    batches = [groups[i : i + batch_size] for i in range(0, len(groups), batch_size)]
    semaphore = asyncio.Semaphore(concurrency)

    async def send(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            data = await client.request("POST", "/v1/score/batch", {"groups": list(batch)})
            results: list[dict[str, Any]] = data["results"]
            return results
        except (InvalidRequestError, RequestTooLargeError) as exc:
            if len(batch) > 1:
                return [result for group in batch for result in await send([group])]
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
        except APIError as exc:
            error = {"code": exc.code, "message": exc.message, "details": exc.details}
        except TransportError as exc:
            error = {"code": "transport_error", "message": str(exc), "details": None}
        return [{"error": error} for _ in batch]

    async def run(batch: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        async with semaphore:
            return await send(batch)

    tasks = [asyncio.ensure_future(run(batch)) for batch in batches]
    try:
        for task in tasks:  # in order: later batches keep running while earlier ones are handed out
            yield await task
    finally:
        for task in tasks:
            task.cancel()
