"""Request parsing and response encoding with pydantic-core's JSON (Rust) instead of the stdlib's.

On large bodies (a GRPO step's batch, a reward array for /v1/vpo) ``json.loads`` and FastAPI's response
serialisation cost several times the scoring itself; ``pydantic_core.from_json`` and ``model_dump_json``
do the same work far faster. NaN and Infinity, which are not JSON, are refused as malformed JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import pydantic_core
from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ..core.text import dump_json


class FastJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = pydantic_core.from_json(body, allow_inf_nan=False)
            except ValueError as exc:
                # FastAPI answers a JSONDecodeError with a json_invalid validation error (400 here)
                raise json.JSONDecodeError(str(exc), body.decode("utf-8", "replace"), 0) from exc
        return self._json


class FastJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fast_json_handler(request: Request) -> Response:
            return await handler(FastJSONRequest(request.scope, request.receive))

        return fast_json_handler


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """A JSON response encoded by the model itself (no second validation pass)."""
    return Response(dump_json(model), status_code=status_code, media_type="application/json")
