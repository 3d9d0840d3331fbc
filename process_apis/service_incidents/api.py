from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.rest import error_headers
from system_apis.servicenow.types import IncidentState

from ..models import Impact, Urgency
from ..rest import error_responses as process_error_responses
from .services import service_incident_create, service_incident_get, service_incident_update

STATE_CHOICES = [(state.value, state.label) for state in IncidentState]
TAGS = ["Process: service incidents"]


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return process_error_responses(
        *codes,
        e404="ServiceNow has no such incident.",
        e502="ServiceNow refused the request or Incident Hub's credentials; retrying will not help.",
        e503="ServiceNow is unreachable, failing or busy; try again later (after Retry-After when given).",
    )


class ServiceIncidentOutputSerializer(serializers.Serializer):
    sys_id = serializers.CharField()
    number = serializers.CharField()
    state = serializers.IntegerField()
    state_label = serializers.CharField()
    impact = serializers.IntegerField()
    urgency = serializers.IntegerField()
    priority = serializers.IntegerField()
    short_description = serializers.CharField()
    reference = serializers.CharField(help_text="The report the incident belongs to.")
    url = serializers.URLField()
    opened_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class ServiceIncidentCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        reference = serializers.RegexField(r"^[A-Za-z0-9-]{1,100}$", help_text="Goes into correlation_id.")
        short_description = serializers.CharField(max_length=160)
        description = serializers.CharField(max_length=4000)
        impact = serializers.ChoiceField(choices=Impact.choices)
        urgency = serializers.ChoiceField(choices=Urgency.choices)
        caller_email = serializers.EmailField(required=False)

    @extend_schema(
        operation_id="process_service_incidents_create",
        tags=TAGS,
        request=InputSerializer,
        parameters=error_headers(400, 401, 403, 415, 502, 503),
        responses={201: ServiceIncidentOutputSerializer, **error_responses(400, 401, 403, 415, 502, 503)},
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = service_incident_create(**data.validated_data)
        return Response(ServiceIncidentOutputSerializer(incident).data, status=status.HTTP_201_CREATED)


class ServiceIncidentDetailApi(APIView):
    class UpdateSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=STATE_CHOICES, required=False)
        impact = serializers.ChoiceField(choices=Impact.choices, required=False)
        urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
        work_notes = serializers.CharField(max_length=4000, required=False)

    @extend_schema(
        operation_id="process_service_incidents_get",
        tags=TAGS,
        parameters=error_headers(401, 403, 404, 502, 503),
        responses={200: ServiceIncidentOutputSerializer, **error_responses(401, 403, 404, 502, 503)},
    )
    def get(self, request: Request, sys_id: str) -> Response:
        return Response(ServiceIncidentOutputSerializer(service_incident_get(sys_id=sys_id)).data)

    @extend_schema(
        operation_id="process_service_incidents_update",
        tags=TAGS,
        request=UpdateSerializer,
        parameters=error_headers(400, 401, 403, 404, 415, 502, 503),
        responses={200: ServiceIncidentOutputSerializer, **error_responses(400, 401, 403, 404, 415, 502, 503)},
    )
    def patch(self, request: Request, sys_id: str) -> Response:
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = service_incident_update(sys_id=sys_id, **data.validated_data)
        return Response(ServiceIncidentOutputSerializer(incident).data)
