"""Celery tasks of operations."""

from celery import shared_task

from .services import traced_calls_purge


# The name it had in the Process layer: beat's schedule and messages already queued carry it.
@shared_task(name="process_apis.purge_old_call_traces")
def purge_old_call_traces() -> int:
    return traced_calls_purge()
