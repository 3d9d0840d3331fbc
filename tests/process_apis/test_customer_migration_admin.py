"""Staff's migration-run pages: the runs with their counts and rejections, and start, stop and retry rejected."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from kernel.models import Work
from process_apis.customer_migration.models import MigrationRejection, MigrationRun
from process_apis.customer_migration.services import migration_run_start

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:process_apis_migrationrun_changelist")
START = reverse("admin:process_apis_migrationrun_start")


def change_url(run: MigrationRun) -> str:
    return reverse("admin:process_apis_migrationrun_change", args=[run.pk])


def stop_url(run: MigrationRun) -> str:
    return reverse("admin:process_apis_migrationrun_stop", args=[run.pk])


def retry_url(run: MigrationRun) -> str:
    return reverse("admin:process_apis_migrationrun_retry_rejected", args=[run.pk])


def said(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def finished_run() -> MigrationRun:
    """A run that read 7 customers in 3 chunks: 5 created, one rejected by Salesforce, one refused by the mapping."""
    run = migration_run_start(chunk_size=3)
    MigrationRun.objects.filter(pk=run.pk).update(
        state=MigrationRun.State.DONE,
        checkpoint="0000000007",
        chunks=3,
        read=7,
        sent=6,
        created=4,
        updated=1,
        failed=1,
        unmigratable=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    MigrationRejection.objects.create(
        run=run,
        customer_number="0000000003",
        source=MigrationRejection.Source.MAPPING,
        error="EMAIL_ADDR 'not-an-email' is not an e-mail address",
    )
    MigrationRejection.objects.create(
        run=run,
        customer_number="0000000004",
        source=MigrationRejection.Source.SALESFORCE,
        error="INVALID_EMAIL_ADDRESS:Email: invalid email address: dan@reject.example:Email --",
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def active_run(finished_run) -> MigrationRun:
    """A run after `finished_run`, one chunk of 2 read and the next one's Bulk job in flight."""
    run = migration_run_start(chunk_size=2)
    MigrationRun.objects.filter(pk=run.pk).update(
        state=MigrationRun.State.RUNNING, checkpoint="0000000002", job_id="750R0000000abcdIAA", chunks=1, read=2
    )
    run.refresh_from_db()
    return run


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_migrationrun"))
    client.force_login(user)
    return client


def test_the_list_shows_each_run_with_its_counts_and_progress_and_filters_by_state(
    admin_client, finished_run, active_run
):
    everything = admin_client.get(RUNS)
    running = admin_client.get(RUNS, {"state__exact": "running"})

    assert [run.pk for run in everything.context["cl"].result_list] == [active_run.pk, finished_run.pk]
    page = everything.content.decode()
    for column, value in (("read", 7), ("sent", 6), ("created", 4), ("updated", 1), ("failed", 1)):
        assert f'<td class="field-{column}">{value}</td>' in page
    assert '<td class="field-unmigratable">1</td>' in page
    assert "3 chunks, through customer 0000000007" in page
    assert "1 chunk, through customer 0000000002" in page
    assert [run.pk for run in running.context["cl"].result_list] == [active_run.pk]
    assertContains(everything, START)


def test_a_run_page_shows_its_checkpoint_job_and_rejections_with_their_reasons(admin_client, finished_run, active_run):
    finished = admin_client.get(change_url(finished_run))
    active = admin_client.get(change_url(active_run))

    assertContains(finished, "0000000003")
    assertContains(finished, "EMAIL_ADDR &#x27;not-an-email&#x27; is not an e-mail address")
    assertContains(finished, "INVALID_EMAIL_ADDRESS:Email: invalid email address: dan@reject.example:Email --")
    assertContains(finished, retry_url(finished_run))
    assertNotContains(finished, stop_url(finished_run))
    assertContains(active, "0000000002")
    assertContains(active, "750R0000000abcdIAA")
    assertContains(active, stop_url(active_run))
    assertNotContains(active, retry_url(active_run))
    assertNotContains(active, 'name="_save"')


def test_staff_start_a_run_which_is_queued_for_a_worker_once_stored(admin_client, django_capture_on_commit_callbacks):
    form = admin_client.get(START)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = admin_client.post(START, {"dry_run": "on", "since": "2024-06-01 00:00:00", "chunk_size": "500"})

    run = MigrationRun.objects.get()
    assertContains(form, 'name="chunk_size"')
    assert response.status_code == 302 and response["Location"] == change_url(run)
    assert (run.state, run.dry_run, run.since, run.chunk_size) == (
        MigrationRun.State.PENDING,
        True,
        datetime(2024, 6, 1, tzinfo=UTC),
        500,
    )
    assert Work.objects.get(pk=run.work_id).state == Work.State.PENDING
    assert len(enqueued) == 1, "the run's work is sent to the queue when the start commits"
    assert said(response) == [("success", f"Dry run {run.pk} started: it is queued for a worker.")]


def test_a_start_while_a_run_is_active_is_refused_with_an_error_message(admin_client, active_run):
    response = admin_client.post(START, {"chunk_size": "100"})

    assert response.status_code == 302 and response["Location"] == RUNS
    assert MigrationRun.objects.count() == 2
    assert said(response) == [
        ("error", f"No run started: {active_run} is still running: stop it or let it finish first")
    ]


def test_a_start_with_a_chunk_of_no_customers_shows_the_form_again(admin_client):
    response = admin_client.post(START, {"chunk_size": "0"})

    assertContains(response, "Ensure this value is greater than or equal to 1.")
    assert not MigrationRun.objects.exists()


def test_staff_stop_an_active_run_and_a_finished_one_cannot_be_stopped(admin_client, finished_run, active_run):
    stopped = admin_client.post(stop_url(active_run))
    refused = admin_client.post(stop_url(finished_run), follow=True)

    active_run.refresh_from_db()
    assert active_run.state == MigrationRun.State.STOPPED and active_run.finished_at is not None
    assert stopped.status_code == 302 and stopped["Location"] == change_url(active_run)
    assert said(stopped) == [
        ("success", f"Run {active_run.pk} stopped: the chunk in flight, if any, is still recorded.")
    ]
    assert refused.redirect_chain == [(change_url(finished_run), 302)]
    assertContains(refused, f'<li class="error">Migration run {finished_run.pk} (done) is over already</li>', html=True)
    assert MigrationRun.objects.get(pk=finished_run.pk).state == MigrationRun.State.DONE


def test_staff_retry_a_finished_runs_rejected_customers_in_a_new_run(admin_client, finished_run):
    response = admin_client.post(retry_url(finished_run))
    again = admin_client.post(retry_url(finished_run), follow=True)

    retry = MigrationRun.objects.get(retry_of=finished_run)
    assert retry.only_customers == ["0000000003", "0000000004"]
    assert retry.chunk_size == finished_run.chunk_size
    assert not finished_run.rejections.filter(retried=False).exists()
    assert response.status_code == 302 and response["Location"] == change_url(retry)
    assert said(response) == [("success", f"Run {retry.pk} started to retry the rejected customers.")]
    assertContains(
        again,
        f'<li class="error">Migration run {finished_run.pk} (done) has no rejected customers left to retry</li>',
        html=True,
    )
    page = admin_client.get(change_url(retry))
    assertContains(page, "0 of 2 customers retried")


def test_staff_who_may_only_view_see_the_runs_but_cannot_start_stop_or_retry(viewer, finished_run, active_run):
    listing = viewer.get(RUNS)
    finished = viewer.get(change_url(finished_run))
    active = viewer.get(change_url(active_run))
    refused = [
        viewer.get(START),
        viewer.post(START, {"chunk_size": "100"}),
        viewer.post(stop_url(active_run)),
        viewer.post(retry_url(finished_run)),
    ]

    assert listing.status_code == 200 and START not in listing.content.decode()
    assertContains(finished, "INVALID_EMAIL_ADDRESS")
    assertNotContains(finished, retry_url(finished_run))
    assertNotContains(active, stop_url(active_run))
    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    assert MigrationRun.objects.count() == 2
    assert MigrationRun.objects.get(pk=active_run.pk).state == MigrationRun.State.RUNNING


def test_runs_are_neither_added_nor_deleted_through_the_standard_pages(admin_client, finished_run):
    add = admin_client.get(reverse("admin:process_apis_migrationrun_add"))
    delete = admin_client.post(reverse("admin:process_apis_migrationrun_delete", args=[finished_run.pk]))

    assert (add.status_code, delete.status_code) == (403, 403)
    assert MigrationRun.objects.filter(pk=finished_run.pk).exists()
