"""The error responses every v1 route may give, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from ..protocol import ErrorResponse

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in (
        (400, "malformed JSON"),
        (401, "missing or invalid bearer token"),
        (413, "a limit was exceeded (details.limit names it)"),
        (422, "invalid request, unknown scorer or estimator, bad params or weights"),
        (429, "rate limit exceeded (Retry-After says when to retry)"),
        (503, "overloaded (the sandbox queue is full) or starting; Retry-After says when to retry"),
    )
}
