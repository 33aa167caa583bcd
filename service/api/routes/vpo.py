"""POST /v1/vpo: reward arrays in, set scores and advantages out (no scorers)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...scoring.estimation import run_vpo
from ..deps import GuardDep, state_of
from ..protocol import VPORequest, VPOResponse
from ..routing import FastJSONRoute, json_response
from .errors_doc import ERROR_RESPONSES

router = APIRouter(
    prefix="/v1", route_class=FastJSONRoute, tags=["vpo"], dependencies=[GuardDep], responses=ERROR_RESPONSES
)


@router.post("/vpo", response_model=VPOResponse)
async def vpo(body: VPORequest, request: Request) -> Response:
    return json_response(await run_vpo(body, state_of(request).settings.limits))
