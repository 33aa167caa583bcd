"""Dependency aliases, so that routes read as plain typed functions."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from ..core.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.vpo
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def require_token(request: Request, state: StateDep) -> None:
    """Checks ``Authorization: Bearer <token>`` against every configured token in constant time."""
    tokens = state.settings.token_values()
    if not tokens:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(
            401, "missing bearer token: send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    given_bytes = given.strip().encode("utf-8")
    matched = False
    for token in tokens:  # no early exit: the time taken does not tell which token came close
        matched |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    if not matched:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


AuthDep = Depends(require_token)
