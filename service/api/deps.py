"""Dependency aliases, so that routes read as plain typed functions."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from ..core.state import AppState


async def get_state(request: Request) -> AppState:  # async: FastAPI runs a plain def in a thread
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


def state_of(request: Request) -> AppState:
    """The app's state, read directly: what ``StateDep`` gives, without a dependency to resolve (the hot
    routes)."""
    state: AppState = request.app.state.vpo
    return state


async def require_token(request: Request) -> None:
    """Checks ``Authorization: Bearer <token>`` against every configured token in constant time."""
    tokens = state_of(request).settings.token_values()
    if not tokens:
        return
    given = bearer_token(request)
    if given is None:
        raise HTTPException(
            401, "missing bearer token: send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    given_bytes = given.encode("utf-8")
    matched = False
    for token in tokens:  # no early exit: the time taken does not tell which token came close
        matched |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    if not matched:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


AuthDep = Depends(require_token)


def bearer_token(request: Request) -> str | None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() or None if scheme.lower() == "bearer" else None


async def count_request(request: Request) -> None:
    """One request against the caller's requests-per-minute budget (429 with Retry-After when spent)."""
    await state_of(request).limiter.spend(bearer_token(request), "requests", 1)


RateDep = Depends(count_request)


async def guard(request: Request) -> None:
    """The token, then the request budget: ``AuthDep`` and ``RateDep`` as one dependency (each dependency
    FastAPI resolves costs the request path tens of microseconds)."""
    await require_token(request)
    await count_request(request)


GuardDep = Depends(guard)
