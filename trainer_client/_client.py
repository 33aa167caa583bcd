"""``RewardClient`` and ``AsyncRewardClient``: hand-written twins over :class:`BaseClient`.

>>> with RewardClient("http://127.0.0.1:8000") as client:  # doctest: +SKIP
...     result = client.score("2+2?", ["4", "5"], scorers=[{"name": "reference",
...                           "params": {"checks": [{"mode": "numeric", "reference": "4"}]}}])
...     result.advantages_tensor(device="cuda")
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import httpx

from ._base import (
    RETRY_EXCEPTIONS,
    RETRY_STATUSES,
    BaseClient,
    EstimatorOptions,
    JobWatch,
    SplitOptions,
    estimator_json,
    job_headers,
    rewards_json,
)
from ._exceptions import TransportError
from ._results import BatchResult, ScoreResult, SearchResult, group_estimate_from_json
from .vpo import GroupEstimate

NDJSON = "application/x-ndjson"


class RewardClient(BaseClient):
    """Synchronous client with a pooled connection, timeouts on by default and retries with backoff on
    429 / 502 / 503 / 504 and connection failures (Retry-After honoured)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Send one request with retries; the decoded JSON answer, or an :class:`APIError`."""
        response = self._send(method, path, body, headers)
        self.raise_for_error(response)
        return response.json()

    def _send(self, method: str, path: str, body: Any, headers: Mapping[str, str] | None) -> httpx.Response:
        headers = self.call_headers(headers)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._http.request(method, path, json=body, headers=headers)
            except RETRY_EXCEPTIONS as exc:
                if last:
                    raise TransportError(f"{method} {path}: {exc!r}") from exc
                time.sleep(self.retry_delay(attempt))
                continue
            except httpx.HTTPError as exc:
                raise TransportError(f"{method} {path}: {exc!r}") from exc
            if response.status_code in RETRY_STATUSES and not last:
                time.sleep(self.retry_delay(attempt, response))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/healthz")
        return result

    def scorers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.request("GET", "/v1/scorers")["scorers"]
        return result

    def score(
        self,
        prompt: str,
        completions: Sequence[str] | None = None,
        *,
        scorers: Sequence[Mapping[str, Any]],
        answers: Sequence[Sequence[str]] | None = None,
        split: SplitOptions = None,
        estimator: EstimatorOptions = None,
        deadline_ms: int | None = None,
        group_key: str | None = None,
        detail: bool = False,
    ) -> ScoreResult:
        """Score one group of completions (or of answers per completion)."""
        body = self.score_body(
            prompt,
            completions,
            answers=answers,
            scorers=scorers,
            split=split,
            estimator=estimator,
            deadline_ms=deadline_ms,
            group_key=group_key,
            detail=detail,
        )
        return ScoreResult.from_json(self.request("POST", "/v1/score", body))

    def score_batch(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None, batch_size: int | None = None
    ) -> BatchResult:
        """Score many groups (each a /v1/score body), ``batch_size`` groups per request; results in order."""
        results: list[ScoreResult] = []
        for chunk in _chunks(groups, batch_size):
            body = _batch_body([self.group_json(g) for g in chunk], deadline_ms)
            results.extend(ScoreResult.from_json(r) for r in self.request("POST", "/v1/score/batch", body)["results"])
        return BatchResult(results)

    def iter_score_batch(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None
    ) -> Iterator[tuple[int, ScoreResult]]:
        """Stream (index, result) pairs as the service finishes each group (NDJSON); not retried once
        results have started to arrive."""
        body = _batch_body([self.group_json(g) for g in groups], deadline_ms)
        stream_headers = self.call_headers({"accept": NDJSON})
        for attempt in range(self.max_retries + 1):
            try:
                with self._http.stream("POST", "/v1/score/batch", json=body, headers=stream_headers) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                        response.read()
                        time.sleep(self.retry_delay(attempt, response))
                        continue
                    if response.status_code >= 400:
                        response.read()
                        self.raise_for_error(response)
                    for line in response.iter_lines():
                        if line.strip():
                            data = json.loads(line)
                            yield data.pop("index"), ScoreResult.from_json(data)
                    return
            except RETRY_EXCEPTIONS as exc:
                if attempt == self.max_retries:
                    raise TransportError(f"POST /v1/score/batch: {exc!r}") from exc
                time.sleep(self.retry_delay(attempt))
            except httpx.HTTPError as exc:
                raise TransportError(f"POST /v1/score/batch: {exc!r}") from exc

    def vpo(
        self,
        groups: Sequence[Any],
        estimator: EstimatorOptions = None,
        *,
        group_keys: Sequence[str | None] | None = None,
    ) -> list[GroupEstimate]:
        """Set scores and advantages of reward arrays (each group G x m x d) computed by the service."""
        data = self.request("POST", "/v1/vpo", self.vpo_body(groups, estimator, group_keys))
        return [group_estimate_from_json(r) for r in data["results"]]

    def search_metrics(self, pools: Sequence[Any], ks: Sequence[int] | None = None, **options: Any) -> SearchResult:
        """pass@k, best@k, E_w max, coverage and diversity of pools (each completions x answers x d)."""
        return SearchResult.from_json(self.request("POST", "/v1/metrics/search", _search_body(pools, ks, options)))

    def submit_job(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None, idempotency_key: str | None = None
    ) -> str:
        """Queue a batch as an asynchronous job (the service needs Redis); its id. Submitting again with the
        same ``idempotency_key`` returns the same job."""
        body = _batch_body([self.group_json(g) for g in groups], deadline_ms)
        job: dict[str, Any] = self.request("POST", "/v1/jobs", body, headers=job_headers(idempotency_key))
        return str(job["id"])

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``{"id", "status", "progress": {"done", "total"}, "results", "error"}``."""
        job: dict[str, Any] = self.request("GET", f"/v1/jobs/{job_id}")
        return job

    def wait_job(
        self, job_id: str, *, poll_s: float = 1.0, timeout: float | None = None, progress: bool = True
    ) -> BatchResult:
        """Poll until the job is done (a progress bar on stderr) and return its results."""
        with JobWatch(job_id, timeout, progress) as watch:
            while (results := watch.update(self.get_job(job_id))) is None:
                time.sleep(poll_s)
            return results


class AsyncRewardClient(BaseClient):
    """The asyncio twin of :class:`RewardClient`, for use inside an async training loop."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self.headers,
            timeout=self.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Send one request with retries; the decoded JSON answer, or an :class:`APIError`."""
        response = await self._send(method, path, body, headers)
        self.raise_for_error(response)
        return response.json()

    async def _send(self, method: str, path: str, body: Any, headers: Mapping[str, str] | None) -> httpx.Response:
        headers = self.call_headers(headers)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = await self._http.request(method, path, json=body, headers=headers)
            except RETRY_EXCEPTIONS as exc:
                if last:
                    raise TransportError(f"{method} {path}: {exc!r}") from exc
                await asyncio.sleep(self.retry_delay(attempt))
                continue
            except httpx.HTTPError as exc:
                raise TransportError(f"{method} {path}: {exc!r}") from exc
            if response.status_code in RETRY_STATUSES and not last:
                await asyncio.sleep(self.retry_delay(attempt, response))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/healthz")
        return result

    async def scorers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.request("GET", "/v1/scorers"))["scorers"]
        return result

    async def score(
        self,
        prompt: str,
        completions: Sequence[str] | None = None,
        *,
        scorers: Sequence[Mapping[str, Any]],
        answers: Sequence[Sequence[str]] | None = None,
        split: SplitOptions = None,
        estimator: EstimatorOptions = None,
        deadline_ms: int | None = None,
        group_key: str | None = None,
        detail: bool = False,
    ) -> ScoreResult:
        """Score one group of completions (or of answers per completion)."""
        body = self.score_body(
            prompt,
            completions,
            answers=answers,
            scorers=scorers,
            split=split,
            estimator=estimator,
            deadline_ms=deadline_ms,
            group_key=group_key,
            detail=detail,
        )
        return ScoreResult.from_json(await self.request("POST", "/v1/score", body))

    async def score_batch(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None, batch_size: int | None = None
    ) -> BatchResult:
        """Score many groups, ``batch_size`` per request, the requests in flight together; results in order."""

        async def one(chunk: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
            body = _batch_body([self.group_json(g) for g in chunk], deadline_ms)
            data = await self.request("POST", "/v1/score/batch", body)
            return [ScoreResult.from_json(r) for r in data["results"]]

        chunks = await asyncio.gather(*(one(c) for c in _chunks(groups, batch_size)))
        return BatchResult([result for chunk in chunks for result in chunk])

    async def iter_score_batch(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None
    ) -> AsyncIterator[tuple[int, ScoreResult]]:
        """Stream (index, result) pairs as the service finishes each group (NDJSON)."""
        body = _batch_body([self.group_json(g) for g in groups], deadline_ms)
        stream_headers = self.call_headers({"accept": NDJSON})
        for attempt in range(self.max_retries + 1):
            try:
                async with self._http.stream("POST", "/v1/score/batch", json=body, headers=stream_headers) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                        await response.aread()
                        await asyncio.sleep(self.retry_delay(attempt, response))
                        continue
                    if response.status_code >= 400:
                        await response.aread()
                        self.raise_for_error(response)
                    async for line in response.aiter_lines():
                        if line.strip():
                            data = json.loads(line)
                            yield data.pop("index"), ScoreResult.from_json(data)
                    return
            except RETRY_EXCEPTIONS as exc:
                if attempt == self.max_retries:
                    raise TransportError(f"POST /v1/score/batch: {exc!r}") from exc
                await asyncio.sleep(self.retry_delay(attempt))
            except httpx.HTTPError as exc:
                raise TransportError(f"POST /v1/score/batch: {exc!r}") from exc

    async def vpo(
        self,
        groups: Sequence[Any],
        estimator: EstimatorOptions = None,
        *,
        group_keys: Sequence[str | None] | None = None,
    ) -> list[GroupEstimate]:
        """Set scores and advantages of reward arrays (each group G x m x d) computed by the service."""
        data = await self.request("POST", "/v1/vpo", self.vpo_body(groups, estimator, group_keys))
        return [group_estimate_from_json(r) for r in data["results"]]

    async def search_metrics(
        self, pools: Sequence[Any], ks: Sequence[int] | None = None, **options: Any
    ) -> SearchResult:
        """pass@k, best@k, E_w max, coverage and diversity of pools (each completions x answers x d)."""
        data = await self.request("POST", "/v1/metrics/search", _search_body(pools, ks, options))
        return SearchResult.from_json(data)

    async def submit_job(
        self, groups: Sequence[Mapping[str, Any]], *, deadline_ms: int | None = None, idempotency_key: str | None = None
    ) -> str:
        """Queue a batch as an asynchronous job (the service needs Redis); its id."""
        body = _batch_body([self.group_json(g) for g in groups], deadline_ms)
        job: dict[str, Any] = await self.request("POST", "/v1/jobs", body, headers=job_headers(idempotency_key))
        return str(job["id"])

    async def get_job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = await self.request("GET", f"/v1/jobs/{job_id}")
        return job

    async def wait_job(
        self, job_id: str, *, poll_s: float = 1.0, timeout: float | None = None, progress: bool = True
    ) -> BatchResult:
        """Poll until the job is done (a progress bar on stderr) and return its results."""
        with JobWatch(job_id, timeout, progress) as watch:
            while (results := watch.update(await self.get_job(job_id))) is None:
                await asyncio.sleep(poll_s)
            return results


def _chunks(groups: Sequence[Mapping[str, Any]], size: int | None) -> list[Sequence[Mapping[str, Any]]]:
    if size is not None and size < 1:
        raise ValueError("batch_size must be at least 1")
    step = size or max(1, len(groups))
    return [groups[i : i + step] for i in range(0, len(groups), step)]


def _batch_body(groups: list[dict[str, Any]], deadline_ms: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"groups": groups}
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return body


def _search_body(pools: Sequence[Any], ks: Sequence[int] | None, options: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"pools": [{"rewards": rewards_json(p)} for p in pools], **options}
    if ks is not None:
        body["ks"] = list(ks)
    if "estimator" in body:
        body["estimator"] = estimator_json(body["estimator"])
    return body
