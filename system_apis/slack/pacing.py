"""Slack takes about one message per second per channel: posts are paced per channel, across every process.

Each post counts itself in its channel's current second, in the shared cache (Redis, or the database cache
of the embedded default: both count atomically), so every worker sees the same count. The n-th post past
the channel's rate in a second is given the n-th free slot after it, so a burst drains in order instead of
collecting Slack's 429s. If the cache cannot count, the post goes ahead: Slack's own 429 is the fallback.
"""

from __future__ import annotations

import math
import time

from kernel.cache import cache_count, cache_guarded


def channel_slot_wait(channel: str, *, per_second: int, now: float | None = None) -> float:
    """Seconds this post should wait for its slot in `channel` (0: post now)."""
    now = time.time() if now is None else now
    second = math.floor(now)
    key = f"slack-pace:{channel}:{second}"

    # A cache that cannot count must not stop the notice: it goes now.
    position = cache_guarded(lambda: cache_count(key, timeout=60), default=0, what="slack pacing")
    if position <= per_second:
        return 0.0
    return (second + 1 - now) + (position - per_second - 1) / per_second
