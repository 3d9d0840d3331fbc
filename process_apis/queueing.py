"""Handing work to Celery without ever failing the caller."""

import logging

from celery import Task

logger = logging.getLogger("process_apis.queueing")


def enqueue_or_leave_pending(task: Task, record_id: int, *, countdown: float | None, what: str) -> bool:
    """Enqueue `task(record_id)`; a broker outage leaves the record pending, for the sweeper to re-enqueue."""
    try:
        task.apply_async(args=[record_id], countdown=countdown)
    except Exception:  # the broker's own errors vary by transport; the record stays pending either way
        logger.exception("could not enqueue %s; it stays pending for the sweeper", what)
        return False
    return True
