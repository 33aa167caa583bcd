"""POST /v1/metrics/search: pass@k, best@k, E_w max, coverage and diversity of scored pools."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ...scoring.estimation import run_search
from ..deps import GuardDep, StateDep
from ..protocol import SearchRequest, SearchResponse
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

router = APIRouter(
    prefix="/v1",
    route_class=FastJSONRoute,
    tags=["metrics"],
    dependencies=[GuardDep],
    responses=ERROR_RESPONSES,
)


@router.post("/metrics/search", response_model=SearchResponse)
async def search_metrics(body: SearchRequest, state: StateDep) -> Response:
    return json_response(await run_search(body, state.settings.limits))
