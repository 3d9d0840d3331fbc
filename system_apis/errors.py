"""Typed errors of the System APIs: what went wrong, in which system, during which operation.

Every connector raises only these, `from` the transport error or vendor answer that caused them,
so the layers above never see `requests` exceptions or vendor JSON.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import ServiceError

MAX_BODY_CHARS = 2000


class SystemAPIError(ServiceError):
    """A call to a system of record failed."""

    retryable = False
    http_status = 503

    def __init__(
        self,
        message: str,
        *,
        system: str,
        operation: str,
        status: int | None = None,
        vendor_code: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.system = system
        self.operation = operation
        self.status = status
        self.vendor_code = vendor_code
        self.body = body[:MAX_BODY_CHARS] if body else body

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        code = f" [{self.vendor_code}]" if self.vendor_code else ""
        return f"{self.system}.{self.operation}{status}{code}: {self.message}"

    def response_body(self) -> dict[str, Any]:
        return {"message": str(self), "extra": self.as_dict()}

    def as_dict(self) -> dict[str, object]:
        return {
            "error": type(self).__name__,
            "system": self.system,
            "operation": self.operation,
            "status": self.status,
            "vendor_code": self.vendor_code,
            "retry_after": self.retry_after,
        }


class SystemTimeout(SystemAPIError):
    """No answer in time. When `request_sent` the system may still have acted on the request."""

    retryable = True
    http_status = 504

    def __init__(self, message: str, *, request_sent: bool = True, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.request_sent = request_sent


class SystemUnavailable(SystemAPIError):
    """The system could not be reached or answered with a server error."""

    retryable = True


class SystemRateLimited(SystemAPIError):
    """The system asks us to slow down; `retry_after` is in seconds when it said so."""

    retryable = True
    http_status = 429


class SystemPaced(SystemRateLimited):
    """Incident Hub held the call back itself, unsent (pacing, or a hold the system asked for): not an
    attempt that failed."""


class SystemAuthError(SystemAPIError):
    """Our credentials were refused: a configuration problem, not worth retrying."""

    # The caller did nothing wrong: a gateway's error.
    http_status = 502


class SystemNotFound(SystemAPIError):
    """The record (or channel, table...) does not exist in that system."""

    http_status = 404


class SystemBadRequest(SystemAPIError):
    """The system rejected what we sent as invalid."""

    http_status = 400


class SystemProtocolError(SystemAPIError):
    """The system answered something we do not understand (not JSON, missing fields)."""

    retryable = True
