"""The time budget of a flow: every call to a system inside must end before it runs out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The monotonic time by which every call of the current flow must be over (None: no budget).
_deadline: ContextVar[float | None] = ContextVar("incident_hub_deadline", default=None)


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Every call to a system inside must end within `seconds` from now; a nested budget can only shorten it,
    so a caller with a shorter limit of its own (Slack's 3 s) opens one around the call it makes.

    It lives in a context variable: threads started inside need `contextvars.copy_context().run` to keep it.
    """
    deadline = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(deadline, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left of the current budget, or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
