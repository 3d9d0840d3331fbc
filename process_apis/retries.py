"""Bounded, polite retries: exponential backoff with full jitter, capped, never sooner than Retry-After."""

import random


def backoff_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)
