"""The ServiceNow stand-in's business rule: each committed change of an IH- incident is POSTed to the event URL
with a bearer token from Incident Hub's /o/token/, off the request thread, under the event fault knobs."""

import base64
import json
import threading
from urllib.parse import parse_qs

import pytest
import requests
import responses

from sandbox.faults import update_faults
from sandbox.servicenow import events
from sandbox.servicenow import views as servicenow
from sandbox.servicenow.choices import user_sys_id
from sandbox.servicenow.models import Incident
from tests.sandbox.test_servicenow_sandbox import TABLE, auth, create, report

pytestmark = pytest.mark.django_db

HUB = "https://hub.example"
EVENT_URL = f"{HUB}/api/events/servicenow/v1/incidents"
TOKEN_URL = f"{HUB}/o/token/"
CLIENT_ID, CLIENT_SECRET = "sn-events-client", "sn-events-secret"


@pytest.fixture(autouse=True)
def sandbox(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SERVICENOW_USERNAME = "incident.hub"
    settings.SANDBOX_SERVICENOW_PASSWORD = "sandbox-pass"
    settings.SANDBOX_SERVICENOW_EVENT_URL = EVENT_URL
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_ID = CLIENT_ID
    settings.SANDBOX_SERVICENOW_EVENT_CLIENT_SECRET = CLIENT_SECRET
    assert events.sender.wait_idle()
    events.sender.reset()
    yield
    assert events.sender.wait_idle()
    events.sender.reset()


@pytest.fixture
def hub():
    """Incident Hub's token endpoint and event endpoint, faked; nothing reaches a network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, TOKEN_URL, json=token_answer("token-1"))
        mock.add(responses.POST, EVENT_URL, status=202, json={"status": "accepted"})
        yield mock


def token_answer(access_token: str, expires_in: int = 36000) -> dict:
    return {"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer", "scope": "events"}


def calls_to(mock, url: str) -> list:
    return [call for call in mock.calls if call.request.url == url]


def sent_bodies(mock) -> list[dict]:
    return [json.loads(call.request.body) for call in calls_to(mock, EVENT_URL)]


def committed(django_capture_on_commit_callbacks, action):
    """Run `action` and its after-commit callbacks (the test transaction never commits), then wait for the sender."""
    with django_capture_on_commit_callbacks(execute=True):
        result = action()
    assert events.sender.wait_idle()
    return result


def change(client, sys_id: str, body: dict):
    return client.patch(f"{TABLE}/{sys_id}", json.dumps(body), content_type="application/json", headers=auth())


def test_an_insert_posts_the_incident_with_a_bearer_token_from_the_token_endpoint(
    client, hub, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(servicenow, "_now", lambda: "2026-12-03 10:00:00")

    response = committed(django_capture_on_commit_callbacks, lambda: create(client, report("IH-7K2M9QX4TB")))

    assert response.status_code == 201
    row = Incident.objects.get()
    [token_call] = calls_to(hub, TOKEN_URL)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_call.request.headers["Authorization"] == f"Basic {basic}"
    assert parse_qs(token_call.request.body) == {"grant_type": ["client_credentials"]}
    [event_call] = calls_to(hub, EVENT_URL)
    assert event_call.request.headers["Authorization"] == "Bearer token-1"
    assert event_call.request.headers["Content-Type"] == "application/json"
    assert json.loads(event_call.request.body) == {
        "sys_id": row.sys_id,
        "number": row.number,
        "state": "1",
        "priority": "2",
        "sys_mod_count": "0",
        "sys_updated_on": "2026-12-03 10:00:00",
        "sys_updated_by": "incident.hub",
        "correlation_id": "IH-7K2M9QX4TB",
        "close_code": "",
        "close_notes": "",
        "assigned_to": "",
        "hold_reason": "",
        "short_description": "Order 1042 never arrived",
        "resolved_at": "",
    }
    [call] = events.sender.history()
    assert (call.number, call.outcome, call.ok) == (row.number, "HTTP 202", True)


def test_each_update_posts_the_new_state_and_reuses_the_token(client, hub, django_capture_on_commit_callbacks):
    sys_id = committed(django_capture_on_commit_callbacks, lambda: create(client, report())).json()["result"]["sys_id"]

    beth = user_sys_id("beth.anglin")
    committed(django_capture_on_commit_callbacks, lambda: change(client, sys_id, {"state": "2", "assigned_to": beth}))
    committed(
        django_capture_on_commit_callbacks,
        lambda: change(client, sys_id, {"state": "6", "close_code": "Solution provided", "close_notes": "Sent."}),
    )

    bodies = sent_bodies(hub)
    assert [(b["state"], b["sys_mod_count"]) for b in bodies] == [("1", "0"), ("2", "1"), ("6", "2")]
    assert [b["assigned_to"] for b in bodies] == ["", "Beth Anglin", "Beth Anglin"], "by name, as getDisplayValue()"
    assert (bodies[2]["close_code"], bodies[2]["close_notes"]) == ("Solution provided", "Sent.")
    assert bodies[2]["resolved_at"] != ""
    assert len(calls_to(hub, TOKEN_URL)) == 1
    assert {call.request.headers["Authorization"] for call in calls_to(hub, EVENT_URL)} == {"Bearer token-1"}


def test_a_401_gets_a_new_token_and_the_event_is_sent_again_once(client, django_capture_on_commit_callbacks):
    with responses.RequestsMock() as hub:
        hub.add(responses.POST, TOKEN_URL, json=token_answer("token-1"))
        hub.add(responses.POST, TOKEN_URL, json=token_answer("token-2"))
        hub.add(responses.POST, EVENT_URL, status=202)
        hub.add(responses.POST, EVENT_URL, status=401, json={"detail": "token revoked"})
        hub.add(responses.POST, EVENT_URL, status=202)
        hub.add(responses.POST, EVENT_URL, status=202)

        sys_id = committed(django_capture_on_commit_callbacks, lambda: create(client, report()))
        sys_id = sys_id.json()["result"]["sys_id"]
        committed(django_capture_on_commit_callbacks, lambda: change(client, sys_id, {"state": "2"}))
        committed(django_capture_on_commit_callbacks, lambda: change(client, sys_id, {"urgency": "1"}))

        auths = [call.request.headers["Authorization"] for call in calls_to(hub, EVENT_URL)]
        bodies = sent_bodies(hub)

    assert auths == ["Bearer token-1", "Bearer token-1", "Bearer token-2", "Bearer token-2"]
    assert [b["sys_mod_count"] for b in bodies] == ["0", "1", "1", "2"]
    assert [call.outcome for call in events.sender.history()] == ["HTTP 202"] * 3


def test_a_token_about_to_expire_is_not_used(client, django_capture_on_commit_callbacks):
    with responses.RequestsMock() as hub:
        # Within the renewal margin: each event must fetch its own.
        hub.add(responses.POST, TOKEN_URL, json=token_answer("short-1", expires_in=events.TOKEN_MARGIN_SECONDS))
        hub.add(responses.POST, TOKEN_URL, json=token_answer("short-2", expires_in=events.TOKEN_MARGIN_SECONDS))
        hub.add(responses.POST, EVENT_URL, status=202)
        hub.add(responses.POST, EVENT_URL, status=202)

        committed(django_capture_on_commit_callbacks, lambda: create(client, report("IH-A")))
        committed(django_capture_on_commit_callbacks, lambda: create(client, report("IH-B")))

        auths = [call.request.headers["Authorization"] for call in calls_to(hub, EVENT_URL)]

    assert auths == ["Bearer short-1", "Bearer short-2"]


def test_the_token_url_and_scope_can_be_set(client, settings, django_capture_on_commit_callbacks):
    settings.SANDBOX_SERVICENOW_EVENT_TOKEN_URL = "https://auth.example/oauth/token"
    settings.SANDBOX_SERVICENOW_EVENT_SCOPE = "events"
    with responses.RequestsMock() as hub:
        hub.add(responses.POST, "https://auth.example/oauth/token", json=token_answer("other"))
        hub.add(responses.POST, EVENT_URL, status=202)

        committed(django_capture_on_commit_callbacks, lambda: create(client, report()))

        [token_call, event_call] = hub.calls

    assert parse_qs(token_call.request.body) == {"grant_type": ["client_credentials"], "scope": ["events"]}
    assert event_call.request.headers["Authorization"] == "Bearer other"


def test_incidents_not_made_by_incident_hub_are_not_posted(client, hub, django_capture_on_commit_callbacks):
    committed(django_capture_on_commit_callbacks, lambda: create(client, report("CHG-1234")))
    committed(django_capture_on_commit_callbacks, lambda: create(client, report("")))

    assert len(hub.calls) == 0
    assert events.sender.history() == []


def test_nothing_is_sent_before_the_commit(client, hub, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create(client, report())

    assert events.sender.wait_idle()
    assert len(callbacks) == 1
    assert len(hub.calls) == 0


def test_the_call_is_made_off_the_request_thread(client, django_capture_on_commit_callbacks):
    threads = []

    def receiver(request):
        threads.append(threading.current_thread().name)
        return (202, {}, "")

    with responses.RequestsMock() as hub:
        hub.add(responses.POST, TOKEN_URL, json=token_answer("token-1"))
        hub.add_callback(responses.POST, EVENT_URL, callback=receiver)
        committed(django_capture_on_commit_callbacks, lambda: create(client, report()))

    assert threads == ["sandbox-servicenow-events"]
    assert threading.current_thread().name not in threads


@pytest.mark.parametrize(
    "answer,outcome",
    [
        ({"status": 500}, "HTTP 500"),
        ({"body": requests.ConnectionError("refused")}, "ConnectionError: refused"),
        ({"body": requests.ReadTimeout("slow")}, "ReadTimeout: slow"),
    ],
    ids=["500", "refused", "timeout"],
)
def test_a_failed_call_is_kept_and_shown_and_the_table_api_answers_as_usual(
    client, django_capture_on_commit_callbacks, answer, outcome
):
    with responses.RequestsMock() as hub:
        hub.add(responses.POST, TOKEN_URL, json=token_answer("token-1"))
        hub.add(responses.POST, EVENT_URL, **answer)

        response = committed(django_capture_on_commit_callbacks, lambda: create(client, report()))

    assert response.status_code == 201
    [call] = events.sender.history()
    assert (call.outcome, call.ok, call.url) == (outcome, False, EVENT_URL)
    page = client.get("/").content.decode()
    assert outcome in page and response.json()["result"]["number"] in page


def test_a_refused_token_request_is_shown_and_nothing_is_posted(client, django_capture_on_commit_callbacks):
    with responses.RequestsMock() as hub:
        hub.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"})

        committed(django_capture_on_commit_callbacks, lambda: create(client, report()))

        assert calls_to(hub, EVENT_URL) == []

    [call] = events.sender.history()
    assert call.ok is False
    assert f"token endpoint {TOKEN_URL} answered HTTP 401" in call.outcome


def test_an_empty_event_url_turns_the_calls_off_and_spends_no_knob(
    client, hub, settings, django_capture_on_commit_callbacks
):
    settings.SANDBOX_SERVICENOW_EVENT_URL = ""
    update_faults("servicenow", {"drop_events_next": 1})

    committed(django_capture_on_commit_callbacks, lambda: create(client, report()))

    assert len(hub.calls) == 0
    assert events.sender.history() == []
    assert servicenow.Incident.objects.count() == 1
    assert update_faults("servicenow", {}).drop_events_next == 1


# --- the fault knobs ----------------------------------------------------------------------------------


def three_changes(client, django_capture_on_commit_callbacks) -> None:
    sys_id = committed(django_capture_on_commit_callbacks, lambda: create(client, report())).json()["result"]["sys_id"]
    committed(django_capture_on_commit_callbacks, lambda: change(client, sys_id, {"state": "2"}))
    committed(django_capture_on_commit_callbacks, lambda: change(client, sys_id, {"state": "3", "hold_reason": "4"}))


def test_drop_events_next_sends_none_of_the_next_n(client, hub, django_capture_on_commit_callbacks):
    update_faults("servicenow", {"drop_events_next": 2})

    three_changes(client, django_capture_on_commit_callbacks)

    assert [b["sys_mod_count"] for b in sent_bodies(hub)] == ["2"]
    assert [call.ok for call in events.sender.history()] == [True, False, False]
    assert events.sender.history()[-1].outcome == "dropped (fault drop_events_next)"
    assert update_faults("servicenow", {}).drop_events_next == 0


def test_duplicate_events_next_sends_each_of_the_next_n_twice(client, hub, django_capture_on_commit_callbacks):
    update_faults("servicenow", {"duplicate_events_next": 2})

    three_changes(client, django_capture_on_commit_callbacks)

    assert [b["sys_mod_count"] for b in sent_bodies(hub)] == ["0", "0", "1", "1", "2"]
    assert sent_bodies(hub)[0] == sent_bodies(hub)[1]


def test_reorder_events_next_sends_an_event_after_the_one_that_follows_it(
    client, hub, django_capture_on_commit_callbacks
):
    update_faults("servicenow", {"reorder_events_next": 1})

    three_changes(client, django_capture_on_commit_callbacks)

    assert [b["sys_mod_count"] for b in sent_bodies(hub)] == ["1", "0", "2"]
    assert [b["state"] for b in sent_bodies(hub)] == ["2", "1", "3"]


@pytest.mark.django_db(transaction=True)
def test_over_real_http_the_event_follows_the_real_commit(sandbox_url):
    with responses.RequestsMock() as hub:
        hub.add_passthru(sandbox_url)
        hub.add(responses.POST, TOKEN_URL, json=token_answer("token-1"))
        hub.add(responses.POST, EVENT_URL, status=202)

        created = requests.post(
            f"{sandbox_url}{TABLE}", json=report(), headers={**auth(), "Accept": "application/json"}, timeout=10
        )
        sys_id = created.json()["result"]["sys_id"]
        moved = requests.post(
            f"{sandbox_url}/_sandbox/servicenow/incidents/{sys_id}",
            data={"action": "resolve", "close_code": "Solution provided", "close_notes": "Parcel re-sent."},
            allow_redirects=False,
            timeout=10,
        )
        assert events.sender.wait_idle()
        bodies = sent_bodies(hub)

    assert (created.status_code, moved.status_code) == (201, 302)
    assert [(b["state"], b["sys_mod_count"], b["sys_updated_by"]) for b in bodies] == [
        ("1", "0", "incident.hub"),
        ("6", "1", "admin"),
    ]
    assert bodies[1]["close_notes"] == "Parcel re-sent."


def test_the_default_event_url_is_incident_hubs_under_make_run(settings, monkeypatch):
    del settings.SANDBOX_SERVICENOW_EVENT_URL
    monkeypatch.delenv("SANDBOX_SERVICENOW_EVENT_URL", raising=False)
    monkeypatch.delenv("WEB_PORT", raising=False)
    default = events.event_url()
    monkeypatch.setenv("WEB_PORT", "9000")

    assert default == "http://127.0.0.1:8000/api/events/servicenow/v1/incidents"
    assert events.event_url() == "http://127.0.0.1:9000/api/events/servicenow/v1/incidents"
    assert events.token_url() == "http://127.0.0.1:9000/o/token/"
