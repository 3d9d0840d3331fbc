"""Client Webhooks Process API: a REST client hears of its own reports' life at URLs it registered.

A listener on the incident news queues one delivery per endpoint and piece of news (CREATED: incident.created;
CHANGED: incident.updated, or incident.resolved when it becomes resolved), as work of kind WEBHOOK on its own
queue. The message (its id and body) is made once, when queued; each attempt signs it anew. Attempts are retried
with backoff for about a day (WEBHOOK_*); an address the guard refuses and a 410 Gone are not retried, and a 410
deactivates the endpoint.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers

from kernel.errors import ApplicationError, NotFoundError
from kernel.models import Work
from kernel.tracing import annotate
from kernel.work import Commit, Kind, register, work_create_for, work_enqueue, work_retry
from system_apis.errors import SystemAPIError
from system_apis.webhooks.client import WebhookClient, WebhookGone
from system_apis.webhooks.guard import literal_problem, url_problem
from system_apis.webhooks.types import WebhookMessage

from ..customer_incidents.selectors import incident_summary
from ..incident_events.news import IncidentNews, NewsKind, incident_news_listen
from ..models import IncidentEvent, IncidentRequest
from .models import ALL_EVENT_TYPES, EventType, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("process_apis.webhooks")

WEBHOOK = "webhook"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix the specification gives secrets, not one
# The specification asks for 24 to 64 random bytes.
SECRET_BYTES = 24
MAX_ENDPOINTS_PER_CLIENT = 10
REST_DATETIME = serializers.DateTimeField()


class InvalidWebhookError(ApplicationError):
    http_status = 400


class WebhookEndpointInactive(ApplicationError):
    """The endpoint was deactivated or deleted after the message was queued: nothing is sent."""


# --- endpoints --------------------------------------------------------------------------------------


def webhook_secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_url_check(url: str) -> None:
    """Refuse, with a message for the client, a URL a webhook may never go to. Its host's addresses are checked
    again at every delivery (a name may point elsewhere by then)."""
    problem = url_problem(url, allow_http=settings.WEBHOOK_ALLOW_HTTP)
    if problem is None and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        literal = literal_problem(url)
        problem = f"may not point at {literal}" if literal else None
    if problem:
        raise InvalidWebhookError(f"The webhook URL {problem}.", extra={"fields": {"url": [f"The URL {problem}."]}})


def webhook_endpoint_create(
    *, api_client_id: str, url: str, description: str = "", event_types: Iterable[str] | None = None
) -> WebhookEndpoint:
    """A new endpoint for the client, with a new secret (return it to the client once; it is not shown again)."""
    webhook_url_check(url)
    types = list(dict.fromkeys(event_types)) if event_types is not None else list(ALL_EVENT_TYPES)
    unknown = sorted(set(types) - set(ALL_EVENT_TYPES))
    if unknown or not types:
        message = f"Unknown event types: {', '.join(unknown)}." if unknown else "Name at least one event type."
        raise InvalidWebhookError(message, extra={"fields": {"event_types": [message]}})
    if webhook_endpoint_list(api_client_id=api_client_id).count() >= MAX_ENDPOINTS_PER_CLIENT:
        raise InvalidWebhookError(f"A client may register {MAX_ENDPOINTS_PER_CLIENT} webhooks at most.")
    return WebhookEndpoint.objects.create(
        api_client_id=api_client_id,
        url=url,
        description=description,
        event_types=types,
        secret=webhook_secret_new(),
    )


def webhook_endpoint_list(*, api_client_id: str) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(api_client_id=api_client_id, deleted_at__isnull=True)


def webhook_endpoint_get(*, api_client_id: str, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list(api_client_id=api_client_id).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFoundError(f"You have no webhook {endpoint_id}.")
    return endpoint


def webhook_endpoint_delete(*, api_client_id: str, endpoint_id: int) -> None:
    """Stop sending to the endpoint; its deliveries stay in the history (a queued one is not sent)."""
    endpoint = webhook_endpoint_get(api_client_id=api_client_id, endpoint_id=endpoint_id)
    endpoint.active, endpoint.deleted_at = False, timezone.now()
    endpoint.save(update_fields=["active", "deleted_at", "updated_at"])


def webhook_endpoint_rotate_secret(*, api_client_id: str, endpoint_id: int) -> WebhookEndpoint:
    """A new secret for the endpoint, used from the next attempt on (also for messages already queued)."""
    endpoint = webhook_endpoint_get(api_client_id=api_client_id, endpoint_id=endpoint_id)
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def webhook_endpoint_deactivate(*, endpoint_id: int, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(
        active=False, disabled_reason=reason[:200], updated_at=timezone.now()
    )


# --- news -> messages -------------------------------------------------------------------------------


@incident_news_listen
def _on_news(news: IncidentNews) -> None:
    if news.kind == NewsKind.CREATED:
        event_type = EventType.CREATED
    elif news.kind == NewsKind.CHANGED:
        event_type = EventType.RESOLVED if news.resolved else EventType.UPDATED
    else:
        return
    # A report from the web form has no client to tell: no query on its way.
    if news.request.api_client_id and news.event is not None:
        webhook_queue(news=news, event_type=event_type)


def webhook_queue(*, news: IncidentNews, event_type: str) -> list[WebhookDelivery]:
    """One delivery of `news` to each of the reporting client's endpoints that takes `event_type`, committed with
    the news (the (endpoint, news) pair is unique)."""
    request, event = news.request, news.event
    endpoints = [
        endpoint
        for endpoint in webhook_endpoint_list(api_client_id=request.api_client_id).filter(active=True)
        if endpoint.receives(event_type)
    ]
    if not endpoints:
        return []
    payload = webhook_payload(request=request, event_type=event_type, at=event.at, changes=news.changes)
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery(
            endpoint=endpoint,
            request=request,
            event=event,
            event_type=event_type,
            message_id=f"msg_{secrets.token_urlsafe(18)}",
            payload=payload,
        )
        work_create_for(
            delivery, "work", kind=WEBHOOK, subject=f"{event_type} {request.reference}", trace_id=request.trace_id
        )
        deliveries.append(delivery)
    return deliveries


# What a client sees of its report: the fields of GET /api/v1/incidents/<reference>.
REPORT_FIELDS = (
    "reference",
    "status",
    "servicenow_number",
    "servicenow_state",
    "state_as_of",
    "resolution_code",
    "resolution_notes",
    "priority",
    "category",
    "urgency",
    "short_description",
    "created_at",
)
CUSTOMER_FIELDS = ("display_name", "email", "is_new")


def webhook_payload(
    *, request: IncidentRequest, event_type: str, at: datetime, changes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The message, as Standard Webhooks has it: `type`, `timestamp` and `data`; `data` is the report as
    GET /api/v1/incidents/<reference> shows it and, for a change, what changed."""
    summary = incident_summary(request)
    data: dict[str, Any] = {name: getattr(summary, name) for name in REPORT_FIELDS}
    data["state_as_of"], data["created_at"] = _iso(summary.state_as_of), _iso(summary.created_at)
    data["customer"] = {name: summary.customer[name] for name in CUSTOMER_FIELDS}
    if event_type != EventType.CREATED:
        data["changes"] = {name: dict(change) for name, change in (changes or {}).items()}
    return {"type": event_type, "timestamp": _iso(at), "data": data}


def _iso(value: datetime | None) -> str | None:
    """A time as the REST API writes it (the same DRF field: ISO 8601 in the current time zone, UTC as Z)."""
    return None if value is None else REST_DATETIME.to_representation(value)


def webhook_body(delivery: WebhookDelivery) -> bytes:
    """The bytes sent and signed, the same on every attempt."""
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


# --- sending ------------------------------------------------------------------------------------------


def _deliver(work: Work) -> Commit:
    """Send the delivery (the work of kind WEBHOOK)."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "request").get(work=work)
    annotate(reference=delivery.request.reference)
    endpoint = delivery.endpoint
    if not endpoint.active or endpoint.deleted_at is not None:
        raise WebhookEndpointInactive(f"webhook endpoint {endpoint.pk} is no longer active: not sent")
    message = WebhookMessage(
        url=endpoint.url, secret=endpoint.secret, message_id=delivery.message_id, body=webhook_body(delivery)
    )
    try:
        answer = WebhookClient.from_settings().send(message)
    except SystemAPIError as exc:
        if exc.status is not None:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                response_status=exc.status, response_excerpt=(exc.body or "")[:200]
            )
        if isinstance(exc, WebhookGone):
            webhook_endpoint_deactivate(
                endpoint_id=endpoint.pk, reason=f"The receiver answered 410 Gone to {delivery}."
            )
        # A receiver's Retry-After may not stretch the day of retries.
        if exc.retry_after is not None:
            exc.retry_after = min(exc.retry_after, settings.WEBHOOK_RETRY_CAP)
        raise

    def record_delivered() -> None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            response_status=answer.status, response_excerpt=answer.excerpt[:200], delivered_at=timezone.now()
        )
        IncidentEvent.objects.create(
            request_id=delivery.request_id,
            kind="webhook_delivered",
            detail={"endpoint": endpoint.pk, "type": delivery.event_type, "message_id": delivery.message_id},
        )

    return record_delivered


def _failed_for_good(work: Work) -> None:
    delivery = WebhookDelivery.objects.get(work=work)
    IncidentEvent.objects.create(
        request_id=delivery.request_id,
        kind="webhook_failed",
        detail={"endpoint": delivery.endpoint_id, "message_id": delivery.message_id, "error": work.last_error},
    )


def webhook_delivery_retry(*, delivery_id: int) -> WebhookDelivery:
    """Staff's retry of a failed delivery: a fresh round of bounded attempts, the same message id."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_related("work").select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFoundError(f"No webhook delivery {delivery_id}.")
        if delivery.state != WebhookDelivery.State.FAILED:
            raise ApplicationError(
                f"Only a failed delivery can be retried; this one is {delivery.get_state_display().lower()}.",
                extra={"state": delivery.state},
            )
        work_retry(delivery.work)
        transaction.on_commit(lambda: work_enqueue(delivery.work))
    return delivery


register(
    Kind(
        name=WEBHOOK,
        task_name="process_apis.deliver_webhook",
        run=_deliver,
        span=("process", "client_webhooks", "deliver"),
        on_failed=_failed_for_good,
        max_attempts_setting="WEBHOOK_MAX_ATTEMPTS",
        retry_base_setting="WEBHOOK_RETRY_BASE",
        retry_cap_setting="WEBHOOK_RETRY_CAP",
        lease_setting="WEBHOOK_CLAIM_LEASE",
    )
)
