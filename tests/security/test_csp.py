"""Content Security Policy: our own files only, no inline script on any page, and the pages still work."""

import re

import pytest
from django.contrib.auth import get_user_model

from incidents_site.api_docs import swagger_style_hashes

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.mark.parametrize("path", ["/", "/status", "/admin/login/", "/api/v1/incidents", "/api/schema/"])
def test_every_answer_carries_the_policy_with_no_inline_script(client, path):
    response = client.get(path)

    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["base-uri"] == ["'self'"]


@pytest.mark.parametrize("path", ["/", "/status", "/admin/login/"])
def test_our_pages_hold_no_inline_script_or_style_that_the_policy_would_block(client, path):
    html = client.get(path).content.decode()

    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)


def test_the_site_stylesheet_is_a_file_the_policy_allows(client):
    html = client.get("/").content.decode()

    assert '<link rel="stylesheet" href="/static/experience/site.css">' in html


def test_admin_pages_as_staff_hold_no_inline_script(client):
    staff = get_user_model().objects.create_superuser("csp-staff", "csp@example.com", "pw")
    client.force_login(staff)

    for path in ("/admin/", "/admin/experience_apis/apiclient/", "/admin/experience_apis/apiclient/add/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not INLINE_SCRIPT.search(response.content.decode()), path
        assert policy(response)["script-src"] == ["'self'"]


def test_swagger_ui_loads_its_start_up_script_as_a_file_and_only_its_own_inline_style_is_allowed(client):
    page = client.get("/api/docs/")
    html = page.content.decode()
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    assert not INLINE_SCRIPT.search(html)
    assert '<script src="/api/docs/?script="></script>' in html
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    csp = policy(page)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'", *swagger_style_hashes()]
    assert len(swagger_style_hashes()) == 1


def test_redoc_may_inject_styles_and_start_a_worker_but_never_run_inline_script(client):
    page = client.get("/api/redoc/")

    assert page.status_code == 200
    assert not INLINE_SCRIPT.search(page.content.decode())
    csp = policy(page)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
    assert csp["worker-src"] == ["'self'", "blob:"]
