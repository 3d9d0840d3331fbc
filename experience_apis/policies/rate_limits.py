"""Rate limits: fixed windows counted in Django's cache, shared by every process.

A window's counter is counted with `cache.incr`, atomic (Redis' INCR through django-redis;
`incidents_site.cache.AtomicDatabaseCache` for the embedded default), so concurrent requests in many processes
never lose a count: one round trip per request. Only the first request of a window finds no counter, and
opens it with `cache.add` (which only one process wins: the others count with `incr` again). Windows are
django-ratelimit's: `period` seconds long, each key's offset by a hash of the key so that they do not all end
at once. When the cache cannot count (Redis down), the request goes through: a limit is a policy, not a
reason to fail a report.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from dataclasses import dataclass

from django.http import HttpRequest

from kernel.cache import cache_count, cache_guarded

from .client_ip import client_block

PERIODS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}
# A counter outlives its window by this much, so that it never expires while still counted in.
EXPIRY_MARGIN = 5

LIMIT_HEADER = "X-RateLimit-Limit"
REMAINING_HEADER = "X-RateLimit-Remaining"
RESET_HEADER = "X-RateLimit-Reset"


@dataclass(frozen=True)
class RateLimitUsage:
    limit: int
    remaining: int
    reset: int  # seconds until this window ends and the count starts again
    exceeded: bool

    @property
    def retry_after(self) -> int:
        return max(self.reset, 1)

    def headers(self) -> dict[str, str]:
        return {LIMIT_HEADER: str(self.limit), REMAINING_HEADER: str(self.remaining), RESET_HEADER: str(self.reset)}


def rate_limit_hit(*, scope: str, key: str, rate: str) -> RateLimitUsage | None:
    """Count one request of `key` in `scope` against `rate` ("60/m"); None when the cache could not count."""
    limit, period = split_rate(rate)
    now = int(time.time())
    window_end = _window_end(key, period, now)
    counter = _counter_key(scope, rate=f"{limit}/{period}s", key=key, window_end=window_end)
    # The cache is down: let the request through rather than fail it.
    count = cache_guarded(
        lambda: cache_count(counter, timeout=period + EXPIRY_MARGIN), default=None, what=f"rate limit {scope}"
    )
    if count is None:
        return None
    return RateLimitUsage(limit=limit, remaining=max(limit - count, 0), reset=window_end - now, exceeded=count > limit)


def split_rate(rate: str) -> tuple[int, int]:
    """The requests a rate allows and its window in seconds: "60/m" is (60, 60), "10/10m" is (10, 600)."""
    count, _, period = rate.partition("/")
    multiple, unit = period[:-1], period[-1:]
    return int(count), PERIODS[unit.lower()] * (int(multiple) if multiple else 1)


def _window_end(key: str, period: int, now: int) -> int:
    if period == 1:
        return now
    end = now - now % period + zlib.crc32(key.encode()) % period
    return end + period if end < now else end


def _counter_key(scope: str, *, rate: str, key: str, window_end: int) -> str:
    # Hashed: the key may be an address or a client id, which have no place in a cache key's plain text.
    return "rl:" + hashlib.sha256(f"{scope}\n{rate}\n{key}\n{window_end}".encode()).hexdigest()


def rate_limit_ip_hit(*, request: HttpRequest, scope: str, rate: str) -> RateLimitUsage | None:
    """Count one request from the client's address (proxy-aware; an IPv6 /64 as one, see client_ip) in `scope`."""
    return rate_limit_hit(scope=scope, key=client_block(request), rate=rate)
