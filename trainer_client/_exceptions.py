"""Every exception the client package raises.

VPORewardsError
├── EstimatorError (also a ValueError): bad estimator options or reward arrays, local or remote alike
├── SplitError (also a ValueError): bad split options
├── TransportError: the request never got an answer (connection refused, reset, timed out)
├── JobFailedError: an asynchronous job ended as failed (or did not finish in the time given)
└── APIError: the service answered with the error format and a 4xx/5xx status
    ├── AuthenticationError      401
    ├── RequestTooLargeError     413 (a limit of the service was exceeded; ``details["limit"]`` names it)
    ├── InvalidRequestError      400 / 404 / 422
    ├── RateLimitError           429
    └── ServiceUnavailableError  502 / 503 / 504
"""

from __future__ import annotations

from typing import Any


class VPORewardsError(Exception):
    """Base class of every error raised by ``trainer_client``."""


class EstimatorError(VPORewardsError, ValueError):
    """Invalid estimator options or reward arrays; ``param`` names the offending option."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class SplitError(VPORewardsError, ValueError):
    """Invalid options for splitting completions into answers."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class TransportError(VPORewardsError):
    """The request did not get an answer from the service (after the configured retries)."""


class JobFailedError(VPORewardsError):
    """A job ended as ``failed`` (``error`` says why), or ``wait_job`` ran out of time."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(f"job {job_id}: {message}")
        self.job_id = job_id


class APIError(VPORewardsError):
    """The service answered with an error body ``{"error": {"code", "message", "details"}}``."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id


class AuthenticationError(APIError):
    """401: the bearer token is missing or wrong."""


class RequestTooLargeError(APIError):
    """413: the request exceeds one of the service's limits."""


class InvalidRequestError(APIError):
    """400 / 404 / 422: the request is malformed or names something unknown."""


class RateLimitError(APIError):
    """429: too many requests; retried automatically, raised when the retries run out."""


class ServiceUnavailableError(APIError):
    """502 / 503 / 504: the service is overloaded or degraded."""


def api_error_for_status(status_code: int) -> type[APIError]:
    """The exception class that stands for an HTTP error status."""
    if status_code == 401 or status_code == 403:
        return AuthenticationError
    if status_code == 413:
        return RequestTooLargeError
    if status_code == 429:
        return RateLimitError
    if status_code in (502, 503, 504):
        return ServiceUnavailableError
    if 400 <= status_code < 500:
        return InvalidRequestError
    return APIError
