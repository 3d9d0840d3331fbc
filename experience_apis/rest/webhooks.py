"""REST v1 for clients: the URLs where a client hears of its own reports (client webhooks).

Messages follow the Standard Webhooks specification (webhook-id, webhook-timestamp, webhook-signature); the secret
that signs them is answered once, when the webhook is registered or its secret rotated.
"""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.errors import NotFoundError
from process_apis.webhooks.models import ALL_EVENT_TYPES, EventType, WebhookEndpoint
from process_apis.webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_endpoint_rotate_secret,
)

from .api import ERRORS, RATE_LIMIT_HEADERS, RETRY_AFTER_429, SECURITY, ClientApi
from .permissions import current_client

TAGS = ["v1: webhooks"]
ID_PARAMETER = OpenApiParameter("webhook_id", int, OpenApiParameter.PATH, description="The webhook's id.")
SIGNING = (
    " Each message is a POST of JSON `{type, timestamp, data}` signed as the Standard Webhooks specification says: "
    "headers `webhook-id` (the message's id, the same on every retry), `webhook-timestamp` (seconds) and "
    "`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the base64-decoded "
    "part of the secret after `whsec_`). Answer 2xx to take it; anything else is retried for about a day; 410 Gone "
    "turns the webhook off."
)


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    active = serializers.BooleanField(help_text="False once turned off (by staff, or because it answered 410 Gone).")
    disabled_reason = serializers.CharField(help_text="Why it was turned off; empty while active.")
    created_at = serializers.DateTimeField()


class WebhookWithSecretSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="`whsec_` + base64 of the signing key. Shown only this once: keep it.")


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500,
        help_text="An https URL whose host resolves to a public address (checked again at every delivery).",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        min_length=1,
        max_length=len(ALL_EVENT_TYPES),
        help_text="The events it receives; all of them when left out.",
    )

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


def _endpoint(request: Request, webhook_id: str) -> WebhookEndpoint:
    if not (webhook_id.isascii() and webhook_id.isdigit()) or len(webhook_id) > 18:
        raise NotFoundError(f"You have no webhook {webhook_id}.")
    return webhook_endpoint_get(api_client_id=current_client(request).client_id, endpoint_id=int(webhook_id))


class WebhookListCreateApi(ClientApi):
    serializer_class = WebhookOutputSerializer

    @ERRORS.schema(
        operation_id="v1_webhooks_list",
        tags=TAGS,
        auth=SECURITY,
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER_429],
        responses={200: WebhookOutputSerializer(many=True)},
        errors=(401, 403, 429),
        description="Your webhooks, newest first (their secrets are not shown again).",
    )
    def get(self, request: Request) -> Response:
        endpoints = webhook_endpoint_list(api_client_id=current_client(request).client_id)
        return Response(WebhookOutputSerializer(endpoints, many=True).data)

    @ERRORS.schema(
        operation_id="v1_webhooks_create",
        tags=TAGS,
        request=WebhookInputSerializer,
        auth=SECURITY,
        parameters=[
            *RATE_LIMIT_HEADERS,
            RETRY_AFTER_429,
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[201], description="The webhook's URL."
            ),
        ],
        responses={
            201: OpenApiResponse(WebhookWithSecretSerializer, description="Registered; the secret is shown once.")
        },
        errors=(400, 401, 403, 413, 415, 429),
        described={
            400: "The body is not valid: a URL not https or at a private address, or an unknown event type.",
            413: "The body is larger than the API accepts (API_MAX_BODY_BYTES, 64 KiB by default).",
        },
        description="Register a URL to hear of your reports: `incident.created`, `incident.updated`, "
        "`incident.resolved`." + SIGNING,
    )
    def post(self, request: Request) -> Response:
        data = WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(api_client_id=current_client(request).client_id, **data.validated_data)
        response = Response(WebhookWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("v1-webhook", kwargs={"webhook_id": endpoint.pk})
        return response


class WebhookDetailApi(ClientApi):
    serializer_class = WebhookOutputSerializer

    @ERRORS.schema(
        operation_id="v1_webhooks_get",
        tags=TAGS,
        auth=SECURITY,
        parameters=[ID_PARAMETER, *RATE_LIMIT_HEADERS, RETRY_AFTER_429],
        responses={200: WebhookOutputSerializer},
        errors=(401, 403, 404, 429),
        described={404: "You have no webhook with that id."},
        description="One of your webhooks.",
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(WebhookOutputSerializer(_endpoint(request, webhook_id)).data)

    @ERRORS.schema(
        operation_id="v1_webhooks_delete",
        tags=TAGS,
        auth=SECURITY,
        parameters=[ID_PARAMETER, *RATE_LIMIT_HEADERS, RETRY_AFTER_429],
        responses={204: OpenApiResponse(description="Deleted: nothing more is sent to it, queued messages included.")},
        errors=(401, 403, 404, 429),
        described={404: "You have no webhook with that id."},
        description="Stop and delete one of your webhooks.",
    )
    def delete(self, request: Request, webhook_id: str) -> Response:
        endpoint = _endpoint(request, webhook_id)
        webhook_endpoint_delete(api_client_id=endpoint.api_client_id, endpoint_id=endpoint.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(ClientApi):
    serializer_class = WebhookWithSecretSerializer

    @ERRORS.schema(
        operation_id="v1_webhooks_rotate_secret",
        tags=TAGS,
        request=None,
        auth=SECURITY,
        parameters=[ID_PARAMETER, *RATE_LIMIT_HEADERS, RETRY_AFTER_429],
        responses={200: OpenApiResponse(WebhookWithSecretSerializer, description="The new secret, shown once.")},
        errors=(401, 403, 404, 429),
        described={404: "You have no webhook with that id."},
        description="A new signing secret for the webhook, used from the next attempt on (also for messages "
        "already waiting to be retried); the old one stops at once.",
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        endpoint = _endpoint(request, webhook_id)
        endpoint = webhook_endpoint_rotate_secret(api_client_id=endpoint.api_client_id, endpoint_id=endpoint.pk)
        return Response(WebhookWithSecretSerializer(endpoint).data)
