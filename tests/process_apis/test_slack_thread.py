"""The incident's life in Slack: each change a reply in the thread of the report's first message, which is then
rewritten to show the incident as it now is; once per change, in order, whatever Slack does meanwhile."""

import json
from datetime import timedelta

import pytest
import responses
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.models import Work
from kernel.work import work_run
from process_apis.incident_events.services import PUSH, incident_change_apply, incident_event_receive
from process_apis.models import IncidentEvent, IncidentRequest, NotificationDelivery
from process_apis.notifications.services import notification_queue, state_change_queue
from system_apis.servicenow.client import incident_change
from tests.reports import stored_report
from tests.vendors import SLACK, SLACK_POST

pytestmark = pytest.mark.django_db

SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
SLACK_UPDATE = f"{SLACK}chat.update"
STATE_CHANGE = NotificationDelivery.STATE_CHANGE


class FakeSlack:
    """Slack's chat.postMessage and chat.update over `responses`: messages kept by ts, faults on demand."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.posts: list[dict] = []
        self.updates: list[dict] = []
        self.posts_down = 0
        self.updates_down = 0
        self.update_refusal = ""
        self.post_refusal = ""
        mock.add_callback(responses.POST, SLACK_POST, callback=self._post)
        mock.add_callback(responses.POST, SLACK_UPDATE, callback=self._update)

    def _post(self, request):
        if self.posts_down:
            self.posts_down -= 1
            return 503, {}, json.dumps({"ok": False, "error": "service_unavailable"})
        if self.post_refusal:
            return 200, {}, json.dumps({"ok": False, "error": self.post_refusal})
        ts = f"1700000000.{len(self.posts) + 1:06d}"
        self.posts.append({**json.loads(request.body), "ts": ts})
        return 200, {}, json.dumps({"ok": True, "channel": "C0INCIDENTS", "ts": ts})

    def _update(self, request):
        body = json.loads(request.body)
        if self.updates_down:
            self.updates_down -= 1
            return 503, {}, json.dumps({"ok": False, "error": "service_unavailable"})
        if self.update_refusal:
            return 200, {}, json.dumps({"ok": False, "error": self.update_refusal})
        if body["channel"] != "C0INCIDENTS" or body["ts"] not in [post["ts"] for post in self.posts]:
            return 200, {}, json.dumps({"ok": False, "error": "message_not_found"})
        self.updates.append(body)
        return 200, {}, json.dumps({"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body["text"]})

    def replies(self) -> list[dict]:
        return self.posts[1:]


@pytest.fixture
def slack(vendors) -> FakeSlack:
    return FakeSlack(vendors.mock)


@pytest.fixture
def report() -> IncidentRequest:
    return stored_report(
        sync_state="created",
        servicenow_sys_id=SYS_ID,
        servicenow_number="INC0010042",
        servicenow_state=1,
        servicenow_state_label="New",
        servicenow_priority=4,
        servicenow_mod_count=1,
    )


def announce(report, capture, *, run: bool = True) -> NotificationDelivery:
    """The report's new-incident notice, queued as its incident's creation queues it (and posted, if `run`)."""
    with capture(execute=run):
        with transaction.atomic():
            return notification_queue(request=report)


def record(report, mod_count: int, state: str, **fields) -> dict:
    return {
        "sys_id": SYS_ID,
        "number": "INC0010042",
        "state": state,
        "sys_mod_count": str(mod_count),
        "sys_updated_on": "2026-12-01 10:00:05",
        "sys_updated_by": "beth.anglin",
        "correlation_id": report.reference,
        **fields,
    }


def moved(report, capture, mod_count: int, state: str, **fields) -> None:
    with capture(execute=True):
        incident_change_apply(change=incident_change(record(report, mod_count, state, **fields)), path=PUSH)


def replies_of(report) -> list[NotificationDelivery]:
    return list(report.notifications.filter(kind=STATE_CHANGE).select_related("work").order_by("pk"))


def due_now(delivery: NotificationDelivery) -> None:
    Work.objects.filter(pk=delivery.work_id).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_state_change_is_one_reply_in_the_thread_and_one_update_of_the_first_message(
    slack, report, django_capture_on_commit_callbacks
):
    first = announce(report, django_capture_on_commit_callbacks)

    moved(
        report,
        django_capture_on_commit_callbacks,
        2,
        "2",
        assigned_to={"link": "https://x/api/now/table/sys_user/1", "value": "46d4", "display_value": "Beth <Anglin>"},
    )

    [reply] = slack.replies()
    assert reply["thread_ts"] == "1700000000.000001"
    assert reply["channel"] == "#incidents", "as the first message was posted: one pace for the channel"
    assert reply["text"] == "INC0010042 is now *In Progress* (was New) · assigned to Beth &lt;Anglin&gt;"
    assert reply["blocks"][0]["text"]["text"] == "INC0010042 · In Progress"
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == ("C0INCIDENTS", "1700000000.000001")
    assert update["blocks"][0]["text"]["text"] == "[In Progress] INC0010042 · P4 · Parcel never arrived"
    fields = [field["text"] for field in update["blocks"][1]["fields"]]
    assert fields[:2] == ["*State*\nIn Progress", "*Assigned to*\nBeth &lt;Anglin&gt;"]
    [delivery] = replies_of(report)
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("sent", 1, "1700000000.000002")
    assert delivery.event.kind == "servicenow_changed"
    sent = report.events.filter(kind="notification_sent").order_by("pk").last()
    assert sent.detail == {
        "channel": "C0INCIDENTS",
        "ts": "1700000000.000002",
        "announces": STATE_CHANGE,
        "thread_ts": "1700000000.000001",
    }
    first.refresh_from_db()
    assert first.slack_ts == "1700000000.000001"


def test_resolution_tells_the_close_code_and_notes_and_the_first_message_shows_them(
    slack, report, django_capture_on_commit_callbacks
):
    announce(report, django_capture_on_commit_callbacks)

    moved(
        report,
        django_capture_on_commit_callbacks,
        2,
        "6",
        close_code="Solved (Permanently)",
        close_notes="Parcel found at the <depot>.",
    )

    [reply] = slack.replies()
    assert reply["text"] == "INC0010042 is now *Resolved* (was New)"
    assert reply["blocks"][1]["fields"] == [
        {"type": "mrkdwn", "text": "*Close code*\nSolved (Permanently)", "verbatim": True},
        {"type": "mrkdwn", "text": "*Close notes*\nParcel found at the &lt;depot&gt;.", "verbatim": True},
    ]
    [update] = slack.updates
    assert "*Resolution*\nSolved (Permanently): Parcel found at the &lt;depot&gt;." in [
        field["text"] for field in update["blocks"][1]["fields"]
    ]


def test_duplicate_and_out_of_order_pushes_make_one_reply(slack, report, django_capture_on_commit_callbacks):
    announce(report, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        for body in (record(report, 3, "2"), record(report, 3, "2"), record(report, 2, "3")):
            incident_event_receive(record=body, trace_id="sn-push")

    assert [reply["text"] for reply in slack.replies()] == ["INC0010042 is now *In Progress* (was New)"]
    assert len(slack.updates) == 1
    assert [d.state for d in replies_of(report)] == ["sent"]


def test_a_change_to_a_field_nobody_is_told_of_queues_no_reply(slack, report, django_capture_on_commit_callbacks):
    announce(report, django_capture_on_commit_callbacks)

    moved(report, django_capture_on_commit_callbacks, 2, "1", priority="2")

    assert replies_of(report) == []
    assert slack.replies() == []


def test_a_reply_waits_for_the_first_message_without_spending_attempts_then_goes_in_its_thread(
    slack, report, django_capture_on_commit_callbacks
):
    first = announce(report, django_capture_on_commit_callbacks, run=False)

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    [delivery] = replies_of(report)
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("pending", 0, "")
    assert delivery.work.next_attempt_at > timezone.now()
    assert slack.posts == []

    work_run(work_id=first.work_id)
    due_now(delivery)
    work_run(work_id=delivery.work_id)

    assert [post.get("thread_ts") for post in slack.posts] == [None, "1700000000.000001"]
    assert len(slack.updates) == 1
    delivery.refresh_from_db()
    delivery.work.refresh_from_db()
    assert (delivery.state, delivery.work.attempts) == ("sent", 1)


def test_when_the_first_message_failed_for_good_the_change_is_posted_on_its_own(
    slack, report, django_capture_on_commit_callbacks
):
    slack.post_refusal = "not_in_channel"
    first = announce(report, django_capture_on_commit_callbacks)
    first.work.refresh_from_db()
    assert first.state == "failed"
    slack.post_refusal = ""

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    [post] = slack.posts
    assert "thread_ts" not in post
    assert post["channel"] == "#incidents"
    assert post["text"] == (
        "INC0010042 is now *In Progress* (was New)\n"
        f"(Posted on its own: the first message about {report.reference} could not be posted.)"
    )
    assert slack.updates == []
    assert [d.state for d in replies_of(report)] == ["sent"]


def test_replies_to_one_report_go_out_in_the_order_of_the_changes(slack, report, django_capture_on_commit_callbacks):
    first = announce(report, django_capture_on_commit_callbacks, run=False)
    moved(report, django_capture_on_commit_callbacks, 2, "2")
    moved(report, django_capture_on_commit_callbacks, 3, "6", close_notes="Found.")
    work_run(work_id=first.work_id)
    earlier, later = replies_of(report)

    due_now(later)
    work_run(work_id=later.work_id)
    assert len(slack.posts) == 1, "the later change waits for the earlier one's reply"
    due_now(earlier)
    work_run(work_id=earlier.work_id)
    due_now(later)
    work_run(work_id=later.work_id)

    assert [reply["blocks"][0]["text"]["text"] for reply in slack.replies()] == [
        "INC0010042 · In Progress",
        "INC0010042 · Resolved",
    ]
    # Each update shows the state at the time it ran: both the current one.
    assert [u["blocks"][0]["text"]["text"] for u in slack.updates] == [
        "[Resolved] INC0010042 · P4 · Parcel never arrived"
    ] * 2


@pytest.mark.parametrize("refusal", ["cant_update_message", "edit_window_closed", "message_not_found"])
def test_a_first_message_that_cannot_be_updated_is_left_and_the_reply_counts_once(
    slack, report, django_capture_on_commit_callbacks, refusal
):
    announce(report, django_capture_on_commit_callbacks)
    slack.update_refusal = refusal

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    assert len(slack.replies()) == 1
    [delivery] = replies_of(report)
    assert (delivery.state, delivery.work.attempts, delivery.work.last_error) == ("sent", 1, "")
    sent = report.events.filter(kind="notification_sent").order_by("pk").last()
    assert f"[{refusal}]" in sent.detail["update_error"]
    assert not report.events.filter(kind="notification_failed").exists()


def test_slack_down_during_a_change_delivers_the_reply_later_once(
    slack, report, settings, django_capture_on_commit_callbacks
):
    announce(report, django_capture_on_commit_callbacks)
    settings.NOTIFICATION_RETRY_BASE = settings.NOTIFICATION_RETRY_CAP = 30
    slack.posts_down = 1

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    [delivery] = replies_of(report)
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("retrying", 1, "")
    assert slack.replies() == [] and slack.updates == []

    due_now(delivery)
    work_run(work_id=delivery.work_id)
    work_run(work_id=delivery.work_id)

    assert len(slack.replies()) == 1
    assert len(slack.updates) == 1
    delivery.refresh_from_db()
    delivery.work.refresh_from_db()
    assert (delivery.state, delivery.work.attempts) == ("sent", 2)


def test_an_update_lost_to_an_outage_is_retried_without_replying_again(
    slack, report, settings, django_capture_on_commit_callbacks
):
    announce(report, django_capture_on_commit_callbacks)
    settings.NOTIFICATION_RETRY_BASE = settings.NOTIFICATION_RETRY_CAP = 30
    slack.updates_down = 1

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    [delivery] = replies_of(report)
    assert (delivery.state, delivery.slack_ts) == ("retrying", "1700000000.000002")
    assert "update_message" in delivery.work.last_error

    due_now(delivery)
    work_run(work_id=delivery.work_id)

    assert len(slack.replies()) == 1
    assert len(slack.updates) == 1
    delivery.refresh_from_db()
    delivery.work.refresh_from_db()
    assert (delivery.state, delivery.work.attempts) == ("sent", 2)
    assert report.events.filter(kind="notification_sent").count() == 2


def test_an_update_still_failing_on_the_last_attempt_is_given_up_and_the_reply_counts(
    slack, report, settings, django_capture_on_commit_callbacks
):
    announce(report, django_capture_on_commit_callbacks)
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    slack.updates_down = 5

    moved(report, django_capture_on_commit_callbacks, 2, "2")

    [delivery] = replies_of(report)
    assert (delivery.state, delivery.work.attempts) == ("sent", 2)
    assert len(slack.replies()) == 1
    assert slack.updates == []
    assert "service_unavailable" in report.events.filter(kind="notification_sent").last().detail["update_error"]


def test_the_same_change_cannot_be_announced_twice(report):
    event = IncidentEvent.objects.create(request=report, kind="servicenow_changed", detail={"changes": {}})
    state_change_queue(request=report, event=event)

    with pytest.raises(IntegrityError), transaction.atomic():
        state_change_queue(request=report, event=event)


def test_an_update_left_behind_by_a_later_reply_does_not_set_the_first_message_back(
    slack, report, settings, django_capture_on_commit_callbacks
):
    announce(report, django_capture_on_commit_callbacks)
    settings.NOTIFICATION_RETRY_BASE = settings.NOTIFICATION_RETRY_CAP = 30
    slack.updates_down = 1
    moved(report, django_capture_on_commit_callbacks, 2, "2")
    moved(report, django_capture_on_commit_callbacks, 3, "6", close_code="Solution provided", close_notes="Sent.")
    in_progress, resolved = replies_of(report)
    assert (in_progress.state, resolved.state) == ("retrying", "sent")

    due_now(in_progress)
    work_run(work_id=in_progress.work_id)

    assert len(slack.replies()) == 2
    assert [update["blocks"][0]["text"]["text"][:10] for update in slack.updates] == ["[Resolved]"]
    in_progress.refresh_from_db()
    assert in_progress.state == "sent"
