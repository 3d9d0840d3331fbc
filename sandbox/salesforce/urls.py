"""Salesforce's paths under the stand-in's root (the `instance_url` its tokens name)."""

from django.urls import path

from . import views

urlpatterns = [
    path("services/oauth2/token", views.token, name="sandbox-salesforce-token"),
    path("services/data/<str:version>/query", views.query, name="sandbox-salesforce-query"),
    path("services/data/<str:version>/query/<str:cursor>", views.query_more, name="sandbox-salesforce-query-more"),
    path("_sandbox/contacts", views.contacts, name="sandbox-salesforce-contacts"),
    path("_sandbox/revoke-tokens", views.revoke_tokens, name="sandbox-salesforce-revoke-tokens"),
]
