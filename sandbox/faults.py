"""Fault injection for the stand-ins: latency, errors, 429 with Retry-After, hangs."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

from django.db import connections
from django.db.models import F
from django.http import HttpRequest, HttpResponse

from .models import SYSTEMS, Fault


class VendorFaultAnswers(Protocol):
    """How a vendor says "error" and "slow down" on the wire."""

    def error(self, status: int) -> HttpResponse: ...

    def rate_limited(self, retry_after: int) -> HttpResponse: ...


class FaultSettingsError(ValueError):
    pass


def with_faults(system: str, answers: VendorFaultAnswers) -> Callable:
    """Wrap a stand-in view so that the system's current fault settings apply to it."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            fault = Fault.for_system(system)
            Fault.objects.filter(pk=fault.pk).update(requests_seen=F("requests_seen") + 1)
            if fault.latency_ms:
                wait_released(fault.latency_ms / 1000)
            hang = fault.take("hang_next")
            if hang and fault.hang_phase == Fault.HANG_BEFORE:
                wait_released(fault.hang_seconds)
            if fault.take("rate_limit_next"):
                return answers.rate_limited(fault.retry_after)
            if fault.take("fail_next") or (fault.error_rate and random.random() < fault.error_rate):
                return answers.error(fault.error_status)
            response = view(request, *args, **kwargs)
            if hang and fault.hang_phase == Fault.HANG_AFTER:
                wait_released(fault.hang_seconds)
            return response

        return wrapped

    return decorate


def wait_released(seconds: float) -> None:
    """A slow vendor: this thread waits, and gives its pooled database connection back meanwhile."""
    release_db_connections()
    time.sleep(seconds)


def release_db_connections() -> None:
    """Give this thread's pooled database connections back before it waits (on a timer or on another server), so
    that the sandbox's pool serves every thread however many are waiting (the next query borrows one again)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and getattr(connection, "pool", None) and not connection.in_atomic_block:
            connection.close()


def update_faults(system: str, values: dict[str, Any]) -> Fault:
    """Set some of a system's fault settings; unknown names and bad values are refused."""
    if system not in SYSTEMS:
        raise FaultSettingsError(f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
    unknown = sorted(set(values) - set(Fault.SETTABLE))
    if unknown:
        raise FaultSettingsError(f"unknown setting(s) {', '.join(unknown)}; settable: {', '.join(Fault.SETTABLE)}")
    misplaced = sorted(set(values) & set(Fault.EVENT_KNOBS)) if system != "servicenow" else []
    if misplaced:
        raise FaultSettingsError(f"{', '.join(misplaced)}: only ServiceNow sends events")
    misplaced = sorted(set(values) & set(Fault.MAIL_KNOBS)) if system != "mail" else []
    if misplaced:
        raise FaultSettingsError(f"{', '.join(misplaced)}: only the SMTP server (mail) has it")
    misplaced = sorted(set(values) & set(Fault.BULK_KNOBS)) if system != "salesforce" else []
    if misplaced:
        raise FaultSettingsError(f"{', '.join(misplaced)}: only Salesforce has bulk jobs")
    misplaced = sorted(set(values) & set(Fault.NOT_FOR_MAIL)) if system == "mail" else []
    if misplaced:
        raise FaultSettingsError(f"{', '.join(misplaced)}: the SMTP server (mail) has no such knob")
    fault = Fault.for_system(system)
    for name, value in values.items():
        setattr(fault, name, _checked(name, value))
    fault.save()
    return fault


def reset_faults(system: str) -> Fault:
    if system not in SYSTEMS:
        raise FaultSettingsError(f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
    Fault.objects.filter(system=system).delete()
    return Fault.for_system(system)


def _checked(name: str, value: Any) -> Any:
    if name == "down":
        if value in (True, False, 0, 1, "true", "false", "1", "0"):
            return value in (True, 1, "true", "1")
        raise FaultSettingsError("down must be true or false")
    if name == "hang_phase":
        if value not in (Fault.HANG_BEFORE, Fault.HANG_AFTER):
            raise FaultSettingsError("hang_phase must be 'before' or 'after'")
        return value
    try:
        number = float(value) if name in ("error_rate", "hang_seconds", "bulk_poll_hang_seconds") else int(value)
    except (TypeError, ValueError):
        raise FaultSettingsError(f"{name} must be a number, not {value!r}") from None
    if isinstance(value, bool) or number < 0:
        raise FaultSettingsError(f"{name} must be a non-negative number")
    if name == "error_rate" and number > 1:
        raise FaultSettingsError("error_rate is a fraction between 0 and 1")
    if name == "error_status" and not 400 <= number <= 599:
        raise FaultSettingsError("error_status must be an HTTP error status (400-599)")
    return number
