"""Discovery: the registered scorers and their params schemas."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import AuthDep, StateDep
from ..protocol import ErrorResponse, ScorerInfo, ScorersResponse
from ..routing import FastJSONRoute

router = APIRouter(
    prefix="/v1",
    route_class=FastJSONRoute,
    tags=["scorers"],
    dependencies=[AuthDep],
    responses={401: {"model": ErrorResponse}},
)


@router.get("/scorers", response_model=ScorersResponse)
async def list_scorers(state: StateDep) -> ScorersResponse:
    return ScorersResponse(
        scorers=[
            ScorerInfo(
                name=scorer.name,
                description=scorer.description,
                params_schema=scorer.Params.model_json_schema(),
                status=scorer.status(),
            )
            for scorer in state.registry
        ],
        unavailable=state.registry.load_errors,
    )
