"""POST /v1/vpo: reward arrays in, set scores and advantages out (no scorers)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ...scoring.estimation import run_vpo
from ..deps import AuthDep, RateDep, StateDep
from ..protocol import VPORequest, VPOResponse
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

router = APIRouter(
    prefix="/v1", route_class=FastJSONRoute, tags=["vpo"], dependencies=[AuthDep, RateDep], responses=ERROR_RESPONSES
)


@router.post("/vpo", response_model=VPOResponse)
async def vpo(body: VPORequest, state: StateDep) -> Response:
    return json_response(await run_vpo(body, state.settings.limits))
