"""Slack's side of an app's interactivity, played against Incident Hub: the `/incident` slash command and the
modal submissions Slack posts to the app, signed as Slack signs them, the answers the app gives (synchronously within
3 seconds, or later on the command's response_url), and the trigger_ids and modals that views.open works with.

Settings (Django settings first, then the environment):
- SANDBOX_SLACK_COMMAND_URL: where the slash command goes (default Incident Hub's endpoint under `make run`,
  http://127.0.0.1:8000/api/slack/v1/commands, on WEB_PORT when that is set).
- SANDBOX_SLACK_INTERACTIONS_URL: where interactivity payloads go (default .../api/slack/v1/interactions).
- SANDBOX_SLACK_SIGNING_SECRET: the secret every request is signed with (`X-Slack-Signature: v0=...`).

No database transaction or pooled connection is held while the app is being waited on: the app calls back into the
sandbox (views.open) before it answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import string
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from slack_sdk.signature import SignatureVerifier

from ..faults import release_db_connections
from . import modals
from .models import AppAnswer, Modal, SlashCommand, Trigger
from .views import SANDBOX_APP, SANDBOX_BOT, SANDBOX_TEAM, block_problems

COMMAND = "/incident"
TEAM_DOMAIN = "incident-hub-sandbox"
# The deprecated verification token Slack still sends in the `token` field.
VERIFICATION_TOKEN = "sandboxVerificationT0ken"
DEFAULT_USER_NAME = "sandbox.user"
DEFAULT_CHANNEL = "incidents"
COMMAND_PATH = "/api/slack/v1/commands"
INTERACTIONS_PATH = "/api/slack/v1/interactions"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Slack gives the app 3 seconds to answer before the user sees operation_timeout.
APP_TIMEOUT = (3.0, 3.0)
TRIGGER_LIFETIME = timedelta(seconds=3)
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
RESPONSE_URL_USES = 5
MAX_RETRIES = 3
# A modal holds a root view and at most two pushed on it.
VIEW_STACK_MAX = 3
# What Slack shows in a modal whose submission got no usable answer.
TROUBLE = "We had some trouble connecting. Try again?"
USER_ID_ALPHABET = string.ascii_uppercase + string.digits

session = requests.Session()


class InteractivityError(Exception):
    """A request of a person or test that the sandbox cannot act on (no such view, nothing to retry...)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Delivery:
    """One POST to the app and how it went."""

    url: str
    status: int | None
    outcome: str
    elapsed_ms: int
    content_type: str = ""
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def command_url() -> str:
    return setting("SANDBOX_SLACK_COMMAND_URL", _incident_hub(COMMAND_PATH)).strip()


def interactions_url() -> str:
    return setting("SANDBOX_SLACK_INTERACTIONS_URL", _incident_hub(INTERACTIONS_PATH)).strip()


def _incident_hub(path: str) -> str:
    return f"http://127.0.0.1:{os.environ.get('WEB_PORT') or 8000}{path}"


# --- the slash command --------------------------------------------------------------------------------------


def command_send(*, text: str, user_name: str = "", channel: str = DEFAULT_CHANNEL) -> tuple[SlashCommand, AppAnswer]:
    """A user types `/incident <text>`: Slack posts the command to the app and shows what it answers."""
    user_name = user_name.strip() or DEFAULT_USER_NAME
    channel_name = channel.removeprefix("#") or DEFAULT_CHANNEL
    channel_id = settings.SANDBOX_SLACK_CHANNELS.get(channel_name)
    if channel_id is None:
        raise InteractivityError(f"no channel #{channel_name}; one of {', '.join(settings.SANDBOX_SLACK_CHANNELS)}")
    command = SlashCommand.objects.create(
        team_id=SANDBOX_TEAM,
        channel_id=channel_id,
        channel_name=channel_name,
        user_id=user_id_of(user_name),
        user_name=user_name,
        command=COMMAND,
        text=text,
        trigger_id=_new_trigger_id(),
        response_token=secrets.token_urlsafe(18),
    )
    Trigger.objects.create(
        trigger_id=command.trigger_id,
        user_id=command.user_id,
        user_name=user_name,
        command=command,
        issued_at=timezone.now(),
    )
    command.body = urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": command.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": command.channel_id,
            "channel_name": command.channel_name,
            "user_id": command.user_id,
            "user_name": command.user_name,
            "command": command.command,
            # As Slack sends what people type: &, < and > as HTML entities.
            "text": command.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "api_app_id": SANDBOX_APP,
            "is_enterprise_install": "false",
            "response_url": response_url_of(command),
            "trigger_id": command.trigger_id,
        }
    )
    command.save(update_fields=["body"])
    return command, _deliver_command(command, retry_num=0)


def command_retry(*, command_id: int | None = None) -> tuple[SlashCommand, AppAnswer]:
    """Send a command again as Slack's retry does: the same body, a new timestamp and signature, and
    X-Slack-Retry-Num / X-Slack-Retry-Reason: http_timeout."""
    commands = SlashCommand.objects.all()
    command = commands.filter(pk=command_id).first() if command_id is not None else commands.first()
    if command is None:
        raise InteractivityError(
            f"no command {command_id} to retry" if command_id is not None else "no command to retry yet",
            status=404,
        )
    if command.retries >= MAX_RETRIES:
        raise InteractivityError(f"Slack retries a request at most {MAX_RETRIES} times; this one was retried already")
    SlashCommand.objects.filter(pk=command.pk).update(retries=F("retries") + 1)
    command.refresh_from_db()
    return command, _deliver_command(command, retry_num=command.retries)


def _deliver_command(command: SlashCommand, *, retry_num: int) -> AppAnswer:
    retry_headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
    delivery = _post_to_app(command_url(), command.body, retry_headers)
    message = _command_message(delivery)
    return _record(AppAnswer.COMMAND, delivery, command=command, retry_num=retry_num, message=message)


def _command_message(delivery: Delivery) -> dict[str, Any] | None:
    """The answer as the user sees it: an empty 200 shows nothing, plain text an ephemeral message, JSON a message
    of its response_type (ephemeral unless the app says in_channel)."""
    if not delivery.ok or not delivery.body.strip():
        return None
    if delivery.content_type.split(";")[0].strip() == "application/json":
        try:
            answer = json.loads(delivery.body)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return {
                "response_type": "in_channel" if answer.get("response_type") == "in_channel" else "ephemeral",
                "text": str(answer.get("text") or ""),
                "blocks": answer.get("blocks") if isinstance(answer.get("blocks"), list) else [],
            }
    return {"response_type": "ephemeral", "text": delivery.body, "blocks": []}


def response_url_of(command: SlashCommand) -> str:
    """Shaped like Slack's https://hooks.slack.com/commands/<team>/<n>/<token>, on the sandbox."""
    return f"{settings.SANDBOX_URL.rstrip('/')}/slack/commands/{command.team_id}/{command.pk}/{command.response_token}"


def user_id_of(user_name: str) -> str:
    """The same made-up Slack user id for the same name, e.g. U07Q3KX9M2A."""
    digest = hashlib.sha256(user_name.encode()).digest()
    return "U" + "".join(USER_ID_ALPHABET[byte % len(USER_ID_ALPHABET)] for byte in digest[:10])


# --- the response_url ---------------------------------------------------------------------------------------


def response_url_post(*, team_id: str, command_id: int, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """A message the app posts to a command's response_url, answered as Slack answers it: usable 5 times within
    30 minutes of the command."""
    command = SlashCommand.objects.filter(pk=command_id, team_id=team_id, response_token=token).first()
    if command is None:
        return 404, {"ok": False, "error": "no_service"}
    text = body.decode("utf-8", errors="replace")
    refusal = _response_url_refusal(command, body)
    if refusal is not None:
        status, error = refusal
        _record_post(command, status, error, text)
        return status, {"ok": False, "error": error}
    message = json.loads(body)
    claimed = SlashCommand.objects.filter(pk=command.pk, response_url_uses__lt=RESPONSE_URL_USES).update(
        response_url_uses=F("response_url_uses") + 1
    )
    if not claimed:
        _record_post(command, 404, "used_url", text)
        return 404, {"ok": False, "error": "used_url"}
    _record_post(command, 200, "ok", text, message=_posted_message(message))
    return 200, {"ok": True}


def _response_url_refusal(command: SlashCommand, body: bytes) -> tuple[int, str] | None:
    if timezone.now() - command.sent_at > RESPONSE_URL_LIFETIME:
        return 404, "expired_url"
    if command.response_url_uses >= RESPONSE_URL_USES:
        return 404, "used_url"
    try:
        message = json.loads(body)
    except ValueError:
        return 400, "invalid_payload"
    if not isinstance(message, dict):
        return 400, "invalid_payload"
    text, blocks = message.get("text"), message.get("blocks")
    if blocks not in (None, []):
        if not isinstance(blocks, list) or any(
            block_problems(block, f"/blocks/{index}") for index, block in enumerate(blocks)
        ):
            return 400, "invalid_blocks"
    if not message.get("delete_original") and not (isinstance(text, str) and text.strip()) and not blocks:
        return 400, "no_text"
    return None


def _posted_message(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "response_type": "in_channel" if message.get("response_type") == "in_channel" else "ephemeral",
        "text": str(message.get("text") or ""),
        "blocks": message.get("blocks") or [],
        "replace_original": bool(message.get("replace_original", False)),
        "delete_original": bool(message.get("delete_original", False)),
    }


def _record_post(
    command: SlashCommand, status: int, outcome: str, body: str, message: dict[str, Any] | None = None
) -> None:
    AppAnswer.objects.create(
        kind=AppAnswer.RESPONSE_URL,
        command=command,
        status=status,
        outcome=outcome,
        content_type="application/json",
        body=body,
        message=message,
    )


# --- triggers and views.open --------------------------------------------------------------------------------


def trigger_exchange(trigger_id: Any) -> Trigger:
    """The trigger behind a views.open, used up: unknown, used before or older than 3 seconds is refused."""
    if not trigger_id:
        raise modals.SlackViewError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    trigger = Trigger.objects.filter(trigger_id=str(trigger_id)).first()
    if trigger is None:
        raise modals.SlackViewError("invalid_trigger_id")
    if trigger.exchanged_at is not None:
        raise modals.SlackViewError("exchanged_trigger_id")
    now = timezone.now()
    if now - trigger.issued_at > TRIGGER_LIFETIME:
        raise modals.SlackViewError("expired_trigger_id")
    if not Trigger.objects.filter(pk=trigger.pk, exchanged_at__isnull=True).update(exchanged_at=now):
        raise modals.SlackViewError("exchanged_trigger_id")
    return trigger


def modal_open(*, trigger: Trigger, view: dict[str, Any]) -> Modal:
    view_id = _new_view_id()
    return Modal.objects.create(
        view_id=view_id,
        user_id=trigger.user_id,
        user_name=trigger.user_name,
        command=trigger.command,
        view=view,
        hash=_new_hash(),
        root_view_id=view_id,
    )


def view_object(modal: Modal, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """The view as Slack gives it back (views.open's answer, a submission's `view`)."""
    view = modal.view
    return {
        "id": modal.view_id,
        "team_id": SANDBOX_TEAM,
        "type": "modal",
        "blocks": view["blocks"],
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": state or {}},
        "hash": modal.hash,
        "title": view["title"],
        "clear_on_close": view.get("clear_on_close", False),
        "notify_on_close": view.get("notify_on_close", False),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": modal.previous_view_id or None,
        "root_view_id": modal.root_view_id,
        "app_id": SANDBOX_APP,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": SANDBOX_TEAM,
        "bot_id": SANDBOX_BOT,
    }


# --- modals: submitting and closing -------------------------------------------------------------------------


def open_modals() -> list[Modal]:
    """The open views, newest first, each marked `on_top` unless a view pushed on it hides it."""
    found = list(Modal.objects.filter(closed_at__isnull=True))
    covered = {modal.previous_view_id for modal in found if modal.previous_view_id}
    for modal in found:
        modal.on_top = modal.view_id not in covered
    return found


def view_submit(*, view_id: str, values: dict[str, Any]) -> tuple[Modal, AppAnswer | None]:
    """The user presses the modal's submit button: Slack's client checks the fields, then Slack posts a
    view_submission to the app and acts on its answer (close, errors, update, push or clear)."""
    modal = _top_modal(view_id)
    try:
        entered = modals.entered_values(modal.view, values)
    except modals.EnteredValuesError as exc:
        raise InteractivityError(f"view {view_id}: {exc}") from None
    modal.entered, modal.problem = entered, ""
    modal.errors = modals.client_errors(modal.view, entered)
    modal.save(update_fields=["entered", "errors", "problem"])
    if modal.errors:
        return modal, None
    trigger = _issue_trigger(modal)
    payload = {
        "type": "view_submission",
        "team": {"id": SANDBOX_TEAM, "domain": TEAM_DOMAIN},
        "user": {"id": modal.user_id, "username": modal.user_name, "name": modal.user_name, "team_id": SANDBOX_TEAM},
        "api_app_id": SANDBOX_APP,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger.trigger_id,
        "view": view_object(modal, modals.state_values(modal.view, entered)),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    delivery = _post_to_app(interactions_url(), urlencode({"payload": json.dumps(payload)}))
    outcome, action = _act_on_submission_answer(modal, delivery)
    answer = _record(AppAnswer.VIEW_SUBMISSION, delivery, command=modal.command, modal=modal, message=action)
    if outcome != delivery.outcome:
        AppAnswer.objects.filter(pk=answer.pk).update(outcome=outcome)
        answer.outcome = outcome
    modal.refresh_from_db()
    return modal, answer


def view_close(*, view_id: str) -> tuple[Modal, AppAnswer | None]:
    """The user closes the modal (its close button or the X): the view goes away, and the app hears of it
    (view_closed) only when the view asked to with notify_on_close."""
    modal = _top_modal(view_id)
    _close(Modal.objects.filter(pk=modal.pk), "closed by the user")
    modal.refresh_from_db()
    if not modal.view.get("notify_on_close", False):
        return modal, None
    payload = {
        "type": "view_closed",
        "team": {"id": SANDBOX_TEAM, "domain": TEAM_DOMAIN},
        "user": {"id": modal.user_id, "username": modal.user_name, "name": modal.user_name, "team_id": SANDBOX_TEAM},
        "api_app_id": SANDBOX_APP,
        "token": VERIFICATION_TOKEN,
        "view": view_object(modal, modals.state_values(modal.view, modal.entered)),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    delivery = _post_to_app(interactions_url(), urlencode({"payload": json.dumps(payload)}))
    return modal, _record(AppAnswer.VIEW_CLOSED, delivery, command=modal.command, modal=modal)


def _top_modal(view_id: str) -> Modal:
    modal = Modal.objects.filter(view_id=view_id, closed_at__isnull=True).first()
    if modal is None:
        raise InteractivityError(f"no open view {view_id}", status=404)
    pushed = Modal.objects.filter(previous_view_id=view_id, closed_at__isnull=True).first()
    if pushed is not None:
        raise InteractivityError(f"view {view_id} is under view {pushed.view_id}, pushed on it", status=409)
    return modal


def _act_on_submission_answer(modal: Modal, delivery: Delivery) -> tuple[str, dict[str, Any] | None]:
    """Do what the app's answer to a submission says, as Slack does; (outcome, what was done)."""
    if not delivery.ok:
        return _trouble(modal, delivery.outcome)
    if not delivery.body.strip():
        _close(Modal.objects.filter(pk=modal.pk), "submitted")
        return "ok", {"response_action": None, "closed": [modal.view_id]}
    try:
        answer = json.loads(delivery.body)
    except ValueError:
        return _trouble(modal, "invalid_json")
    if not isinstance(answer, dict):
        return _trouble(modal, "invalid_json")
    action = answer.get("response_action")
    if action is None and not answer:
        _close(Modal.objects.filter(pk=modal.pk), "submitted")
        return "ok", {"response_action": None, "closed": [modal.view_id]}
    if action == "errors":
        return _show_errors(modal, answer.get("errors"))
    if action in ("update", "push"):
        try:
            view = modals.checked_view(answer.get("view"))
        except modals.SlackViewError as exc:
            outcome, _ = _trouble(modal, exc.code)
            return outcome, {"response_action": action, "error": exc.code, "messages": exc.messages}
        return _update(modal, view) if action == "update" else _push(modal, view)
    if action == "clear":
        stack = Modal.objects.filter(root_view_id=modal.root_view_id, closed_at__isnull=True)
        closed = list(stack.values_list("view_id", flat=True))
        _close(stack, "cleared")
        return "ok", {"response_action": "clear", "closed": closed}
    return _trouble(modal, "unknown_response_action")


def _show_errors(modal: Modal, errors: Any) -> tuple[str, dict[str, Any] | None]:
    input_ids = {block["block_id"] for block in modal.view["blocks"] if block.get("type") == "input"}
    if (
        not isinstance(errors, dict)
        or not errors
        or not set(errors) <= input_ids
        or not all(isinstance(message, str) and message for message in errors.values())
    ):
        return _trouble(modal, "invalid_errors")
    Modal.objects.filter(pk=modal.pk).update(errors=errors)
    return "ok", {"response_action": "errors", "errors": errors}


def _update(modal: Modal, view: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    Modal.objects.filter(pk=modal.pk).update(view=view, hash=_new_hash(), entered={}, errors={}, problem="")
    return "ok", {"response_action": "update", "view_id": modal.view_id}


def _push(modal: Modal, view: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    if Modal.objects.filter(root_view_id=modal.root_view_id, closed_at__isnull=True).count() >= VIEW_STACK_MAX:
        return _trouble(modal, "push_limit_reached")
    pushed = Modal.objects.create(
        view_id=_new_view_id(),
        user_id=modal.user_id,
        user_name=modal.user_name,
        command=modal.command,
        view=view,
        hash=_new_hash(),
        root_view_id=modal.root_view_id,
        previous_view_id=modal.view_id,
    )
    return "ok", {"response_action": "push", "view_id": pushed.view_id}


def _trouble(modal: Modal, outcome: str) -> tuple[str, None]:
    Modal.objects.filter(pk=modal.pk).update(problem=TROUBLE)
    return outcome, None


def _close(modals_to_close: Any, reason: str) -> None:
    modals_to_close.filter(closed_at__isnull=True).update(closed_at=timezone.now(), closed_by=reason)


def _issue_trigger(modal: Modal) -> Trigger:
    return Trigger.objects.create(
        trigger_id=_new_trigger_id(),
        user_id=modal.user_id,
        user_name=modal.user_name,
        command=modal.command,
        issued_at=timezone.now(),
    )


# --- what people and tests look at --------------------------------------------------------------------------


def answers(kind: str = "") -> list[AppAnswer]:
    found = AppAnswer.objects.select_related("command", "modal")
    return list(found.filter(kind=kind) if kind else found)


def forget_everything() -> int:
    deleted = 0
    for model in (AppAnswer, Modal, Trigger, SlashCommand):
        count, _ = model.objects.all().delete()
        deleted += count
    return deleted


def command_as_dict(command: SlashCommand) -> dict[str, Any]:
    return {
        "id": command.pk,
        "command": command.command,
        "text": command.text,
        "user_id": command.user_id,
        "user_name": command.user_name,
        "channel_id": command.channel_id,
        "channel_name": command.channel_name,
        "trigger_id": command.trigger_id,
        "response_url": response_url_of(command),
        "response_url_uses": command.response_url_uses,
        "retries": command.retries,
        "sent_at": command.sent_at.isoformat(),
    }


def answer_as_dict(answer: AppAnswer) -> dict[str, Any]:
    return {
        "id": answer.pk,
        "kind": answer.kind,
        "command": command_as_dict(answer.command) if answer.command else None,
        "view_id": answer.modal.view_id if answer.modal else None,
        "retry_num": answer.retry_num,
        "status": answer.status,
        "outcome": answer.outcome,
        "elapsed_ms": answer.elapsed_ms,
        "content_type": answer.content_type,
        "body": answer.body,
        "message": answer.message,
        "received_at": answer.received_at.isoformat(),
    }


def modal_as_dict(modal: Modal) -> dict[str, Any]:
    return {
        "view_id": modal.view_id,
        "open": modal.is_open,
        "on_top": getattr(modal, "on_top", modal.is_open),
        "closed_by": modal.closed_by or None,
        "user_name": modal.user_name,
        "command_id": modal.command_id,
        "callback_id": modal.view.get("callback_id", ""),
        "title": modal.view["title"]["text"],
        "hash": modal.hash,
        "root_view_id": modal.root_view_id,
        "previous_view_id": modal.previous_view_id or None,
        "inputs": [
            {
                "block_id": block["block_id"],
                "action_id": block["element"]["action_id"],
                "type": block["element"]["type"],
                "label": block["label"]["text"],
                "optional": block.get("optional", False),
            }
            for block in modals.input_blocks(modal.view)
        ],
        "entered": modal.entered,
        "errors": modal.errors,
        "problem": modal.problem or None,
        "view": view_object(modal),
    }


def page_context() -> dict[str, Any]:
    """What the sandbox page shows of Slack's interactivity."""
    return {
        "slack_command_url": command_url(),
        "slack_interactions_url": interactions_url(),
        "slack_modals": [
            {"modal": modal, "items": modals.form_items(modal.view_id, modal.view, modal.entered, modal.errors)}
            for modal in open_modals()
            if modal.on_top
        ],
        "slack_answers": [
            {"answer": answer, "lines": modals.block_texts((answer.message or {}).get("blocks"))}
            for answer in answers()[:50]
        ],
        "slack_last_command": SlashCommand.objects.first(),
    }


# --- the wire -----------------------------------------------------------------------------------------------


def _post_to_app(url: str, body: str, extra_headers: dict[str, str] | None = None) -> Delivery:
    """POST a form-encoded body to the app as Slack does: signed, and given 3 seconds to answer."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(settings.SANDBOX_SLACK_SIGNING_SECRET).generate_signature(
        timestamp=timestamp, body=body
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": USER_AGENT,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or "",
        **(extra_headers or {}),
    }
    release_db_connections()
    started = time.monotonic()
    try:
        response = session.post(url, data=body.encode(), headers=headers, timeout=APP_TIMEOUT, allow_redirects=False)
    except requests.Timeout:
        return Delivery(url, None, "operation_timeout", _since(started))
    except requests.RequestException:
        return Delivery(url, None, "dispatch_failed", _since(started))
    return Delivery(
        url,
        response.status_code,
        _outcome(response.status_code),
        _since(started),
        response.headers.get("Content-Type", ""),
        response.text,
    )


def _outcome(status: int) -> str:
    """As Slack names an app's failed answer (e.g. 500_service_error, 404_client_error)."""
    if 200 <= status < 300:
        return "ok"
    if 400 <= status < 500:
        return f"{status}_client_error"
    if status >= 500:
        return f"{status}_service_error"
    return f"{status}_unexpected_status"


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(
    kind: str,
    delivery: Delivery,
    *,
    command: SlashCommand | None = None,
    modal: Modal | None = None,
    retry_num: int = 0,
    message: dict[str, Any] | None = None,
) -> AppAnswer:
    return AppAnswer.objects.create(
        kind=kind,
        command=command,
        modal=modal,
        retry_num=retry_num,
        status=delivery.status,
        outcome=delivery.outcome,
        elapsed_ms=delivery.elapsed_ms,
        content_type=delivery.content_type[:120],
        body=delivery.body,
        message=message,
    )


def _new_trigger_id() -> str:
    """Shaped like Slack's 12345.98765.abcd2358fdea."""
    return f"{secrets.randbelow(10**10):010d}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(16)}"


def _new_view_id() -> str:
    return "V" + "".join(secrets.choice(USER_ID_ALPHABET) for _ in range(10))


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"
