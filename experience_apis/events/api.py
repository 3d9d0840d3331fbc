"""Events in: ServiceNow's business rule pushes each change of an incident here, as an API client of scope
`events`. The change is stored and answered 202 at once; it is applied after the commit (process_apis)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.rest import UNSUPPORTED_MEDIA_TYPE, ErrorDocs
from process_apis.incident_events.services import incident_event_receive

from ..clients.scopes import EVENTS
from ..rest.permissions import IsEventsClient
from ..rest.throttles import ClientRateLimited, EventsClientThrottle

TAGS = ["Events: ServiceNow"]
SECURITY = [{"oauth2": [EVENTS]}]
ERRORS = ErrorDocs(
    {
        400: "The body is not an incident record that can be applied (the error says which field).",
        401: "No valid bearer token: get one at POST /o/token/ with your client credentials.",
        403: "The token is not that of an active API client with the `events` scope.",
        413: "The body is larger than the API accepts (API_MAX_BODY_BYTES, 64 KiB by default).",
        415: UNSUPPORTED_MEDIA_TYPE,
        429: "More pushes than EVENTS_RATE_LIMIT allows; the poll of ServiceNow catches this change up.",
        503: "The event could not be stored; send it again later (the poll of ServiceNow catches it up too).",
    }
)


def text(**options: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **options)


class ReferenceField(serializers.JSONField):
    """A reference column as the Table API writes it: a sys_id or name, or `{"link", "value"}` /
    `{"value", "display_value"}`."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and len(data) <= 200:
            return data
        if isinstance(data, dict) and all(isinstance(v, str) and len(v) <= 500 for v in data.values()):
            return data
        raise serializers.ValidationError("Must be a string, or an object of strings (value, display_value, link).")


@extend_schema_serializer(component_name="ServiceNowIncidentEvent")
class IncidentEventInputSerializer(serializers.Serializer):
    """The incident as the Table API returns it, every value a string; only sys_id and sys_mod_count are needed."""

    sys_id = serializers.CharField(max_length=32, help_text="32 lowercase hexadecimal characters.")
    sys_mod_count = serializers.CharField(max_length=10, help_text="The record's update count, a whole number.")
    number = text(max_length=40)
    state = text(max_length=4, help_text="1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled.")
    priority = text(max_length=4)
    sys_updated_on = text(max_length=19, help_text="YYYY-MM-DD HH:MM:SS, UTC.")
    sys_updated_by = text(max_length=200)
    correlation_id = text(max_length=100, help_text="Our reference (IH-...), for an incident Incident Hub made.")
    close_code = text(max_length=80)
    close_notes = text(max_length=4000)
    work_notes = text(max_length=4000)
    assigned_to = ReferenceField(required=False)


class IncidentEventOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted"])


class ServiceNowIncidentEventsApi(ClientRateLimited, APIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsEventsClient]
    throttle_classes = [EventsClientThrottle]

    @ERRORS.schema(
        tags=TAGS,
        operation_id="events_servicenow_incidents_receive",
        summary="Receive a change of an incident (ServiceNow's business rule, after insert or update)",
        description=(
            "Stored and answered at once; applied shortly after, once however often it is sent, and never over a "
            "newer change (by sys_mod_count). An incident that is not Incident Hub's is acknowledged and ignored."
        ),
        request=IncidentEventInputSerializer,
        auth=SECURITY,
        responses={202: OpenApiResponse(IncidentEventOutputSerializer, description="Accepted; applied shortly.")},
        errors=(400, 401, 403, 413, 415, 429, 503),
    )
    def post(self, request: Request) -> Response:
        data = IncidentEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident_event_receive(record=dict(data.validated_data), trace_id=getattr(request, "trace_id", ""))
        return Response({"status": "accepted"}, status=status.HTTP_202_ACCEPTED)
