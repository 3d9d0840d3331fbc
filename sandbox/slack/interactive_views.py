"""Slack's interactivity over HTTP: the views.open Web API method and the response_url the app calls, plus the
JSON endpoints with which a person or a test plays the user (type a command, fill in and submit a modal)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..faults import with_faults
from . import interactivity, modals
from .interactivity import InteractivityError
from .views import SlackAnswers, SlackError, authenticate, call_arguments


@csrf_exempt
@require_POST
@with_faults("slack", SlackAnswers())
def views_open(request: HttpRequest) -> JsonResponse:
    """views.open: a modal for the user whose interaction gave the trigger_id (good once, within 3 seconds)."""
    warnings: list[str] = []
    try:
        args, token = call_arguments(request, warnings)
        authenticate(token)
        view = modals.checked_view(args.get("view"))
        trigger = interactivity.trigger_exchange(args.get("trigger_id"))
    except SlackError as error:
        return _refusal(error.code, [], warnings)
    except modals.SlackViewError as error:
        return _refusal(error.code, error.messages, warnings)
    modal = interactivity.modal_open(trigger=trigger, view=view)
    body: dict[str, Any] = {"ok": True, "view": interactivity.view_object(modal)}
    if warnings:
        body["warning"] = ",".join(warnings)
        body["response_metadata"] = {"warnings": warnings}
    return JsonResponse(body)


def _refusal(code: str, messages: list[str], warnings: list[str]) -> JsonResponse:
    body: dict[str, Any] = {"ok": False, "error": code}
    metadata: dict[str, list[str]] = {}
    if messages:
        metadata["messages"] = messages
    if warnings:
        body["warning"] = ",".join(warnings)
        metadata["warnings"] = warnings
    if metadata:
        body["response_metadata"] = metadata
    return JsonResponse(body)


@csrf_exempt
@require_POST
@with_faults("slack", SlackAnswers())
def response_url(request: HttpRequest, team_id: str, command_id: int, token: str) -> JsonResponse:
    """A command's response_url (Slack's https://hooks.slack.com/commands/...): takes a JSON message."""
    status, body = interactivity.response_url_post(
        team_id=team_id, command_id=command_id, token=token, body=request.body
    )
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def sandbox_commands(request: HttpRequest) -> JsonResponse:
    """Type `/incident <text>` as <user_name> (`{"text", "user_name", "channel"}`), or with `"retry": true` send
    the last command (or `"command_id"`'s) again as Slack's retry would. Answers with what the app answered."""
    try:
        body = _json_object(request)
        if body.get("retry"):
            command_id = body.get("command_id")
            command, answer = interactivity.command_retry(command_id=int(command_id) if command_id else None)
        else:
            text = body.get("text", "")
            if not isinstance(text, str):
                raise InteractivityError("text must be a string")
            command, answer = interactivity.command_send(
                text=text,
                user_name=str(body.get("user_name") or ""),
                channel=str(body.get("channel") or interactivity.DEFAULT_CHANNEL),
            )
    except (InteractivityError, ValueError) as exc:
        return _problem(exc)
    return JsonResponse(
        {
            "command": interactivity.command_as_dict(command),
            "trigger_id": command.trigger_id,
            "response_url": interactivity.response_url_of(command),
            "answer": interactivity.answer_as_dict(answer),
        }
    )


@require_GET
def sandbox_views(request: HttpRequest) -> JsonResponse:
    """The open modals, newest first (a view under one pushed on it has `on_top` false)."""
    return JsonResponse({"views": [interactivity.modal_as_dict(modal) for modal in interactivity.open_modals()]})


@csrf_exempt
@require_POST
def sandbox_view_submit(request: HttpRequest, view_id: str) -> JsonResponse:
    """Fill in a modal (`{"values": {block_id: value}}`, a static_select by its option's value) and submit it.
    `sent` is false when Slack's client kept it back (a required field empty, a bad email...)."""
    try:
        values = _json_object(request).get("values", {})
        if not isinstance(values, dict):
            raise InteractivityError('"values" must be an object of block_id: value')
        modal, answer = interactivity.view_submit(view_id=view_id, values=values)
    except (InteractivityError, ValueError) as exc:
        return _problem(exc)
    return JsonResponse(
        {
            "sent": answer is not None,
            "answer": interactivity.answer_as_dict(answer) if answer else None,
            "view": interactivity.modal_as_dict(modal),
            "open_views": [view.view_id for view in interactivity.open_modals()],
        }
    )


@csrf_exempt
@require_POST
def sandbox_view_close(request: HttpRequest, view_id: str) -> JsonResponse:
    """Close a modal as the user would (a view_closed goes to the app when the view has notify_on_close)."""
    try:
        modal, answer = interactivity.view_close(view_id=view_id)
    except InteractivityError as exc:
        return _problem(exc)
    return JsonResponse(
        {
            "answer": interactivity.answer_as_dict(answer) if answer else None,
            "view": interactivity.modal_as_dict(modal),
        }
    )


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def sandbox_responses(request: HttpRequest) -> JsonResponse:
    """Every answer the app gave, newest first (`?kind=command|response_url|view_submission|view_closed`);
    DELETE forgets the commands, triggers, modals and answers."""
    if request.method == "DELETE":
        return JsonResponse({"deleted": interactivity.forget_everything()})
    return JsonResponse(
        {
            "responses": [
                interactivity.answer_as_dict(answer) for answer in interactivity.answers(request.GET.get("kind", ""))
            ]
        }
    )


def _json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise InteractivityError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InteractivityError("the body must be a JSON object")
    return body


def _problem(exc: Exception) -> JsonResponse:
    return JsonResponse({"error": str(exc)}, status=getattr(exc, "status", 400))
