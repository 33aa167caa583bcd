"""POST /v1/score and /v1/score/batch (JSON, or NDJSON streamed as groups finish)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from ...core.text import dump_json
from ...scoring.prepare import count_answers, prepare_batch, prepare_group, prepared_off_loop
from ..deps import GuardDep, bearer_token, state_of
from ..protocol import BatchRequest, BatchResponse, ScoreRequest, ScoreResponse, StreamedResult
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

router = APIRouter(
    prefix="/v1", route_class=FastJSONRoute, tags=["score"], dependencies=[GuardDep], responses=ERROR_RESPONSES
)
NDJSON = "application/x-ndjson"


@router.post("/score", response_model=ScoreResponse)
async def score(body: ScoreRequest, request: Request) -> Response:
    state = state_of(request)
    size = len(await request.body())
    prepared = await prepared_off_loop(lambda: prepare_group(body, state.registry, state.settings.limits), size)
    await state.limiter.spend(bearer_token(request), "answers", count_answers([prepared]))
    return json_response(await state.pipeline.score(prepared))


@router.post(
    "/score/batch",
    response_model=BatchResponse,
    responses={200: {"content": {NDJSON: {"schema": StreamedResult.model_json_schema()}}}},
)
async def score_batch(body: BatchRequest, request: Request) -> Response:
    state = state_of(request)
    limits, size = state.settings.limits, len(await request.body())
    prepared = await prepared_off_loop(
        lambda: prepare_batch(body.groups, state.registry, limits, deadline_ms=body.deadline_ms), size
    )
    await state.limiter.spend(bearer_token(request), "answers", count_answers(prepared))
    if NDJSON in request.headers.get("accept", ""):

        async def lines() -> AsyncIterator[str]:
            async for index, result in state.pipeline.stream_batch(prepared):
                # {"index": i, ...the group's result...}: splice rather than copy the result model
                yield f'{{"index":{index},{dump_json(result)[1:]}\n'

        return StreamingResponse(lines(), media_type=NDJSON)
    return json_response(BatchResponse(results=await state.pipeline.score_batch(prepared)))
