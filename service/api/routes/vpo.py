"""POST /v1/vpo: reward arrays in, set scores and advantages out (no scorers)."""

from __future__ import annotations

from fastapi import APIRouter

from ...scoring.estimation import run_vpo
from ..deps import AuthDep, StateDep
from ..protocol import VPORequest, VPOResponse
from .errors_doc import ERROR_RESPONSES

router = APIRouter(prefix="/v1", tags=["vpo"], dependencies=[AuthDep], responses=ERROR_RESPONSES)


@router.post("/vpo", response_model=VPOResponse)
async def vpo(body: VPORequest, state: StateDep) -> VPOResponse:
    return await run_vpo(body, state.settings.limits)
