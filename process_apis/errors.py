"""Turning System API errors into the layers' own (`kernel.errors`), so nothing above sees a system's error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kernel.errors import DownstreamError, NotFoundError
from system_apis.errors import SystemAPIError, SystemNotFound


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
