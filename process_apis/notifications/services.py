"""Notifications Process API: tell the team on Slack, asynchronously, exactly when it is safe.

A delivery is queued in the same transaction as what it announces and handed to Celery only after
that commits. Posting is claimed first (pending -> sending in one UPDATE), so two workers never post
the same delivery; a claim older than the lease is taken over, which is what keeps a killed worker's
message from being lost (and the one window where Slack can see a message twice).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kernel.errors import ApplicationError, NotFoundError
from kernel.retry import backoff_delay
from kernel.tracing import annotate, correlation, traced_operation
from system_apis.errors import SystemAPIError, SystemPaced
from system_apis.slack.client import SlackClient
from system_apis.slack.types import Notice, PostedMessage

from ..customers.types import LEGACY_DB, SALESFORCE, Customer
from ..models import (
    Category,
    Channel,
    IncidentEvent,
    IncidentRequest,
    NotificationAttempt,
    NotificationDelivery,
    Urgency,
)
from ..queueing import enqueue_or_leave_pending
from ..service_incidents.types import priority_text

logger = logging.getLogger("process_apis.notifications")

State = NotificationDelivery.State
# A retry may be run by Celery's countdown a moment before the recorded time on another host's clock.
EARLY_TOLERANCE = timedelta(seconds=1)
SOURCE_LABELS = {LEGACY_DB: "legacy DB", SALESFORCE: "Salesforce"}


def notification_queue(*, request: IncidentRequest) -> NotificationDelivery:
    """Record the new-incident notice for `request` and enqueue it once the transaction commits."""
    delivery, _ = NotificationDelivery.objects.get_or_create(
        request=request, kind=NotificationDelivery.NEW_INCIDENT, defaults={"channel": settings.SLACK_CHANNEL}
    )
    transaction.on_commit(lambda: notification_enqueue(delivery_id=delivery.pk))
    return delivery


def notification_enqueue(*, delivery_id: int, countdown: float | None = None) -> bool:
    """Hand the delivery to Celery; a broker outage leaves it pending instead of failing the caller."""
    from ..tasks import deliver_notification

    return enqueue_or_leave_pending(
        deliver_notification, delivery_id, countdown=countdown, what=f"notification {delivery_id}"
    )


@traced_operation("process", "notifications", "deliver")
def notification_deliver(*, delivery_id: int) -> float | None:
    """Post the delivery unless it is already done or being done.

    Returns the seconds to wait before the next attempt, or None when there is nothing more to do.
    """
    if not _claim(delivery_id):
        return None
    delivery = NotificationDelivery.objects.select_related("request").get(pk=delivery_id)
    annotate(reference=delivery.request.reference, attempt=delivery.attempts)
    with correlation(delivery.request.trace_id):
        return _deliver(delivery)


def _deliver(delivery: NotificationDelivery) -> float | None:
    started = time.monotonic()
    try:
        notice = new_incident_notice(delivery.request)
        posted = SlackClient.from_settings().post_notice(notice, channel=delivery.channel)
    except SystemPaced as exc:
        return _reschedule_for_slot(delivery, exc)
    except SystemAPIError as exc:
        return _record_failure(delivery, exc, started)
    except Exception as exc:  # a bug: recorded as failed for staff to see, never left claimed as "sending"
        logger.exception("notification %s could not be sent", delivery.pk)
        bug = SystemAPIError(f"{type(exc).__name__}: {exc}", system="incident_hub", operation="build_notice")
        return _record_failure(delivery, bug, started)
    _record_sent(delivery, posted, started)
    return None


def notification_resend(*, delivery_id: int) -> NotificationDelivery:
    """Staff's retry of a failed delivery: a fresh round of bounded attempts."""
    with transaction.atomic():
        delivery = NotificationDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFoundError(f"No notification {delivery_id}.")
        if delivery.state != State.FAILED:
            raise ApplicationError(
                f"Only a failed notification can be re-sent; this one is {delivery.get_state_display().lower()}.",
                extra={"state": delivery.state},
            )
        delivery.state = State.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = None
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
        IncidentEvent.objects.create(request_id=delivery.request_id, kind="notification_resend_requested")
        transaction.on_commit(lambda: notification_enqueue(delivery_id=delivery.pk))
    return delivery


def new_incident_notice(request: IncidentRequest) -> Notice:
    customer = request.merged_customer
    priority = request.servicenow_priority
    number = request.servicenow_number or "New incident"
    title = (
        f"{number} · P{priority} · {request.short_description}"
        if priority
        else f"{number} · {request.short_description}"
    )
    fields = [
        ("Priority", priority_text(priority) or "not set"),
        ("Urgency", Urgency(request.urgency).label),
        ("Category", Category(request.category).label),
        ("Customer", f"{customer.display_name} ({request.email})"),
        ("Known in", _known_in(customer)),
        ("Reported via", Channel(request.channel).label),
        ("Order", request.order_number or "none given"),
        ("Reference", request.reference),
    ]
    link = (
        (f"Open {request.servicenow_number} in ServiceNow", request.servicenow_url) if request.servicenow_url else None
    )
    context = f"Incident Hub · {request.reference}" + (f" · trace {request.trace_id}" if request.trace_id else "")
    return Notice(title=title, text=request.description, fields=tuple(fields), context=context, link=link)


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY_TOLERANCE)
    lease = timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE)
    claimable = (Q(state__in=[State.PENDING, State.RETRYING]) & due) | Q(
        state=State.SENDING, claimed_at__lt=now - lease
    )
    claimed = NotificationDelivery.objects.filter(claimable, pk=delivery_id).update(
        state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    return claimed == 1


def _record_sent(delivery: NotificationDelivery, posted: PostedMessage, started: float) -> None:
    with transaction.atomic():
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            state=State.SENT,
            slack_channel_id=posted.channel,
            slack_ts=posted.ts,
            sent_at=timezone.now(),
            last_error="",
            updated_at=timezone.now(),
        )
        NotificationAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, outcome="sent", duration_ms=_elapsed_ms(started)
        )
        IncidentEvent.objects.create(
            request_id=delivery.request_id,
            kind="notification_sent",
            detail={"channel": posted.channel, "ts": posted.ts},
        )
    logger.info("notification %s sent to %s as %s", delivery.pk, posted.channel, posted.ts)


def _reschedule_for_slot(delivery: NotificationDelivery, paced: SystemPaced) -> float:
    """Held back to pace the channel: back to pending until its slot, and not counted as an attempt."""
    wait = paced.retry_after or 1.0
    annotate(outcome="paced")
    now = timezone.now()
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        state=State.PENDING,
        attempts=F("attempts") - 1,
        claimed_at=None,
        next_attempt_at=now + timedelta(seconds=wait),
        updated_at=now,
    )
    logger.info("notification %s waits %.1f s for its slot in %s", delivery.pk, wait, delivery.channel)
    return wait


def _record_failure(delivery: NotificationDelivery, exc: SystemAPIError, started: float) -> float | None:
    retry = exc.retryable and delivery.attempts < settings.NOTIFICATION_MAX_ATTEMPTS
    delay = (
        backoff_delay(
            attempt=delivery.attempts,
            base=settings.NOTIFICATION_RETRY_BASE,
            cap=settings.NOTIFICATION_RETRY_CAP,
            retry_after=exc.retry_after,
        )
        if retry
        else None
    )
    annotate(outcome="retrying" if retry else "failed")
    now = timezone.now()
    with transaction.atomic():
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            state=State.RETRYING if retry else State.FAILED,
            last_error=str(exc),
            next_attempt_at=now + timedelta(seconds=delay) if delay is not None else None,
            updated_at=now,
        )
        NotificationAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            outcome="retrying" if retry else "failed",
            error=str(exc),
            duration_ms=_elapsed_ms(started),
        )
        if not retry:
            IncidentEvent.objects.create(
                request_id=delivery.request_id, kind="notification_failed", detail={"error": str(exc)}
            )
    logger.warning("notification %s attempt %s failed: %s", delivery.pk, delivery.attempts, exc)
    return delay


def _known_in(customer: Customer) -> str:
    found = ", ".join(SOURCE_LABELS[source] for source in customer.found_in) or "new customer"
    missing = ", ".join(SOURCE_LABELS[source] for source in customer.unavailable)
    return f"{found} ({missing} unavailable)" if missing else found


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
