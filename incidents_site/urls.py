from django.contrib import admin
from django.urls import include, path, re_path
from django.views.defaults import server_error
from oauth2_provider import views as oauth2_views

from experience_apis.clients import oauth
from operations.catalog import api_catalog

from . import api_docs, health
from .api_errors import answers_in_json, json_not_found, json_server_error

urlpatterns = [
    path("", include("experience_apis.web.urls")),
    path("admin/", admin.site.urls),
    path("catalog/", api_catalog, name="api-catalog"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("o/token/", oauth.TokenView.as_view(), name="oauth2-token"),
    path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="oauth2-revoke-token"),
    path("api/v1/", include("experience_apis.rest.urls")),
    path("api/events/servicenow/v1/", include("experience_apis.events.urls")),
    path("api/slack/v1/", include("experience_apis.slack.urls")),
    path("api/schema/", api_docs.api_schema, name="api-schema"),
    path("api/docs/", api_docs.api_docs, name="api-docs"),
    path("api/redoc/", api_docs.api_redoc, name="api-redoc"),
    path("api/internal/schema/", api_docs.internal_api_schema, name="api-internal-schema"),
    path("api/internal/docs/", api_docs.internal_api_docs, name="api-internal-docs"),
    path("api/internal/redoc/", api_docs.internal_api_redoc, name="api-internal-redoc"),
    path("api/system/", include("system_apis.urls")),
    path("api/process/", include("process_apis.urls")),
    # Last: any other /api/ path is a JSON 404, in DEBUG too, never Django's HTML page.
    re_path(r"^api/", json_not_found),
]


def handler500(request):  # noqa: ANN001, ANN201
    if answers_in_json(request):
        return json_server_error(request)
    return server_error(request)
