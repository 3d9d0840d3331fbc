"""The public schema describes the client API and the token endpoint; the internal one is for internal callers."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from tests.security.conftest import api_as

pytestmark = pytest.mark.django_db

PUBLIC = "/api/schema/"
INTERNAL = "/api/internal/schema/"
INTERNAL_PREFIXES = ("/api/system/", "/api/process/")


def staff(client: Client, *, allowed: bool) -> Client:
    user = get_user_model().objects.create_user("docs-staff", "docs@example.com", "pw", is_staff=True)
    if allowed:
        user.user_permissions.add(Permission.objects.get(codename="use_internal_apis"))
    client.force_login(user)
    return client


def paths(response) -> set[str]:
    assert response.status_code == 200, response.content
    return set(response.json()["paths"])


def test_anonymous_gets_the_public_schema_without_any_internal_path_and_with_the_token_endpoint(client):
    public = paths(client.get(PUBLIC, {"format": "json"}))

    assert "/o/token/" in public and "/api/v1/incidents" in public
    assert not [path for path in public if path.startswith(INTERNAL_PREFIXES)]
    assert (
        "internal"
        not in client.get(PUBLIC, {"format": "json"}).json()["components"]["securitySchemes"]["oauth2"]["flows"][
            "clientCredentials"
        ]["scopes"]
    )


def test_the_token_endpoint_is_documented_as_it_answers(client):
    operation = client.get(PUBLIC, {"format": "json"}).json()["paths"]["/o/token/"]["post"]

    assert operation["security"] == [{"clientBasic": []}]
    assert list(operation["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    assert {"200", "400", "401"} <= set(operation["responses"])


@pytest.mark.parametrize("path", [INTERNAL, f"{INTERNAL}?format=json"])
def test_anonymous_is_refused_the_internal_schema_with_a_json_401(client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["extra"]["code"] == "not_authenticated"


def test_an_ordinary_api_client_is_refused_the_internal_schema():
    response = api_as("partner-app").get(INTERNAL)

    assert response.status_code == 403
    assert response.json()["extra"]["code"] == "permission_denied"


def test_staff_without_the_permission_are_refused_the_internal_schema_and_docs(client):
    staff(client, allowed=False)

    assert client.get(INTERNAL).status_code == 403
    assert client.get("/api/internal/docs/").status_code == 403
    assert client.get("/api/internal/redoc/").status_code == 403


def test_staff_with_the_permission_get_every_operation(client):
    staff(client, allowed=True)

    internal = paths(client.get(INTERNAL, {"format": "json"}))
    public = paths(client.get(PUBLIC, {"format": "json"}))

    assert public < internal
    assert {path.split("/")[2] for path in internal if path.startswith("/api/")} >= {"system", "process", "v1"}
    assert client.get("/api/internal/docs/").status_code == 200
    assert client.get("/api/internal/redoc/").status_code == 200


@pytest.mark.django_db(databases=["default", "legacy"])
def test_an_internal_client_gets_the_internal_schema():
    response = api_as("ops-tool", internal=True).get(INTERNAL, {"format": "json"})

    assert "/api/system/legacy-customers/v1/customers" in paths(response)


@pytest.mark.parametrize("page", ["/api/internal/docs/", "/api/internal/redoc/"])
def test_anonymous_browsers_are_sent_to_the_admin_login_from_the_internal_docs(client, page):
    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={page}"
