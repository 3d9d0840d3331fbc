"""Staff admin over the Process APIs' records: read-only views, and actions that go through the services."""

from datetime import timedelta

import pytest
import responses
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from process_apis.customer_incidents.services import incident_report
from process_apis.incident_events.services import PULL, incident_change_apply
from process_apis.models import IncidentEvent, IncidentRequest, NotificationDelivery
from system_apis.servicenow.client import incident_change
from tests.reports import ADA_REPORT as REPORT
from tests.reports import TEST_CONSUMER, stored_report
from tests.vendors import SLACK_POST, SN, SN_INCIDENTS, sf_contact, sn_record

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

CHANGELIST = reverse("admin:process_apis_incidentrequest_changelist")
DELIVERIES = reverse("admin:process_apis_notificationdelivery_changelist")
SYS_ID = "a" * 32
REFUSED_SYS_ID = "c" * 32


@pytest.fixture
def file_report(vendors, legacy_customers, django_capture_on_commit_callbacks):
    """Report through the Process API, with ServiceNow and Slack answering as told for this one report."""

    def file(servicenow: str = "INC0010001", slack: str = "accepts", contacts: tuple = (), **overrides):
        for method, url in ((responses.POST, SN_INCIDENTS), (responses.POST, SLACK_POST)):
            vendors.mock.remove(method, url)
        vendors.salesforce_knows(*contacts)
        if servicenow == "fails":
            vendors.servicenow_fails(503)
        else:
            vendors.servicenow_creates(servicenow)
        if slack == "accepts":
            vendors.slack_accepts()
        else:
            vendors.slack_refuses(slack)
        with django_capture_on_commit_callbacks(execute=True):
            return incident_report(**{**REPORT, **overrides}, consumer=TEST_CONSUMER)

    return file


@pytest.fixture
def three_reports(file_report) -> dict[str, IncidentRequest]:
    """Sent: created and announced; refused: created, Slack refused; down: ServiceNow down, nothing announced."""
    sent = file_report(servicenow="INC0010001")
    refused = file_report(
        servicenow="INC0010002",
        slack="channel_not_found",
        email="grace.hopper@example.com",
        name="Grace Hopper",
        category="payment",
        urgency=1,
    )
    down = file_report(servicenow="fails", email="new.person@example.com", name="New Person", category="website")
    IncidentRequest.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(days=40))
    # ServiceNow's sys_ids are unique (the fake gives every incident the same one): a change finds one report.
    IncidentRequest.objects.filter(pk=refused.pk).update(servicenow_sys_id=REFUSED_SYS_ID)
    refused.refresh_from_db()
    return {"sent": sent, "refused": refused, "down": down}


def listed(response) -> set[str]:
    return {report.reference for report in response.context["cl"].result_list}


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def change_url(report: IncidentRequest) -> str:
    return reverse("admin:process_apis_incidentrequest_change", args=[report.pk])


def run_action(client, url: str, action: str, *objects) -> object:
    return client.post(url, {"action": action, "_selected_action": [o.pk for o in objects], "index": 0}, follow=True)


def test_the_changelist_shows_every_report_with_its_servicenow_link_and_notification_state(admin_client, three_reports):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed(response) == {r.reference for r in three_reports.values()}
    html = response.content.decode()
    assert (
        f'<a href="{three_reports["sent"].servicenow_url}" target="_blank" rel="noopener noreferrer">INC0010001</a>'
        in html
    )
    assert three_reports["sent"].servicenow_url.startswith(f"{SN}/")
    assert '<td class="field-notification_state">Sent</td>' in html
    assert '<td class="field-notification_state">Failed</td>' in html
    assert '<td class="field-servicenow_state_label">New</td>' in html


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("{sent.reference}", "sent"),
        ("{sent_reference_as_typed}", "sent"),
        ("grace.hopper@example.com", "refused"),
        ("GRACE.HOPPER", "refused"),
        ("INC0010002", "refused"),
        ("inc0010001", "sent"),
    ],
)
def test_search_finds_a_report_by_reference_email_or_servicenow_number(admin_client, three_reports, term, expected):
    sent = three_reports["sent"]
    typed = sent.reference.lower().replace("0", "o")

    response = admin_client.get(CHANGELIST, {"q": term.format(sent=sent, sent_reference_as_typed=typed)})

    assert listed(response) == {three_reports[expected].reference}


def test_search_for_a_number_that_is_only_part_of_a_servicenow_number_finds_nothing(admin_client, three_reports):
    response = admin_client.get(CHANGELIST, {"q": "INC00100"})

    assert listed(response) == set()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sync_state__exact": "created"}, {"sent", "refused"}),
        ({"sync_state__exact": "pending"}, {"down"}),
        ({"servicenow_state": "1"}, {"sent", "refused"}),
        ({"servicenow_state": "none"}, {"down"}),
        ({"category__exact": "payment"}, {"refused"}),
        ({"urgency__exact": "1"}, {"refused"}),
        ({"urgency__exact": "2"}, {"sent", "down"}),
        ({"notification_state": "sent"}, {"sent"}),
        ({"notification_state": "failed"}, {"refused"}),
        ({"notification_state": "none"}, {"down"}),
        ({"notification_state": "pending"}, set()),
    ],
)
def test_each_filter_narrows_the_list(admin_client, three_reports, params, expected):
    response = admin_client.get(CHANGELIST, params)

    assert response.status_code == 200
    assert listed(response) == {three_reports[name].reference for name in expected}


def test_the_date_filter_and_hierarchy_narrow_the_list_by_creation_date(admin_client, three_reports):
    old = IncidentRequest.objects.get(pk=three_reports["sent"].pk).created_at
    changelist = admin_client.get(CHANGELIST).context["cl"]
    date_filter = next(spec for spec in changelist.filter_specs if spec.title == "created at")
    [past_7_days] = [c["query_string"] for c in date_filter.choices(changelist) if c["display"] == "Past 7 days"]

    last_week = admin_client.get(CHANGELIST + past_7_days)
    that_month = admin_client.get(CHANGELIST, {"created_at__year": old.year, "created_at__month": old.month})

    assert listed(last_week) == {three_reports["refused"].reference, three_reports["down"].reference}
    assert three_reports["sent"].reference in listed(that_month)
    assert three_reports["refused"].reference not in listed(that_month)


def test_the_filters_offer_the_servicenow_states_seen_and_the_notification_states(admin_client, three_reports):
    response = admin_client.get(CHANGELIST)

    specs = {
        spec.title: [choice["display"] for choice in spec.choices(response.context["cl"])]
        for spec in response.context["cl"].filter_specs
    }
    assert specs["ServiceNow state"] == ["All", "New", "Not in ServiceNow yet"]
    assert specs["notification state"] == [
        "All",
        "Pending",
        "Sending",
        "Waiting to retry",
        "Sent",
        "Failed",
        "No notification",
    ]


def test_the_change_view_shows_the_merged_customer_servicenow_incident_deliveries_and_events(admin_client, file_report):
    report = file_report(slack="channel_not_found", contacts=(sf_contact("ada.lovelace@example.com"),))

    response = admin_client.get(change_url(report))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<tr><th>Found in</th><td>legacy DB, Salesforce (they differ on phone)</td></tr>" in html
    assert "<tr><th>Unavailable</th><td>none</td></tr>" in html
    assert "<tr><th>Legacy customer number</th><td>0000100001</td></tr>" in html
    assert "<tr><th>Salesforce contact id</th><td>0035g00000AdaLv1AB</td></tr>" in html
    assert "<tr><th>Account</th><td>Analytical Engines Ltd</td></tr>" in html
    assert f'<a href="{report.servicenow_url}" target="_blank" rel="noopener noreferrer">INC0010001</a>' in html
    assert SYS_ID in html
    assert "New (1)" in html and "P4 Low" in html
    attempt = report.notifications.get().work.history.get()
    assert (
        f"<tr><td>{attempt.at:%Y-%m-%d %H:%M:%S}</td><td>1</td><td>failed</td>"
        f"<td>{attempt.error}</td><td>{attempt.duration_ms}</td></tr>"
    ) in html
    assert "channel_not_found" in attempt.error
    kinds = [event.kind for event in report.events.all()]
    assert kinds == ["accepted", "servicenow_created", "email_sent", "notification_failed"]
    for kind in kinds:
        assertContains(response, f'<td class="field-kind"><p>{kind}</p></td>', html=True)
    assert '<span class="event-detail">number: INC0010001</span>' in html
    assert '<span class="event-detail">customer_found_in: legacy_db, salesforce</span>' in html
    assert 'name="_save"' not in html


def test_a_degraded_customer_shows_which_source_was_unavailable_and_why(admin_client, vendors, file_report):
    vendors.mock.remove(responses.POST, SLACK_POST)
    report = file_report()
    report.customer = {**report.customer, "unavailable": ["salesforce"], "source_errors": {"salesforce": "timed out"}}
    report.save()

    response = admin_client.get(change_url(report))

    assert "<tr><th>Unavailable</th><td>Salesforce (timed out)</td></tr>" in response.content.decode()


def test_a_servicenow_url_that_is_not_a_web_address_is_not_made_a_link(admin_client, three_reports):
    sent = three_reports["sent"]
    IncidentRequest.objects.filter(pk=sent.pk).update(servicenow_url="javascript:alert(1)")

    listing = admin_client.get(CHANGELIST).content.decode()
    page = admin_client.get(change_url(sent)).content.decode()

    assert "javascript:" not in listing and "javascript:" not in page
    assert '<td class="field-servicenow_link">INC0010001</td>' in listing


def test_customer_text_is_shown_escaped(admin_client, file_report):
    script = "<script>alert(1)</script>"
    report = file_report(
        email="mallory@example.com",
        name=script,
        contacts=(sf_contact("mallory@example.com", first=script, last="Mallory"),),
    )

    response = admin_client.get(change_url(report))

    html = response.content.decode()
    assert script not in html
    assert "<tr><th>Name</th><td>&lt;script&gt;alert(1)&lt;/script&gt; Mallory</td></tr>" in html


def test_posting_a_change_to_the_change_form_does_not_alter_the_record(admin_client, three_reports):
    report = IncidentRequest.objects.get(pk=three_reports["sent"].pk)
    before = {f.name: getattr(report, f.name) for f in IncidentRequest._meta.fields}

    response = admin_client.post(
        change_url(report),
        {"email": "someone.else@example.com", "sync_state": "failed", "servicenow_number": "INC9", "_save": "Save"},
    )

    report.refresh_from_db()
    assert response.status_code == 403
    assert {f.name: getattr(report, f.name) for f in IncidentRequest._meta.fields} == before


def test_staff_can_neither_add_nor_delete_reports(admin_client, three_reports):
    add = admin_client.get(reverse("admin:process_apis_incidentrequest_add"))
    delete = admin_client.post(
        reverse("admin:process_apis_incidentrequest_delete", args=[three_reports["sent"].pk]), {"post": "yes"}
    )
    bulk_delete = run_action(admin_client, CHANGELIST, "delete_selected", three_reports["sent"])

    assert (add.status_code, delete.status_code) == (403, 403)
    assert bulk_delete.status_code == 200
    assert IncidentRequest.objects.count() == 3


def test_resend_action_posts_a_failed_notification_once_and_marks_it_sent(
    admin_client, vendors, three_reports, django_capture_on_commit_callbacks
):
    refused = three_reports["refused"]
    vendors.mock.remove(responses.POST, SLACK_POST)
    vendors.slack_accepts()
    posts_before = len(vendors.slack_bodies())

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, CHANGELIST, "resend_failed_notifications", refused)

    assert response.status_code == 200
    assert len(vendors.slack_bodies()) == posts_before + 1
    delivery = refused.notifications.get()
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("sent", 1, "1700000000.000100")
    assert [a.outcome for a in delivery.work.history.all()] == ["failed", "done"]
    assert messages_of(response) == [("success", f"Queued 1 notification for re-sending: {refused.reference}.")]
    assert list(refused.events.values_list("kind", flat=True))[-2:] == [
        "notification_resend_requested",
        "notification_sent",
    ]


def test_resend_action_skips_what_did_not_fail_and_says_why(
    admin_client, vendors, three_reports, django_capture_on_commit_callbacks
):
    sent, down = three_reports["sent"], three_reports["down"]
    posts_before = len(vendors.slack_bodies())

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, CHANGELIST, "resend_failed_notifications", sent, down)

    assert len(vendors.slack_bodies()) == posts_before
    assert sent.notifications.get().state == "sent"
    assert not sent.events.filter(kind="notification_resend_requested").exists()
    assert sorted(messages_of(response)) == sorted(
        [
            ("warning", "Queued 0 notifications for re-sending."),
            ("warning", f"Skipped {down.reference}: it has no notification (yet)."),
            ("warning", f"Skipped {sent.reference}: Only a failed notification can be re-sent; this one is sent."),
        ]
    )


def test_refresh_action_picks_up_a_changed_state_and_records_the_event(admin_client, vendors, three_reports):
    sent = three_reports["sent"]
    # Each report's own incident (the faked creates all answer the same sys_id).
    IncidentRequest.objects.filter(pk=sent.pk).update(servicenow_sys_id="b" * 32)
    moved = sn_record(state="2", sys_mod_count="1", sys_id="b" * 32)
    vendors.mock.add(responses.GET, f"{SN_INCIDENTS}/{'b' * 32}", json={"result": moved})

    response = run_action(admin_client, CHANGELIST, "refresh_from_servicenow", sent)

    sent.refresh_from_db()
    assert (sent.servicenow_state, sent.servicenow_state_label) == (2, "In Progress")
    [change] = sent.events.filter(kind="servicenow_changed")
    assert (change.detail["changes"]["state"], change.detail["path"]) == (
        {"from": "New", "to": "In Progress"},
        "refresh",
    )
    assert messages_of(response) == [("success", f"{sent.reference}: In Progress in ServiceNow (was New).")]


def test_refresh_action_shows_a_servicenow_failure_as_an_error_message(admin_client, vendors, three_reports):
    sent = three_reports["sent"]
    error = {"error": {"message": "Service Unavailable", "detail": "down"}, "status": "failure"}
    vendors.mock.add(responses.GET, f"{SN_INCIDENTS}/{SYS_ID}", status=503, json=error)

    response = run_action(admin_client, CHANGELIST, "refresh_from_servicenow", sent)

    assert response.status_code == 200
    assert messages_of(response) == [
        ("error", f"{sent.reference}: Could not read the ServiceNow incident: Service Unavailable: down")
    ]
    sent.refresh_from_db()
    assert sent.servicenow_state_label == "New"
    assert not sent.events.filter(kind="servicenow_changed").exists()


def test_refresh_action_retries_a_report_that_never_reached_servicenow(admin_client, vendors, three_reports):
    down = three_reports["down"]
    vendors.mock.add(responses.GET, SN_INCIDENTS, json={"result": []})

    response = run_action(admin_client, CHANGELIST, "refresh_from_servicenow", down)

    assert messages_of(response) == [
        (
            "error",
            f"{down.reference}: still not in ServiceNow: "
            "Could not create the ServiceNow incident: Service Unavailable: down",
        )
    ]
    assert list(down.sync_work.history.values_list("outcome", flat=True)) == ["retrying", "retrying"]


def test_refresh_action_adopts_the_incident_an_earlier_attempt_made(
    admin_client, vendors, three_reports, django_capture_on_commit_callbacks
):
    down = three_reports["down"]
    found = sn_record("INC0010042", correlation_id=down.reference)
    vendors.mock.add(responses.GET, SN_INCIDENTS, json={"result": [found]})

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, CHANGELIST, "refresh_from_servicenow", down)

    assert messages_of(response) == [("success", f"{down.reference}: now linked to INC0010042 (New).")]
    down.refresh_from_db()
    assert (down.sync_state, down.servicenow_number) == ("created", "INC0010042")
    assert down.events.filter(kind="servicenow_adopted").count() == 1


def test_the_change_view_offers_both_operations_as_buttons_with_a_csrf_token(admin_client, three_reports):
    refused, sent = three_reports["refused"], three_reports["sent"]

    refused_page = admin_client.get(change_url(refused)).content.decode()
    sent_page = admin_client.get(change_url(sent)).content.decode()

    resend = reverse("admin:process_apis_incidentrequest_resend_notification", args=[refused.pk])
    refresh = reverse("admin:process_apis_incidentrequest_refresh_state", args=[refused.pk])
    assert f'<form method="post" action="{resend}">' in refused_page
    assert f'<form method="post" action="{refresh}">' in refused_page
    assert refused_page.count('name="csrfmiddlewaretoken"') >= 3
    assert reverse("admin:process_apis_incidentrequest_resend_notification", args=[sent.pk]) not in sent_page
    assert reverse("admin:process_apis_incidentrequest_refresh_state", args=[sent.pk]) in sent_page


def test_the_change_view_buttons_resend_and_refresh_the_one_report(
    admin_client, vendors, three_reports, django_capture_on_commit_callbacks
):
    refused = three_reports["refused"]
    vendors.mock.remove(responses.POST, SLACK_POST)
    vendors.slack_accepts()
    vendors.mock.add(
        responses.GET,
        f"{SN_INCIDENTS}/{REFUSED_SYS_ID}",
        json={"result": sn_record(state="6", sys_mod_count="1", sys_id=REFUSED_SYS_ID)},
    )

    with django_capture_on_commit_callbacks(execute=True):
        resent = admin_client.post(
            reverse("admin:process_apis_incidentrequest_resend_notification", args=[refused.pk]), follow=True
        )
    refreshed = admin_client.post(
        reverse("admin:process_apis_incidentrequest_refresh_state", args=[refused.pk]), follow=True
    )

    assert resent.redirect_chain == [(change_url(refused), 302)]
    assert messages_of(resent) == [("success", f"Queued 1 notification for re-sending: {refused.reference}.")]
    assert refused.notifications.get(kind=NotificationDelivery.NEW_INCIDENT).state == "sent"
    assert messages_of(refreshed) == [("success", f"{refused.reference}: Resolved in ServiceNow (was New).")]
    assert refused.notifications.filter(kind=NotificationDelivery.STATE_CHANGE).count() == 1, "announced in the thread"
    refused.refresh_from_db()
    assert refused.servicenow_state_label == "Resolved"


def test_the_change_view_buttons_take_only_a_post_with_a_csrf_token(admin_client, admin_user, three_reports):
    refused = three_reports["refused"]
    url = reverse("admin:process_apis_incidentrequest_resend_notification", args=[refused.pk])
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)

    get = admin_client.get(url)
    forged = strict.post(url)

    assert (get.status_code, forged.status_code) == (405, 403)
    assert refused.notifications.get().state == "failed"
    assert not refused.events.filter(kind="notification_resend_requested").exists()


def test_the_changelist_makes_the_same_few_queries_however_many_reports(
    admin_client, file_report, django_assert_max_num_queries
):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(queries)

    file_report(servicenow="INC0010001")
    with_one = count_queries()
    file_report(servicenow="INC0010002", email="grace.hopper@example.com", slack="channel_not_found")
    file_report(servicenow="fails", email="alan.turing@example.com")
    file_report(servicenow="INC0010004", email="olga.petrova@example.com")

    assert count_queries() == with_one
    with django_assert_max_num_queries(10):
        admin_client.get(CHANGELIST)


def test_non_staff_cannot_see_the_admin(client, django_user_model, three_reports):
    user = django_user_model.objects.create_user("customer", password="x", is_staff=False)
    client.force_login(user)

    listing = client.get(CHANGELIST)
    page = client.get(change_url(three_reports["sent"]))

    assert listing.status_code == 302 and listing["Location"].startswith(reverse("admin:login"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("admin:login"))


def test_staff_who_may_only_view_see_the_reports_but_cannot_run_the_operations(
    client, django_user_model, vendors, three_reports
):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incidentrequest"))
    client.force_login(viewer)
    refused = three_reports["refused"]

    listing = client.get(CHANGELIST)
    page = client.get(change_url(refused))
    refresh = client.post(reverse("admin:process_apis_incidentrequest_refresh_state", args=[refused.pk]))

    assert listing.status_code == 200
    assert "resend_failed_notifications" not in listing.content.decode()
    assert page.status_code == 200 and "Refresh state from ServiceNow" not in page.content.decode()
    assert "0000100002" in page.content.decode(), "the report's customer and deliveries are shown to viewers too"
    assert "<td>1</td><td>failed</td>" in page.content.decode()
    assert refresh.status_code == 403
    assert vendors.calls_to(f"{SN_INCIDENTS}/{SYS_ID}") == []


def test_the_deliveries_list_filters_by_state_and_finds_a_report_by_reference(admin_client, three_reports):
    refused = three_reports["refused"]

    everything = admin_client.get(DELIVERIES)
    failed = admin_client.get(DELIVERIES, {"state__exact": "failed"})
    found = admin_client.get(DELIVERIES, {"q": refused.reference.lower()})

    assert everything.status_code == 200
    assert {d.request.reference for d in everything.context["cl"].result_list} == {
        three_reports["sent"].reference,
        refused.reference,
    }
    assert [d.request.reference for d in failed.context["cl"].result_list] == [refused.reference]
    assert [d.request.reference for d in found.context["cl"].result_list] == [refused.reference]
    html = failed.content.decode()
    assert '<td class="field-last_error">' in html and "channel_not_found" in html
    assert '<td class="field-slack_ts">1700000000.000100</td>' not in html


def test_a_delivery_page_is_read_only_and_shows_its_attempts(admin_client, three_reports):
    delivery = three_reports["refused"].notifications.get()
    url = reverse("admin:process_apis_notificationdelivery_change", args=[delivery.pk])

    page = admin_client.get(url)
    post = admin_client.post(url, {"state": "sent", "slack_ts": "1.2"})

    assert page.status_code == 200
    assert "<td>1</td><td>failed</td>" in page.content.decode()
    assert post.status_code == 403
    delivery.refresh_from_db()
    assert (delivery.state, delivery.slack_ts) == ("failed", "")


def test_the_deliveries_resend_action_resends_only_failed_ones(
    admin_client, vendors, three_reports, django_capture_on_commit_callbacks
):
    refused, sent = three_reports["refused"], three_reports["sent"]
    vendors.mock.remove(responses.POST, SLACK_POST)
    vendors.slack_accepts()
    posts_before = len(vendors.slack_bodies())

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(
            admin_client,
            DELIVERIES,
            "resend_failed_notifications",
            refused.notifications.get(),
            sent.notifications.get(),
        )

    assert len(vendors.slack_bodies()) == posts_before + 1
    assert NotificationDelivery.objects.get(request=refused).state == "sent"
    assert sorted(messages_of(response)) == [
        ("success", f"Queued 1 notification for re-sending: {refused.reference}."),
        ("warning", f"Skipped {sent.reference}: Only a failed notification can be re-sent; this one is sent."),
    ]
    assert IncidentEvent.objects.filter(kind="notification_resend_requested").count() == 1


def test_the_change_view_shows_what_servicenow_last_said_and_its_change_in_the_timeline(admin_client):
    report = stored_report(sync_state="created", servicenow_sys_id="a" * 32, servicenow_number="INC0010001")
    change = {
        "sys_id": "a" * 32,
        "sys_mod_count": "6",
        "state": "6",
        "sys_updated_on": "2026-12-01 10:00:05",
        "sys_updated_by": "beth.anglin",
        "assigned_to": "Beth Anglin",
        "close_code": "Solved (Permanently)",
        "close_notes": "Parcel re-sent",
    }
    incident_change_apply(change=incident_change(change), path=PULL)

    page = admin_client.get(change_url(report)).content.decode()

    for shown in (
        "Beth Anglin",
        "Solved (Permanently)",
        "Parcel re-sent",
        "ServiceNow state as of",
        "servicenow_changed",
        # What the change moved, field by field (PostgreSQL keeps JSON keys in an order of its own).
        "state — → Resolved",
        "assigned_to — → Beth Anglin",
        "close_code — → Solved (Permanently)",
    ):
        assert shown in page, shown


def test_a_state_change_reply_shows_on_the_report_with_the_change_it_announces(
    admin_client, vendors, file_report, django_capture_on_commit_callbacks
):
    report = file_report()
    vendors.mock.add(
        responses.POST, f"{SLACK_POST.rsplit('/', 1)[0]}/chat.update", json={"ok": True, "channel": "C0", "ts": "1.1"}
    )
    change = {"sys_id": SYS_ID, "sys_mod_count": "2", "state": "2", "correlation_id": report.reference}
    with django_capture_on_commit_callbacks(execute=True):
        incident_change_apply(change=incident_change(change), path=PULL)

    page = admin_client.get(change_url(report)).content.decode()
    listing = admin_client.get(CHANGELIST).content.decode()

    reply = report.notifications.get(kind=NotificationDelivery.STATE_CHANGE)
    assert reply.state == "sent"
    assert "State change" in page
    assert "state: New → In Progress" in page
    assert [event.kind for event in report.events.all()][-2:] == ["servicenow_changed", "notification_sent"]
    assert '<td class="field-notification_state">Sent · 1 thread reply (1 sent)</td>' in listing
