"""A page or API that finds the database unreachable answers 503 with Retry-After, never an internal error."""

import pytest
from django.db import OperationalError

from tests.experience.test_slack_command import slash

pytestmark = pytest.mark.django_db

FAILURE = "connection to server at 127.0.0.1, port 5432 failed: Connection refused"


def unreachable(*args, **kwargs):
    raise OperationalError(FAILURE)


def logged_lines(caplog):
    return [record for record in caplog.records if record.name == "incidents_site.api"]


def test_a_page_says_to_try_again_shortly(client, monkeypatch, caplog):
    monkeypatch.setattr("experience_apis.web.views.incident_status", unreachable)

    response = client.post("/status", {"reference": "IH-0000000001", "email": "ada.lovelace@example.com"})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    html = response.content.decode()
    assert "Incident Hub cannot reach its database right now" in html
    assert "Please try again in 10 seconds" in html
    [logged] = logged_lines(caplog)
    assert logged.getMessage() == f"database unavailable in web:status: {FAILURE}"
    assert logged.exc_info is None


def test_a_view_under_api_answers_json(client, monkeypatch, settings, caplog):
    settings.SLACK_TEAM_IDS = ["T0INCIDENT"]
    monkeypatch.setattr("experience_apis.slack.views.slash_command_answer", unreachable)

    response = slash(client, "help")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == {
        "message": "Incident Hub cannot reach its database right now; please try again shortly.",
        "extra": {"code": "database_unavailable"},
    }
    assert [line.getMessage() for line in logged_lines(caplog)] == [
        f"database unavailable in slack-commands: {FAILURE}"
    ]


def test_any_other_error_is_still_an_internal_error(client, monkeypatch):
    def bug(*args, **kwargs):
        raise KeyError("sys_id")

    monkeypatch.setattr("experience_apis.web.views.incident_status", bug)
    client.raise_request_exception = False

    response = client.post("/status", {"reference": "IH-0000000001", "email": "ada.lovelace@example.com"})

    assert response.status_code == 500
