"""What the sync and async clients share: request bodies, retry policy, error and result parsing."""

from __future__ import annotations

import email.utils
import random
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from ._exceptions import JobFailedError, api_error_for_status
from ._results import BatchResult, ScoreResult
from ._tensor import to_numpy
from .split import SplitConfig
from .vpo import EstimatorConfig, Fill

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 120.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the request surely did not run: safe to send again.
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.PoolTimeout,
)

EstimatorOptions = Mapping[str, Any] | EstimatorConfig | None
SplitOptions = Mapping[str, Any] | SplitConfig | None


def estimator_json(estimator: EstimatorOptions) -> dict[str, Any] | None:
    """The API's ``estimator`` object from an :class:`EstimatorConfig` or a mapping."""
    if estimator is None:
        return None
    if isinstance(estimator, EstimatorConfig):
        body: dict[str, Any] = {}
        for name, value in asdict(estimator).items():
            if value is None:
                continue
            if isinstance(getattr(estimator, name), Fill):
                value = {"fill": estimator.on_missing.value}  # type: ignore[union-attr]
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            body[name] = value
        return body
    return dict(estimator)


def split_json(split: SplitOptions) -> dict[str, Any] | None:
    if split is None:
        return None
    if isinstance(split, SplitConfig):
        return {k: v for k, v in asdict(split).items() if v is not None}
    return dict(split)


def rewards_json(rewards: Any) -> Any:
    """Nested lists of numbers with null for NaN, from arrays (boolean ones too), tensors or ragged lists."""
    if isinstance(rewards, list | tuple):
        return [rewards_json(r) for r in rewards]
    if isinstance(rewards, bool):  # a pass/fail value goes as the number it stands for (the API takes numbers)
        return float(rewards)
    if rewards is None or isinstance(rewards, int | float):
        return None if rewards is None or rewards != rewards else rewards
    array = to_numpy(rewards)
    cells = array.astype(object)
    cells[np.isnan(array)] = None
    return cells.tolist()


class BaseClient:
    """Holds the settings of a client; no I/O."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=10.0)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.headers = {"user-agent": "vpo-rewards-client", **(headers or {})}
        if token:
            self.headers["authorization"] = f"Bearer {token}"

    @staticmethod
    def call_headers(headers: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers of one call: an ``X-Request-ID`` of its own unless one is given, the same for all its retries,
        so the service's logs (and its error answers) tie every attempt to this call."""
        merged = dict(headers or {})
        if not any(name.lower() == "x-request-id" for name in merged):
            merged["x-request-id"] = uuid.uuid4().hex
        return merged

    def retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): the server's Retry-After when it gives one,
        else exponential backoff with full jitter."""
        if response is not None:
            after = parse_retry_after(response.headers.get("retry-after"))
            if after is not None:
                return min(after, self.max_backoff)
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    @staticmethod
    def raise_for_error(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        code, message, details = "http_error", response.reason_phrase or "error", None
        try:
            error = response.json().get("error", {})
            code = error.get("code", code)
            message = error.get("message", message)
            details = error.get("details")
        except (ValueError, AttributeError):
            message = response.text[:500] or message
        raise api_error_for_status(response.status_code)(
            response.status_code, code, message, details, response.headers.get("x-request-id")
        )

    @staticmethod
    def score_body(
        prompt: str,
        completions: Sequence[str] | None,
        *,
        answers: Sequence[Sequence[str]] | None,
        scorers: Sequence[Mapping[str, Any]],
        split: SplitOptions,
        estimator: EstimatorOptions,
        deadline_ms: int | None,
        group_key: str | None,
        detail: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": prompt, "scorers": [dict(s) for s in scorers]}
        if completions is not None:
            body["completions"] = list(completions)
        if answers is not None:
            body["answers"] = [list(a) for a in answers]
        optional = {
            "split": split_json(split),
            "estimator": estimator_json(estimator),
            "deadline_ms": deadline_ms,
            "group_key": group_key,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if detail:
            body["detail"] = True
        return body

    @staticmethod
    def group_json(group: Mapping[str, Any]) -> dict[str, Any]:
        """A batch group, with any EstimatorConfig / SplitConfig in it turned into JSON."""
        body = dict(group)
        if "estimator" in body:
            body["estimator"] = estimator_json(body["estimator"])
        if "split" in body:
            body["split"] = split_json(body["split"])
        return body

    @staticmethod
    def vpo_body(
        groups: Sequence[Any], estimator: EstimatorOptions, group_keys: Sequence[str | None] | None
    ) -> dict[str, Any]:
        keys = list(group_keys) if group_keys is not None else [None] * len(groups)
        body: dict[str, Any] = {
            "groups": [
                {"rewards": rewards_json(g), **({"group_key": k} if k is not None else {})}
                for g, k in zip(groups, keys, strict=True)
            ]
        }
        if estimator is not None:
            body["estimator"] = estimator_json(estimator)
        return body


def job_headers(idempotency_key: str | None) -> dict[str, str]:
    """A submission always carries a key, so the client's own retries never start a job twice."""
    return {"idempotency-key": idempotency_key or uuid.uuid4().hex}


class JobWatch:
    """What ``wait_job`` does between two polls: the progress bar, the time limit, the end of the job."""

    def __init__(self, job_id: str, timeout: float | None, progress: bool) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.bar = tqdm(desc=f"job {job_id[:8]}", unit="group", disable=not progress, file=sys.stderr)

    def __enter__(self) -> JobWatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.close()

    def update(self, job: dict[str, Any]) -> BatchResult | None:
        """The results once the job is done, None while it runs; JobFailedError when it failed or the time
        is up."""
        self.bar.total = job["progress"]["total"]
        self.bar.update(job["progress"]["done"] - self.bar.n)
        if job["status"] == "done":
            return BatchResult([ScoreResult.from_json(r) for r in job["results"]])
        if job["status"] == "failed":
            raise JobFailedError(self.job_id, str(job.get("error")))
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobFailedError(self.job_id, f"not finished after {self.timeout} s (status {job['status']})")
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
