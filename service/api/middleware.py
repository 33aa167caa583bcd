"""Pure ASGI middleware: a request id on every response, and the body-size limit.

Both are ASGI (not ``BaseHTTPMiddleware``) so streaming responses pass through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
logger = logging.getLogger(__name__)
_REQUEST_ID = ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    return _REQUEST_ID.get()


class RequestIdMiddleware:
    """Takes the client's ``X-Request-ID`` when it is a sane token, else makes one; echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = _REQUEST_ID.set(request_id)  # type: ignore[arg-type]
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
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
            _REQUEST_ID.reset(token)


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
