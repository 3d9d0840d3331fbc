"""The point-to-point view behind the site's own authentication: the OAuth toolkit's check of the bearer token
(the validator and server classes the site configures), then the same direct calls as the bare view."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.decorators import protected_resource
from oauth2_provider.settings import oauth2_settings

from .views import handle

_protected = protected_resource(
    scopes=["incidents"],
    validator_cls=oauth2_settings.OAUTH2_VALIDATOR_CLASS,
    server_cls=oauth2_settings.OAUTH2_SERVER_CLASS,
)(handle)


@csrf_exempt
def report(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"message": "POST only"}, status=405)
    return _protected(request)


urlpatterns = [path("api/v1/incidents", report)]
