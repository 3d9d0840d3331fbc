"""Celery tasks of the Process APIs that are not kinds of work (those are `kernel.work`'s, registered by
their services): the sweeper of unfinished work and the call trace's purge, both run by beat."""

from celery import shared_task

from kernel.work import work_sweep

from .tracing.services import traced_calls_purge


@shared_task(name="process_apis.sweep_unfinished_work")
def sweep() -> dict[str, int]:
    return work_sweep()


@shared_task(name="process_apis.purge_old_call_traces")
def purge_old_call_traces() -> int:
    return traced_calls_purge()
