"""Test urlconf: the project and, under /sandbox/, the vendors' stand-ins, on one live server."""

from django.urls import include, path

urlpatterns = [
    path("sandbox/", include("sandbox.urls")),
    path("", include("incidents_site.urls")),
]
