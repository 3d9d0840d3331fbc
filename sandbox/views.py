import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .faults import FaultSettingsError, reset_faults, update_faults
from .mail.models import ReceivedMail
from .models import SYSTEMS, Fault
from .salesforce.models import Contact
from .servicenow import events
from .servicenow.models import Incident
from .servicenow.views import CLOSE_CODES, HOLD_REASONS, STATES, USERS, DataPolicyError, update_incident, user_sys_id
from .slack.models import Message

# The name the instance records for changes made on the sandbox page (sys_updated_by).
PAGE_USER = "admin"


def index(request: HttpRequest, problem: str = "", status: int = 200) -> HttpResponse:
    users = {user_sys_id(name): name for name in USERS}
    incidents = [
        {
            "row": row,
            "state": STATES.get(row.fields.get("state", ""), row.fields.get("state", "")),
            "assigned_to": users.get(row.fields.get("assigned_to", ""), row.fields.get("assigned_to", "")),
            "hold_reason": HOLD_REASONS.get(row.fields.get("hold_reason", ""), row.fields.get("hold_reason", "")),
        }
        for row in Incident.objects.all()[:50]
    ]
    return render(
        request,
        "sandbox/index.html",
        {
            "incidents": incidents,
            "messages": Message.objects.all()[:50],
            "mails": ReceivedMail.objects.all()[:50],
            "smtp_port": settings.SANDBOX_SMTP_PORT,
            "contacts": Contact.objects.all(),
            "faults": [Fault.for_system(system) for system in SYSTEMS],
            "servicenow_fault": Fault.for_system("servicenow"),
            "users": USERS,
            "hold_reasons": HOLD_REASONS.items(),
            "close_codes": CLOSE_CODES,
            "event_url": events.event_url(),
            "event_client_id": events.setting("SANDBOX_SERVICENOW_EVENT_CLIENT_ID"),
            "event_calls": events.sender.history(),
            "problem": problem,
        },
        status=status,
    )


@csrf_exempt
@require_POST
def move_incident(request: HttpRequest, sys_id: str) -> HttpResponse:
    """The page's buttons: assign, in progress, on hold, resolve, close or cancel one incident."""
    form = request.POST
    action = form.get("action", "")
    if action == "assign":
        if form.get("assigned_to", "") not in USERS:
            return index(request, f"Assign to one of {', '.join(USERS)}.", status=400)
        changes = {"assigned_to": user_sys_id(form["assigned_to"])}
    elif action in ("in_progress", "close", "cancel"):
        changes = {"state": {"in_progress": "2", "close": "7", "cancel": "8"}[action]}
    elif action == "on_hold":
        changes = {"state": "3", "hold_reason": form.get("hold_reason", "")}
    elif action == "resolve":
        changes = {"state": "6", "close_code": form.get("close_code", ""), "close_notes": form.get("close_notes", "")}
    else:
        return index(request, f"Unknown action {action!r}.", status=400)
    try:
        row = update_incident(sys_id, changes, PAGE_USER)
    except Incident.DoesNotExist:
        return index(request, f"No incident with sys_id {sys_id}.", status=404)
    except DataPolicyError as exc:
        return index(request, f"Data Policy Exception: {exc}", status=403)
    return HttpResponseRedirect(f"{reverse('sandbox-index')}?moved={row.number}#servicenow")


@csrf_exempt
@require_POST
def event_faults(request: HttpRequest) -> HttpResponse:
    """The page's form for the knobs of ServiceNow's outbound event calls."""
    values = {name: request.POST[name] for name in Fault.EVENT_KNOBS if request.POST.get(name, "") != ""}
    try:
        update_faults("servicenow", values)
    except FaultSettingsError as exc:
        return index(request, str(exc), status=400)
    return HttpResponseRedirect(f"{reverse('sandbox-index')}#events")


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
