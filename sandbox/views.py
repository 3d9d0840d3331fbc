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
from .receiver.models import ReceivedWebhook
from .salesforce import bulk
from .salesforce.bulk_views import job_summary
from .salesforce.models import Contact
from .servicenow import events
from .servicenow.choices import HOLD_REASONS, USERS, display_value, user_sys_id
from .servicenow.models import Incident
from .servicenow.views import CLOSE_CODES, DataPolicyError, update_incident
from .slack import interactivity
from .slack.models import Message
from .slack.views import thread_replies

# The name the instance records for changes made on the sandbox page (sys_updated_by).
PAGE_USER = "admin"
# A bulk migration leaves many contacts: the page lists the first of them and the newest bulk jobs.
PAGE_CONTACTS = 100
PAGE_BULK_JOBS = 20


def index(request: HttpRequest, problem: str = "", status: int = 200) -> HttpResponse:
    incidents = [
        {
            "row": row,
            "state": display_value("state", row.fields.get("state", "")),
            "assigned_to": display_value("assigned_to", row.fields.get("assigned_to", "")),
            "hold_reason": display_value("hold_reason", row.fields.get("hold_reason", "")),
        }
        for row in Incident.objects.all()[:50]
    ]
    return render(
        request,
        "sandbox/index.html",
        {
            "incidents": incidents,
            "messages": _slack_threads(),
            "mails": ReceivedMail.objects.all()[:50],
            "webhooks": ReceivedWebhook.objects.all()[:50],
            "smtp_port": settings.SANDBOX_SMTP_PORT,
            "contacts": Contact.objects.all()[:PAGE_CONTACTS],
            "contacts_total": Contact.objects.count(),
            "bulk_jobs": [job_summary(job) for job in bulk.recent_jobs(PAGE_BULK_JOBS)],
            "faults": [Fault.for_system(system) for system in SYSTEMS],
            "servicenow_fault": Fault.for_system("servicenow"),
            "users": USERS,
            "hold_reasons": HOLD_REASONS.items(),
            "close_codes": CLOSE_CODES,
            "event_url": events.event_url(),
            "event_client_id": events.setting("SANDBOX_SERVICENOW_EVENT_CLIENT_ID"),
            "event_calls": events.sender.history(),
            "problem": problem,
            **interactivity.page_context(),
        },
        status=status,
    )


def _slack_threads() -> list[tuple[Message, list[Message]]]:
    """The newest first messages, each with its thread's replies (a reply whose first message is gone stands alone)."""
    recent = list(Message.objects.all()[:50])
    replies = thread_replies(recent)
    firsts = {(m.channel_id, m.ts) for m in recent if not m.thread_ts or m.thread_ts == m.ts}
    return [
        (message, replies.get((message.channel_id, message.ts), []))
        for message in recent
        if (message.channel_id, message.thread_ts or message.ts) not in firsts
        or not message.thread_ts
        or message.thread_ts == message.ts
    ]


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


@csrf_exempt
@require_POST
def slack_command(request: HttpRequest) -> HttpResponse:
    """The page's /incident box: send the typed command as the named user, or send the last one again as Slack's
    retry would."""
    try:
        if request.POST.get("action") == "retry":
            interactivity.command_retry()
        else:
            interactivity.command_send(text=request.POST.get("text", ""), user_name=request.POST.get("user_name", ""))
    except interactivity.InteractivityError as exc:
        return index(request, str(exc), status=exc.status)
    return HttpResponseRedirect(f"{reverse('sandbox-index')}#slack-command")


@csrf_exempt
@require_POST
def slack_view_submit(request: HttpRequest, view_id: str) -> HttpResponse:
    """A modal's form: its fields are named by block_id."""
    values = {name: value for name, value in request.POST.items() if name != "action"}
    try:
        interactivity.view_submit(view_id=view_id, values=values)
    except interactivity.InteractivityError as exc:
        return index(request, str(exc), status=exc.status)
    return HttpResponseRedirect(f"{reverse('sandbox-index')}#slack-command")


@csrf_exempt
@require_POST
def slack_view_close(request: HttpRequest, view_id: str) -> HttpResponse:
    try:
        interactivity.view_close(view_id=view_id)
    except interactivity.InteractivityError as exc:
        return index(request, str(exc), status=exc.status)
    return HttpResponseRedirect(f"{reverse('sandbox-index')}#slack-command")
