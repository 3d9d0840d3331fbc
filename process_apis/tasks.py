"""Celery tasks of the Process APIs: they take ids, not payloads, and are safe to run twice."""

from celery import shared_task

from .notifications.services import notification_deliver


@shared_task(name="process_apis.deliver_notification", bind=True, acks_late=True, max_retries=None)
def deliver_notification(self, delivery_id: int) -> None:  # noqa: ANN001
    # The number of attempts is bounded by the delivery record, not by Celery's own counter.
    retry_in = notification_deliver(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
