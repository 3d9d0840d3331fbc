"""Circuit breakers of the systems of record, their state kept in Django's cache so every process shares it.

One circuit per system (servicenow, salesforce, slack, legacy_db): every connector of that system, in
every web and worker process, counts its outages in the same cache keys. After
`CIRCUIT_BREAKER_FAIL_MAX` consecutive outages (timeouts, unreachable, 5xx, answers the connector's
reader finds unreadable) the circuit opens and calls fail fast with `SystemUnavailable` for
`CIRCUIT_BREAKER_RESET_TIMEOUT` seconds; then it is half-open: the next call is a trial that closes it
again or reopens it. An answer such as 404, 400, 401 or 429 proves the system is up: it counts as a
success.

pybreaker runs the state machine; `CacheCircuitStorage` is its storage over Django's cache API (the
database cache when embedded, Redis through django-redis in CI and production), read through this
process's snapshot of it (`shared_state`): a circuit that another process opens or closes is seen here
within `shared_state.REFRESH_SECONDS`, and this process's own changes at once. Breaker objects are cheap
and built per connector instance: their state lives in the cache, and a breaker shared by the threads of
one process would serialise their calls on its lock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pybreaker
from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache

from kernel.cache import cache_guarded
from kernel.tracing import log_call

from . import shared_state
from .errors import SystemAPIError, SystemProtocolError, SystemTimeout, SystemUnavailable

logger = logging.getLogger("system_apis.circuit")

T = TypeVar("T")

SYSTEMS = ("servicenow", "salesforce", "slack", "legacy_db", "email")

CLOSED = pybreaker.STATE_CLOSED
OPEN = pybreaker.STATE_OPEN
HALF_OPEN = pybreaker.STATE_HALF_OPEN
STATES = (CLOSED, OPEN, HALF_OPEN)
UNKNOWN = "unknown"
_CACHE_FAILED = object()

CIRCUIT_NAMES = ("state", "fail_counter", "success_counter", "opened_at")


def circuit_key(system: str, name: str) -> str:
    return f"circuit:{system}:{name}"


# Every process reads the circuits of all systems in one round trip (shared_state).
shared_state.watch(*(circuit_key(system, name) for system in SYSTEMS for name in CIRCUIT_NAMES))

# Errors that mean the system is in trouble. The others are answers: the system is up and said no.
# A 429 is an answer too: the system is healthy, names its own wait, and Slack's limits are per
# method and channel, so one busy channel must not cut off the whole workspace.
OUTAGES: tuple[type[SystemAPIError], ...] = (SystemTimeout, SystemUnavailable, SystemProtocolError)


@dataclass(frozen=True)
class CircuitStatus:
    """What the admin shows of one circuit; `state` is UNKNOWN while the cache cannot be read."""

    system: str
    state: str
    failures: int
    since: datetime | None
    half_opens_at: datetime | None


class CacheCircuitStorage(pybreaker.CircuitBreakerStorage):
    """pybreaker's storage in Django's cache: the circuit `system`'s state, counters and opening time.

    Reads come from this process's snapshot of the shared cache (`shared_state`: one `get_many` a second at
    most), so a call on a closed circuit costs no round trip of its own; writes, made only on a failure or a
    change of state, go to the cache at once and into the snapshot. Counters grow with `incr` (atomic on
    Redis and in memory; the database cache's is made atomic in `incidents_site.cache`), and a counter that
    is not there yet starts with `add`; `incr` answers the count every process made together. A failing
    cache never fails a call: the circuit then reads as closed and this storage stops asking the cache, so
    a hung Redis costs one socket timeout, not one per operation.
    """

    # A circuit nobody touched for this long starts closed again.
    TTL = 24 * 60 * 60

    def __init__(self, system: str, *, cache: BaseCache | None = None) -> None:
        super().__init__("cache")
        self.system = system
        self.cache = cache if cache is not None else default_cache
        self.snapshot = shared_state.snapshot_of(cache)
        self._cache_failed = False

    def key(self, name: str) -> str:
        return circuit_key(self.system, name)

    # --- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return _state_of(self._read("state"))

    @state.setter
    def state(self, state: str) -> None:
        stored = self._read("state")
        # pybreaker may set the state it already has (a breaker catching up with another process).
        if isinstance(stored, dict) and stored.get("state") == state:
            return
        self._write("state", {"state": state, "since": _now().timestamp()})

    @property
    def opened_at(self) -> datetime | None:
        return _datetime_of(self._read("opened_at"))

    @opened_at.setter
    def opened_at(self, when: datetime) -> None:
        self._write("opened_at", when.timestamp())

    # --- counters ------------------------------------------------------------------------------

    @property
    def counter(self) -> int:
        return _count_of(self._read("fail_counter"))

    @property
    def success_counter(self) -> int:
        return _count_of(self._read("success_counter"))

    def increment_counter(self) -> None:
        self._increment("fail_counter")

    def reset_counter(self) -> None:
        self._reset("fail_counter")

    def increment_success_counter(self) -> None:
        self._increment("success_counter")

    def reset_success_counter(self) -> None:
        self._reset("success_counter")

    def _increment(self, name: str) -> None:
        key = self.key(name)
        count = self._call("incr", key)  # None: not there yet (or the cache failed)
        if count is None and not self._cache_failed:
            # Another process may open it between our incr and add: then add refuses, and incr counts.
            count = 1 if self._call("add", key, 1, self.TTL) else self._call("incr", key)
        if isinstance(count, int):
            self.snapshot.wrote(key, count)

    def _reset(self, name: str) -> None:
        # Every successful call resets the failures: the snapshot spares the cache a write per call.
        if _count_of(self._read(name)):
            self._write(name, 0)

    # --- the cache -----------------------------------------------------------------------------

    def _read(self, name: str) -> Any:
        if self._cache_failed:
            return None
        value = self.snapshot.get(self.key(name))
        if value is shared_state.UNREADABLE:
            self._cache_failed = True
            return None
        return value

    def _write(self, name: str, value: Any) -> None:
        key = self.key(name)
        self._call("set", key, value, self.TTL)
        if not self._cache_failed:
            self.snapshot.wrote(key, value)

    def read_status(self, reset_timeout: float) -> CircuitStatus:
        """The circuit as the next call would find it, read in one round trip; no call is made."""
        names = ("state", "fail_counter", "opened_at")
        stored = self._call("get_many", [self.key(name) for name in names]) or {}
        if self._cache_failed:
            return CircuitStatus(system=self.system, state=UNKNOWN, failures=0, since=None, half_opens_at=None)
        state_record, failures, opened = (stored.get(self.key(name)) for name in names)
        state = _state_of(state_record)
        since = _datetime_of(state_record.get("since") if isinstance(state_record, dict) else None)
        half_opens_at = None
        if state == OPEN:
            opened_at = _datetime_of(opened) or since
            half_opens_at = opened_at + timedelta(seconds=reset_timeout) if opened_at else None
            # The reset timeout is over: the next call is a trial, whichever process makes it.
            if half_opens_at is None or half_opens_at <= _now():
                state, since, half_opens_at = HALF_OPEN, half_opens_at or since, None
        return CircuitStatus(
            system=self.system, state=state, failures=_count_of(failures), since=since, half_opens_at=half_opens_at
        )

    def _call(self, method: str, *args: Any) -> Any:
        if self._cache_failed:
            return None

        def call() -> Any:
            try:
                return getattr(self.cache, method)(*args)
            except ValueError:  # incr of a counter that is not there (yet, or any more): it starts again
                return None

        # The breaker protects, it must not fail calls itself: a failed cache reads as closed from here on.
        result = cache_guarded(call, default=_CACHE_FAILED, what=f"circuit {self.system}")
        if result is _CACHE_FAILED:
            self._cache_failed = True
            return None
        return result


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        level = logging.WARNING if new_state.name == OPEN else logging.INFO
        logger.log(level, "circuit %s: %s -> %s", cb.name, old_state.name if old_state else None, new_state.name)


def _is_answer(exc: BaseException) -> bool:
    return not isinstance(exc, OUTAGES)


class SystemCircuit(pybreaker.CircuitBreaker):
    """A breaker over the shared circuit of `system`, configured from settings."""

    def __init__(self, system: str, *, cache: BaseCache | None = None) -> None:
        self.storage = CacheCircuitStorage(system, cache=cache)
        super().__init__(
            fail_max=settings.CIRCUIT_BREAKER_FAIL_MAX,
            reset_timeout=settings.CIRCUIT_BREAKER_RESET_TIMEOUT,
            exclude=[_is_answer],
            listeners=[_LogStateChanges()],
            state_storage=self.storage,
            name=system,
            # The call that trips the circuit raises its own error (timeout, 503...), not pybreaker's.
            throw_new_error_on_trip=False,
        )
        self.system = system

    def guard(self, func: Callable[[], T], *, operation: str) -> T:
        """`func()` through the circuit; while it is open, `SystemUnavailable` at once and func is not called."""
        started = time.monotonic()
        try:
            return self.call(func)
        except pybreaker.CircuitBreakerError as exc:
            wait = self.seconds_until_half_open()
            log_call(logger, system=self.system, operation=operation, outcome="circuit-open", started=started)
            raise SystemUnavailable(
                f"circuit open: {self.system} keeps failing, calls to it resume in {math.ceil(wait)} s",
                system=self.system,
                operation=operation,
                retry_after=wait,
            ) from exc

    def seconds_until_half_open(self) -> float:
        opened_at = self.storage.opened_at
        if opened_at is None:
            return 0.0
        return max(0.0, (opened_at + timedelta(seconds=self.reset_timeout) - _now()).total_seconds())


# --- what the admin shows ----------------------------------------------------------------------


def circuit_status(system: str, *, cache: BaseCache | None = None) -> CircuitStatus:
    """The circuit of `system` as the next call would find it (no call is made)."""
    return CacheCircuitStorage(system, cache=cache).read_status(settings.CIRCUIT_BREAKER_RESET_TIMEOUT)


def circuit_statuses(*, cache: BaseCache | None = None) -> list[CircuitStatus]:
    return [circuit_status(system, cache=cache) for system in SYSTEMS]


def _state_of(stored: Any) -> str:
    return stored["state"] if isinstance(stored, dict) and stored.get("state") in STATES else CLOSED


def _count_of(stored: Any) -> int:
    return stored if isinstance(stored, int) else 0


def _datetime_of(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if isinstance(timestamp, int | float) else None


def _now() -> datetime:
    return datetime.now(UTC)
