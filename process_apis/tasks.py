"""The sweeper of unfinished background work, run by beat (the kinds of work are `kernel.work`'s, registered
by the services that own them)."""

from celery import shared_task

from kernel.work import work_sweep

from .incident_events.services import incident_events_poll, incident_events_purge


@shared_task(name="process_apis.sweep_unfinished_work")
def sweep() -> dict[str, int]:
    return work_sweep()


@shared_task(name="process_apis.poll_servicenow")
def poll_servicenow() -> int:
    return incident_events_poll()


@shared_task(name="process_apis.purge_applied_servicenow_events")
def purge_applied_servicenow_events() -> int:
    return incident_events_purge()
