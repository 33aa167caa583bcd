"""Liveness and readiness probes (no auth: orchestrators call them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import StateDep
from ..protocol import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def readyz(state: StateDep) -> JSONResponse:
    ready = state.ready and state.registry.started
    body = ReadyResponse(
        status="ready" if ready else "starting",
        scorers={scorer.name: scorer.status() for scorer in state.registry},
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
