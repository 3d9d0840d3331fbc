from django.urls import include, path

urlpatterns = [
    path("servicenow/v1/", include("system_apis.servicenow.urls")),
    path("salesforce/v1/", include("system_apis.salesforce.urls")),
    path("slack/v1/", include("system_apis.slack.urls")),
    path("legacy-customers/v1/", include("system_apis.legacy_db.urls")),
]
