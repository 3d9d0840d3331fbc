"""REST v1 for clients (mobile app, partners): report incidents and follow your own reports."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from kernel.errors import NotFoundError
from kernel.rest import ErrorDocs
from process_apis.customer_incidents.inputs import REPORT_INPUT, ReportInputSerializer
from process_apis.customer_incidents.references import normalize_reference
from process_apis.customer_incidents.selectors import incident_get, incident_list, incident_summary
from process_apis.customer_incidents.services import incident_report
from process_apis.models import Category, Urgency
from process_apis.rest import ERRORS as PROCESS_ERRORS

from ..idempotency import rest as idempotency
from ..policies import rate_limits
from .consumer import CONSUMER
from .permissions import IsActiveApiClient, current_client
from .throttles import ApiClientTierThrottle, ClientRateLimited


class IncidentOutputSerializer(serializers.Serializer):
    class CustomerSerializer(serializers.Serializer):
        display_name = serializers.CharField()
        email = serializers.EmailField()
        is_new = serializers.BooleanField(help_text="Known to neither customer system yet.")

    reference = serializers.CharField(help_text="Your report's reference, e.g. IH-7K2M9Q4TZX.")
    status = serializers.CharField(help_text="The ServiceNow state, or that the ServiceNow incident is to follow.")
    servicenow_number = serializers.CharField(allow_null=True)
    servicenow_state = serializers.CharField(allow_null=True)
    state_as_of = serializers.DateTimeField(
        allow_null=True, help_text="When ServiceNow last changed the incident, as its last event told us."
    )
    resolution_code = serializers.CharField(
        allow_null=True, help_text="How it was resolved (ServiceNow's resolution code), once resolved or closed."
    )
    resolution_notes = serializers.CharField(
        allow_null=True, help_text="What the support team wrote on resolving it, once resolved or closed."
    )
    priority = serializers.IntegerField(allow_null=True, help_text="1 Critical .. 5 Planning, as ServiceNow set it.")
    category = serializers.ChoiceField(choices=Category.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    short_description = serializers.CharField()
    created_at = serializers.DateTimeField()
    customer = CustomerSerializer()


# The report's one definition; a field it does not know is refused, so a client's typo is not dropped unseen.
class IncidentInputSerializer(ReportInputSerializer):
    # v1 has always asked for the customer's name and a description, as the form does.
    ASKED_FOR = ("name", "description")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        return {**fields, **{name: REPORT_INPUT[name].serializer_field(required=True) for name in self.ASKED_FOR}}

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        idempotency.HEADER,
        str,
        OpenApiParameter.HEADER,
        required=False,
        description=(
            "Optional; makes the report safe to retry (IETF httpapi draft 'The Idempotency-Key HTTP Header "
            "Field'). A key of your choosing, 1 to 255 printable ASCII characters (a UUID is a good one), bare or "
            'as a Structured Field String (`"..."`). A retry with the same key and the same JSON body (key order '
            "and whitespace do not matter) gets the first answer again, with its status, and no second report. "
            "Keys are yours alone (other clients' keys do not clash) and expire 24 hours after first use by default."
        ),
    ),
    OpenApiParameter(
        idempotency.REPLAYED_HEADER,
        str,
        OpenApiParameter.HEADER,
        response=[201, 400],
        enum=["true"],
        description="Present on a replayed answer: this is the stored answer to the first request with the key.",
    ),
    OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=[201], description="The new report's URL."),
    OpenApiParameter(
        "Retry-After",
        int,
        OpenApiParameter.HEADER,
        response=[409, 429, 503],
        description="Seconds to wait before retrying.",
    ),
]

# Every answer to an API client carries its rate limit (absent only when the cache cannot count).
RATE_LIMITED_CODES = [200, 201, 400, 404, 409, 422, 429, 503]
RATE_LIMIT_HEADERS = [
    OpenApiParameter(name, int, OpenApiParameter.HEADER, response=RATE_LIMITED_CODES, description=description)
    for name, description in (
        (rate_limits.LIMIT_HEADER, "Requests your client may make in the current window (its tier's rate limit)."),
        (rate_limits.REMAINING_HEADER, "Requests left in the current window."),
        (rate_limits.RESET_HEADER, "Seconds until the current window ends and the count starts again."),
    )
]
RETRY_AFTER_429 = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before retrying: when your rate limit's window ends.",
)


# The client credentials grant of /o/token/ issues every token with this scope.
SECURITY = [{"oauth2": ["incidents"]}]


# v1 is for API clients with a bearer token, not for staff; its own Retry-After headers (above) say what a wait means.
ERRORS = ErrorDocs(
    {
        **PROCESS_ERRORS.descriptions,
        401: "No valid bearer token: get one at POST /o/token/ with your client credentials.",
        403: "The token is not an active API client's.",
        429: "Your client's rate limit (by tier) is used up for this window; retry after Retry-After seconds.",
    },
    retry_after=(),
)


class IncidentPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class ClientApi(ClientRateLimited, generics.GenericAPIView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsActiveApiClient]
    throttle_classes = [ApiClientTierThrottle]


class IncidentListCreateApi(ClientApi):
    pagination_class = IncidentPagination
    serializer_class = IncidentOutputSerializer

    @ERRORS.schema(
        operation_id="v1_incidents_report",
        tags=["v1: incidents"],
        request=IncidentInputSerializer,
        auth=SECURITY,
        parameters=[*IDEMPOTENCY_PARAMETERS, *RATE_LIMIT_HEADERS],
        responses={
            201: OpenApiResponse(
                IncidentOutputSerializer,
                description="Accepted; with `Idempotent-Replayed: true`, the stored answer to the key's first request.",
            ),
        },
        errors=(400, 401, 403, 409, 413, 415, 422, 429, 503),
        described={
            400: "The body or the Idempotency-Key header is not valid.",
            409: "The first request with this Idempotency-Key is still being processed.",
            413: "The body is larger than the API accepts (API_MAX_BODY_BYTES, 64 KiB by default).",
            422: "This Idempotency-Key was already used with a different body.",
            503: "The report could not be stored, or the database could not be reached; retry after Retry-After.",
        },
        description=(
            "Report an incident. 201 once it is accepted; the ServiceNow number may follow later. "
            "Send an Idempotency-Key to retry safely: the same key and body are answered as the first time."
        ),
    )
    def post(self, request: Request) -> Response:
        return idempotency.idempotent_response(
            request=request,
            client_id=current_client(request).client_id,
            respond=lambda intake_key: self._report(request, intake_key),
            on_error=self.handle_exception,
        )

    def _report(self, request: Request, intake_key: str | None) -> Response:
        data = IncidentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = incident_report(
            **data.validated_data,
            consumer=CONSUMER,
            api_client_id=current_client(request).client_id,
            trace_id=getattr(request, "trace_id", ""),
            intake_key=intake_key,
        )
        response = Response(IncidentOutputSerializer(incident_summary(report)).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("v1-incident", kwargs={"reference": report.reference})
        return response

    @ERRORS.schema(
        operation_id="v1_incidents_list",
        tags=["v1: incidents"],
        auth=SECURITY,
        parameters=[*RATE_LIMIT_HEADERS, RETRY_AFTER_429],
        responses={200: IncidentOutputSerializer(many=True)},
        errors=(401, 403, 404, 429),
        described={404: "No such page: `page` is below 1, past the last page, or not a number."},
        description="Your reports, newest first.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(incident_list(api_client_id=current_client(request).client_id))
        return self.get_paginated_response(IncidentOutputSerializer(map(incident_summary, page), many=True).data)


class IncidentDetailApi(ClientApi):
    serializer_class = IncidentOutputSerializer

    @ERRORS.schema(
        operation_id="v1_incidents_get",
        tags=["v1: incidents"],
        auth=SECURITY,
        parameters=[
            OpenApiParameter("reference", str, OpenApiParameter.PATH),
            *RATE_LIMIT_HEADERS,
            RETRY_AFTER_429,
        ],
        responses={200: IncidentOutputSerializer},
        errors=(401, 403, 404, 429),
        described={404: "You have no report with that reference."},
        description="One of your reports, its state as ServiceNow's last event told it (see `state_as_of`).",
    )
    def get(self, request: Request, reference: str) -> Response:
        normalized = normalize_reference(reference)
        report = normalized and incident_get(reference=normalized, api_client_id=current_client(request).client_id)
        if not report:
            raise NotFoundError(f"You have no report {reference}.")
        return Response(IncidentOutputSerializer(incident_summary(report)).data)
