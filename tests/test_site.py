import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_home_page_links_the_docs_and_the_admin(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b'href="/api/docs/"' in response.content
    assert b'href="/admin/"' in response.content


def test_openapi_schema_is_valid_and_generated_without_warnings(tmp_path):
    schema_file = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))

    assert "/api/system/legacy-customers/v1/customers" in schema_file.read_text()


def test_api_docs_page_is_served_from_our_own_static_files_so_it_works_offline(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_unknown_api_path_answers_json_not_an_html_page(client):
    response = client.get("/api/system/nothing-here")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"] == "No such resource: /api/system/nothing-here"


def test_unknown_api_path_answers_json_404_to_a_post_too_not_a_csrf_page(client):
    client_enforcing_csrf = client.__class__(enforce_csrf_checks=True)

    response = client_enforcing_csrf.post("/api/v9/whatever", {"a": 1})

    assert response.status_code == 404
    assert response.json()["message"] == "No such resource: /api/v9/whatever"


def test_an_unexpected_error_in_an_api_view_is_json_even_in_debug(admin_client, settings, monkeypatch):
    from system_apis.legacy_db.client import LegacyCustomerDatabase

    settings.DEBUG = True
    monkeypatch.setattr(LegacyCustomerDatabase, "find_by_email", lambda self, email: 1 / 0)

    response = admin_client.get("/api/system/legacy-customers/v1/customers", {"email": "a@example.com"})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal error; it has been logged.", "extra": {}}


@pytest.mark.parametrize(
    "path", ["/api/v1/incidents", "/api/system/legacy-customers/v1/customers", "/api/process/customers/v1/customers"]
)
def test_a_request_with_too_many_fields_is_a_json_400_not_a_500(admin_client, path):
    response = admin_client.get(f"{path}?{'&' * 1001}")

    assert response.status_code == 400
    assert response.json()["message"].startswith("The request was refused: The number of GET/POST parameters")


def test_every_model_change_has_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
