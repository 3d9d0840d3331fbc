"""REST face of the Slack System API: post a notice to a channel, rewrite a posted one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..rest import system_errors
from .client import SlackClient
from .types import Notice, is_web_url

ERRORS = system_errors(
    "Slack",
    {400: "Invalid input, or Slack refused the message.", 404: "Slack does not know the channel."},
)


class MessageFieldSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=100)
    value = serializers.CharField(max_length=1500)

    class Meta:
        ref_name = "SlackMessageField"


class NoticeSerializer(serializers.Serializer):
    """A notice's content, as posted or as it replaces a posted one."""

    title = serializers.CharField(max_length=150)
    text = serializers.CharField(max_length=3000, help_text="The body; also the notification's plain text.")
    fields = MessageFieldSerializer(many=True, required=False, max_length=10)
    context = serializers.CharField(required=False, max_length=300, help_text="A small line, e.g. a trace id.")
    link_label = serializers.CharField(required=False, max_length=150)
    link_url = serializers.CharField(required=False, max_length=2000, help_text="An http or https URL.")

    def validate_link_url(self, value: str) -> str:
        if not is_web_url(value):
            raise serializers.ValidationError("Enter an http or https URL.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "link_label" in attrs and "link_url" not in attrs:
            raise serializers.ValidationError({"link_url": "A link label needs a link_url."})
        return attrs

    def notice(self, thread_ts: str | None = None) -> Notice:
        values = self.validated_data
        link_url = values.get("link_url")
        return Notice(
            title=values["title"],
            text=values["text"],
            fields=tuple((field["label"], field["value"]) for field in values.get("fields", [])),
            context=values.get("context"),
            link=(values.get("link_label") or link_url, link_url) if link_url else None,
            thread_ts=thread_ts,
        )


class MessageOutputSerializer(serializers.Serializer):
    channel = serializers.CharField(help_text="The channel id Slack posted to.")
    ts = serializers.CharField(help_text="The message's timestamp id, e.g. `1700000000.000100`.")

    class Meta:
        ref_name = "SlackMessageOutput"


class SlackMessageApi(APIView):
    class InputSerializer(NoticeSerializer):
        channel = serializers.CharField(
            required=False, max_length=81, help_text="Channel id or name (`#incidents`); default SLACK_CHANNEL."
        )
        thread_ts = serializers.RegexField(
            r"^\d{1,12}\.\d{1,6}$", required=False, help_text="Reply in the thread of this message."
        )

        class Meta:
            ref_name = "SlackMessageInput"

    OutputSerializer = MessageOutputSerializer

    @ERRORS.schema(
        operation_id="slack_post_message",
        tags=["System: Slack"],
        summary="Post a message to a Slack channel",
        request=InputSerializer,
        responses={201: OutputSerializer},
        errors=(400, 401, 403, 404, 415, 429, 502, 503, 504),
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notice = data.notice(thread_ts=data.validated_data.get("thread_ts"))
        posted = SlackClient.from_settings().post_notice(notice, channel=data.validated_data.get("channel"))
        return Response(self.OutputSerializer(posted).data, status=status.HTTP_201_CREATED)


class SlackMessageDetailApi(APIView):
    class InputSerializer(NoticeSerializer):
        class Meta:
            ref_name = "SlackMessageUpdateInput"

    @ERRORS.schema(
        operation_id="slack_update_message",
        tags=["System: Slack"],
        summary="Rewrite a message the bot posted (chat.update)",
        request=InputSerializer,
        responses={200: MessageOutputSerializer},
        errors=(400, 401, 403, 404, 415, 429, 502, 503, 504),
        described={
            400: "Invalid input, or Slack will not change that message (`cant_update_message`, `edit_window_closed`).",
            404: "Slack has no such message (`message_not_found`) or channel.",
        },
    )
    def put(self, request: Request, channel: str, ts: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = SlackClient.from_settings().update_notice(data.notice(), channel_id=channel, ts=ts)
        return Response(MessageOutputSerializer(updated).data)
