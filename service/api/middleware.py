"""Pure ASGI middleware: a request id on every response (with an access log line and the request metrics),
and the body-size limit.

Both are ASGI (not ``BaseHTTPMiddleware``) so streaming responses pass through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.logs import REQUEST_ID, current_request_id
from ..core.metrics import Metrics

REQUEST_ID_HEADER = "x-request-id"
logger = logging.getLogger(__name__)
access = logging.getLogger("vpo_rewards.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
__all__ = ["BodyLimitMiddleware", "RequestIdMiddleware", "current_request_id"]


class RequestIdMiddleware:
    """Takes the client's ``X-Request-ID`` when it is a sane token, else makes one; echoes it back; counts
    and times the request per endpoint (the route's template) and logs one access line."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        began = time.perf_counter()
        status = 500
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, int(message["status"])
            await send_with_id(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # the last resort: still the error format and the request id, and the details only in the log
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = json.dumps(
                {"error": {"code": "internal_error", "message": "internal error; the request id identifies it in "
                           "the logs", "details": None, "request_id": request_id}}
            ).encode()  # fmt: skip
            await tracking_send(
                {"type": "http.response.start", "status": 500,
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
            )  # fmt: skip
            await tracking_send({"type": "http.response.body", "body": body})
        finally:
            self._record(scope, status, time.perf_counter() - began)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        if self.metrics is not None:
            self.metrics.requests.labels(endpoint, method, str(status)).inc()
            self.metrics.request_seconds.labels(endpoint).observe(seconds)
        if endpoint not in ("/healthz", "/readyz", "/metrics"):  # probes and scrapes would drown the log
            access.info(
                "%s %s %d", method, scope.get("path"), status,
                extra={"method": method, "path": scope.get("path"), "endpoint": endpoint, "status": status,
                       "duration_ms": round(seconds * 1000.0, 3)},
            )  # fmt: skip


class BodyLimitMiddleware:
    """Answers 413 in the error format when a body is larger than ``max_body_bytes``, whether announced by
    Content-Length or discovered while reading a chunked body."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._refuse(send, int(length))
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(received, self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge as exc:
            if not response_started:
                await self._refuse(send, exc.size)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "limit_exceeded",
                    "message": f"max_body_bytes exceeded: the body has more than {self.max_body_bytes} bytes",
                    "details": {"limit": "max_body_bytes", "value": size, "max": self.max_body_bytes},
                    "request_id": current_request_id(),
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so that the framework passes it on to the error handler."""

    def __init__(self, size: int, maximum: int) -> None:
        super().__init__(413, f"max_body_bytes exceeded: the body has more than {maximum} bytes")
        self.size = size
        self.details = {"limit": "max_body_bytes", "value": size, "max": maximum}
