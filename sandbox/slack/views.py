"""Slack Web API stand-in: `chat.postMessage` and `chat.update` as Slack answers them, plus inspection for people
and tests.

Like Slack, logical errors are HTTP 200 with `{"ok": false, "error": "<code>"}`; only rate limits (429)
and server trouble (5xx) change the status.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..faults import with_faults
from .models import Message

MAX_BLOCKS = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
MESSAGE_TEXT_MAX = 40000
KNOWN_BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
}
TS_PATTERN = re.compile(r"\d{1,12}\.\d{1,6}")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SANDBOX_TEAM = settings.SANDBOX_SLACK_TEAM_ID
SANDBOX_USER, SANDBOX_BOT, SANDBOX_APP = "U0SANDBOXBT", "B0SANDBOXBT", "A0SANDBOXAP"


class SlackAnswers:
    """How Slack says "slow down" and "server trouble" on the wire."""

    ERROR_CODES = {
        400: "invalid_arguments",
        401: "not_authed",
        403: "invalid_auth",
        404: "unknown_method",
        408: "request_timeout",
        503: "service_unavailable",
        504: "request_timeout",
    }

    def error(self, status: int) -> HttpResponse:
        code = self.ERROR_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
        return JsonResponse({"ok": False, "error": code}, status=status)

    def rate_limited(self, retry_after: int) -> HttpResponse:
        response = JsonResponse({"ok": False, "error": "ratelimited"}, status=429)
        response["Retry-After"] = str(retry_after)
        return response


class SlackError(Exception):
    def __init__(self, code: str, details: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details or []


def _answer(body: dict[str, Any], warnings: list[str]) -> JsonResponse:
    if warnings:
        body["warning"] = ",".join(warnings)
        body.setdefault("response_metadata", {})["warnings"] = warnings
    return JsonResponse(body)


def _refusal(error: SlackError, warnings: list[str]) -> JsonResponse:
    body: dict[str, Any] = {"ok": False, "error": error.code}
    if error.details:
        body["errors"] = error.details
        body["response_metadata"] = {"messages": [f"[ERROR] {detail}" for detail in error.details]}
    return _answer(body, warnings)


@csrf_exempt
@require_http_methods(["POST"])
@with_faults("slack", SlackAnswers())
def post_message(request: HttpRequest) -> JsonResponse:
    warnings: list[str] = []
    try:
        args, token = call_arguments(request, warnings)
        authenticate(token)
        channel_id = _channel_id(args.get("channel"))
        text = args.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        blocks = _blocks(args.get("blocks"))
        if not text.strip() and not blocks:
            raise SlackError("no_text")
        if len(text) > MESSAGE_TEXT_MAX:
            raise SlackError("msg_too_long")
        thread_ts = args.get("thread_ts")
        thread_ts = str(thread_ts) if thread_ts not in (None, "") else ""
        if thread_ts and not TS_PATTERN.fullmatch(thread_ts):
            raise SlackError("invalid_thread_ts")
    except SlackError as error:
        return _refusal(error, warnings)
    message = _store(channel_id, text, blocks, thread_ts)
    return _answer({"ok": True, "channel": channel_id, "ts": message.ts, "message": _as_slack(message)}, warnings)


@csrf_exempt
@require_http_methods(["POST"])
@with_faults("slack", SlackAnswers())
def update_message(request: HttpRequest) -> JsonResponse:
    """chat.update: the channel by id only (a name is channel_not_found, as on Slack), `ts` one of the bot's messages
    in it; blocks left out keep the message's own."""
    warnings: list[str] = []
    try:
        args, token = call_arguments(request, warnings)
        authenticate(token)
        channel = args.get("channel")
        if channel not in settings.SANDBOX_SLACK_CHANNELS.values():
            raise SlackError("channel_not_found")
        message = Message.objects.filter(channel_id=channel, ts=str(args.get("ts") or "")).first()
        if message is None:
            raise SlackError("message_not_found")
        window = settings.SANDBOX_SLACK_EDIT_WINDOW
        if window and (timezone.now() - message.posted_at).total_seconds() > window:
            raise SlackError("edit_window_closed")
        text = args.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        blocks = _blocks(args["blocks"]) if "blocks" in args else message.blocks
        if not text.strip() and not blocks:
            raise SlackError("no_text")
        if len(text) > MESSAGE_TEXT_MAX:
            raise SlackError("msg_too_long")
    except SlackError as error:
        return _refusal(error, warnings)
    message.text, message.blocks, message.edited_at = text, blocks, timezone.now()
    message.save(update_fields=["text", "blocks", "edited_at"])
    return _answer(
        {"ok": True, "channel": message.channel_id, "ts": message.ts, "text": text, "message": _as_slack(message)},
        warnings,
    )


@csrf_exempt
@require_http_methods(["POST", "GET"])
def unknown_method(request: HttpRequest, method: str) -> JsonResponse:
    return JsonResponse({"ok": False, "error": "unknown_method", "req_method": method}, status=404)


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def messages(request: HttpRequest) -> JsonResponse:
    """GET what was posted (newest first; `?channel=` by id or name, `?thread_ts=` one thread), DELETE to forget it
    all. A message lists its replies' ts (oldest first) and, once changed by chat.update, when."""
    if request.method == "DELETE":
        deleted, _ = Message.objects.all().delete()
        return JsonResponse({"deleted": deleted})
    found = Message.objects.all()
    if request.GET.get("channel"):
        try:
            found = found.filter(channel_id=_channel_id(request.GET["channel"]))
        except SlackError:
            found = found.none()
    if request.GET.get("thread_ts"):
        thread = request.GET["thread_ts"]
        found = found.filter(models.Q(ts=thread) | models.Q(thread_ts=thread))
    found = list(found)
    replies = thread_replies(found)
    return JsonResponse(
        [
            {
                "channel": message.channel_id,
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "thread_ts": message.thread_ts or None,
                "posted_at": message.posted_at.isoformat(),
                "edited_at": message.edited_at.isoformat() if message.edited_at else None,
                "replies": [reply.ts for reply in replies.get((message.channel_id, message.ts), [])],
            }
            for message in found
        ],
        safe=False,
    )


def thread_replies(messages: list[Message]) -> dict[tuple[str, str], list[Message]]:
    """The replies to each of `messages` by (channel, ts) of the thread's first message, oldest first."""
    parents = [m for m in messages if not m.thread_ts or m.thread_ts == m.ts]
    if not parents:
        return {}
    query = models.Q()
    for parent in parents:
        query |= models.Q(channel_id=parent.channel_id, thread_ts=parent.ts)
    threads: dict[tuple[str, str], list[Message]] = {}
    for reply in Message.objects.filter(query).exclude(ts=models.F("thread_ts")).order_by("id"):
        threads.setdefault((reply.channel_id, reply.thread_ts), []).append(reply)
    return threads


def call_arguments(request: HttpRequest, warnings: list[str]) -> tuple[dict[str, Any], str]:
    """The call's arguments and token, read the ways Slack reads them (JSON or form body)."""
    bearer = _bearer(request)
    content_type = request.content_type or ""
    if content_type == "application/json":
        charset = request.content_params.get("charset")
        if charset is None:
            warnings.append("missing_charset")
        elif charset.lower() not in ("utf-8", "utf8", "iso-8859-1"):
            raise SlackError("invalid_charset")
        try:
            args = json.loads(request.body.decode(charset or "utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SlackError("invalid_json") from None
        if not isinstance(args, dict):
            raise SlackError("json_not_object")
        # JSON bodies carry the token only in the Authorization header.
        return args, bearer
    if content_type in FORM_TYPES:
        args = {key: request.POST.get(key) for key in request.POST}
        return args, bearer or str(args.get("token") or "")
    if not content_type and request.body:
        raise SlackError("missing_post_type")
    if content_type:
        raise SlackError("invalid_post_type")
    return {}, bearer


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(token: str) -> None:
    if not token:
        raise SlackError("not_authed")
    if not constant_time_compare(token, settings.SANDBOX_SLACK_BOT_TOKEN):
        raise SlackError("invalid_auth")


def _channel_id(channel: Any) -> str:
    """A channel id from an id, a name or a `#name`, as configured in SANDBOX_SLACK_CHANNELS."""
    channels: dict[str, str] = settings.SANDBOX_SLACK_CHANNELS
    if isinstance(channel, str) and channel:
        if channel in channels.values():
            return channel
        name = channel.removeprefix("#")
        if name in channels:
            return channels[name]
    raise SlackError("channel_not_found")


def _blocks(raw: Any) -> list[dict[str, Any]]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        # Form-encoded calls send the blocks as a JSON string.
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_blocks", ["invalid JSON [json-pointer:/blocks]"]) from None
    problems = _block_problems(raw)
    if problems:
        raise SlackError("invalid_blocks", problems)
    return raw


def _block_problems(blocks: Any) -> list[str]:
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    problems: list[str] = []
    for index, block in enumerate(blocks):
        problems += block_problems(block, f"/blocks/{index}")
    return problems


def block_problems(block: Any, where: str) -> list[str]:
    """What Slack finds wrong with one block at json-pointer `where` (header, section and context are checked)."""
    if not isinstance(block, dict):
        return [f"must provide an object [json-pointer:{where}]"]
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{where}/type]"]
    if kind == "header":
        return text_problems(block.get("text"), f"{where}/text", HEADER_TEXT_MAX, ("plain_text",))
    if kind == "section":
        return _section_problems(block, where)
    if kind == "context":
        return _context_problems(block.get("elements"), f"{where}/elements")
    return []


def _section_problems(block: dict[str, Any], where: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must provide text or fields [json-pointer:{where}]"]
    problems: list[str] = []
    if "text" in block:
        problems += text_problems(block["text"], f"{where}/text", SECTION_TEXT_MAX)
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 1 <= len(fields) <= SECTION_FIELDS_MAX:
            return [*problems, f"must provide 1 to {SECTION_FIELDS_MAX} items [json-pointer:{where}/fields]"]
        for index, field in enumerate(fields):
            problems += text_problems(field, f"{where}/fields/{index}", FIELD_TEXT_MAX)
    return problems


def _context_problems(elements: Any, where: str) -> list[str]:
    if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
        return [f"must provide 1 to {CONTEXT_ELEMENTS_MAX} items [json-pointer:{where}]"]
    problems: list[str] = []
    for index, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "image":
            continue
        problems += text_problems(element, f"{where}/{index}", SECTION_TEXT_MAX)
    return problems


def text_problems(text: Any, where: str, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> list[str]:
    if not isinstance(text, dict):
        return [f"must provide an object [json-pointer:{where}]"]
    if text.get("type") not in kinds:
        return [f"must be one of {', '.join(kinds)} [json-pointer:{where}/type]"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{where}/text]"]
    return []


def _store(channel_id: str, text: str, blocks: list[dict[str, Any]], thread_ts: str) -> Message:
    """Keep the message under a fresh `ts`, unique in its channel as Slack's are."""
    for _ in range(5):
        try:
            with transaction.atomic():
                return Message.objects.create(
                    channel_id=channel_id, ts=_next_ts(channel_id), thread_ts=thread_ts, text=text, blocks=blocks
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique ts")


def _next_ts(channel_id: str) -> str:
    micros = time.time_ns() // 1000
    latest = Message.objects.filter(channel_id=channel_id).order_by("-ts").values_list("ts", flat=True).first()
    if latest:
        seconds, _, fraction = latest.partition(".")
        micros = max(micros, int(seconds) * 1_000_000 + int(fraction or 0) + 1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _as_slack(message: Message) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "user": SANDBOX_USER,
        "type": "message",
        "ts": message.ts,
        "bot_id": SANDBOX_BOT,
        "app_id": SANDBOX_APP,
        "text": message.text,
        "team": SANDBOX_TEAM,
        "blocks": message.blocks,
    }
    if message.thread_ts:
        answer["thread_ts"] = message.thread_ts
    if message.edited_at:
        answer["edited"] = {"user": SANDBOX_USER, "ts": f"{message.edited_at.timestamp():.6f}"}
    return answer
