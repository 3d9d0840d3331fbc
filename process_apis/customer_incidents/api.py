import hashlib

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import ApplicationError, NotFoundError

from ..models import Category, IncidentRequest, Urgency
from ..rest import ERRORS
from .inputs import REPORT_ATTRIBUTION, ReportInputError, ReportInputSerializer
from .selectors import incident_get, incident_summary
from .services import incident_refresh_state, incident_report, incident_retry_sync
from .types import Consumer

# This REST face brings reports in for whoever calls it (a support tool, a script of the team's).
CONSUMER = Consumer(name="process_rest", label="Process API (REST)")
IDEMPOTENCY_KEY = "Idempotency-Key"

TAGS = ["Process: customer incidents"]
NO_REPORT = "No report with that reference."


class ReportSummaryOutputSerializer(serializers.Serializer):
    class CustomerSummarySerializer(serializers.Serializer):
        display_name = serializers.CharField()
        email = serializers.EmailField()
        is_new = serializers.BooleanField()
        found_in = serializers.ListField(child=serializers.CharField())
        unavailable = serializers.ListField(child=serializers.CharField())

    reference = serializers.CharField()
    status = serializers.CharField()
    accepted = serializers.BooleanField()
    servicenow_number = serializers.CharField(allow_null=True)
    servicenow_state = serializers.CharField(allow_null=True)
    state_as_of = serializers.DateTimeField(allow_null=True)
    resolution_code = serializers.CharField(allow_null=True)
    resolution_notes = serializers.CharField(allow_null=True)
    priority = serializers.IntegerField(allow_null=True)
    priority_label = serializers.CharField(allow_null=True)
    category = serializers.ChoiceField(choices=Category.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    short_description = serializers.CharField()
    created_at = serializers.DateTimeField()
    customer = CustomerSummarySerializer()
    notification = serializers.CharField(allow_null=True)


# A report as this face takes it: the customer's input, and who filed it on the customer's behalf.
class ProcessReportInputSerializer(ReportInputSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **super().get_fields(),
            **{field.name: field.serializer_field() for field in REPORT_ATTRIBUTION.values()},
        }


class ReportCreateApi(APIView):
    @ERRORS.schema(
        operation_id="process_customer_incidents_report",
        tags=TAGS,
        request=ProcessReportInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Your key for this report (1 to 255 printable ASCII characters): a repeat with the "
                "same key answers the report the first request made instead of making a second one.",
            )
        ],
        responses={201: ReportSummaryOutputSerializer},
        errors=(400, 401, 403, 415, 422, 503),
        described={
            422: "This Idempotency-Key was already used for a different report; use a new key for a new report.",
            503: "Incident Hub cannot store the report right now; try again after Retry-After.",
        },
        description="The whole orchestration: customer lookup, local record, ServiceNow incident, Slack notice.",
    )
    def post(self, request: Request) -> Response:
        data = ProcessReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        caller = _caller(request)
        intake_key = _intake_key(request, caller)
        report = incident_report(
            **data.validated_data,
            consumer=CONSUMER,
            api_client_id=caller,
            trace_id=getattr(request, "trace_id", ""),
            intake_key=intake_key,
        )
        if intake_key and not _reports(report, data.validated_data):
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different report; use a new key for a new report.",
                extra={"reference": report.reference},
            )
        return Response(ReportSummaryOutputSerializer(incident_summary(report)).data, status=status.HTTP_201_CREATED)


class IdempotencyKeyReused(ApplicationError):
    http_status = 422


def _reports(report: IncidentRequest, values: dict[str, object]) -> bool:
    """Whether `report` is the one `values` describe (as stored: text stripped, the email in any case; a name not
    given may have been taken from the customer's records)."""
    for name, value in values.items():
        stored, given = getattr(report, name), value.strip() if isinstance(value, str) else value
        if name == "email":
            stored, given = stored.lower(), given.lower()
        if stored != given and not (name == "name" and not given):
            return False
    return True


def _caller(request: Request) -> str:
    """The internal client whose token was sent, or the staff member logged in."""
    application = getattr(request.auth, "application", None)
    caller = f"client:{application.client_id}" if application is not None else f"staff:{request.user.get_username()}"
    return caller[:100]


def _intake_key(request: Request, caller: str) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        problem = f"The {IDEMPOTENCY_KEY} header must be 1 to 255 printable ASCII characters."
        raise ReportInputError(problem, extra={"fields": {IDEMPOTENCY_KEY: [problem]}})
    # The caller's own key space, at a fixed length whatever the key's.
    return "process:" + hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()


class ReportDetailApi(APIView):
    @ERRORS.schema(
        operation_id="process_customer_incidents_get",
        tags=TAGS,
        responses={200: ReportSummaryOutputSerializer},
        errors=(401, 403, 404),
        described={404: NO_REPORT},
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(ReportSummaryOutputSerializer(incident_summary(_report(reference))).data)


class ReportSyncApi(APIView):
    @ERRORS.schema(
        operation_id="process_customer_incidents_sync",
        tags=TAGS,
        request=None,
        responses={200: ReportSummaryOutputSerializer},
        errors=(401, 403, 404, 502, 503),
        described={
            404: "No report with that reference, or ServiceNow no longer has its incident.",
            502: "ServiceNow refused to read the incident (or Incident Hub's credentials).",
            503: "ServiceNow is unreachable, failing or busy; try again later (after Retry-After when given).",
        },
        description="Retry the ServiceNow create now if it is still missing, else refresh the state from it.",
    )
    def post(self, request: Request, reference: str) -> Response:
        report = _report(reference)
        report = (
            incident_refresh_state(request=report) if report.servicenow_sys_id else incident_retry_sync(request=report)
        )
        return Response(ReportSummaryOutputSerializer(incident_summary(report)).data)


def _report(reference: str) -> IncidentRequest:
    report = incident_get(reference=reference)
    if report is None:
        raise NotFoundError(f"No report {reference}.")
    return report
