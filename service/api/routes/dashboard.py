"""The dashboard: the page at ``/`` (no auth: it asks for the token when the API needs one), its assets, and
the JSON it reads (auth like the rest of v1): recent groups, one group with its analysis, live figures."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from ...core.errors import NotFound
from ...dashboard.history import History, detail, detail_work
from ...dashboard.stats import read_stats
from ...scoring.offload import run_math
from ...store.connections import needs_redis
from ..deps import AuthDep, StateDep
from ..protocol import DashboardGroup, DashboardGroups, DashboardStats, ErrorResponse
from .errors_doc import ERROR_RESPONSES

STATIC = Path(__file__).resolve().parent.parent.parent / "dashboard" / "static"
OFF = "the dashboard is off (VPO_DASHBOARD=false)"
UNAVAILABLE = "the dashboard's history (kept in Redis) is unavailable"

page = APIRouter(tags=["dashboard"])
router = APIRouter(
    prefix="/v1/dashboard",
    tags=["dashboard"],
    dependencies=[AuthDep],
    responses={**ERROR_RESPONSES, 404: {"model": ErrorResponse, "description": "dashboard off, or no such group"}},
)


@page.get("/", response_class=FileResponse, responses={200: {"content": {"text/html": {}}}, 404: {}})
async def index(state: StateDep) -> FileResponse:
    """The dashboard page."""
    _history(state.history)
    return FileResponse(STATIC / "index.html", media_type="text/html")


def _history(history: History | None) -> History:
    if history is None:
        raise NotFound(OFF)
    return history


@router.get("/groups", response_model=DashboardGroups)
async def groups(
    state: StateDep,
    limit: int = Query(50, ge=1, le=1000),
    request_id: str | None = Query(None, max_length=200, description="only the groups of this request"),
) -> DashboardGroups:
    """The most recent scored groups, newest first."""
    history = _history(state.history)
    with needs_redis(UNAVAILABLE):
        entries = await history.recent(limit, request_id)
    return DashboardGroups.model_validate({"groups": entries})


@router.get("/groups/{group_id}", response_model=DashboardGroup)
async def group(group_id: str, state: StateDep) -> DashboardGroup:
    """One group: its answers, reward rows and advantages, the answers' win shares and the Pareto set."""
    history = _history(state.history)
    with needs_redis(UNAVAILABLE):
        entry = await history.get(group_id)
    if entry is None:
        raise NotFound(f"no group {group_id!r} in the dashboard's history (it keeps the last ones only)")
    return DashboardGroup.model_validate(await run_math(lambda: detail(entry), detail_work(entry)))


@router.get("/stats", response_model=DashboardStats)
async def stats(state: StateDep) -> DashboardStats:
    """Running totals of this process's scoring requests, latencies and cache."""
    _history(state.history)
    return DashboardStats.model_validate(read_stats(state.pipeline.metrics))
