"""Slack's two doors: slash commands and interactivity (the modal's submission). Slack signs each request, and
only these two views take a body without Django's CSRF token: the signature stands in for it."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .commands import SlashCommand, modal_submission_answer, slash_command_answer
from .signing import slack_request_verified

logger = logging.getLogger("experience_apis.slack")


@csrf_exempt
@require_POST
def commands(request: HttpRequest) -> HttpResponse:
    if not slack_request_verified(request):
        return _unsigned(request)
    command = SlashCommand.from_post(request.POST)
    if command.team_id not in settings.SLACK_TEAM_IDS:
        return _foreign(command.team_id)
    answer = slash_command_answer(command, retried="X-Slack-Retry-Num" in request.headers, trace_id=request.trace_id)
    return JsonResponse(answer) if answer is not None else HttpResponse(status=200)


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    if not slack_request_verified(request):
        return _unsigned(request)
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return JsonResponse({"message": "The body has no interaction payload."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"message": "The interaction payload is not an object."}, status=400)
    team = payload.get("team") if isinstance(payload.get("team"), dict) else {}
    if team.get("id") not in settings.SLACK_TEAM_IDS:
        return _foreign(str(team.get("id", "")))
    answer = None
    if payload.get("type") == "view_submission":
        answer = modal_submission_answer(payload, trace_id=request.trace_id)
    return JsonResponse(answer) if answer is not None else HttpResponse(status=200)


def _foreign(team_id: str) -> HttpResponse:
    # Signed by our app, but from a workspace it was installed in without being ours to serve.
    logger.warning("slack: a request from workspace %r, not one of SLACK_TEAM_IDS, was refused", team_id[:20])
    return JsonResponse({"message": "This Slack workspace may not use Incident Hub."}, status=403)


def _unsigned(request: HttpRequest) -> HttpResponse:
    logger.warning("slack: a request to %s without a valid, fresh signature was refused", request.path)
    return JsonResponse({"message": "The request is not signed by Slack (or is older than five minutes)."}, status=401)
