"""Celery tasks of the Process APIs: they take ids, not payloads, and are safe to run twice."""

from celery import shared_task

from .customer_incidents.services import incident_sync_by_id
from .notifications.services import notification_deliver
from .sweeper import sweep_unfinished_work


@shared_task(name="process_apis.deliver_notification", bind=True, acks_late=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> None:  # noqa: ANN001
    # The number of attempts is bounded by the delivery record, not by Celery's own counter.
    retry_in = notification_deliver(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="process_apis.sync_incident", acks_late=True)
def sync_incident(request_id: int) -> None:
    # A failed attempt schedules the next one itself (the schedule lives on the record).
    incident_sync_by_id(request_id=request_id)


@shared_task(name="process_apis.sweep_unfinished_work")
def sweep() -> dict[str, int]:
    return sweep_unfinished_work()
