"""REST face of the ServiceNow System API: incidents over HTTP, for consumers other than our own layers.

Views parse, call the connector and render; typed connector errors become HTTP answers in the
project's exception handler.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..rest import system_errors
from .client import ServiceNowClient
from .types import Impact, Incident, IncidentState, IncidentUpdate, NewIncident, Urgency

TAGS = ["System: ServiceNow"]
LEVEL_HELP = "1 High, 2 Medium, 3 Low."
STATE_CHOICES = [(state.value, state.label) for state in IncidentState]
STATE_HELP = ", ".join(f"{state.value} {state.label}" for state in IncidentState) + "."


def no_caret(value: str) -> str:
    # `^` joins the terms of ServiceNow's encoded queries: such an id could never be looked up.
    if "^" in value:
        raise serializers.ValidationError("must not contain '^'.")
    return value


# What every operation can answer besides its own client errors (400, 404, 415).
DOWNSTREAM_ERRORS = (401, 403, 429, 502, 503, 504)
ERRORS = system_errors("ServiceNow", {404: "ServiceNow has no such incident."})


@extend_schema_serializer(component_name="ServiceNowIncident")
class IncidentOutputSerializer(serializers.Serializer):
    sys_id = serializers.CharField()
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=STATE_CHOICES, help_text=STATE_HELP)
    state_label = serializers.CharField(source="state.label")
    impact = serializers.IntegerField(help_text=LEVEL_HELP)
    urgency = serializers.IntegerField(help_text=LEVEL_HELP)
    priority = serializers.IntegerField(help_text="1 Critical .. 5 Planning, derived from impact and urgency.")
    short_description = serializers.CharField()
    description = serializers.CharField()
    correlation_id = serializers.CharField()
    category = serializers.CharField()
    opened_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    url = serializers.URLField(help_text="The incident's page in ServiceNow, for a person to open.")


def render(incident: Incident) -> dict[str, Any]:
    return IncidentOutputSerializer(incident).data


class IncidentsApi(APIView):
    """Create an incident, or find the one made for a correlation id."""

    OutputSerializer = IncidentOutputSerializer

    @extend_schema_serializer(component_name="ServiceNowIncidentCreate")
    class InputSerializer(serializers.Serializer):
        short_description = serializers.CharField(max_length=160)
        description = serializers.CharField(max_length=4000, allow_blank=True, required=False, default="")
        impact = serializers.IntegerField(min_value=1, max_value=3, help_text=LEVEL_HELP)
        urgency = serializers.IntegerField(min_value=1, max_value=3, help_text=LEVEL_HELP)
        correlation_id = serializers.CharField(max_length=100, validators=[no_caret])
        category = serializers.CharField(max_length=40, required=False, default="inquiry")
        contact_type = serializers.CharField(max_length=40, required=False, default="web")
        caller_email = serializers.EmailField(max_length=254, required=False, allow_null=True, default=None)

    @extend_schema_serializer(component_name="ServiceNowIncidentQuery")
    class QuerySerializer(serializers.Serializer):
        correlation_id = serializers.CharField(max_length=100, validators=[no_caret])

    @ERRORS.schema(
        tags=TAGS,
        operation_id="servicenow_incidents_create",
        summary="Create an incident in ServiceNow",
        request=InputSerializer,
        responses={201: OutputSerializer},
        errors=(400, 415, *DOWNSTREAM_ERRORS),
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new = NewIncident(**{**data, "impact": Impact(data["impact"]), "urgency": Urgency(data["urgency"])})
        incident = ServiceNowClient.from_settings().create_incident(new)
        return Response(render(incident), status=status.HTTP_201_CREATED)

    @ERRORS.schema(
        tags=TAGS,
        operation_id="servicenow_incidents_find",
        summary="Find the incident made for a correlation id (a list of zero or one)",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer(many=True)},
        errors=(400, *DOWNSTREAM_ERRORS),
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        incident = ServiceNowClient.from_settings().find_by_correlation_id(query.validated_data["correlation_id"])
        return Response([render(incident)] if incident else [])


class IncidentDetailApi(APIView):
    """Read or change one incident, named by its sys_id."""

    OutputSerializer = IncidentOutputSerializer

    @extend_schema_serializer(component_name="ServiceNowIncidentUpdate")
    class InputSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=STATE_CHOICES, required=False, help_text=STATE_HELP)
        impact = serializers.IntegerField(min_value=1, max_value=3, required=False, help_text=LEVEL_HELP)
        urgency = serializers.IntegerField(min_value=1, max_value=3, required=False, help_text=LEVEL_HELP)
        short_description = serializers.CharField(max_length=160, required=False)
        description = serializers.CharField(max_length=4000, allow_blank=True, required=False)
        work_notes = serializers.CharField(max_length=4000, required=False)
        close_code = serializers.CharField(max_length=40, required=False)
        close_notes = serializers.CharField(max_length=4000, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs:
                raise serializers.ValidationError("Name at least one field to change.")
            return attrs

    @ERRORS.schema(
        tags=TAGS,
        operation_id="servicenow_incidents_retrieve",
        summary="Read an incident",
        responses={200: OutputSerializer},
        errors=(404, *DOWNSTREAM_ERRORS),
    )
    def get(self, request: Request, sys_id: str) -> Response:
        return Response(render(ServiceNowClient.from_settings().get_incident(sys_id)))

    @ERRORS.schema(
        tags=TAGS,
        operation_id="servicenow_incidents_update",
        summary="Change an incident (only the fields sent)",
        request=InputSerializer,
        responses={200: OutputSerializer},
        errors=(400, 404, 415, *DOWNSTREAM_ERRORS),
    )
    def patch(self, request: Request, sys_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The enums' own types for the codes; a field not sent stays None, so it is not changed.
        enums = {"state": IncidentState, "impact": Impact, "urgency": Urgency}
        changes = IncidentUpdate(
            **{name: enums[name](value) if name in enums else value for name, value in data.items()}
        )
        return Response(render(ServiceNowClient.from_settings().update_incident(sys_id, changes)))
