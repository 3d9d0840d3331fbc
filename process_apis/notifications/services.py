"""Notifications Process API: tell the team on Slack, asynchronously, exactly when it is safe.

A delivery is queued in the same transaction as what it announces, as work of kind NOTIFICATION, and handed to
Celery only after that commits (`kernel.work`: claimed before posting, so two workers never post the same
delivery; a claim older than the lease is taken over, which is what keeps a killed worker's message from
being lost, and the one window where Slack can see a message twice).

Two kinds of delivery: the new-incident notice (once per report) and, for each change ServiceNow makes to the
incident's state, assignment or resolution, a reply in the thread of that notice; after each reply the notice
itself is rewritten (`chat.update`) to show the incident as it now is.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kernel.db import get_with_related, update_then_insert
from kernel.errors import ApplicationError, NotFoundError
from kernel.models import Work
from kernel.tracing import annotate, current_correlation_id
from kernel.work import Commit, Kind, Paced, register, work_create_for, work_enqueue, work_retry
from system_apis.errors import SystemAPIError, SystemPaced
from system_apis.slack.client import SlackClient
from system_apis.slack.types import Notice

from ..customers.types import Customer, sources_text
from ..incident_events.news import IncidentNews, NewsKind, incident_news_listen
from ..models import Category, IncidentEvent, IncidentRequest, NotificationDelivery, Urgency
from ..service_incidents.types import priority_text

logger = logging.getLogger("process_apis.notifications")

State = NotificationDelivery.State
NOTIFICATION = "notification"
NEW_INCIDENT, STATE_CHANGE = NotificationDelivery.NEW_INCIDENT, NotificationDelivery.STATE_CHANGE
# The changes told in the thread; others (priority, work notes) ride along with them or stay in ServiceNow.
ANNOUNCED = frozenset({"state", "assigned_to", "close_code", "close_notes"})
# How long a reply waits for the message before it: above the engine's early tolerance (1 s), so a reply held back
# is not claimed again at once.
TURN_WAIT = 2.0
NEW_STATE = 1


@incident_news_listen
def _on_news(news: IncidentNews) -> None:
    if news.kind == NewsKind.CREATED:
        notification_queue(request=news.request)
    elif news.kind == NewsKind.CHANGED and news.event is not None and ANNOUNCED.intersection(news.changes):
        state_change_queue(request=news.request, event=news.event)


def notification_queue(*, request: IncidentRequest) -> NotificationDelivery:
    """Record the new-incident notice for `request`, once: it is enqueued when the transaction commits.

    Queued when the report's incident is recorded, which happens once per report (under its work's claim);
    the constraint of one new-incident notice per report refuses a second should that ever change.
    """
    delivery = NotificationDelivery(
        request=request, kind=NotificationDelivery.NEW_INCIDENT, channel=settings.SLACK_CHANNEL
    )
    work_create_for(delivery, "work", kind=NOTIFICATION, subject=request.reference, trace_id=request.trace_id)
    request.notification_added(delivery)
    return delivery


def state_change_queue(*, request: IncidentRequest, event: IncidentEvent) -> NotificationDelivery:
    """Record the thread reply announcing the change `event` records: enqueued when the transaction commits.

    Changes are applied once, in order, so replies are queued in the order of the changes; the unique
    (event, kind) constraint refuses a second reply to the same change.
    """
    delivery = NotificationDelivery(request=request, kind=STATE_CHANGE, event=event, channel=settings.SLACK_CHANNEL)
    state = event.detail.get("changes", {}).get("state", {}).get("to") or "changed"
    work_create_for(
        delivery,
        "work",
        kind=NOTIFICATION,
        subject=f"{request.reference} {state}",
        trace_id=current_correlation_id() or request.trace_id,
    )
    request.notification_added(delivery)
    return delivery


def _deliver(work: Work) -> Commit:
    """Post the delivery (the work of kind NOTIFICATION)."""
    # Every Slack post reads these: one join, its text written once.
    delivery = get_with_related(NotificationDelivery, "request", {"work": work.pk})
    if delivery is None:
        raise NotificationDelivery.DoesNotExist(f"no notification delivery is {work}")
    delivery.work = work
    annotate(reference=delivery.request.reference)
    if delivery.kind == STATE_CHANGE:
        return _deliver_state_change(work, delivery)
    notice = new_incident_notice(delivery.request)
    try:
        posted = SlackClient.from_settings().post_notice(notice, channel=delivery.channel)
    except SystemPaced as paced:
        # Held back to pace the channel: no attempt spent, run again at its slot.
        raise Paced(paced.retry_after or 1.0) from paced

    def record_sent() -> None:
        now = timezone.now()
        # The delivery marked sent and the report's timeline told, in one statement where the database can.
        update_then_insert(
            NotificationDelivery,
            {"pk": delivery.pk},
            {"slack_channel_id": posted.channel, "slack_ts": posted.ts, "sent_at": now, "updated_at": now},
            IncidentEvent(
                request_id=delivery.request_id,
                kind="notification_sent",
                detail={"channel": posted.channel, "ts": posted.ts},
            ),
            "request",
            linked_by="request",
        )
        logger.info("notification %s sent to %s as %s", delivery.pk, posted.channel, posted.ts)

    return record_sent


def _deliver_state_change(work: Work, delivery: NotificationDelivery) -> Commit:
    """Reply in the report's thread (once: the reply's ts is kept as soon as Slack answers), then rewrite the
    thread's first message to show the incident's current state."""
    client = SlackClient.from_settings()
    first = (
        NotificationDelivery.objects.select_related("work").filter(request=delivery.request, kind=NEW_INCIDENT).first()
    )
    if not delivery.slack_ts:
        _wait_for_turn(delivery, first)
        thread_ts = first.slack_ts if first is not None and first.slack_ts else None
        notice = state_change_notice(delivery, thread_ts=thread_ts)
        # Into the thread by the channel as configured (the first message's), so the channel's pace counts both.
        channel = first.channel if thread_ts else delivery.channel
        try:
            posted = client.post_notice(notice, channel=channel)
        except SystemPaced as paced:
            raise Paced(paced.retry_after or 1.0) from paced
        # Kept now, not with the attempt's outcome: should the update below fail, the retry must not reply again.
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            slack_channel_id=posted.channel, slack_ts=posted.ts, updated_at=timezone.now()
        )
        delivery.slack_channel_id, delivery.slack_ts = posted.channel, posted.ts
    detail = {"channel": delivery.slack_channel_id, "ts": delivery.slack_ts, "announces": STATE_CHANGE}
    if first is not None and first.slack_ts:
        detail["thread_ts"] = first.slack_ts
        try:
            _update_first_message(client, delivery, first)
        except SystemAPIError as exc:
            if exc.retryable and work.attempts < settings.NOTIFICATION_MAX_ATTEMPTS:
                raise
            # The reply is what counts: a first message that cannot be rewritten stays as it is.
            logger.warning("notification %s: the thread's first message was left as it is: %s", delivery.pk, exc)
            detail["update_error"] = str(exc)

    def record_sent() -> None:
        NotificationDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now(), updated_at=timezone.now())
        IncidentEvent.objects.create(request_id=delivery.request_id, kind="notification_sent", detail=detail)
        logger.info("notification %s sent to %s as %s", delivery.pk, delivery.slack_channel_id, delivery.slack_ts)

    return record_sent


def _update_first_message(client: SlackClient, delivery: NotificationDelivery, first: NotificationDelivery) -> None:
    """Rewrite the thread's first message with the report as it is now; left to a later reply that has gone
    already (its update shows a state at least as new)."""
    later_reply = NotificationDelivery.objects.filter(
        request=delivery.request_id, kind=STATE_CHANGE, pk__gt=delivery.pk
    ).exclude(slack_ts="")
    if later_reply.exists():
        return
    now = IncidentRequest.objects.get(pk=delivery.request_id)
    client.update_notice(new_incident_notice(now), channel_id=first.slack_channel_id, ts=first.slack_ts)


def _wait_for_turn(delivery: NotificationDelivery, first: NotificationDelivery | None) -> None:
    """Hold the reply back (no attempt spent) while the thread's first message, or an earlier reply to the same
    report, is still on its way; one that failed for good holds nothing back."""
    if first is not None and not first.slack_ts and first.work.state != Work.State.FAILED:
        raise Paced(_until_due(first.work))
    earlier = (
        NotificationDelivery.objects.select_related("work")
        .filter(request=delivery.request_id, kind=STATE_CHANGE, pk__lt=delivery.pk, slack_ts="")
        .exclude(work__state=Work.State.FAILED)
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        raise Paced(_until_due(earlier.work))


def _until_due(work: Work) -> float:
    if work.next_attempt_at is None:
        return TURN_WAIT
    return max(TURN_WAIT, (work.next_attempt_at - timezone.now()).total_seconds() + TURN_WAIT)


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
    """The thread's first message, as the report now stands (its state once ServiceNow has moved it on)."""
    customer = request.merged_customer
    priority = request.servicenow_priority
    number = request.servicenow_number or "New incident"
    title = (
        f"{number} · P{priority} · {request.short_description}"
        if priority
        else f"{number} · {request.short_description}"
    )
    state = request.servicenow_state_label
    if state and request.servicenow_state not in (None, NEW_STATE):
        title = f"[{state}] {title}"
    now = [("State", state)] if state else []
    if request.servicenow_assigned_to:
        now.append(("Assigned to", request.servicenow_assigned_to))
    if request.servicenow_close_code or request.servicenow_close_notes:
        resolution = ": ".join(part for part in (request.servicenow_close_code, request.servicenow_close_notes) if part)
        now.append(("Resolution", resolution))
    fields = [
        *now,
        ("Priority", priority_text(priority) or "not set"),
        ("Urgency", Urgency(request.urgency).label),
        ("Category", Category(request.category).label),
        ("Customer", f"{customer.display_name} ({request.email})"),
        ("Known in", _known_in(customer)),
        ("Reported via", request.consumer_label),
        *([("Filed by", request.filed_by)] if request.filed_by else []),
        ("Order", request.order_number or "none given"),
        ("Reference", request.reference),
    ]
    link = (
        (f"Open {request.servicenow_number} in ServiceNow", request.servicenow_url) if request.servicenow_url else None
    )
    context = f"Incident Hub · {request.reference}" + (f" · trace {request.trace_id}" if request.trace_id else "")
    return Notice(
        title=title,
        text=request.description or request.short_description,
        fields=tuple(fields),
        context=context,
        link=link,
    )


def state_change_notice(delivery: NotificationDelivery, *, thread_ts: str | None) -> Notice:
    """The reply announcing the change `delivery.event` records; a message of its own when there is no thread."""
    request = delivery.request
    detail = delivery.event.detail if delivery.event is not None else {}
    changes = detail.get("changes", {})
    number = request.servicenow_number or request.reference
    parts = []
    state = changes.get("state")
    if state:
        parts.append(f"{number} is now *{state['to']}*" + (f" (was {state['from']})" if state.get("from") else ""))
    else:
        parts.append(f"{number} was updated")
    if "assigned_to" in changes:
        assigned = changes["assigned_to"]["to"]
        parts.append(f"assigned to {assigned}" if assigned else "no longer assigned")
    if "priority" in changes and changes["priority"]["to"]:
        parts.append(f"priority {changes['priority']['to']}")
    text = " · ".join(parts)
    if thread_ts is None:
        text += f"\n(Posted on its own: the first message about {request.reference} could not be posted.)"
    fields = [
        (label, changes[name]["to"])
        for name, label in (("close_code", "Close code"), ("close_notes", "Close notes"))
        if name in changes and changes[name]["to"]
    ]
    by = detail.get("by")
    context = f"Incident Hub · {request.reference}" + (f" · changed by {by} in ServiceNow" if by else "")
    title = f"{number} · {state['to']}" if state else f"{number} · updated"
    return Notice(title=title, text=text, fields=tuple(fields), context=context, thread_ts=thread_ts)


def _known_in(customer: Customer) -> str:
    found = customer.found_in_text or "new customer"
    missing = sources_text(customer.unavailable)
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
