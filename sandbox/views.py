import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .faults import FaultSettingsError, reset_faults, update_faults
from .models import SYSTEMS, Fault
from .salesforce.models import Contact
from .servicenow.models import Incident
from .slack.models import Message


def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sandbox/index.html",
        {
            "incidents": Incident.objects.all()[:50],
            "messages": Message.objects.all()[:50],
            "contacts": Contact.objects.all(),
            "faults": [Fault.for_system(system) for system in SYSTEMS],
        },
    )


@csrf_exempt
@require_http_methods(["GET", "PUT", "POST", "DELETE"])
def faults(request: HttpRequest, system: str) -> JsonResponse:
    """GET the system's fault settings, PUT/POST some of them as JSON, DELETE to clear them all."""
    try:
        if request.method == "GET":
            if system not in SYSTEMS:
                raise FaultSettingsError(f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
            fault = Fault.for_system(system)
        elif request.method == "DELETE":
            fault = reset_faults(system)
        else:
            try:
                values = json.loads(request.body or b"{}")
            except ValueError:
                raise FaultSettingsError("the body must be a JSON object") from None
            if not isinstance(values, dict):
                raise FaultSettingsError("the body must be a JSON object")
            fault = update_faults(system, values)
    except FaultSettingsError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(fault.as_dict())
