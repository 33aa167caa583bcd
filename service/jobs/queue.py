"""Submitting jobs and reading their state, from any replica: everything lives in Redis.

A job is a ``/v1/score/batch`` body. Its id comes from the client's ``Idempotency-Key`` (hashed with the
caller's token), so a client that retries a submission after a network error gets the same job, never a
second one; without a key, a fresh id.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from redis.asyncio import ConnectionPool

from ..store.connections import REDIS_ERRORS
from ..store.constants import JOB_PROGRESS_PREFIX, JOB_QUEUE

JOB_FUNCTION = "score_batch_job"


def serialize(value: Any) -> bytes:
    # a failed job's result is its exception: stored as its repr, which ``describe`` reports as the error
    return json.dumps(value, default=repr).encode()


def deserialize(data: bytes) -> Any:
    return json.loads(data)


def job_id_for(token: str | None, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{token or ''}\0{idempotency_key}".encode()).hexdigest()[:40]


class JobQueue:
    def __init__(self, url: str, timeout_s: float) -> None:
        pool = ConnectionPool.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self.redis = ArqRedis(
            connection_pool=pool, job_serializer=serialize, job_deserializer=deserialize, default_queue_name=JOB_QUEUE
        )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()

    async def submit(self, body: dict[str, Any], job_id: str, total: int, ttl_s: int) -> bool:
        """Enqueue; False when a job with this id exists already (then nothing is enqueued)."""
        # progress first (and only where none exists), so a worker that starts at once finds it
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(JOB_PROGRESS_PREFIX + job_id, "total", str(total))
            pipe.hsetnx(JOB_PROGRESS_PREFIX + job_id, "done", "0")
            pipe.expire(JOB_PROGRESS_PREFIX + job_id, ttl_s, nx=True)
            await pipe.execute()
        job = await self.redis.enqueue_job(JOB_FUNCTION, body, _job_id=job_id, _queue_name=JOB_QUEUE)
        return job is not None

    async def depth(self) -> int:
        """Jobs queued and not yet taken by a worker."""
        return int(await self.redis.zcard(JOB_QUEUE))

    async def describe(self, job_id: str) -> dict[str, Any] | None:
        """``{"id", "status", "progress", "results"}``, or None for an unknown id."""
        job = Job(job_id, self.redis, _queue_name=JOB_QUEUE, _deserializer=deserialize)
        status = await job.status()
        if status == JobStatus.not_found:
            return None
        progress: dict[bytes, bytes] = await self.redis.hgetall(JOB_PROGRESS_PREFIX + job_id)  # type: ignore[misc]
        done, total = (int(progress.get(k, 0)) for k in (b"done", b"total"))
        described: dict[str, Any] = {"id": job_id, "status": "queued", "progress": {"done": done, "total": total},
                                     "results": None, "error": None}  # fmt: skip
        if status == JobStatus.in_progress:
            described["status"] = "running"
        elif status == JobStatus.complete:
            info = await job.result_info()
            if info is not None and info.success and isinstance(info.result, dict):
                described.update(status="done", results=info.result["results"])
                described["progress"] = {"done": total, "total": total}
            else:
                described.update(status="failed", error=str(info.result) if info is not None else "no result")
        return described


__all__ = ["REDIS_ERRORS", "JobQueue", "job_id_for"]
