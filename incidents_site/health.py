"""Health endpoints for a load balancer: is the process serving (live), and can it take reports (ready).

Readiness needs the default database, the cache and the Celery broker: without one of them a report
cannot be accepted safely, so the node answers 503 and the balancer sends traffic elsewhere. An open
circuit of a system of record does not make the node unready: reports are still accepted and wait for
that system, so it is reported as "degraded" with 200.

Answers are JSON, need no login and are never cached. They name each check and the type of a failure,
never its message: a driver's message can carry a URL with its password. Where the endpoint is reachable from
outside a private network, HEALTH_READY_DETAIL=false makes it answer its status alone.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from system_apis.circuit import CLOSED, circuit_statuses

logger = logging.getLogger("incidents_site.health")

# Seconds a broker connection may take: a balancer probes every few seconds and must not pile up.
BROKER_TIMEOUT = 2.0
FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not answer 1")


def check_cache() -> None:
    key, token = "health:probe", uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    if cache.get(key) != token:
        raise RuntimeError("the cache did not keep a value")


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})
    if url.startswith("filesystem://"):
        folders = [options[name] for name in FILESYSTEM_BROKER_FOLDERS if options.get(name)]
        if not folders:
            raise RuntimeError("the filesystem broker has no folders configured")
        for folder in folders:
            # A file is written, not os.access() asked: root passes os.access on a read-only mount.
            # The name starts with a dot, so a worker polling the folder never takes it for a message.
            descriptor, name = tempfile.mkstemp(prefix=".health-", dir=folder)
            os.close(descriptor)
            os.unlink(name)
        return
    if url.startswith(("redis://", "rediss://")):
        options.update(socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
    with Connection(url, connect_timeout=BROKER_TIMEOUT, transport_options=options) as connection:
        connection.ensure_connection(max_retries=0)


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "cache": check_cache, "broker": check_broker}


def run_check(name: str, check: Callable[[], None]) -> dict[str, object]:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:  # any failure of a dependency makes the node unready, whatever its type
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.warning("health: %s check failed (%s)", name, type(exc).__name__)
        return {"ok": False, "duration_ms": duration_ms, "error": type(exc).__name__}
    return {"ok": True, "duration_ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    checks = {name: run_check(name, check) for name, check in CHECKS.items()}
    failing = [name for name, result in checks.items() if not result["ok"]]
    # Read after the cache check: with the cache down every circuit reads "unknown", and the node is unready.
    circuits = {circuit.system: circuit.state for circuit in circuit_statuses()}
    if failing:
        status, code = "unavailable", 503
    elif any(state != CLOSED for state in circuits.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    if not settings.HEALTH_READY_DETAIL:
        return JsonResponse({"status": status}, status=code)
    return JsonResponse({"status": status, "failing": failing, "checks": checks, "circuits": circuits}, status=code)
