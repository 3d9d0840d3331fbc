"""Rate limits: fixed windows counted in Django's cache, shared by every process.

Counting is django-ratelimit's: `cache.add` opens a window's counter, `cache.incr` counts in it, both atomic
(Redis' INCR through django-redis; `incidents_site.cache.AtomicDatabaseCache` for the embedded default), so
concurrent requests in many processes never lose a count. When the cache cannot count (Redis down), the
request goes through: a limit is a policy, not a reason to fail a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django_ratelimit.core import get_usage

from kernel.cache import cache_guarded

from .client_ip import client_block

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


def rate_limit_hit(*, request: HttpRequest, scope: str, key: str, rate: str) -> RateLimitUsage | None:
    """Count one request of `key` in `scope` against `rate` ("60/m"); None when the cache could not count."""
    # The cache is down: let the request through rather than fail it.
    usage = cache_guarded(
        lambda: get_usage(request, group=scope, key=lambda group, request: key, rate=rate, increment=True),
        default=None,
        what=f"rate limit {scope}",
    )
    if usage is None or usage["time_left"] < 0:  # disabled, or the cache lost the counter
        return None
    limit, count = usage["limit"], usage["count"]
    return RateLimitUsage(
        limit=limit, remaining=max(limit - count, 0), reset=max(usage["time_left"], 0), exceeded=count > limit
    )


def rate_limit_ip_hit(*, request: HttpRequest, scope: str, rate: str) -> RateLimitUsage | None:
    """Count one request from the client's address (proxy-aware; an IPv6 /64 as one, see client_ip) in `scope`."""
    return rate_limit_hit(request=request, scope=scope, key=client_block(request), rate=rate)
