"""The durable-work engine on a kind of its own: claims, late writes, pacing, retries and staff's "try again"."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from kernel import work as work_engine
from kernel.errors import ServiceError
from kernel.models import Work
from kernel.work import Kind, Paced, register, work_create, work_create_for, work_run, work_sweep
from process_apis.models import NotificationDelivery
from tests.reports import stored_report

pytestmark = pytest.mark.django_db

ECHO = "test_echo"
# What the next run of an echo does; each test sets it.
behaviour: dict[str, object] = {}
done_marks: list[str] = []
failed_for_good: list[int] = []


class Flaky(ServiceError):
    retryable = True


def echo(work: Work):
    action = behaviour.get("action")
    if action == "taken_over":  # a successor claimed the work while this run was still busy
        Work.objects.filter(pk=work.pk).update(claim=F("claim") + 1)
    if action == "paced":
        raise Paced(2.0)
    if action == "flaky":
        raise Flaky("try later", retry_after=5.0)
    if action == "broken":
        raise ServiceError("refused for good")
    if action == "database_down":
        raise DatabaseError("connection lost")
    if action == "time_limit":
        raise SoftTimeLimitExceeded()
    return lambda: done_marks.append(work.subject)


ECHO_KIND = Kind(
    name=ECHO,
    task_name="tests.kernel.echo",
    run=echo,
    span=("process", "tests", "echo"),
    on_failed=lambda work: failed_for_good.append(work.pk),
    max_attempts_setting="NOTIFICATION_MAX_ATTEMPTS",
    retry_base_setting="NOTIFICATION_RETRY_BASE",
    retry_cap_setting="NOTIFICATION_RETRY_CAP",
    lease_setting="NOTIFICATION_CLAIM_LEASE",
)
register(ECHO_KIND)
# Registered for these tests only (its Celery task stays, unused): the other tests sweep the real kinds alone.
del work_engine._kinds[ECHO]


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setitem(work_engine._kinds, ECHO, ECHO_KIND)
    behaviour.clear()
    done_marks.clear()
    failed_for_good.clear()


def new_work(subject: str = "IH-TEST") -> Work:
    return work_create(kind=ECHO, subject=subject, claimed=True)


def test_a_run_records_done_and_its_business_change_in_one_go():
    work = work_run(work=new_work())

    assert (work.state, work.attempts, work.claimed_at) == ("done", 1, None)
    assert list(work.history.values_list("number", "outcome")) == [(1, "done")]
    assert done_marks == ["IH-TEST"]


def test_a_late_write_whose_claim_was_taken_over_is_refused():
    behaviour["action"] = "taken_over"

    work = work_run(work=new_work())

    assert work.state == "running", "the successor's claim stands"
    assert done_marks == [] and not work.history.exists()


def test_held_back_work_waits_without_using_an_attempt():
    behaviour["action"] = "paced"

    work = work_run(work=new_work())

    assert (work.state, work.attempts, work.claimed_at) == ("pending", 0, None)
    assert timezone.now() + timedelta(seconds=1) < work.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    assert not work.history.exists()
    assert work_run(work_id=work.pk) is None, "not due before its time"


def test_a_retryable_failure_waits_at_least_its_retry_after_and_gives_up_after_the_last_attempt(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    behaviour["action"] = "flaky"

    work = work_run(work=new_work())
    assert (work.state, work.last_error) == ("retrying", "try later")
    assert work.next_attempt_at >= timezone.now() + timedelta(seconds=4)
    Work.objects.filter(pk=work.pk).update(next_attempt_at=timezone.now())
    work = work_run(work_id=work.pk)

    assert (work.state, work.attempts) == ("failed", 2)
    assert list(work.history.values_list("outcome", flat=True)) == ["retrying", "failed"]
    assert failed_for_good == [work.pk]


def test_a_final_failure_is_not_retried():
    behaviour["action"] = "broken"

    work = work_run(work=new_work())

    assert (work.state, work.attempts, work.next_attempt_at) == ("failed", 1, None)
    assert failed_for_good == [work.pk]


def test_a_database_failure_is_not_taken_for_the_works_own_failure():
    behaviour["action"] = "database_down"
    work = new_work()

    with pytest.raises(DatabaseError):
        work_run(work=work)

    work.refresh_from_db()
    assert (work.state, work.last_error, failed_for_good) == ("running", "", []), "left to its lease and the sweeper"


def test_the_sweeper_picks_up_a_claim_whose_worker_died_after_the_lease(settings, django_capture_on_commit_callbacks):
    work = new_work()
    assert ECHO not in work_sweep()
    Work.objects.filter(pk=work.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE + 1)
    )

    assert work_sweep() == {ECHO: 1}  # run at once: tasks are eager in tests
    assert Work.objects.get(pk=work.pk).state == "done"
    assert done_marks == ["IH-TEST"]


def test_staff_try_again_gives_failed_work_a_fresh_round(admin_client, django_capture_on_commit_callbacks):
    behaviour["action"] = "broken"
    work = work_run(work=new_work())
    behaviour.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:kernel_work_changelist"), {"action": "try_again", "_selected_action": [work.pk]}
        )

    assert response.status_code == 302
    work.refresh_from_db()
    assert (work.state, work.attempts) == ("done", 1)
    assert done_marks == ["IH-TEST"]


@pytest.mark.parametrize("action", ["done", "paced", "flaky", "broken", "taken_over"])
def test_the_work_a_run_returns_is_what_is_stored_without_reading_it_back(action):
    behaviour["action"] = action
    work = new_work()
    work_run(work=work)

    stored = Work.objects.get(pk=work.pk)
    fields = ("state", "attempts", "claim", "claimed_at", "next_attempt_at", "last_error")
    if action == "taken_over":  # the successor's claim is not this run's to know
        fields = ("attempts",)
    assert [getattr(work, name) for name in fields] == [getattr(stored, name) for name in fields]


@pytest.mark.django_db(databases=["default", "legacy"])
def test_new_work_and_the_row_holding_it_are_stored_together_or_not_at_all():
    request = stored_report()
    delivery = NotificationDelivery(request=request, channel="#incidents")

    work = work_create_for(delivery, "work", kind=ECHO, subject="first")

    stored = NotificationDelivery.objects.select_related("work").get(pk=delivery.pk)
    assert (stored.work.pk, stored.work.kind, stored.work.state) == (work.pk, ECHO, "pending")
    assert delivery.work is work
    second = NotificationDelivery(request=request, channel="#incidents")  # one notice of a kind per report
    with pytest.raises(IntegrityError), transaction.atomic():
        work_create_for(second, "work", kind=ECHO, subject="second")
    assert not Work.objects.filter(subject="second").exists()


def test_work_not_yet_run_is_left_to_its_queue_while_the_queue_holds_messages(monkeypatch):
    waiting = work_create(kind=ECHO, subject="in a burst")
    Work.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    sent = []
    monkeypatch.setattr(work_engine, "work_enqueue", lambda work, **options: sent.append(work.pk) or True)

    monkeypatch.setattr(work_engine, "_queued_messages", lambda kind: 120)
    assert ECHO not in work_sweep()
    monkeypatch.setattr(work_engine, "_queued_messages", lambda kind: 0)  # drained, and this one never ran: lost
    assert work_sweep() == {ECHO: 1}
    monkeypatch.setattr(work_engine, "_queued_messages", lambda kind: None)  # the broker cannot say
    assert work_sweep() == {ECHO: 1}

    Work.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - work_engine.QUEUED_HORIZON)
    monkeypatch.setattr(work_engine, "_queued_messages", lambda kind: 120)
    assert work_sweep() == {ECHO: 1}, "past the horizon a message would have come back: it was lost"
    assert sent == [waiting.pk] * 3


def test_a_kind_with_a_pace_gets_a_task_each_worker_starts_at_that_rate(settings):
    settings.TEST_ECHO_PER_SECOND = 3
    paced = {"name": "test_paced", "task_name": "tests.kernel.paced", "per_second_setting": "TEST_ECHO_PER_SECOND"}
    register(Kind(**{**ECHO_KIND.__dict__, **paced}))
    try:
        assert work_engine._tasks["test_paced"].rate_limit == "3/s"
        assert work_engine._tasks[ECHO].rate_limit is None
    finally:
        del work_engine._kinds["test_paced"]


def test_a_run_cut_short_by_the_task_time_limit_is_tried_again_not_failed(caplog):
    behaviour["action"] = "time_limit"

    work = work_run(work=new_work())

    assert (work.state, work.attempts) == ("retrying", 1)
    assert failed_for_good == []
    assert "failed with a bug" not in caplog.text
