"""One place that maps every error to a status and ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trainer_client import EstimatorError, SplitError

from ..core.errors import ServiceError
from .middleware import current_request_id

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "limit_exceeded",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details, "request_id": current_request_id()}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(EstimatorError, _value_error)  # type: ignore[arg-type]
    app.add_exception_handler(SplitError, _value_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        first = next(err for err in errors if err.get("type") == "json_invalid")
        reason = (first.get("ctx") or {}).get("error", "malformed JSON")
        return error_response(400, "invalid_json", f"the request body is not valid JSON: {reason}")
    details = [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]
    summary = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:3])
    return error_response(422, "validation_error", f"invalid request: {summary}", details)


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers=headers)


async def _value_error(request: Request, exc: EstimatorError | SplitError) -> JSONResponse:
    code = "invalid_estimator" if isinstance(exc, EstimatorError) else "invalid_split"
    if isinstance(exc, EstimatorError) and exc.param == "name":
        code = "unknown_estimator"
    if isinstance(exc, EstimatorError) and exc.param in ("weights", "scalar_weights"):
        code = "invalid_weights"
    return error_response(422, code, str(exc), {"param": exc.param})


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    details = getattr(exc, "details", None)
    return error_response(exc.status_code, code, str(exc.detail), details, headers=getattr(exc, "headers", None))
