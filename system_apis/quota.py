"""A system's own word that we must wait, kept in the shared cache so that every process waits.

When a system answers 429 (with Retry-After), Salesforce says REQUEST_LIMIT_EXCEEDED, or its
`Sforce-Limit-Info` shows the org's API quota nearly used up, the pipeline puts the system on hold:
until then every call to it, in every web and worker process, is refused unsent with SystemPaced
(and the wait left) instead of spending more of the quota. Calls read the holds from their process's
snapshot of the cache (`shared_state`, with the circuits, one round trip a second at most): a hold set by
another process is honoured here within `shared_state.REFRESH_SECONDS`, one set here at once. A cache
that cannot be read holds nothing: the system's own answer is the fallback.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

from kernel.cache import cache_guarded

from . import shared_state
from .circuit import SYSTEMS

logger = logging.getLogger("system_apis.quota")


@dataclass(frozen=True)
class QuotaHold:
    until: float  # epoch seconds
    reason: str

    def seconds_left(self, now: float | None = None) -> float:
        return max(0.0, self.until - (time.time() if now is None else now))


def _key(system: str) -> str:
    return f"quota-hold:{system}"


# Every process reads the holds of all systems with their circuits, in one round trip (shared_state).
shared_state.watch(*(_key(system) for system in SYSTEMS))


def quota_hold(system: str, *, seconds: float, reason: str) -> None:
    """Hold calls to `system` for `seconds` (a later hold already set is kept)."""
    until = time.time() + seconds
    current = quota_hold_of(system)
    if current is not None and current.until >= until:
        return
    hold = QuotaHold(until=until, reason=reason)

    def keep() -> bool:
        cache.set(_key(system), hold, timeout=int(seconds) + 1)
        return True

    if not cache_guarded(keep, default=False, what=f"quota hold of {system}"):
        return
    shared_state.snapshot_of().wrote(_key(system), hold)
    logger.warning("%s on hold for %.0f s: %s", system, seconds, reason, extra={"system": system})


def quota_hold_of(system: str) -> QuotaHold | None:
    """The hold on `system` now in force, if any."""
    hold = shared_state.snapshot_of().get(_key(system))
    return hold if isinstance(hold, QuotaHold) and hold.seconds_left() > 0 else None
