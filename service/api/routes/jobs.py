"""POST /v1/jobs (a batch as an asynchronous job) and GET /v1/jobs/{id}; they need Redis."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from ...core.errors import NotFound, Unavailable
from ...jobs.queue import job_id_for
from ...scoring.prepare import count_answers, prepare_batch, prepared_off_loop
from ...store.connections import needs_redis
from ..deps import AuthDep, RateDep, StateDep, bearer_token
from ..protocol import BatchRequest, ErrorResponse, JobResponse
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

UNAVAILABLE = "jobs are unavailable"
router = APIRouter(
    prefix="/v1",
    route_class=FastJSONRoute,
    tags=["jobs"],
    dependencies=[AuthDep],
    responses={**ERROR_RESPONSES, 503: {"description": "jobs need Redis, which is not configured or is down"}},
)


@router.post("/jobs", response_model=JobResponse, status_code=202, dependencies=[RateDep])
async def submit_job(
    body: BatchRequest,
    request: Request,
    state: StateDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Validate the batch now (a bad group is refused here, not later), then queue it."""
    queue = _queue(state)
    limits, size = state.settings.limits, len(await request.body())
    prepared = await prepared_off_loop(
        lambda: prepare_batch(body.groups, state.registry, limits, deadline_ms=body.deadline_ms), size
    )
    token = bearer_token(request)
    await state.limiter.spend(token, "answers", count_answers(prepared))
    job_id = job_id_for(token, idempotency_key)
    with needs_redis(UNAVAILABLE):
        await queue.submit(body.model_dump(mode="json", exclude_none=True), job_id, len(prepared),
                           state.settings.job_result_ttl_s)  # fmt: skip
        described = await queue.describe(job_id)
    assert described is not None
    return json_response(JobResponse.model_validate(described), status_code=202)


@router.get(
    "/jobs/{job_id}",
    response_model=JobResponse,
    responses={404: {"model": ErrorResponse, "description": "no such job (or its results expired)"}},
)
async def get_job(job_id: str, state: StateDep) -> Response:
    queue = _queue(state)
    with needs_redis(UNAVAILABLE):
        described = await queue.describe(job_id)
    if described is None:
        raise NotFound(f"no job {job_id!r} (unknown, or its results expired)", {"id": job_id})
    return json_response(JobResponse.model_validate(described))


def _queue(state: StateDep) -> Any:
    if state.jobs is None:
        raise Unavailable("jobs need Redis: this service runs without VPO_REDIS_URL")
    return state.jobs
