"""Liveness and readiness probes (no auth: orchestrators call them)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ...core.metrics import CONTENT_TYPE
from ...models.host import HostClient
from ...store.connections import REDIS_ERRORS, reachable
from ..deps import StateDep
from ..protocol import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def readyz(state: StateDep) -> JSONResponse:
    """200 when the scorers are loaded (``degraded`` when a configured Redis is unreachable: scoring still
    works, without the shared cache); 503 while starting, and while the shared model process does not answer
    (it is being restarted: this worker's model requests would get 503s meanwhile)."""
    ready = state.ready and state.registry.started
    redis = "off" if state.redis is None else ("ok" if await reachable(state.redis) else "unreachable")
    host = state.settings.model_host
    models = "off" if host is None or not ready else ("ok" if await HostClient.reachable(host) else "unreachable")
    if not ready:
        status = "starting"
    elif models == "unreachable":
        status, ready = "models_unavailable", False
    else:
        status = "degraded" if redis == "unreachable" else "ready"
    body = ReadyResponse(
        status=status, redis=redis, models=models, scorers={s.name: s.status() for s in state.registry}
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics (no auth, like the probes: scrape from inside the cluster)."""
    if state.jobs is not None:
        try:
            state.jobs_depth.set(await state.jobs.depth())
        except REDIS_ERRORS:
            state.jobs_depth.set(float("nan"))  # unknown while Redis is unreachable
    return Response(state.pipeline.metrics.render(), media_type=CONTENT_TYPE)
