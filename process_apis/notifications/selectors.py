from django.db.models import QuerySet

from ..models import WORK_STATE, NotificationDelivery

LIMIT = 200


def delivery_list(*, reference: str | None = None, state: str | None = None) -> QuerySet[NotificationDelivery]:
    """The newest deliveries (at most LIMIT), optionally of one report or in one state."""
    deliveries = NotificationDelivery.objects.select_related("request", "work").order_by("-created_at")
    if reference:
        deliveries = deliveries.filter(request__reference=reference)
    if state:
        deliveries = deliveries.filter(work__state=WORK_STATE[state])
    return deliveries[:LIMIT]
