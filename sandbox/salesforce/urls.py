"""Salesforce's paths under the stand-in's root (the `instance_url` its tokens name)."""

from django.urls import path, re_path

from . import bulk_views, views

# Salesforce's own documentation writes the ingest paths with and without a trailing slash.
INGEST = r"^services/data/(?P<version>[^/]+)/jobs/ingest"
JOB_ID = r"(?P<job_id>[^/]+)"

urlpatterns = [
    path("services/oauth2/token", views.token, name="sandbox-salesforce-token"),
    path("services/data/<str:version>/query", views.query, name="sandbox-salesforce-query"),
    path("services/data/<str:version>/query/<str:cursor>", views.query_more, name="sandbox-salesforce-query-more"),
    re_path(rf"{INGEST}/?$", bulk_views.jobs, name="sandbox-salesforce-ingest-jobs"),
    re_path(rf"{INGEST}/{JOB_ID}/?$", bulk_views.job, name="sandbox-salesforce-ingest-job"),
    re_path(rf"{INGEST}/{JOB_ID}/batches/?$", bulk_views.batches, name="sandbox-salesforce-ingest-batches"),
    re_path(
        rf"{INGEST}/{JOB_ID}/(?P<kind>successfulResults|failedResults|unprocessedrecords)/?$",
        bulk_views.job_results,
        name="sandbox-salesforce-ingest-results",
    ),
    path("_sandbox/contacts", views.contacts, name="sandbox-salesforce-contacts"),
    path("_sandbox/revoke-tokens", views.revoke_tokens, name="sandbox-salesforce-revoke-tokens"),
    path("_sandbox/bulk-jobs", bulk_views.sandbox_jobs, name="sandbox-salesforce-bulk-jobs"),
]
