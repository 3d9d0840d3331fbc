"""Slack rate limiting and refusing: posted once after the wait Slack asked for, or failed fast for staff."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kernel.models import Work
from kernel.work import work_enqueue, work_sweep
from process_apis.incident_events.services import incident_event_receive
from process_apis.models import IncidentRequest
from sandbox.slack.models import Message as SlackMessage
from tests.faults.conftest import PROMPT_SECONDS

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


def test_slack_429_with_retry_after_is_posted_once_after_the_wait(hub):
    """Mechanism: a retryable Slack failure is recorded with its next attempt no sooner than Retry-After
    (backoff_delay's floor), and a delivery is only claimed once it is due.

    Test settings make the plain backoff 10-50 ms and Celery runs the retry at once (eagerly): without the
    Retry-After floor that retry would be due and post within the report's own request, long before the
    2 s Slack asked for (a message before the wait, next_attempt_at under 2 s after the failure).
    """
    hub.set_faults("slack", rate_limit_next=1, retry_after=2)

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    assert reported.seconds < PROMPT_SECONDS
    request = IncidentRequest.objects.get(reference=reported.body["reference"])
    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts) == ("retrying", 1)
    assert "HTTP 429" in delivery.work.last_error and "ratelimited" in delivery.work.last_error
    failed_at = delivery.updated_at  # written with next_attempt_at, in the same UPDATE, as the 429 came back
    assert delivery.work.next_attempt_at - failed_at >= timedelta(seconds=2)
    assert list(delivery.work.history.values_list("number", "outcome")) == [(1, "retrying")]
    assert not SlackMessage.objects.exists()
    assert hub.requests_seen("slack") == 1

    # Run again before it is due (as a duplicate task or an impatient worker would): Slack is left alone.
    work_enqueue(delivery.work)
    assert "notification" not in work_sweep()
    assert hub.requests_seen("slack") == 1

    time.sleep(max(0.0, (delivery.work.next_attempt_at - timezone.now()).total_seconds()))
    work_enqueue(delivery.work)

    message = SlackMessage.objects.get()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.work.attempts, delivery.work.last_error) == ("sent", 2, "")
    assert (delivery.slack_channel_id, delivery.slack_ts) == (message.channel_id, message.ts)
    assert message.posted_at - failed_at >= timedelta(seconds=2)
    assert list(delivery.work.history.values_list("number", "outcome")) == [(1, "retrying"), (2, "done")]
    assert hub.requests_seen("slack") == 2

    work_enqueue(delivery.work)
    assert "notification" not in work_sweep()
    assert SlackMessage.objects.count() == 1
    assert hub.requests_seen("slack") == 2


def test_slack_ok_false_channel_not_found_fails_fast_after_one_attempt_and_shows_staff_why(hub, settings, admin_client):
    """Mechanism: Slack's logical errors (HTTP 200, ok: false) are classified, and channel_not_found is not
    retryable: the delivery is marked failed at once, with the error, instead of being retried.

    Without it the delivery would be retried (test settings make the backoff 10-50 ms, so Celery's eager
    retries reach Slack again: attempts and requests_seen above 1), or the ok: false answer would be taken
    as sent (state "sent", no error recorded).
    """
    settings.SLACK_CHANNEL = "#no-such-channel"

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    assert reported.seconds < PROMPT_SECONDS
    request = IncidentRequest.objects.get(reference=reported.body["reference"])
    assert request.sync_state == "created"
    delivery = request.notifications.get()
    assert (delivery.channel, delivery.state, delivery.work.attempts, delivery.work.next_attempt_at) == (
        "#no-such-channel",
        "failed",
        1,
        None,
    )
    assert delivery.work.last_error.startswith("slack.post_message (HTTP 200) [channel_not_found]: ")
    assert list(delivery.work.history.values_list("number", "outcome", "error")) == [
        (1, "failed", delivery.work.last_error)
    ]
    assert request.events.get(kind="notification_failed").detail == {"error": delivery.work.last_error}
    assert not SlackMessage.objects.exists()
    assert hub.requests_seen("slack") == 1

    # Nothing picks it up again on its own: only staff's re-send does.
    assert work_sweep() == {}
    work_enqueue(delivery.work)
    assert hub.requests_seen("slack") == 1

    page = admin_client.get("/admin/process_apis/notificationdelivery/?state__exact=failed")

    assert page.status_code == 200
    assert request.reference in page.content.decode()
    assert "channel_not_found" in page.content.decode()


def test_changes_pushed_twice_and_out_of_order_while_slack_is_down_make_one_reply_in_the_thread_later(hub, settings):
    """Mechanism: a change is applied once (sys_mod_count), so it queues one reply; the reply's work survives Slack's
    outage and posts in the thread of the report's first message once Slack is back, then rewrites that message.

    Without it a duplicated push would be a second reply, the older push a reply that goes back in time, and the
    outage would lose the reply (or post it again on every retry).
    """
    settings.NOTIFICATION_RETRY_BASE = settings.NOTIFICATION_RETRY_CAP = 30
    reported = hub.report()
    request = IncidentRequest.objects.get(reference=reported.body["reference"])
    first = SlackMessage.objects.get()
    hub.set_faults("slack", error_rate=1.0, error_status=503)

    def pushed(mod_count: int, state: str) -> dict:
        return {
            "sys_id": request.servicenow_sys_id,
            "number": request.servicenow_number,
            "state": state,
            "sys_mod_count": str(mod_count),
            "sys_updated_on": "2026-12-01 10:00:05",
            "correlation_id": request.reference,
        }

    for body in (pushed(5, "2"), pushed(5, "2"), pushed(4, "3")):
        incident_event_receive(record=body, trace_id="sn-push")

    [reply] = request.notifications.filter(kind="state_change")
    assert (reply.state, reply.work.attempts, reply.slack_ts) == ("retrying", 1, "")
    assert SlackMessage.objects.count() == 1
    seen = hub.requests_seen("slack")

    hub.set_faults("slack", error_rate=0.0)
    Work.objects.filter(pk=reply.work_id).update(next_attempt_at=timezone.now())
    work_enqueue(reply.work)

    posted = SlackMessage.objects.exclude(pk=first.pk).get()
    assert (posted.channel_id, posted.thread_ts) == (first.channel_id, first.ts)
    assert posted.text == f"{request.servicenow_number} is now *In Progress* (was New)"
    first.refresh_from_db()
    assert first.edited_at is not None
    assert first.blocks[0]["text"]["text"].startswith(f"[In Progress] {request.servicenow_number} · ")
    reply.refresh_from_db()
    reply.work.refresh_from_db()
    assert (reply.state, reply.work.attempts, reply.slack_ts) == ("sent", 2, posted.ts)
    assert hub.requests_seen("slack") == seen + 2  # the reply, the update

    work_enqueue(reply.work)
    assert "notification" not in work_sweep()
    assert SlackMessage.objects.count() == 2
