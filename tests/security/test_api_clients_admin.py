"""API clients in the admin: staff make one, its secret is shown once in that response only; disabling revokes."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.management import call_command
from oauth2_provider.models import AccessToken, Application

from experience_apis.models import ApiClient
from tests.security.conftest import api_as, token_for, token_response

pytestmark = pytest.mark.django_db

ADD = "/admin/experience_apis/apiclient/add/"


def add(client, **data: str):
    """GET the add form, then POST it with its one-time token, as a browser does."""
    token = re.search(r'name="add_token" value="([^"]+)"', client.get(ADD).content.decode()).group(1)
    return client.post(ADD, {**data, "add_token": token})


def shown(html: str, field: str) -> str:
    return re.search(rf'id="client-{field}"[^>]* value="([^"]+)"', html).group(1)


def test_staff_make_a_client_and_see_its_id_and_secret_once_on_the_answer_to_their_post(admin_client):
    response = add(admin_client, name="partner-app", tier="silver")

    assert response.status_code == 200
    html = response.content.decode()
    client = ApiClient.objects.select_related("application").get()
    secret = shown(html, "secret")
    assert shown(html, "id") == client.client_id
    assert (client.application.name, client.tier, client.internal, client.active) == (
        "partner-app",
        "silver",
        False,
        True,
    )
    assert "Copy the secret now: this is the only time it is shown." in html
    assert "no-store" in response["Cache-Control"]
    # The secret is usable, and stored hashed only: nowhere to be read again.
    assert token_for(admin_client.__class__(), client.client_id, secret)
    assert Application.objects.get().client_secret != secret
    assert secret not in Application.objects.get().client_secret
    assert LogEntry.objects.get().object_id == str(client.pk)


def test_the_secret_is_never_kept_in_messages_the_session_or_a_url(admin_client):
    response = add(admin_client, name="partner-app", tier="bronze")
    secret = shown(response.content.decode(), "secret")

    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert all(secret not in str(value) for value in admin_client.session.values())
    assert "Location" not in response
    change_page = admin_client.get(f"/admin/experience_apis/apiclient/{ApiClient.objects.get().pk}/change/")
    assert secret not in change_page.content.decode()
    assert secret not in admin_client.get("/admin/experience_apis/apiclient/").content.decode()


def test_an_invalid_add_makes_nothing_and_shows_the_errors(admin_client):
    response = add(admin_client, name="", tier="platinum")

    assert response.status_code == 200
    assert "Please correct the errors below." in response.content.decode()
    assert not ApiClient.objects.exists() and not Application.objects.exists()


def test_sending_the_form_again_a_reload_shows_the_client_made_without_its_secret(admin_client):
    token = re.search(r'name="add_token" value="([^"]+)"', admin_client.get(ADD).content.decode()).group(1)
    first = admin_client.post(ADD, {"name": "partner-app", "tier": "bronze", "add_token": token})
    secret = shown(first.content.decode(), "secret")

    again = admin_client.post(ADD, {"name": "partner-app", "tier": "bronze", "add_token": token})

    html = again.content.decode()
    client = ApiClient.objects.get()
    assert again.status_code == 200
    assert f"This form already made the API client “partner-app” (client id <code>{client.client_id}</code>)." in html
    assert secret not in html
    assert ApiClient.objects.count() == 1 and Application.objects.count() == 1


def test_a_post_without_a_token_this_user_was_given_makes_nothing(admin_client, django_user_model):
    other = django_user_model.objects.create_superuser("other", "other@example.com", "pw")
    other_browser = admin_client.__class__()
    other_browser.force_login(other)
    others_token = re.search(r'name="add_token" value="([^"]+)"', other_browser.get(ADD).content.decode()).group(1)

    for token in ("", "forged", others_token):
        response = admin_client.post(ADD, {"name": "partner-app", "tier": "bronze", "add_token": token})
        assert "This form is too old or was not opened by you" in response.content.decode()
    assert not ApiClient.objects.exists()


def test_staff_without_the_add_permission_cannot_make_clients(client):
    clerk = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(clerk)

    assert client.post(ADD, {"name": "sneaky", "tier": "gold"}).status_code == 403
    assert not ApiClient.objects.exists()


def test_staff_mark_a_client_internal_in_the_admin(admin_client):
    api = api_as("ops-tool")
    url = f"/admin/experience_apis/apiclient/{api.api_client.pk}/change/"

    response = admin_client.post(url, {"tier": "bronze", "internal": "on", "active": "on"})

    assert response.status_code == 302
    api.api_client.refresh_from_db()
    assert api.api_client.internal is True


def test_staff_who_may_change_clients_cannot_mark_one_internal_without_that_right(client):
    clerk = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(codename__in=["add_apiclient", "change_apiclient", "view_apiclient"])
    )
    client.force_login(clerk)
    api = api_as("partner-app")

    changed = client.post(
        f"/admin/experience_apis/apiclient/{api.api_client.pk}/change/",
        {"tier": "gold", "internal": "on", "active": "on"},
    )
    made = add(client, name="sneaky", tier="bronze", internal="on")

    assert changed.status_code == 302
    api.api_client.refresh_from_db()
    assert (api.api_client.tier, api.api_client.internal) == ("gold", False)
    assert made.status_code == 200 and 'name="internal"' not in client.get(ADD).content.decode()
    assert ApiClient.objects.get(application__name="sneaky").internal is False


def test_disabling_a_client_in_the_admin_revokes_its_tokens(admin_client):
    api = api_as("partner-app")
    assert api.get("/api/v1/incidents").status_code == 200

    response = admin_client.post(
        f"/admin/experience_apis/apiclient/{api.api_client.pk}/change/", {"tier": "bronze", "active": ""}
    )

    assert response.status_code == 302
    assert not AccessToken.objects.exists()
    assert api.get("/api/v1/incidents").status_code == 401


def test_create_api_client_makes_an_internal_client_with_a_flag(client, capsys):
    call_command("create_api_client", "ops-tool", "--tier", "gold", "--internal")

    out = dict(line.split("=", 1) for line in capsys.readouterr().out.strip().splitlines())
    made = ApiClient.objects.get(application__client_id=out["client_id"])
    assert (made.tier, made.internal) == ("gold", True)
    assert token_response(client, out["client_id"], out["client_secret"]).json()["scope"] == "incidents internal"


def test_ensure_demo_access_prints_the_demo_client_and_how_to_get_a_token(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path

    call_command("ensure_demo_access")
    first = capsys.readouterr().out
    call_command("ensure_demo_access")
    second = capsys.readouterr().out

    demo = ApiClient.objects.select_related("application").get(application__name="demo-client")
    secret = (tmp_path / "demo-api-client").read_text().strip()
    assert (demo.tier, demo.internal) == ("gold", True)
    assert f"client_id={demo.client_id}" in first and f"client_secret={secret}" in first
    assert f'curl -s -u "{demo.client_id}:{secret}" -d grant_type=client_credentials' in first
    assert "http://127.0.0.1:8000/catalog/" in first and "http://127.0.0.1:8000/health/ready" in first
    assert "Customer e-mail   locmem://" in first  # the tests' EMAIL_URL; `make run`'s is the sandbox's mailbox
    assert first == second, "idempotent: the same client and secret at every start"


def test_make_run_prints_the_sandboxs_mailbox_when_the_mail_goes_there(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    settings.EMAIL_URL = settings.SANDBOX_EMAIL_URL

    call_command("ensure_demo_access")

    assert (
        f"  Customer mailbox  {settings.SANDBOX_URL}/#mailbox   (the customer's e-mail, sent to the sandbox's SMTP"
        f" server on port {settings.SANDBOX_SMTP_PORT})"
    ) in capsys.readouterr().out


def test_ensure_demo_access_makes_the_sandboxs_servicenow_an_events_client_once(settings, tmp_path, client):
    settings.VAR_DIR = tmp_path

    call_command("ensure_demo_access")
    client_id, secret = (tmp_path / "sandbox-servicenow-events-client").read_text().split()
    call_command("ensure_demo_access")

    assert (tmp_path / "sandbox-servicenow-events-client").read_text().split() == [client_id, secret]
    assert ApiClient.objects.get(application__client_id=client_id).scope_names == ["events"]
    assert token_response(client, client_id, secret).json()["scope"] == "events"
    (tmp_path / "sandbox-servicenow-events-client").unlink()
    call_command("ensure_demo_access")
    assert ApiClient.objects.filter(application__name="sandbox-servicenow").count() == 1, "the lost one is replaced"
