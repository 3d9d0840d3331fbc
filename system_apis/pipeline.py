"""The one path of every call to a system of record: trace span -> time budget -> quota hold -> circuit -> transport.

A connector brings its transport (an HTTP request, a SQL query) and, for HTTP, a pure function reading what
the system answered. The rest is here, once: the span, the timeout cut to the flow's budget, the refusal
while the system is on hold, the circuit, one log event per call, the hold an answer asks for, and the typed
error an answer means.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Generic, TypeVar

from django.conf import settings
from opentelemetry.trace import SpanKind

from kernel import tracing
from kernel.budget import time_left

from .circuit import SystemCircuit
from .errors import SystemAPIError, SystemPaced, SystemRateLimited, SystemTimeout, SystemUnavailable
from .quota import quota_hold, quota_hold_of

logger = logging.getLogger("system_apis.calls")

T = TypeVar("T")
Timeout = tuple[float, float]  # (connect, read) seconds


@dataclass(frozen=True)
class Reading:
    """What an answer means: a success (no `error`) or a typed error; `hold` (a reason) holds every call to the
    system for `hold_seconds` (None: QUOTA_HOLD_SECONDS); `usage` is its quota (used, limit) if stated."""

    error: type[SystemAPIError] | None = None
    message: str = ""
    vendor_code: str | None = None
    retry_after: float | None = None
    hold: str = ""
    hold_seconds: float | None = None
    usage: tuple[int, int] | None = None

    @classmethod
    def failed(
        cls, error: type[SystemAPIError], message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> Reading:
        """An error: only a busy or failing system names a wait, and one that asks us to slow down is held."""
        if issubclass(error, SystemRateLimited):
            return cls(error, message, code, retry_after, hold=message, hold_seconds=retry_after)
        return cls(error, message, code, retry_after if issubclass(error, SystemUnavailable) else None)


@dataclass(frozen=True)
class Answered(Generic[T]):
    """What a transport got back: its result, its outcome in the call log, and what it means."""

    result: T
    outcome: str | int
    reading: Reading = Reading()
    status: int | None = None
    body: str | None = None
    details: dict[str, str | int] = field(default_factory=dict)


class TransportError(Exception):
    """The transport failed (no connection, no answer, a database error): the pipeline logs `outcome` and raises
    `error(message, **extra)` from this one's cause, so it never goes past the pipeline."""

    def __init__(
        self, outcome: str, error: type[SystemAPIError], message: str, *, level: int = logging.INFO, **extra: bool
    ):
        super().__init__(message)
        self.outcome, self.error, self.message, self.level, self.extra = outcome, error, message, level, extra


class SystemClient:
    """Base of every connector: `system` names it, and each of its calls goes through `_call`."""

    system: str = "system"

    @cached_property
    def circuit(self) -> SystemCircuit:
        """The breaker of this system's circuit, shared with every client of it in every process."""
        return SystemCircuit(self.system)

    def _call(self, operation: str, send: Callable[[Timeout], Answered[T]], *, timeout: Timeout, **log: str) -> T:
        """`send(timeout)` through the pipeline; `log` goes into the call's log event."""
        where = {"system": self.system, "operation": operation}
        with tracing.traced("system", self.system, operation, kind=SpanKind.CLIENT, system=self.system):
            # Outside the circuit: a used-up budget is ours, not a sign of trouble in the system.
            left = time_left()
            if left is not None and left < 0.05:
                used_up = "the time allowed for this request's downstream calls is used up"
                raise SystemTimeout(used_up, request_sent=False, **where)
            if left is not None:
                timeout = (min(timeout[0], left), min(timeout[1], left))
            if (hold := quota_hold_of(self.system)) is not None:
                wait = hold.seconds_left()
                self._log(operation, "quota-hold", time.monotonic(), {})
                # Not sent at all: held back by us, as pacing holds a post back, not an attempt the system refused.
                message = f"not called: {self.system} is on hold for {wait:.0f} s more ({hold.reason})"
                raise SystemPaced(message, retry_after=wait, **where)
            return self.circuit.guard(lambda: self._attempt(where, send, timeout, log), operation=operation)

    def _attempt(
        self, where: dict[str, str], send: Callable[[Timeout], Answered[T]], timeout: Timeout, log: dict[str, str]
    ) -> T:
        started, operation = time.monotonic(), where["operation"]
        try:
            answered = send(timeout)
        except TransportError as failed:
            self._log(operation, failed.outcome, started, log, level=failed.level)
            raise failed.error(failed.message, **where, **failed.extra) from failed.__cause__
        self._log(operation, answered.outcome, started, {**log, **answered.details})
        reading = answered.reading
        if reading.hold:
            quota_hold(self.system, seconds=reading.hold_seconds or settings.QUOTA_HOLD_SECONDS, reason=reading.hold)
        if reading.error is None:
            return answered.result
        raise reading.error(
            reading.message,
            **where,
            status=answered.status,
            vendor_code=reading.vendor_code,
            body=answered.body,
            retry_after=reading.retry_after,
        )

    def _log(
        self, operation: str, outcome: str | int, started: float, log: dict[str, str | int], level: int = logging.INFO
    ) -> None:
        tracing.log_call(
            logger, system=self.system, operation=operation, outcome=outcome, started=started, level=level, **log
        )
