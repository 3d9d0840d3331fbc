"""Incident Events Process API: what happens to our incidents in ServiceNow, applied to the reports.

Changes arrive three ways: pushed by a business rule (`incident_event_receive`: stored as work of kind
SERVICENOW_EVENT, applied after the commit), pulled by a periodic poll (`incident_events_poll`), so a push that
never came is caught up, and read when staff ask (`incident_events_refresh`). Every way, `incident_change_apply`
applies a change once and in order: ServiceNow raises an incident's `sys_mod_count` with every update, and a
change whose count is not above the one stored is already applied, or older than what is.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from kernel.cache import cache_guarded
from kernel.errors import ApplicationError, DownstreamError, NotAcceptedError
from kernel.models import Work
from kernel.tracing import annotate, traced_operation
from kernel.work import Commit, Kind, register, work_create_for
from system_apis.servicenow.client import ServiceNowClient, UnreadableRecord, incident_change
from system_apis.servicenow.types import IncidentChange

from ..errors import downstream_errors
from ..models import IncidentEvent, IncidentRequest, ServiceNowEvent, ServiceNowPoll
from ..service_incidents.types import RESOLVED_STATES, priority_text
from .news import IncidentNews, NewsKind, incident_news_publish

logger = logging.getLogger("process_apis.incident_events")

SERVICENOW_EVENT = "servicenow_event"
PUSH, PULL, REFRESH = "push", "pull", "refresh"
# Our references, which ServiceNow keeps in the incident's correlation_id.
REFERENCE_PREFIX = "IH-"
POLL_NAME = "incidents"
CREATED = IncidentRequest.SyncState.CREATED
# An incident that is not ours is logged once a day at most, however often it is pushed or polled.
IGNORED_FOR = 24 * 3600


class InvalidEventError(ApplicationError):
    """The incident record sent cannot be applied, whatever happens later: the sender's error."""

    http_status = 400


class IncidentNotRecordedYet(ApplicationError):
    """The report's own ServiceNow attempt has not recorded the incident yet; it will, with its state then."""

    retryable = True


@traced_operation("process", "incident_events", "receive")
def incident_event_receive(*, record: dict[str, Any], trace_id: str = "") -> None:
    """Accept a pushed incident record: checked now (a record that cannot be read is refused), applied after the
    commit by the work it is stored with."""
    try:
        change = incident_change(record)
    except UnreadableRecord as exc:
        raise InvalidEventError(f"The incident cannot be read: {exc}.", extra={"error": str(exc)}) from exc
    subject = f"{change.number or change.sys_id} #{change.mod_count}"
    try:
        with transaction.atomic():
            work_create_for(
                ServiceNowEvent(payload=record), "work", kind=SERVICENOW_EVENT, subject=subject, trace_id=trace_id
            )
    except DatabaseError as exc:
        logger.exception("a pushed ServiceNow event could not be stored")
        raise NotAcceptedError("Incident Hub cannot store events right now; please send it again later.") from exc


def _apply_pushed(work: Work) -> Commit:
    """Apply a pushed change (the work of kind SERVICENOW_EVENT), in the transaction that marks the work done."""
    change = incident_change(ServiceNowEvent.objects.get(work=work).payload)
    # A change may overtake the answer to the create that made the incident: it waits for that answer to be
    # recorded (which then moves on only to "created"), so the create's older state never overwrites it.
    if change.correlation_id and (
        IncidentRequest.objects.filter(reference=change.correlation_id).exclude(sync_state=CREATED).exists()
    ):
        raise IncidentNotRecordedYet(f"{change.correlation_id}: its ServiceNow incident is not recorded yet")
    return lambda: incident_change_apply(change=change, path=PUSH)


@traced_operation("process", "incident_events", "apply")
def incident_change_apply(*, change: IncidentChange, path: str) -> bool:
    """Apply one change to its report, once; False when it was not applied (already applied, older than what is,
    or not one of our incidents)."""
    with transaction.atomic():
        # Locked: two workers applying changes to one report take turns, and the second sees the first's count.
        request = (
            IncidentRequest.objects.select_for_update()
            .filter(Q(servicenow_sys_id=change.sys_id) | Q(reference=change.correlation_id or None))
            .order_by("-servicenow_sys_id")
            .first()
        )
        if request is None or request.servicenow_sys_id not in ("", change.sys_id):
            _not_ours(change)
            return False
        annotate(reference=request.reference)
        if request.sync_state != CREATED:
            return False  # its own attempt records the incident as it then is
        if request.servicenow_mod_count is not None and change.mod_count <= request.servicenow_mod_count:
            return False
        was_resolved = request.servicenow_state in RESOLVED_STATES
        changed = _changes(request, change)
        request.servicenow_mod_count = change.mod_count
        request.servicenow_updated_at = change.updated_at or request.servicenow_updated_at
        request.servicenow_sys_id = change.sys_id
        request.servicenow_number = request.servicenow_number or change.number
        request.save(
            update_fields=[
                "servicenow_sys_id",
                "servicenow_number",
                "servicenow_state",
                "servicenow_state_label",
                "servicenow_priority",
                "servicenow_assigned_to",
                "servicenow_close_code",
                "servicenow_close_notes",
                "servicenow_mod_count",
                "servicenow_updated_at",
                "updated_at",
            ]
        )
        if changed or change.work_notes:
            event = IncidentEvent.objects.create(
                request=request,
                kind="servicenow_changed",
                detail={
                    "changes": changed,
                    "by": change.updated_by,
                    "at": change.updated_at.isoformat() if change.updated_at else None,
                    "path": path,
                    "sys_mod_count": change.mod_count,
                    **({"work_notes": change.work_notes} if change.work_notes else {}),
                },
            )
            resolved = not was_resolved and request.servicenow_state in RESOLVED_STATES
            incident_news_publish(
                IncidentNews(kind=NewsKind.CHANGED, request=request, event=event, changes=changed, resolved=resolved)
            )
    return True


@traced_operation("process", "incident_events", "refresh")
def incident_events_refresh(*, request: IncidentRequest) -> bool:
    """Staff's "refresh from ServiceNow": the incident as it stands now, applied as a change (once, in order, told
    to the listeners like any other); False when there was nothing new."""
    with downstream_errors("read the ServiceNow incident"):
        change = ServiceNowClient.from_settings().incident_as_change(request.servicenow_sys_id)
    return incident_change_apply(change=change, path=REFRESH)


def _changes(request: IncidentRequest, change: IncidentChange) -> dict[str, dict[str, Any]]:
    """Set on `request` what `change` says (a field the sender left out stays as it is); what changed, from->to."""
    changed = {}

    def take(name: str, field: str, new: Any, shown: Any = None, old_shown: Any = None) -> None:
        old = getattr(request, field)
        if new is None or new == old:
            return
        changed[name] = {"from": old_shown if old_shown is not None else old, "to": shown if shown is not None else new}
        setattr(request, field, new)

    if change.state is not None:
        label = request.servicenow_state_label or None
        take("state", "servicenow_state", int(change.state), change.state.label, label)
        request.servicenow_state_label = change.state.label
    take(
        "priority",
        "servicenow_priority",
        change.priority,
        priority_text(change.priority),
        priority_text(request.servicenow_priority),
    )
    take("assigned_to", "servicenow_assigned_to", change.assigned_to)
    take("close_code", "servicenow_close_code", change.close_code)
    take("close_notes", "servicenow_close_notes", change.close_notes)
    return changed


def _not_ours(change: IncidentChange) -> None:
    first_time = cache_guarded(
        lambda: cache.add(f"servicenow-not-ours:{change.sys_id}", 1, IGNORED_FOR), default=True, what="not-ours log"
    )
    if first_time:
        logger.info(
            "ServiceNow incident %s (%s, correlation_id %r) is not one of our reports: ignored",
            change.number or "?",
            change.sys_id,
            change.correlation_id,
        )


@traced_operation("process", "incident_events", "poll")
def incident_events_poll() -> int:
    """Read what changed in ServiceNow since the last poll (a few seconds more, so that a change on the boundary
    is not lost) and apply it, page by page; the watermark moves after each page. A ServiceNow outage ends the
    poll, logged, for the next one to try again. Returns how many changes were applied."""
    if not settings.SERVICENOW_POLL_SECONDS:
        return 0
    since = _watermark() - timedelta(seconds=settings.SERVICENOW_POLL_OVERLAP)
    applied = 0
    # The earliest change left for a report whose own create is not recorded yet: the watermark stays at it, so
    # the polls after read it again until the report takes it (its push may be lost too).
    held: datetime | None = None
    try:
        with downstream_errors("read the changed ServiceNow incidents"):
            pages = ServiceNowClient.from_settings().changed_incidents(
                correlation_prefix=REFERENCE_PREFIX, since=since, page_size=settings.SERVICENOW_POLL_PAGE_SIZE
            )
            for page in pages:
                for change in page:
                    if incident_change_apply(change=change, path=PULL):
                        applied += 1
                    elif change.updated_at and _awaits_its_create(change):
                        held = min(held or change.updated_at, change.updated_at)
                latest = max((change.updated_at for change in page if change.updated_at), default=None)
                _advance(min(latest, held) if latest and held else latest)
    except DownstreamError as exc:
        logger.warning("ServiceNow poll: %s; the next poll tries again", exc.message)
    return applied


def incident_events_purge(*, older_than_days: int | None = None) -> int:
    """Delete the pushed events applied (or ignored) more than SERVICENOW_EVENT_RETENTION_DAYS ago, with their work;
    what failed stays for staff to look at. Returns how many."""
    days = settings.SERVICENOW_EVENT_RETENTION_DAYS if older_than_days is None else older_than_days
    applied = ServiceNowEvent.objects.filter(
        work__state=Work.State.DONE, received_at__lt=timezone.now() - timedelta(days=days)
    )
    with transaction.atomic():
        work_ids = list(applied.values_list("work_id", flat=True))
        deleted, _ = ServiceNowEvent.objects.filter(work_id__in=work_ids).delete()
        Work.objects.filter(pk__in=work_ids).delete()
    return deleted


def _awaits_its_create(change: IncidentChange) -> bool:
    """The change is for a report whose own ServiceNow attempt is still under way (not failed for good)."""
    pending = IncidentRequest.SyncState.PENDING
    return IncidentRequest.objects.filter(reference=change.correlation_id or None, sync_state=pending).exists()


def _watermark() -> datetime:
    """Where the last poll got to; before the first, the oldest report (no incident of ours is older)."""
    polled = ServiceNowPoll.objects.filter(name=POLL_NAME).values_list("watermark", flat=True).first()
    if polled is not None:
        return polled
    oldest = IncidentRequest.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return oldest or timezone.now()


def _advance(to: datetime | None) -> None:
    """Move the watermark forward to `to`, never back (polls may overlap)."""
    if to is None:
        return
    _, created = ServiceNowPoll.objects.get_or_create(name=POLL_NAME, defaults={"watermark": to})
    if not created:
        ServiceNowPoll.objects.filter(name=POLL_NAME, watermark__lt=to).update(watermark=to)


register(
    Kind(
        name=SERVICENOW_EVENT,
        task_name="process_apis.apply_servicenow_event",
        run=_apply_pushed,
        span=("process", "incident_events", "apply_pushed"),
        max_attempts_setting="SERVICENOW_EVENT_MAX_ATTEMPTS",
        retry_base_setting="SERVICENOW_EVENT_RETRY_BASE",
        retry_cap_setting="SERVICENOW_EVENT_RETRY_CAP",
        lease_setting="SERVICENOW_EVENT_LEASE",
    )
)
