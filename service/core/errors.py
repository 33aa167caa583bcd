"""Domain errors. Service code raises these; ``service.api.errors`` maps each to a status and the error body.

ServiceError (code, message, details)
├── LimitExceeded        413  a limit of Settings.limits, named in details
├── UnknownScorer        422
├── InvalidParams        422  a scorer's params failed validation
├── InvalidRequest       422  the request is well-formed JSON but inconsistent
├── NotFound             404  an unknown id
├── RateLimited          429  the token's requests or answers per minute are spent; Retry-After
└── Unavailable          503  a dependency the request needs is not there (Retry-After when known)
    └── Overloaded       503  too much queued work; Retry-After says when to come back
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class LimitExceeded(ServiceError):
    status_code = 413
    code = "limit_exceeded"

    def __init__(self, limit: str, value: int | float, maximum: int | float, where: str | None = None) -> None:
        place = f" in {where}" if where else ""
        super().__init__(
            f"{limit} exceeded{place}: {value} > {maximum}",
            {"limit": limit, "value": value, "max": maximum, **({"where": where} if where else {})},
        )
        self.limit = limit


class UnknownScorer(ServiceError):
    code = "unknown_scorer"


class InvalidParams(ServiceError):
    code = "invalid_params"


class InvalidRequest(ServiceError):
    code = "invalid_request"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class RateLimited(ServiceError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, kind: str, limit: int, retry_after: float) -> None:
        super().__init__(message, {"limit": f"{kind}_per_minute", "max": limit, "retry_after_s": round(retry_after, 3)})
        self.retry_after = retry_after


class Unavailable(ServiceError):
    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, details: Any = None, retry_after: float | None = None) -> None:
        if retry_after is not None:
            details = {**(details or {}), "retry_after_s": round(retry_after, 3)}
        super().__init__(message, details)
        self.retry_after = retry_after  # a Retry-After header when set


class Overloaded(Unavailable):
    code = "overloaded"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
