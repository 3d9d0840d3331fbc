from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from system_apis.servicenow.types import IncidentState

from ..models import Impact, Urgency
from ..rest import ERRORS as PROCESS_ERRORS
from .services import service_incident_create, service_incident_get, service_incident_update

STATE_CHOICES = [(state.value, state.label) for state in IncidentState]
TAGS = ["Process: service incidents"]
ERRORS = PROCESS_ERRORS.described(
    {
        404: "ServiceNow has no such incident.",
        502: "ServiceNow refused the request or Incident Hub's credentials; retrying will not help.",
        503: "ServiceNow is unreachable, failing or busy; try again later (after Retry-After when given).",
    }
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

    @ERRORS.schema(
        operation_id="process_service_incidents_create",
        tags=TAGS,
        request=InputSerializer,
        responses={201: ServiceIncidentOutputSerializer},
        errors=(400, 401, 403, 415, 502, 503),
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

    @ERRORS.schema(
        operation_id="process_service_incidents_get",
        tags=TAGS,
        responses={200: ServiceIncidentOutputSerializer},
        errors=(401, 403, 404, 502, 503),
    )
    def get(self, request: Request, sys_id: str) -> Response:
        return Response(ServiceIncidentOutputSerializer(service_incident_get(sys_id=sys_id)).data)

    @ERRORS.schema(
        operation_id="process_service_incidents_update",
        tags=TAGS,
        request=UpdateSerializer,
        responses={200: ServiceIncidentOutputSerializer},
        errors=(400, 401, 403, 404, 415, 502, 503),
    )
    def patch(self, request: Request, sys_id: str) -> Response:
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = service_incident_update(sys_id=sys_id, **data.validated_data)
        return Response(ServiceIncidentOutputSerializer(incident).data)
