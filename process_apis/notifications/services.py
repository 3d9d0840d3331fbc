"""Notifications Process API: tell the team on Slack, asynchronously, exactly when it is safe.

A delivery is queued in the same transaction as what it announces, as work of kind NOTIFICATION, and handed to
Celery only after that commits (`kernel.work`: claimed before posting, so two workers never post the same
delivery; a claim older than the lease is taken over, which is what keeps a killed worker's message from
being lost, and the one window where Slack can see a message twice).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kernel.errors import ApplicationError, NotFoundError
from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Commit, Kind, Paced, register, work_create_for, work_enqueue, work_retry
from system_apis.errors import SystemPaced
from system_apis.slack.client import SlackClient
from system_apis.slack.types import Notice

from ..customers.types import LEGACY_DB, SALESFORCE, Customer
from ..incident_events.news import IncidentNews, NewsKind, incident_news_listen
from ..models import Category, Channel, IncidentEvent, IncidentRequest, NotificationDelivery, Urgency
from ..service_incidents.types import priority_text

logger = logging.getLogger("process_apis.notifications")

State = NotificationDelivery.State
NOTIFICATION = "notification"
SOURCE_LABELS = {LEGACY_DB: "legacy DB", SALESFORCE: "Salesforce"}


@incident_news_listen
def _on_news(news: IncidentNews) -> None:
    if news.kind == NewsKind.CREATED:
        notification_queue(request=news.request)


def notification_queue(*, request: IncidentRequest) -> NotificationDelivery:
    """Record the new-incident notice for `request`, once: it is enqueued when the transaction commits.

    Queued when the report's incident is recorded, which happens once per report (under its work's claim);
    the unique (request, kind) constraint refuses a second notice should that ever change.
    """
    delivery = NotificationDelivery(
        request=request, kind=NotificationDelivery.NEW_INCIDENT, channel=settings.SLACK_CHANNEL
    )
    work_create_for(delivery, "work", kind=NOTIFICATION, subject=request.reference, trace_id=request.trace_id)
    request.notification_added(delivery)
    return delivery


def _deliver(work: Work) -> Commit:
    """Post the delivery (the work of kind NOTIFICATION)."""
    delivery = NotificationDelivery.objects.select_related("request").get(work=work)
    annotate(reference=delivery.request.reference)
    notice = new_incident_notice(delivery.request)
    try:
        posted = SlackClient.from_settings().post_notice(notice, channel=delivery.channel)
    except SystemPaced as paced:
        # Held back to pace the channel: no attempt spent, run again at its slot.
        raise Paced(paced.retry_after or 1.0) from paced

    def record_sent() -> None:
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            slack_channel_id=posted.channel, slack_ts=posted.ts, sent_at=timezone.now(), updated_at=timezone.now()
        )
        IncidentEvent.objects.create(
            request_id=delivery.request_id,
            kind="notification_sent",
            detail={"channel": posted.channel, "ts": posted.ts},
        )
        logger.info("notification %s sent to %s as %s", delivery.pk, posted.channel, posted.ts)

    return record_sent


def _failed_for_good(work: Work) -> None:
    delivery = NotificationDelivery.objects.get(work=work)
    IncidentEvent.objects.create(
        request_id=delivery.request_id, kind="notification_failed", detail={"error": work.last_error}
    )


def notification_resend(*, delivery_id: int) -> NotificationDelivery:
    """Staff's retry of a failed delivery: a fresh round of bounded attempts."""
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_related("work").select_for_update().filter(pk=delivery_id).first()
        )
        if delivery is None:
            raise NotFoundError(f"No notification {delivery_id}.")
        if delivery.state != State.FAILED:
            raise ApplicationError(
                f"Only a failed notification can be re-sent; this one is {delivery.get_state_display().lower()}.",
                extra={"state": delivery.state},
            )
        work_retry(delivery.work)
        IncidentEvent.objects.create(request_id=delivery.request_id, kind="notification_resend_requested")
        transaction.on_commit(lambda: work_enqueue(delivery.work))
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


def _known_in(customer: Customer) -> str:
    found = ", ".join(SOURCE_LABELS[source] for source in customer.found_in) or "new customer"
    missing = ", ".join(SOURCE_LABELS[source] for source in customer.unavailable)
    return f"{found} ({missing} unavailable)" if missing else found


register(
    Kind(
        name=NOTIFICATION,
        task_name="process_apis.deliver_notification",
        run=_deliver,
        span=("process", "notifications", "deliver"),
        on_failed=_failed_for_good,
        max_attempts_setting="NOTIFICATION_MAX_ATTEMPTS",
        retry_base_setting="NOTIFICATION_RETRY_BASE",
        retry_cap_setting="NOTIFICATION_RETRY_CAP",
        lease_setting="NOTIFICATION_CLAIM_LEASE",
        # The channel's pace: a burst waits in the Slack worker instead of being held back (and run again) post by post.
        per_second_setting="SLACK_POSTS_PER_SECOND",
    )
)
