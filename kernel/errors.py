"""The base error types of every layer, and the HTTP status each is answered with.

A layer raises these (or its own subclasses) on purpose; the one DRF exception handler turns any of them into
`{"message", "extra"}` with `http_status` and, when known, `Retry-After`. Anything else is a bug.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error a layer raises on purpose: a message for people, `extra` for programs."""

    http_status = 409

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        # Seconds the caller should wait before trying again, when known.
        self.retry_after = retry_after

    def response_body(self) -> dict[str, Any]:
        return {"message": self.message, "extra": self.extra}


class ApplicationError(ServiceError):
    """The business operation cannot be done as asked (the record's state forbids it, ...)."""


class NotFoundError(ApplicationError):
    http_status = 404


class DownstreamError(ApplicationError):
    """A system of record failed and the operation cannot go on without it."""

    def __init__(self, message: str, *, system: str, retryable: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.system = system
        self.retryable = retryable
        self.extra = {"system": system, "retryable": retryable, **self.extra}

    @property
    def http_status(self) -> int:  # type: ignore[override]
        # Retryable: try again later. Not: our credentials or our request were refused downstream.
        return 503 if self.retryable else 502


class NotAcceptedError(ApplicationError):
    """The report could not be stored, so it was not accepted: the caller should try again later."""

    http_status = 503

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("retry_after", 60.0)
        super().__init__(message, **kwargs)
