"""Test urlconf: the project with its API docs pages served by incidents_site.api_docs (and the sandbox)."""

from django.urls import include, path

from incidents_site import api_docs

urlpatterns = [
    path("api/docs/", api_docs.api_docs, name="api-docs"),
    path("api/redoc/", api_docs.api_redoc, name="api-redoc"),
    path("sandbox/", include("sandbox.urls")),
    path("", include("incidents_site.urls")),
]
