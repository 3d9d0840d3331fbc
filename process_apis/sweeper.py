"""The sweeper: re-enqueues what a broker outage, a lost message or a killed worker left unfinished.

Run every SWEEPER_INTERVAL seconds by Celery beat. It only enqueues: the tasks claim their record
before acting, so a task enqueued twice still acts once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .customer_incidents.services import incident_sync_enqueue
from .models import IncidentRequest, NotificationDelivery
from .notifications.services import notification_enqueue

logger = logging.getLogger("process_apis.sweeper")

BATCH = 500
State = NotificationDelivery.State


def sweep_unfinished_work(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    # Work younger than this is still on its way through the normal path.
    settled = now - timedelta(seconds=settings.SWEEPER_GRACE)
    notification_lease = now - timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE)
    sync_lease = now - timedelta(seconds=settings.SERVICENOW_SYNC_LEASE)

    deliveries = NotificationDelivery.objects.filter(
        Q(state=State.PENDING, updated_at__lt=settled)
        | Q(state=State.RETRYING, next_attempt_at__lt=settled)
        | Q(state=State.SENDING, claimed_at__lt=notification_lease)
    ).values_list("pk", flat=True)[:BATCH]
    reports = (
        IncidentRequest.objects.filter(sync_state=IncidentRequest.SyncState.PENDING)
        .filter(Q(next_sync_at__lt=settled) | Q(next_sync_at__isnull=True, updated_at__lt=settled))
        .filter(Q(sync_claimed_at__isnull=True) | Q(sync_claimed_at__lt=sync_lease))
        .values_list("pk", flat=True)[:BATCH]
    )
    swept = {
        "notifications": sum(notification_enqueue(delivery_id=pk) for pk in deliveries),
        "servicenow_syncs": sum(incident_sync_enqueue(request_id=pk) for pk in reports),
    }
    if any(swept.values()):
        logger.info("sweeper re-enqueued %s", swept)
    return swept
