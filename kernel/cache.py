"""The one guard around the shared cache: a cache that fails never fails the call that used it.

Circuit state, quota holds, pacing slots, rate limits and tokens all live in Django's cache (Redis, or the
database cache when embedded). Each is a policy or an optimisation: when the cache is down, the caller gets
`default` and goes on, and the failure is logged once per call site and call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger("kernel.cache")

T = TypeVar("T")


def cache_guarded(call: Callable[[], T], *, default: T, what: str) -> T:
    """`call()`, or `default` when the cache (any backend, any error) fails; `what` names the policy in the log."""
    try:
        return call()
    except Exception as exc:  # any backend's failure means "no cache"; a policy must not fail the flow
        logger.warning("%s: the cache is unavailable (%s); going on without it", what, type(exc).__name__)
        return default


def cache_count(key: str, *, timeout: float) -> int:
    """Count one in the shared counter `key`, atomically across processes; the count so far. One round trip once
    the counter exists; the first count opens it for `timeout` seconds (`add`: one process wins, the rest count)."""
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet
        pass
    if cache.add(key, 1, timeout):
        return 1
    return cache.incr(key)
