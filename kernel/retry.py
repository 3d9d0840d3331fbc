"""Retry timing: a system's own `Retry-After`, and bounded backoff with full jitter that never undercuts it."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)
