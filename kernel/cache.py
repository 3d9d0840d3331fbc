"""The one guard around the shared cache: a cache that fails never fails the call that used it.

Circuit state, quota holds, pacing slots, rate limits and tokens all live in Django's cache (Redis, or the
database cache when embedded). Each is a policy or an optimisation: when the cache is down, the caller gets
`default` and goes on, and the failure is logged once per call site and call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger("kernel.cache")

T = TypeVar("T")


def cache_guarded(call: Callable[[], T], *, default: T, what: str) -> T:
    """`call()`, or `default` when the cache (any backend, any error) fails; `what` names the policy in the log."""
    try:
        return call()
    except Exception as exc:  # any backend's failure means "no cache"; a policy must not fail the flow
        logger.warning("%s: the cache is unavailable (%s); going on without it", what, type(exc).__name__)
        return default
