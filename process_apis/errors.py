"""The Process APIs' one application error type: a message for people and `extra` for programs.

The layers above cannot see System API errors (experience never imports system), so the process
layer turns them into these, `from` the original.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from system_apis.errors import SystemAPIError, SystemNotFound


class ApplicationError(Exception):
    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    pass


class DownstreamError(ApplicationError):
    """A system of record failed and the operation cannot go on without it."""

    def __init__(
        self, message: str, *, system: str, retryable: bool, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.system = system
        self.retryable = retryable
        self.retry_after = retry_after
        self.extra = {"system": system, "retryable": retryable, **self.extra}


class NotAcceptedError(ApplicationError):
    """The report could not be stored, so it was not accepted: the caller should try again later."""


@contextmanager
def downstream_errors(doing: str) -> Iterator[None]:
    """Turn a System API error raised inside into the process layer's own error, keeping the cause."""
    try:
        yield
    except SystemNotFound as exc:
        raise NotFoundError(f"Could not {doing}: {exc.message}", extra=exc.as_dict()) from exc
    except SystemAPIError as exc:
        raise DownstreamError(
            f"Could not {doing}: {exc.message}",
            system=exc.system,
            retryable=exc.retryable,
            retry_after=exc.retry_after,
            extra={"operation": exc.operation, "status": exc.status},
        ) from exc
